"""CTA engine: token clustering, compressed attention through the common stages, scatter."""

from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..common import (AttentionUnit, Fork, PerfCounters, Score, Softmax, WeightedSum, output_layout,
                      query_layout, token_layout)
from .cluster import Clusterer, centroid_layout
from .scatter import Scatter

__all__ = ["Cta"]


class Cta(AttentionUnit):
    """CTA (ALGORITHMS.md) for one head, one packet at a time; golden.cta.cta_int bit for bit.

    A packet: n keys on ``k`` and n values on ``v`` (``last`` on the n-th, n <= N) and query
    rows on ``q`` (each with a softmax scale register; with clustered queries the packet's
    first query's scale serves every query centroid). One output per query token on ``o``.

    Clustered keys: key i and value i are taken together (as a pair) by the key clustering
    unit; its centroids load the score stage's key buffer (with the log2 n_c bias) and the
    weighted-sum stage's value buffer. Clustered queries: the query clustering unit's centroids
    are the score stage's rows, and the scatter stage turns their outputs back into one output
    per query token. An unclustered side goes straight to the stages, as in the dense unit.

    Members:
        k, v: ``In(stream.Signature(token_layout))``.
        q: ``In(stream.Signature(query_layout))``.
        o: ``Out(stream.Signature(output_layout))``.
        errors: ``Out(error_layout)`` sticky: ``key_overflow``, ``value_overflow``,
            ``query_overflow`` (beyond N tokens; the excess is dropped), ``missing_value``
            (fewer values than keys, unclustered keys), ``length_mismatch`` (clustered keys:
            a pair whose key and value disagree on ``last``; the key's ``last`` frames the packet).
        perf: ``Out(perf_layout)`` ``cycles``, ``mac_cycles`` (two L-lane arrays), ``packets``,
            ``key_clusters``, ``query_clusters`` (of the last clustered packet; 0 when unclustered).
    """

    ERRORS = ("key_overflow", "value_overflow", "query_overflow", "missing_value", "length_mismatch")
    COUNTERS = ("key_clusters", "query_clusters")

    def __init__(self, *, config):
        super().__init__({
            "k": In(stream.Signature(token_layout(config))),
            "v": In(stream.Signature(token_layout(config))),
            "q": In(stream.Signature(query_layout(config))),
            "o": Out(stream.Signature(output_layout(config))),
        }, config=config)

    def elaborate(self, platform):
        m = Module()
        cfg = self._config
        ck, cq = cfg.keys_compressed, cfg.queries_compressed
        m.submodules.score = score = Score(config=cfg, bias=ck)
        m.submodules.softmax = softmax = Softmax(config=cfg, bias=ck)
        m.submodules.weighted_sum = ws = WeightedSum(config=cfg)
        m.submodules.perf = perf = PerfCounters(arrays=self.mac_arrays)
        wiring.connect(m, score.s, softmax.s)
        wiring.connect(m, softmax.p, ws.p)

        if ck:
            m.submodules.key_clusters = kc = Clusterer(config=cfg, values=True)
            both = self.k.valid & self.v.valid
            m.d.comb += [
                kc.i.valid.eq(both), kc.i.payload.data.eq(self.k.payload.data),
                kc.i.payload.value.eq(self.v.payload.data), kc.i.payload.last.eq(self.k.payload.last),
                self.k.ready.eq(kc.i.ready & self.v.valid), self.v.ready.eq(kc.i.ready & self.k.valid),
            ]
            # The flag follows a registered compare, a cycle after the pair: the handshake's
            # route to the flag's register (placed by the error outputs) was the critical path.
            mismatch = Signal()
            m.d.sync += mismatch.eq(both & kc.i.ready & (self.k.payload.last != self.v.payload.last))
            with m.If(mismatch):
                m.d.sync += self.errors.length_mismatch.eq(1)
            with m.If(kc.overflow):
                m.d.sync += self.errors.key_overflow.eq(1)
            m.submodules.centroids = fork = Fork(centroid_layout(cfg, values=True, scale=False))
            wiring.connect(m, kc.o, fork.i)
            m.d.comb += [
                score.k.valid.eq(fork.o[0].valid), fork.o[0].ready.eq(score.k.ready),
                score.k.payload.data.eq(fork.o[0].payload.data), score.k.payload.bias.eq(fork.o[0].payload.bias),
                score.k.payload.last.eq(fork.o[0].payload.last),
                ws.v.valid.eq(fork.o[1].valid), fork.o[1].ready.eq(ws.v.ready),
                ws.v.payload.data.eq(fork.o[1].payload.value), ws.v.payload.last.eq(fork.o[1].payload.last),
                self.perf.key_clusters.eq(kc.clusters),
            ]
        else:
            m.d.comb += [
                score.k.payload.data.eq(self.k.payload.data), score.k.payload.last.eq(self.k.payload.last),
                score.k.valid.eq(self.k.valid), self.k.ready.eq(score.k.ready),
            ]
            wiring.connect(m, wiring.flipped(self.v), ws.v)
            with m.If(ws.missing):
                m.d.sync += self.errors.missing_value.eq(1)
        with m.If(score.overflow):
            m.d.sync += self.errors.key_overflow.eq(1)
        with m.If(ws.overflow):
            m.d.sync += self.errors.value_overflow.eq(1)

        if cq:
            m.submodules.query_clusters = qc = Clusterer(config=cfg, scale=True, hold=True)
            m.submodules.scatter = scatter = Scatter(config=cfg)
            m.d.comb += [
                qc.i.valid.eq(self.q.valid), self.q.ready.eq(qc.i.ready),
                qc.i.payload.data.eq(self.q.payload.data), qc.i.payload.scale.eq(self.q.payload.scale),
                qc.i.payload.last.eq(self.q.payload.last),
                score.q.valid.eq(qc.o.valid), qc.o.ready.eq(score.q.ready),
                score.q.payload.data.eq(qc.o.payload.data), score.q.payload.scale.eq(qc.o.payload.scale),
                score.q.payload.last.eq(qc.o.payload.last),
                scatter.map_data.eq(qc.map_data), qc.map_addr.eq(scatter.map_addr),
                scatter.n_tokens.eq(qc.n_tokens), qc.release.eq(scatter.done),
                self.perf.query_clusters.eq(qc.clusters),
            ]
            with m.If(qc.overflow):
                m.d.sync += self.errors.query_overflow.eq(1)
            wiring.connect(m, ws.o, scatter.i)
            wiring.connect(m, scatter.o, wiring.flipped(self.o))
        else:
            wiring.connect(m, wiring.flipped(self.q), score.q)
            wiring.connect(m, ws.o, wiring.flipped(self.o))

        handshake = lambda s: s.valid & s.ready
        m.d.comb += [
            perf.start.eq(handshake(self.k) | handshake(self.v) | handshake(self.q)),
            perf.finish.eq(handshake(self.o) & self.o.payload.last),
            perf.mac.eq(score.mac | (ws.mac << 1)),
            self.perf.cycles.eq(perf.cycles), self.perf.mac_cycles.eq(perf.mac_cycles),
            self.perf.packets.eq(perf.packets),
        ]
        return m
