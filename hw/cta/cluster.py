"""CTA token clustering unit: hash, cluster table, centroid sums and counts, rounded division."""

from amaranth import Array, Cat, Const, Module, Mux, Shape, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden.config import clog2
from golden.cta.cycles import (ARGMIN_LEVELS_PER_STAGE, EMIT_READ_STAGES, POPCOUNT_BITS_PER_STAGE, SUMS_STAGES,
                               argmin_stages, decide_latency, dist_stages)
from golden.cta.divide import biased_sum_bits, count_bits
from golden.numerics import log2_lut
from golden.timing import hasher_latency

from ..common import Hasher
from ..common.bram import RegisteredReadMemory
from ..common.fifo import CreditFIFO
from ..common.pipeline import replicated_register, tournament

__all__ = ["Clusterer", "cluster_input_layout", "centroid_layout"]

#: Elements of a centroid row per copy of the sums' forwarding selects (each row, sums and value
#: sums, has its own copies): a copy drives 4 x (sum bits) multiplexer inputs of one row instead of
#: one flip-flop driving both rows' every bit.
SELECT_GROUP = 4


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


def _popcount(bits):
    """Balanced adder tree over single bits."""
    values = [bits[b] for b in range(len(bits))]
    while len(values) > 1:
        values = [values[i] + values[i + 1] if i + 1 < len(values) else values[i] for i in range(0, len(values), 2)]
    return values[0]


def _reg(m, value, name, shape=None):
    reg = Signal(shape if shape is not None else value.shape(), name=name)
    m.d.sync += reg.eq(value)
    return reg


class Clusterer(wiring.Component):
    """Clusters one side's tokens (golden.cta.model: first-appearance order, nearest-hash rule
    once C clusters are open) and emits the rounded centroids.

    Pipelined for Fmax (golden.cta.cycles documents the stages and their latencies):

    COLLECT: tokens enter the shared :class:`hw.common.Hasher` (d/L cycles each); each token's
    vector (and ``value``) waits in a FIFO beside it. From the cycle its hash is taken, a
    token's Hamming distance to every table entry is computed and registered, an argmin tree
    (one level per stage, ties to the lower index; distance 0 is an exact hit) finds the
    nearest entry of the table as it was when the hash arrived, and the decide stage picks the
    cluster: a hit, else the cluster of a token still in flight with the same hash, else a new
    cluster while fewer than C are open, else the nearest among the table and the clusters
    opened by the tokens in flight (forwarding: a token's search needs the table after the
    previous token). The table and ``map[position]`` are written there. Then the sums (a
    block RAM of C rows: d biased sums and the count; values in a second one) are read, the
    read data registered, and the token added and written back, with the two writes still in
    flight forwarded to the add.

    EMIT (from the cycle after the last token's sums are written): one centroid per cycle
    through a pipeline: read, register, add ``floor(n/2)``, W restoring-division stages
    (golden.cta.divide), with ``bias = LOG2_LUT[n]``, into an output FIFO. The pipeline never
    stalls: a centroid is issued only while the FIFO has room for it and all in flight. Then, with ``hold``, the map stays
    readable until ``release``; input is taken again once the unit is back in COLLECT.

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
        values = self._values
        m = Module()
        m.submodules.hasher = hasher = Hasher(dim=d, data_width=w, lanes=cfg.lanes, bits=hb, seed=cfg.seed)

        D = decide_latency(cfg)            # hash taken (stage 0) -> decided (stage D)
        n_dist = dist_stages(hb)
        last_stage = D + SUMS_STAGES       # stage C: add and write
        cid_bits = max(1, clog2(c_max))
        dist_bits = (hb + 1).bit_length()
        far = (1 << dist_bits) - 1         # distance of an empty table entry: beyond any real one
        s_bits, n_bits = biased_sum_bits(w, n_max), count_bits(n_max)

        COLLECT, EMIT, HOLD = 0, 1, 2
        state = Signal(2, init=COLLECT)
        accepting = Signal(init=1)   # input gate: closed from a packet's last token to COLLECT again

        # --- Input: tokens into the hasher; their vectors (and values) wait in a FIFO beside it
        # until the sums stage (in order; never full: it holds every token in flight). ---
        # The query clusterer's scale rides in the buffer with its token and is taken from the
        # packet's first token at the sums stage, beside the emit stage that outputs it: taken
        # at the input, its first-token flag hung on the input handshake, far from its readers.
        scale_bits = fmt.scale_bits if self._scale else 0
        vec_width = d * w * (2 if values else 1) + scale_bits
        buf_depth = 1 << clog2(hasher_latency(cfg.lanes) + D + SUMS_STAGES + 3)
        # Its read word is registered once (``c_vec``, loaded every cycle): on the ECP5 in the block
        # RAMs' output register, not across the die from their clock-to-out. Its write is
        # registered beside the block RAMs (the input handshake, the write enable, was routed
        # across the die to them). A token's word is read long after it is written; a word read
        # from an address written in the same cycle (undefined on the block RAM: the buffer
        # empty) belongs to no token.
        vbuf = RegisteredReadMemory(m, width=vec_width, depth=buf_depth, name="vbuf", platform=platform,
                                    write_registered=True)
        buf_wr, buf_rd = vbuf.write, vbuf.read
        buf_in, buf_out = Signal(range(buf_depth)), Signal(range(buf_depth))
        buf_level = Signal(range(buf_depth + 1))
        # Room for a token, as a register set from the level a cycle earlier with one entry of
        # margin (the level rises by at most one a cycle), so no compare sits in front of the
        # input handshake. The buffer never comes near full, so the margin never stalls input.
        buf_room = Signal(init=1)
        m.d.sync += buf_room.eq(buf_level < buf_depth - 2)
        in_ok = Signal()
        m.d.comb += in_ok.eq(accepting & buf_room)
        m.d.comb += buf_wr.data.eq(Cat(self.i.payload.data.as_value(),
                                       self.i.payload.value.as_value() if values else Cat(),
                                       self.i.payload.scale if self._scale else Cat()))
        m.d.comb += [hasher.i.valid.eq(self.i.valid & in_ok), hasher.i.payload.data.eq(self.i.payload.data),
                     hasher.i.payload.last.eq(self.i.payload.last),
                     self.i.ready.eq(in_ok & hasher.i.ready)]
        took = self.i.valid & self.i.ready
        m.d.comb += [buf_wr.addr.eq(buf_in), buf_wr.en.eq(took)]
        with m.If(took):
            m.d.sync += buf_in.eq(buf_in + 1)
        with m.If(took & self.i.payload.last):
            m.d.sync += accepting.eq(0)

        # --- Cluster table (registers: C hashes with valid bits, written at slot = one-hot n_open). ---
        table = [Signal(hb, name=f"hash{j}") for j in range(c_max)]
        tvalid = Signal(c_max)
        slot = Signal(c_max + 1, init=1)          # one-hot n_open
        n_open = Signal(range(c_max + 1))
        full = Signal()

        # --- Stage 0: the hash is taken. Per-stage token fields travel in a shift register. ---
        # Always ready: the hasher holds no hash outside COLLECT (the input gate closes at a
        # packet's last token, and EMIT starts only after that token's sums are written), and
        # a ready from ``state`` would drive the hasher's stall enable across the die.
        m.d.comb += hasher.o.ready.eq(1)
        take = hasher.o.valid & hasher.o.ready
        pos = Signal(range(n_max + 1))            # tokens clustered so far
        room = pos < n_max
        m.d.comb += self.overflow.eq(take & ~room)
        with m.If(take & room):
            m.d.sync += pos.eq(pos + 1)
        fields = {"cv": take & room, "pv": take, "last": hasher.o.payload.token.last,
                  "hash": hasher.o.payload.hash, "pos": pos[:max(1, clog2(n_max))]}
        stages = [fields]
        for s in range(1, last_stage + 1):
            stages.append({k: _reg(m, v, f"p{s}_{k}") for k, v in stages[-1].items()})
        h0 = hasher.o.payload.hash

        def distance(a, b, valid, name):
            """Hamming distance (``far`` when not ``valid``), registered over n_dist stages."""
            x = a ^ b
            groups = [_popcount(x[g:g + POPCOUNT_BITS_PER_STAGE]) for g in range(0, hb, POPCOUNT_BITS_PER_STAGE)]
            if n_dist == 1:
                return _reg(m, Mux(valid, groups[0], far), f"{name}_d", unsigned(dist_bits))
            parts = [_reg(m, g, f"{name}_g{i}") for i, g in enumerate(groups)]
            ok = _reg(m, valid, f"{name}_ok")
            return _reg(m, Mux(ok, sum(parts), far), f"{name}_d", unsigned(dist_bits))

        # Distances to the table as it is in stage 0, and to the tokens in flight (stages 1..D:
        # their decisions, and the clusters they may open, are not in the table yet).
        leaves = [(distance(table[j], h0, tvalid[j], f"dist{j}"), Const(j, cid_bits)) for j in range(c_max)]
        fwd_dist = {s: distance(stages[s]["hash"], h0, stages[s]["cv"], f"fwd{s}") for s in range(1, D + 1)}

        # Argmin tree: ties keep the left (lower) index; a register every ARGMIN_LEVELS_PER_STAGE levels.
        stage = n_dist

        def register_levels(level, items):
            nonlocal stage
            if level % ARGMIN_LEVELS_PER_STAGE and len(items) > 1:
                return items
            stage += 1
            return [(_reg(m, dd, f"am{stage}_d{i}", unsigned(dist_bits)), _reg(m, ii, f"am{stage}_i{i}", unsigned(cid_bits)))
                    for i, (dd, ii) in enumerate(items)]

        best_d, best_i = tournament(leaves, lambda a, b: b[0] < a[0], register_levels)
        assert stage == D - 1, (stage, D)
        for s in fwd_dist:     # keep the in-flight distances aligned with the tree
            for t in range(n_dist, D - 1):
                fwd_dist[s] = _reg(m, fwd_dist[s], f"fwd{s}_p{t + 1}")

        # Compare stage (D - 1): the tree's best against the tokens in flight, and those among themselves.
        hit_t = _reg(m, best_d == 0, "hit_t")
        idx_t = _reg(m, best_i, "idx_t")
        window = list(range(1, D + 1))     # s: the token s stages ahead, decided s cycles earlier
        same = {s: _reg(m, fwd_dist[s] == 0, f"same{s}") for s in window}
        below_t = {s: _reg(m, fwd_dist[s] < best_d, f"below{s}") for s in window}
        # No hash equal to this token's in the table or in flight (~hit_t & ~fwd_hit), as one
        # register: with ``~full`` it opens a cluster, so it enables every table register's load,
        # and the OR over the window no longer sits in front of that enable.
        unseen = _reg(m, (best_d != 0) & ~Cat(*[fwd_dist[s] == 0 for s in window]).any(), "unseen")
        beats = {}
        for s in window:
            for r in window:
                if r != s:   # s beats r: nearer, or as near and opened earlier (older: larger s)
                    cmp = fwd_dist[s] < fwd_dist[r] if r > s else fwd_dist[s] <= fwd_dist[r]
                    beats[s, r] = _reg(m, cmp, f"beats{s}_{r}")

        # Decide stage (D). hist[s]: the decision made s cycles ago (opened a cluster, which one).
        hist_n = {s: Signal(name=f"hist{s}_new") for s in window}
        # Kept: the sums' write-address copies load the same cluster as one of these, and Yosys
        # merged a copy into it, far from the block RAMs it addresses.
        hist_c = {s: Signal(cid_bits, name=f"hist{s}_cid", attrs={"keep": 1}) for s in window}
        for s in window[1:]:
            m.d.sync += [hist_n[s].eq(hist_n[s - 1]), hist_c[s].eq(hist_c[s - 1])]
        tok = stages[D]
        fwd_hit = Signal()
        fwd_cid = Signal(cid_bits)
        m.d.comb += [fwd_hit.eq(Cat(*[same[s] for s in window]).any()),
                     fwd_cid.eq(_or([Mux(same[s], hist_c[s], 0) for s in window]))]   # all equal
        opened = hist_n
        wins = {}
        for s in window:
            ok = opened[s] & below_t[s]
            for r in window:
                if r != s:
                    ok = ok & (~opened[r] | beats[s, r])
            wins[s] = Signal(name=f"wins{s}")
            m.d.comb += wins[s].eq(ok)
        nearest = Signal(cid_bits)
        any_win = Cat(*[wins[s] for s in window]).any()
        m.d.comb += nearest.eq(_or([Mux(wins[s], hist_c[s], 0) for s in window] + [Mux(any_win, 0, idx_t)]))
        new = Signal()
        cid = Signal(cid_bits)
        m.d.comb += [new.eq(unseen & ~full),
                     cid.eq(Mux(hit_t, idx_t, Mux(fwd_hit, fwd_cid, Mux(~full, n_open, nearest))))]
        decided = tok["cv"]
        m.d.sync += [hist_n[1].eq(decided & new), hist_c[1].eq(cid)]
        with m.If(decided & new):
            m.d.sync += [slot.eq(slot << 1), n_open.eq(n_open + 1), full.eq(slot[c_max - 1]),
                         tvalid.eq(tvalid | slot[:c_max])]
            for j in range(c_max):
                with m.If(slot[j]):
                    m.d.sync += table[j].eq(tok["hash"])

        # --- Sums: D+1 read address registered, A (D+2) read, B (D+3) read data registered, C (D+4)
        # add, C+1 write (from the register holding the sum). ---
        row = data.StructLayout({"sum": data.ArrayLayout(unsigned(s_bits), d), "count": unsigned(n_bits)})
        # The word read is registered once, in C for the token's add and in E2 for the emit (the
        # same register: both load it every cycle); on the ECP5 it is the block RAMs' own output
        # register, so no route from their clock-to-out to a fabric register spends a cycle. The
        # sum is written a cycle after the add, from its register (``w1``): the routes from the
        # block RAMs to the adders and from the adders to the block RAMs are in different cycles.
        sums = RegisteredReadMemory(m, width=Shape.cast(row).width, depth=c_max, name="sums", platform=platform)
        s_wr, s_rd = sums.write, sums.read
        s_row = row(sums.registered(None, "sums_rdata"))
        if values:
            vrow = data.ArrayLayout(unsigned(s_bits), d)
            vsums = RegisteredReadMemory(m, width=Shape.cast(vrow).width, depth=c_max, name="vsums",
                                         platform=platform)
            v_wr, v_rd = vsums.write, vsums.read
            v_row = vrow(vsums.registered(None, "vsums_rdata"))
        m.submodules.map = cmap = Memory(shape=unsigned(cid_bits), depth=n_max, init=[])
        map_wr, map_rd = cmap.write_port(), cmap.read_port(domain="comb")
        m.d.comb += [map_rd.addr.eq(self.map_addr), self.map_data.eq(map_rd.data)]

        # Stage D+1: the decided cluster registered; the map written; the sums' read address
        # register loaded from it (below). A: the address at the block RAMs.
        r_cid = _reg(m, cid, "r_cid")
        r_new = _reg(m, new, "r_new")
        r = stages[D + 1]
        m.d.comb += [map_wr.addr.eq(r["pos"]), map_wr.data.eq(r_cid), map_wr.en.eq(r["cv"])]
        with m.If(r["pv"] & r["last"]):
            m.d.sync += [self.clusters.eq(n_open), self.n_tokens.eq(pos)]
        a_cid, a_new = _reg(m, r_cid, "a_cid"), _reg(m, r_new, "a_new")
        a = stages[D + 2]
        b_cid, b_new = _reg(m, a_cid, "b_cid"), _reg(m, a_new, "b_new")
        b = stages[D + 3]
        c_cid = _reg(m, b_cid, "c_cid")
        c = stages[D + 4]
        # The three writes a token's read did not see, newest first: the sums of the two tokens
        # ahead of it in the add stage (``w1``, ``w2``, not yet written when it read) and of the
        # one before (``w3``, written in the cycle it read: a block RAM's word read from an address
        # written in the same cycle is undefined, so it is never used).
        # The write's address and enable: a copy per memory (one register driving both memories'
        # blocks is routed across the die).
        w1_vs = replicated_register(m, c["cv"], "w1_v", 2 if values else 1)
        w1_cids = replicated_register(m, c_cid, "w1_cid", 2 if values else 1)
        w1_row, w2_row, w3_row = Signal(row), Signal(row), Signal(row)
        # The base selects (a new cluster starts from zero; else the newest write in flight to this
        # cluster, else the word read) drive every bit of a row's multiplexers: one copy of each per
        # row (sums, value sums) and SELECT_GROUP elements, so that no one flip-flop's net spans the
        # die (the two rows' adders are placed apart: a copy shared by both is far from one).
        # The copies load from registers holding the selects a cycle early (the stages advance
        # every cycle): a copy fed by the compare's LUT would be packed with that LUT, far from
        # its multiplexers; fed by a register, the placer puts it beside them.
        copies = -(-d // SELECT_GROUP)
        # b against a now is c against b a cycle later; c against a now is w1 against b then; c
        # against r now is w2 against b two cycles later.
        match1_early = _reg(m, b["cv"] & (b_cid == a_cid), "match1_early")
        match2_early = _reg(m, c["cv"] & (c_cid == a_cid), "match2_early")
        match3_early = _reg(m, _reg(m, c["cv"] & (c_cid == r_cid), "match3_a"), "match3_early")

        def selects(row_name):
            return (replicated_register(m, b_new, f"{row_name}_c_new", copies),
                    replicated_register(m, match1_early, f"{row_name}_match1", copies),  # becomes w1 next cycle
                    replicated_register(m, match2_early, f"{row_name}_match2", copies),  # becomes w2 next cycle
                    replicated_register(m, match3_early, f"{row_name}_match3", copies))  # becomes w3 next cycle

        def forwarded(sel, t, w1, w2, w3, read):   # element t's base (t = 0 also selects the count's)
            c_new, match1, match2, match3 = (copy[t // SELECT_GROUP] for copy in sel)
            return Mux(c_new, 0, Mux(match1, w1, Mux(match2, w2, Mux(match3, w3, read))))
        # The token's vector: read from the buffer in A (every token, dropped ones too), registered in C.
        m.d.comb += [buf_rd.addr.eq(buf_out), buf_rd.en.eq(1)]
        with m.If(a["pv"]):
            m.d.sync += buf_out.eq(buf_out + 1)
        # The level counts a token a cycle after its handshake (from a register: the handshake
        # routed into the level's adder was the cta engine's critical path), so the room needs
        # a second entry of margin.
        took_q = _reg(m, took, "took_q")
        m.d.sync += buf_level.eq(buf_level + took_q - a["pv"])
        vec = vbuf.registered(None, "c_vec")
        q_row = s_row
        if self._scale:
            scale = Signal(scale_bits)
            first_c = Signal(init=1)   # the token in C is its packet's first
            with m.If(c["pv"]):
                m.d.sync += first_c.eq(c["last"])
                with m.If(first_c):
                    m.d.sync += scale.eq(vec[vec_width - scale_bits:])
        top = 1 << (w - 1)

        def biased(t, offset):   # element t of the registered vector plus 2^(W-1): top bit inverted
            return vec[offset + t * w:offset + (t + 1) * w] ^ top

        base = Signal(row)
        sel = selects("sums")
        m.d.comb += [base.sum[t].eq(forwarded(sel, t, w1_row.sum[t], w2_row.sum[t], w3_row.sum[t], q_row.sum[t])) for t in range(d)]
        m.d.comb += base.count.eq(forwarded(sel, 0, w1_row.count, w2_row.count, w3_row.count, q_row.count))
        total = Signal(row)
        m.d.comb += [total.sum[t].eq(base.sum[t] + biased(t, 0)) for t in range(d)]
        m.d.comb += total.count.eq(base.count + 1)
        m.d.sync += [w1_row.eq(total), w2_row.eq(w1_row), w3_row.eq(w2_row)]
        m.d.comb += [s_wr.addr.eq(w1_cids[0]), s_wr.data.eq(w1_row), s_wr.en.eq(w1_vs[0])]
        if values:
            w1_vrow, w2_vrow, w3_vrow = Signal(vrow), Signal(vrow), Signal(vrow)
            q_vrow = v_row
            vbase = Signal(vrow)
            sel = selects("vsums")
            m.d.comb += [vbase[t].eq(forwarded(sel, t, w1_vrow[t], w2_vrow[t], w3_vrow[t], q_vrow[t])) for t in range(d)]
            vtotal = Signal(vrow)
            m.d.comb += [vtotal[t].eq(vbase[t] + biased(t, d * w)) for t in range(d)]
            m.d.sync += [w1_vrow.eq(vtotal), w2_vrow.eq(w1_vrow), w3_vrow.eq(w2_vrow)]
            m.d.comb += [v_wr.addr.eq(w1_cids[1]), v_wr.data.eq(w1_vrow), v_wr.en.eq(w1_vs[1])]
        e = Signal(range(max(c_max, 2)))
        issuing = Signal()
        with m.If(c["pv"] & c["last"]):
            m.d.sync += [state.eq(EMIT), e.eq(0), issuing.eq(1)]

        # --- Emit: read, register, + floor(n/2), W division stages, into the output FIFO. ---
        # The stages never stall (a stall enable would be the clock enable of every stage
        # register, thousands of them across the die: the unit's critical path). Instead a
        # centroid is issued only while the FIFO has room for it and for every centroid in
        # flight (``CreditFIFO.room``: those issued and not yet taken from ``o``). The FIFO is deep
        # enough for one centroid per cycle while ``o`` is ready, and its storage is the output
        # register (fall-through, written in the last division stage), so the output timing is
        # what it was with stages stalling together.
        latency = EMIT_READ_STAGES + fmt.data_bits       # issue -> readable on ``o``
        fifo_depth = latency + 1
        m.submodules.out_fifo = out_fifo = CreditFIFO(width=len(self.o.payload.as_value()), depth=fifo_depth)
        m.d.comb += [self.o.valid.eq(out_fifo.r_rdy), self.o.payload.eq(out_fifo.r_data),
                     out_fifo.r_en.eq(self.o.ready)]
        emitting = state == EMIT
        issue = issuing & out_fifo.room
        m.d.comb += out_fifo.issue.eq(issue)
        with m.If(issue):
            m.d.sync += e.eq(e + 1)
            with m.If(e == self.clusters - 1):
                m.d.sync += issuing.eq(0)

        def stage_reg(value, name, shape=None):
            return _reg(m, value, name, shape if shape is not None else Value.cast(value).shape())

        v0 = stage_reg(issue, "e0_v", unsigned(1))          # the address register holds e
        l0 = stage_reg(e == self.clusters - 1, "e0_last", unsigned(1))
        v1, l1 = stage_reg(v0, "e1_v", unsigned(1)), stage_reg(l0, "e1_last", unsigned(1))
        v2, l2 = stage_reg(v1, "e2_v", unsigned(1)), stage_reg(l1, "e2_last", unsigned(1))
        r2 = s_row
        n2 = r2.count
        lanes = [r2.sum[t] for t in range(d)]
        if values:
            vr2 = v_row
            lanes += [vr2[t] for t in range(d)]
        y_bits = (n_max * (1 << w) - 1).bit_length()
        v, l = stage_reg(v2, "e3_v", unsigned(1)), stage_reg(l2, "e3_last", unsigned(1))
        n = stage_reg(n2, "e3_n", unsigned(n_bits))
        lut = Array(Const(x, fmt.bias_bits) for x in log2_lut(n_max, cfg.exp_lut_bits))
        bias = stage_reg(lut[n2], "e3_bias", signed(fmt.bias_bits))
        rems = [stage_reg(x + (n2 >> 1), f"e3_y{t}", unsigned(y_bits)) for t, x in enumerate(lanes)]
        quots = [None] * len(lanes)
        rest_bits = max(1, (n_max - 1).bit_length())
        for b in reversed(range(w)):     # quotient bit b
            final = b == 0
            nxt_rems, nxt_quots = [], []
            for t, (r, qv) in enumerate(zip(rems, quots)):
                upper = r[b:]
                diff = Signal(len(upper) + 1, name=f"div{b}_diff{t}")
                m.d.comb += diff.eq(upper - n)
                ge = ~diff[-1]
                qn = Cat(ge, qv) if qv is not None else ge   # MSB first: new bit at the bottom
                if final:
                    nxt_quots.append(qn)
                    continue
                newr = Cat(r[:b], Mux(ge, diff[:rest_bits], upper[:rest_bits]))
                nxt_rems.append(stage_reg(newr, f"div{b}_r{t}", unsigned(b + rest_bits)))
                nxt_quots.append(stage_reg(qn, f"div{b}_q{t}", unsigned(w - b)))
            if final:
                quots = nxt_quots
                break
            rems, quots = nxt_rems, nxt_quots
            v, l = stage_reg(v, f"div{b}_v", unsigned(1)), stage_reg(l, f"div{b}_last", unsigned(1))
            n = stage_reg(n, f"div{b}_n", unsigned(n_bits))
            bias = stage_reg(bias, f"div{b}_bias", signed(fmt.bias_bits))

        def centroid(q):   # quotient - 2^(W-1): top bit inverted, read as signed
            return Cat(q[:w - 1], ~q[w - 1]).as_signed()

        out = Signal(self.o.payload.shape())
        m.d.comb += [out.bias.eq(bias), out.last.eq(l)]
        m.d.comb += [out.data[t].eq(centroid(quots[t])) for t in range(d)]
        if values:
            m.d.comb += [out.value[t].eq(centroid(quots[d + t])) for t in range(d)]
        if self._scale:
            m.d.comb += out.scale.eq(scale)
        # The credits guarantee room (w_rdy is high whenever v is), so the write is not gated by
        # the FIFO's level: CreditFIFO.
        m.d.comb += [out_fifo.w_en.eq(v), out_fifo.w_data.eq(out)]
        with m.If(v & l):   # the packet's last centroid: the table is free again
            m.d.sync += [n_open.eq(0), full.eq(0), slot.eq(1), tvalid.eq(0), pos.eq(0)]
            if self._hold:
                m.d.sync += state.eq(HOLD)
            else:
                m.d.sync += [state.eq(COLLECT), accepting.eq(1)]
        if self._hold:
            with m.If((state == HOLD) & self.release):
                m.d.sync += [state.eq(COLLECT), accepting.eq(1)]

        # The sums' read address is the emit counter while emitting, else the token's cluster,
        # a register per memory (loaded a stage ahead) with nothing between it and the block
        # RAMs: the memories' block RAMs lie across the die, and a multiplexer in front of the
        # address spent the whole cycle on that route (5.7-6.6 ns, the cta engine's critical
        # path). Each memory's select is its own copy of ``state == EMIT`` (kept registers
        # loaded with its next value, from the two transitions above), so the state register
        # does not route to both memories' address logic.
        emitting_next = Mux(v & l, 0, Mux(c["pv"] & c["last"], 1, emitting))
        sums_emitting, vsums_emitting = replicated_register(m, emitting_next, "emitting", 2)
        m.d.comb += [s_rd.addr.eq(_reg(m, Mux(sums_emitting, e, r_cid), "s_addr", unsigned(cid_bits))),
                     s_rd.en.eq(1)]
        if values:
            m.d.comb += [v_rd.addr.eq(_reg(m, Mux(vsums_emitting, e, r_cid), "v_addr", unsigned(cid_bits))),
                         v_rd.en.eq(1)]
        return m


def _or(values):
    result = values[0]
    for v in values[1:]:
        result = result | v
    return result
