"""CTA token clustering unit: hash, cluster table, centroid sums and counts, rounded division."""

from amaranth import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden.config import clog2
from golden.numerics import log2_lut
from golden.timing import hasher_latency

from ..common import Hasher

__all__ = ["Clusterer", "cluster_input_layout", "centroid_layout"]


def _vector(cfg):
    return data.ArrayLayout(signed(cfg.formats.data_bits), cfg.head_dim)


def cluster_input_layout(cfg, *, values: bool, scale: bool) -> data.StructLayout:
    """``data`` (the token that is hashed), [``value`` summed with it], [``scale``], ``last``."""
    fields = {"data": _vector(cfg)}
    if values:
        fields["value"] = _vector(cfg)
    if scale:
        fields["scale"] = unsigned(cfg.formats.scale_bits)
    fields["last"] = 1
    return data.StructLayout(fields)


def centroid_layout(cfg, *, values: bool, scale: bool) -> data.StructLayout:
    """``data`` (rounded centroid), [``value`` centroid], ``bias`` (LOG2_LUT[n_c]), [``scale``],
    ``last`` on the packet's final cluster."""
    fields = {"data": _vector(cfg)}
    if values:
        fields["value"] = _vector(cfg)
    fields["bias"] = signed(cfg.formats.bias_bits)
    if scale:
        fields["scale"] = unsigned(cfg.formats.scale_bits)
    fields["last"] = 1
    return data.StructLayout(fields)


def _popcount(value, bits):
    return sum(value[b] for b in range(bits))


def _argmin(items):
    """Balanced tree over ``(distance, index)`` pairs; ties keep the left (lower) index."""
    while len(items) > 1:
        nxt = []
        for i in range(0, len(items), 2):
            if i + 1 == len(items):
                nxt.append(items[i])
                continue
            (da, ia), (db, ib) = items[i], items[i + 1]
            right = db < da
            nxt.append((Mux(right, db, da), Mux(right, ib, ia)))
        items = nxt
    return items[0]


class Clusterer(wiring.Component):
    """Clusters one side's tokens (golden.cta.model: first-appearance order, nearest-hash rule
    once C clusters are open) and emits the rounded centroids.

    COLLECT: tokens enter the shared :class:`hw.common.Hasher` (d/L cycles each); the cycle a
    hash comes out, the token joins its cluster: its vector (and ``value``) is added to the
    cluster's sums, its count incremented, and ``map[position]`` records the cluster. EMIT (from
    the cycle after the last token): one centroid per cycle, ``floor((2 S + n) / (2 n))`` on d
    dividers, with ``bias = LOG2_LUT[n]``. Then, with ``hold``, the map stays readable until
    ``release``; input is taken again once the unit is back in COLLECT.

    Members:
        i: ``In(stream.Signature(cluster_input_layout))`` tokens of a packet.
        o: ``Out(stream.Signature(centroid_layout))`` one centroid per cluster, in cluster order.
        map_addr: ``In(range(N))``; map_data: ``Out(range(C))`` cluster of token ``map_addr`` (comb).
        n_tokens: ``Out(range(N + 1))`` tokens of the last clustered packet.
        clusters: ``Out(range(C + 1))`` clusters of the last clustered packet.
        release: ``In(1)`` (with ``hold``) the map is no longer needed.
        overflow: ``Out(1)`` high in a cycle that drops a token beyond N.
    """

    def __init__(self, *, config, values=False, scale=False, hold=False):
        self._config = config
        self._values, self._scale, self._hold = values, scale, hold
        n, c = config.max_tokens, config.max_clusters
        super().__init__({
            "i": In(stream.Signature(cluster_input_layout(config, values=values, scale=scale))),
            "o": Out(stream.Signature(centroid_layout(config, values=values, scale=scale))),
            "map_addr": In(range(max(n, 2))),
            "map_data": Out(range(max(c, 2))),
            "n_tokens": Out(range(n + 1)),
            "clusters": Out(range(c + 1)),
            "release": In(1),
            "overflow": Out(1),
        })

    def elaborate(self, platform):
        cfg, fmt = self._config, self._config.formats
        w, d, n_max, c_max, hb = fmt.data_bits, cfg.head_dim, cfg.max_tokens, cfg.max_clusters, cfg.hash_bits
        m = Module()
        m.submodules.hasher = hasher = Hasher(dim=d, data_width=w, lanes=cfg.lanes, bits=hb, seed=cfg.seed)

        COLLECT, EMIT, HOLD = 0, 1, 2
        state = Signal(2, init=COLLECT)
        accepting = Signal(init=1)   # input gate: closed from a packet's last token to COLLECT again

        # --- Input: tokens into the hasher; values wait in a FIFO beside it (in order). ---
        in_ok = Signal()
        if self._values:
            depth = hasher_latency(cfg.lanes) + 4
            m.submodules.fifo = fifo = SyncFIFO(width=d * w, depth=depth)
            m.d.comb += in_ok.eq(accepting & fifo.w_rdy)
            m.d.comb += fifo.w_data.eq(self.i.payload.value.as_value())
        else:
            m.d.comb += in_ok.eq(accepting)
        m.d.comb += [hasher.i.valid.eq(self.i.valid & in_ok), hasher.i.payload.data.eq(self.i.payload.data),
                     hasher.i.payload.last.eq(self.i.payload.last),
                     self.i.ready.eq(in_ok & hasher.i.ready)]
        took = self.i.valid & self.i.ready
        if self._values:
            m.d.comb += fifo.w_en.eq(took)
        if self._scale:
            scale = Signal(fmt.scale_bits)
            first_in = Signal(init=1)
            with m.If(took):
                m.d.sync += first_in.eq(self.i.payload.last)
                with m.If(first_in):
                    m.d.sync += scale.eq(self.i.payload.scale)
        with m.If(took & self.i.payload.last):
            m.d.sync += accepting.eq(0)

        # --- Cluster table, counts, sums. ---
        table = Array(Signal(hb, name=f"hash{j}") for j in range(c_max))
        counts = Array(Signal(range(n_max + 1), name=f"count{j}") for j in range(c_max))
        n_open = Signal(range(c_max + 1))
        sum_shape = data.ArrayLayout(signed(w + clog2(n_max + 1) + 1), d)
        m.submodules.sums = sums = Memory(shape=sum_shape, depth=c_max, init=[])
        s_wr, s_rd = sums.write_port(), sums.read_port(domain="comb")
        if self._values:
            m.submodules.vsums = vsums = Memory(shape=sum_shape, depth=c_max, init=[])
            v_wr, v_rd = vsums.write_port(), vsums.read_port(domain="comb")
        cid_bits = max(1, clog2(c_max))
        m.submodules.map = cmap = Memory(shape=unsigned(cid_bits), depth=n_max, init=[])
        map_wr, map_rd = cmap.write_port(), cmap.read_port(domain="comb")
        m.d.comb += [map_rd.addr.eq(self.map_addr), self.map_data.eq(map_rd.data)]

        h = hasher.o.payload.hash
        token = hasher.o.payload.token.data
        m.d.comb += hasher.o.ready.eq(state == COLLECT)
        take = hasher.o.valid & hasher.o.ready
        if self._values:
            m.d.comb += fifo.r_en.eq(take)

        hit_any = Signal()
        hit_idx = Signal(range(max(c_max, 2)))
        for j in reversed(range(c_max)):   # lowest index last: it wins
            with m.If((j < n_open) & (table[j] == h)):
                m.d.comb += [hit_any.eq(1), hit_idx.eq(j)]
        dist_bits = hb.bit_length()
        dists = []
        for j in range(c_max):
            diff = Signal(hb, name=f"diff{j}")
            dist = Signal(dist_bits, name=f"dist{j}")
            m.d.comb += [diff.eq(table[j] ^ h), dist.eq(_popcount(diff, hb))]
            dists.append((dist, Const(j, cid_bits)))
        _, nearest = _argmin(dists)
        has_room = n_open < c_max
        new = Signal()
        cid = Signal(range(max(c_max, 2)))
        m.d.comb += [new.eq(~hit_any & has_room),
                     cid.eq(Mux(hit_any, hit_idx, Mux(has_room, n_open, nearest)))]

        current = Signal(range(n_max + 1))   # count of the token's cluster before it joins
        bumped = Signal(range(n_max + 1))
        m.d.comb += [current.eq(counts[cid]), bumped.eq(Mux(new, 1, current + 1))]
        pos = Signal(range(n_max + 1))
        room = pos < n_max
        m.d.comb += self.overflow.eq(take & ~room)
        e = Signal(range(max(c_max, 2)))
        emitting = state == EMIT
        m.d.comb += s_rd.addr.eq(Mux(emitting, e, cid))
        if self._values:
            m.d.comb += v_rd.addr.eq(Mux(emitting, e, cid))
        with m.If(take & room):
            m.d.comb += [s_wr.addr.eq(cid), s_wr.en.eq(1), map_wr.addr.eq(pos), map_wr.data.eq(cid), map_wr.en.eq(1)]
            for t in range(d):
                m.d.comb += s_wr.data[t].eq(Mux(new, 0, s_rd.data[t]) + token[t])
            if self._values:
                value = fifo.r_data
                m.d.comb += [v_wr.addr.eq(cid), v_wr.en.eq(1)]
                for t in range(d):
                    m.d.comb += v_wr.data[t].eq(Mux(new, 0, v_rd.data[t]) + value[t * w:(t + 1) * w].as_signed())
            m.d.sync += pos.eq(pos + 1)
            for j in range(c_max):
                with m.If(cid == j):
                    m.d.sync += counts[j].eq(bumped)
            with m.If(new):
                m.d.sync += [table[cid].eq(h), n_open.eq(n_open + 1)]
        with m.If(take & hasher.o.payload.token.last):
            opened = n_open + (new & room)
            m.d.sync += [state.eq(EMIT), e.eq(0), self.n_tokens.eq(Mux(room, pos + 1, pos)),
                         self.clusters.eq(opened)]

        # --- Emit: rounded centroids, one per cycle. ---
        en = ~self.o.valid | self.o.ready
        lut = Array(Const(v, fmt.bias_bits) for v in log2_lut(n_max, cfg.exp_lut_bits))
        count = Signal(range(n_max + 1))
        m.d.comb += count.eq(counts[e])
        bias = Signal(fmt.bias_bits)
        m.d.comb += bias.eq(lut[count])
        half = 1 << (w - 1)
        divisor = Signal(range(2 * n_max + 1))
        m.d.comb += divisor.eq(count << 1)

        def divide(total):
            # floor((2 S + n) / (2 n)) with S + n * 2^(w-1) >= 0, so the division is unsigned.
            return (2 * (total + count * half) + count).as_unsigned() // divisor - half

        with m.If(emitting & en):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.bias.eq(bias),
                         self.o.payload.last.eq(e == self.clusters - 1), e.eq(e + 1)]
            m.d.sync += [self.o.payload.data[t].eq(divide(s_rd.data[t])) for t in range(d)]
            if self._values:
                m.d.sync += [self.o.payload.value[t].eq(divide(v_rd.data[t])) for t in range(d)]
            if self._scale:
                m.d.sync += self.o.payload.scale.eq(scale)
            with m.If(e == self.clusters - 1):
                m.d.sync += [n_open.eq(0), pos.eq(0)]
                if self._hold:
                    m.d.sync += state.eq(HOLD)
                else:
                    m.d.sync += [state.eq(COLLECT), accepting.eq(1)]
        with m.Elif(en):
            m.d.sync += self.o.valid.eq(0)
        if self._hold:
            with m.If((state == HOLD) & self.release):
                m.d.sync += [state.eq(COLLECT), accepting.eq(1)]
        return m
