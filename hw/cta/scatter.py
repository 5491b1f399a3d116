"""CTA scatter stage: each query token takes the output of its query cluster."""

from amaranth import Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..common import output_layout

__all__ = ["Scatter"]


class Scatter(wiring.Component):
    """COLLECT: centroid output rows on ``i`` are stored in cluster order until ``last``.
    SCATTER: for token t = 0 .. n_tokens-1, reads its cluster from the clustering unit's map
    (``map_addr``/``map_data``, combinational; read a cycle before the token is issued) and emits
    that cluster's row on ``o``, one per cycle; ``done`` is high in the cycle after the one that
    issues the last one (a register: from the output's ``ready`` through the issue it reached the
    query clusterer's state across the die in one cycle).

    Members:
        i: ``In(stream.Signature(output_layout))`` one row per query cluster.
        o: ``Out(stream.Signature(output_layout))`` one row per query token.
        map_addr: ``Out(range(N))``; map_data: ``In(range(C))``; n_tokens: ``In(range(N + 1))``.
        done: ``Out(1)``.
    """

    def __init__(self, *, config):
        self._config = config
        n, c = config.max_tokens, config.max_clusters
        super().__init__({
            "i": In(stream.Signature(output_layout(config))),
            "o": Out(stream.Signature(output_layout(config))),
            "map_addr": Out(range(max(n, 2))),
            "map_data": In(range(max(c, 2))),
            "n_tokens": In(range(n + 1)),
            "done": Out(1),
        })

    def elaborate(self, platform):
        cfg, fmt = self._config, self._config.formats
        m = Module()
        m.submodules.rows = rows = Memory(shape=data.ArrayLayout(signed(fmt.out_bits), cfg.head_dim),
                                          depth=cfg.max_clusters, init=[])
        wr, rd = rows.write_port(), rows.read_port(domain="comb")
        collect = Signal(init=1)
        row = Signal(range(max(cfg.max_clusters, 2)))
        # The token's cluster is read from the map a cycle ahead, into ``cid``, so the map's read
        # and the rows' read are in different cycles (both are LUT RAM: in series they were the cta
        # engine's critical path, 7.9 ns): ``ahead`` is the next token (0 while collecting: cid is
        # token 0's cluster when scattering starts), ``cid`` the cluster of the token being issued.
        ahead = Signal(range(max(cfg.max_tokens, 2)))
        cid = Signal(range(max(cfg.max_clusters, 2)))
        # The packet's last token is issued next, as a register set when ahead moves: a subtract
        # and compare in front of ``done`` (the query clusterer's release) was the cta engine's
        # critical path. n_tokens is set long before the rows arrive and held until done.
        last = Signal()
        m.d.comb += self.i.ready.eq(collect)
        with m.If(self.i.valid & self.i.ready):
            m.d.comb += [wr.addr.eq(row), wr.data.eq(self.i.payload.data), wr.en.eq(1)]
            with m.If(self.i.payload.last):
                m.d.sync += [collect.eq(0), row.eq(0), ahead.eq(1), last.eq(self.n_tokens == 1)]
            with m.Else():
                m.d.sync += row.eq(row + 1)
        en = ~self.o.valid | self.o.ready
        m.d.comb += [self.map_addr.eq(ahead), rd.addr.eq(cid)]
        with m.If(collect | en):
            m.d.sync += cid.eq(self.map_data)
        with m.If(~collect & en):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.data.eq(rd.data), self.o.payload.last.eq(last),
                         ahead.eq(ahead + 1), last.eq(ahead + 1 == self.n_tokens)]
            with m.If(last):
                m.d.sync += [collect.eq(1), ahead.eq(0)]
        with m.Elif(en):
            m.d.sync += self.o.valid.eq(0)
        m.d.sync += self.done.eq(~collect & en & last)
        return m
