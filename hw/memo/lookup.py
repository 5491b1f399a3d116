"""Memo-lookup engine (golden/memo/table.py is its bit-exact model)."""

from amaranth import Cat, Const, Module, Mux, Shape, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.memo.cycles import LOOKUP_LATENCY
from golden.memo.table import context_salt

from ..common.bram import RegisteredReadMemory
from ..common.perf import COUNTER_BITS

__all__ = ["MemoLookup", "request_layout", "response_layout", "registers_layout", "entry_layout",
           "lru_pairs"]


def request_layout(cfg) -> data.StructLayout:
    """``sig`` (S bits), ``length`` (sequence length), ``ctx`` (context: selective-mask bit and salt)."""
    return data.StructLayout({"sig": cfg.sig_bits, "length": cfg.length_bits, "ctx": cfg.ctx_bits})


def response_layout(cfg) -> data.StructLayout:
    """``hit``, ``dist`` (smallest distance among same-length entries, S + 1 if none), ``ptr``
    (entry number set * W + way on a hit or an allocation, else 0), ``alloc``, ``evict``."""
    return data.StructLayout({"hit": 1, "dist": cfg.dist_bits, "ptr": cfg.ptr_bits, "alloc": 1, "evict": 1})


def registers_layout(cfg) -> data.StructLayout:
    """A write of the runtime registers: ``tau`` and ``mask`` (bit c = context c)."""
    return data.StructLayout({"tau": range(cfg.sig_bits + 1), "mask": cfg.contexts})


def entry_layout(cfg) -> data.StructLayout:
    """One way of a set: ``valid``, ``key`` (salted signature), ``length``. (The LRU order of a
    set is a separate memory word: :func:`lru_pairs`.)"""
    return data.StructLayout({"valid": 1, "key": cfg.sig_bits, "length": cfg.length_bits})


def lru_pairs(ways: int) -> list[tuple[int, int]]:
    """The LRU word of a set: one bit per way pair (i, j), i < j, 1 when way i was used more
    recently than way j (after reset way w has age w: every bit 1)."""
    return [(i, j) for i in range(ways) for j in range(i + 1, ways)]


# --- combinational helpers --------------------------------------------------------------------

def _pair_counts(x):
    """Popcount, first level: 2-bit counts of bit pairs (one LUT level)."""
    bits = [x[i] for i in range(len(x))]
    return [Cat(bits[i] ^ bits[i + 1], bits[i] & bits[i + 1]) if i + 1 < len(bits) else bits[i]
            for i in range(0, len(bits), 2)]


def _add_levels(values, levels):
    """``levels`` levels of a pairwise adder tree (fewer if one value is left)."""
    for _ in range(levels):
        if len(values) == 1:
            break
        values = [values[i] + values[i + 1] if i + 1 < len(values) else values[i] for i in range(0, len(values), 2)]
    return values


def _levels(n):
    levels = 0
    while n > 1:
        n, levels = (n + 1) // 2, levels + 1
    return levels


def _touch(m, lru, used, pairs):
    """The LRU word after using the way ``used`` (one-hot): it becomes the most recent."""
    out = Signal(len(lru))
    for b, (i, j) in enumerate(pairs):
        m.d.comb += out[b].eq(used[i] | (lru[b] & ~used[j]))
    return out


def _oldest(m, lru, pairs, ways):
    """One-hot of the least recently used way."""
    out = Signal(ways)
    for w in range(ways):
        terms = [~lru[b] for b, (i, j) in enumerate(pairs) if i == w] + [lru[b] for b, (i, j) in enumerate(pairs) if j == w]
        all_older = Const(1, 1)
        for t in terms:
            all_older = all_older & t
        m.d.comb += out[w].eq(all_older)
    return out


class MemoLookup(wiring.Component):
    """Set-associative signature table: E entries in E/W sets of W ways. One request is
    accepted per cycle; a request accepted at cycle t answers at t + LOOKUP_LATENCY (9); the
    pipeline stalls as a unit while the answer is not taken. After reset the engine clears the
    table, one set per cycle (E/W cycles, ``i.ready`` low), before it accepts requests.

    Memories: one per way, a word per set (``valid``, ``key``, ``length``; only the way a miss
    allocates is written), and one word per set of LRU pair bits (:func:`lru_pairs`), all read
    in stage 0 and written by the request in stage C = DECIDE + 1 (8).

    Stages (every stage takes the set state the request in stage C leaves behind when it is
    in the same set, so each request sees the table after every earlier request, exactly as
    the golden table does; no stalls):

    0. accept, salt, set index, read the set (not transparent: stage 2 applies the write of
       the same cycle, so the read ports' collision result does not matter);
    1. the set words as read, in their read registers (:class:`RegisteredReadMemory`: on the
       ECP5 the block RAMs' output registers);
    2. patched by the writes the read missed (stage C now, and the two requests that were in
       stage C in the two cycles before; newest wins), ``key XOR entry key`` per way, length
       matches; the pairwise popcounts pd[j] of the key XOR the keys of the requests j = 1..5
       stages ahead start here;
    3-5. popcounts (POP_STAGES); a way allocated meanwhile by the request j ahead is recorded
       and takes pd[j] at the end of stage 5;
    6. pairwise distance comparisons and ``<= tau``; the way stage C allocates now is patched
       after the comparators (the comparisons against pd[2] are made beside them);
    7. decision (DECIDE): best way / hit, LRU victim, after the allocation and LRU update of
       the request one ahead (the one-cycle loop: selects among precomputed comparisons);
    8. answer (distance of the best way, pointer), memory writes, counters;
    then the answer register (``o``).

    Members:
        i: ``In(stream.Signature(request_layout))`` lookups.
        o: ``Out(stream.Signature(response_layout))`` answers, in order.
        regs: ``In(stream.Signature(registers_layout))`` writes of tau and the selective mask
            (always ready); lookups accepted from the next cycle on use the new values.
        tau, mask: ``Out`` the current register values.
        ready: ``Out(1)`` the table is cleared and takes requests.
        counters: ``Out`` ``lookups``, ``hits``, ``allocs``, ``evictions`` (answers given).
    """

    LATENCY = LOOKUP_LATENCY
    #: Popcount stages.
    POP_STAGES = 3
    #: Stage of the decision (the request in stage DECIDE + 1 has just written its set).
    DECIDE = POP_STAGES + 4

    def __init__(self, *, config):
        self._config = config
        super().__init__({
            "i": In(stream.Signature(request_layout(config))),
            "o": Out(stream.Signature(response_layout(config))),
            "regs": In(stream.Signature(registers_layout(config))),
            "tau": Out(range(config.sig_bits + 1)), "mask": Out(config.contexts),
            "ready": Out(1),
            "counters": Out(data.StructLayout({k: COUNTER_BITS for k in ("lookups", "hits", "allocs", "evictions")})),
        })
        assert self.LATENCY == self.DECIDE + 2, "golden/memo/cycles.py LOOKUP_LATENCY and the pipeline disagree"

    @property
    def config(self):
        return self._config

    def elaborate(self, platform):
        m = Module()
        cfg = self._config
        W, S, L = cfg.ways, cfg.sig_bits, cfg.length_bits
        pairs = lru_pairs(W)
        P = max(1, len(pairs))
        entry = entry_layout(cfg)
        set_bits = cfg.set_bits
        dist_shape = range(S + 1)

        # One memory per way and one of LRU words, each read into a register of its own (stage
        # 1; on the ECP5 the block RAMs' output registers). The reads are not transparent: a
        # write in the cycle of the read is the write of c3 when the reader is in stage 2, which
        # patches every word it wrote (and a block RAM's read of the address being written is
        # undefined, so nothing may depend on it).
        ways = [RegisteredReadMemory(m, width=Shape.cast(entry).width, depth=cfg.sets, name=f"entries{w}",
                                     platform=platform) for w in range(W)]
        lrus = RegisteredReadMemory(m, width=P, depth=cfg.sets, name="lrus", platform=platform)
        lwr, lrd = lrus.write, lrus.read

        # Runtime registers (reset values from the config).
        tau = Signal(range(S + 1), init=cfg.tau)
        mask = Signal(cfg.contexts, init=cfg.mask_value)
        m.d.comb += [self.regs.ready.eq(1), self.tau.eq(tau), self.mask.eq(mask)]
        with m.If(self.regs.valid):
            m.d.sync += [tau.eq(self.regs.payload.tau), mask.eq(self.regs.payload.mask)]

        en = Signal()
        m.d.comb += en.eq(~self.o.valid | self.o.ready)

        # Clearing after reset: one set per cycle.
        clearing = Signal(init=1)
        clear_set = Signal(range(cfg.sets))
        lru_init = (1 << len(pairs)) - 1
        m.d.comb += self.ready.eq(~clearing)

        # --- per-stage request registers (stage s holds what entered it) -----------------------
        N = self.DECIDE + 2  # stages 1 .. DECIDE + 1
        sv = [None] + [Signal(name=f"s{s}_valid") for s in range(1, N)]
        skey = [None] + [Signal(S, name=f"s{s}_key") for s in range(1, N)]
        slen = [None] + [Signal(L, name=f"s{s}_len") for s in range(1, N)]
        sset = [None] + [Signal(range(cfg.sets), name=f"s{s}_set") for s in range(1, N)]
        stau = [None] + [Signal(range(S + 1), name=f"s{s}_tau") for s in range(1, N)]
        sallow = [None] + [Signal(name=f"s{s}_allow") for s in range(1, N)]

        # Stage 0: salt, set index, read.
        salts = [context_salt(cfg, c) for c in range(cfg.contexts)]
        salt = Signal(S)
        with m.Switch(self.i.payload.ctx):
            for c, value in enumerate(salts):
                with m.Case(c):
                    m.d.comb += salt.eq(value)
        key0 = Signal(S)
        m.d.comb += key0.eq(self.i.payload.sig ^ salt)
        allow0 = Signal()
        m.d.comb += allow0.eq(Mux(self.i.payload.ctx < cfg.contexts, mask.bit_select(self.i.payload.ctx, 1), 0))
        m.d.comb += [self.i.ready.eq(en & ~clearing),
                     lrd.en.eq(en), lrd.addr.eq(key0[:set_bits])]
        m.d.comb += [way.read.en.eq(en) for way in ways] + [way.read.addr.eq(key0[:set_bits]) for way in ways]
        with m.If(en):
            m.d.sync += [sv[1].eq(self.i.valid & self.i.ready), skey[1].eq(key0), slen[1].eq(self.i.payload.length),
                         stau[1].eq(tau), sallow[1].eq(allow0), sset[1].eq(key0[:set_bits])]
            for s in range(2, N):
                m.d.sync += [sv[s].eq(sv[s - 1]), skey[s].eq(skey[s - 1]), slen[s].eq(slen[s - 1]),
                             stau[s].eq(stau[s - 1]), sallow[s].eq(sallow[s - 1]), sset[s].eq(sset[s - 1])]

        # --- stage 7 (the request that writes its set) and its history ---------------------------
        C = N - 1
        c_used = Signal(W)       # one-hot: the way hit or allocated (meaningful with c_touch)
        c_alloc = Signal()
        c_touch = Signal()
        c_lru = Signal(P)        # the set's LRU word as the request saw it
        c_lru_new = _touch(m, c_lru, c_used, pairs) if pairs else c_lru
        c_lru_out = Signal(P)
        m.d.comb += c_lru_out.eq(Mux(c_touch, c_lru_new, c_lru))

        def write_record(name):
            return {"valid": Signal(name=f"{name}_valid"), "set": Signal(range(cfg.sets), name=f"{name}_set"),
                    "alloc": Signal(name=f"{name}_alloc"), "used": Signal(W, name=f"{name}_used"),
                    "key": Signal(S, name=f"{name}_key"), "len": Signal(L, name=f"{name}_len"),
                    "lru": Signal(P, name=f"{name}_lru")}

        c = {"valid": sv[C], "set": sset[C], "alloc": c_alloc, "used": c_used, "key": skey[C], "len": slen[C],
             "lru": c_lru_out}
        c2, c3 = write_record("c2"), write_record("c3")  # stage 7 one and two cycles ago
        with m.If(en):
            m.d.sync += [c2[k].eq(c[k]) for k in c] + [c3[k].eq(c2[k]) for k in c]

        # Set and length matches against the request that will be in stage 7 when this one is in
        # stage s, registered a stage early (stage s - 1 compares with stage 6): eqc[s], leqc[s].
        eqc = [None, None] + [Signal(name=f"s{s}_same_c") for s in range(2, C)]
        leqc = [None, None] + [Signal(name=f"s{s}_len_c") for s in range(2, C)]
        with m.If(en):
            for s in range(2, C):
                m.d.sync += [eqc[s].eq(sv[C - 1] & (sset[C - 1] == sset[s - 1])), leqc[s].eq(slen[C - 1] == slen[s - 1])]

        # --- stage 1: the words as read ---------------------------------------------------------
        e2_raw = data.ArrayLayout(entry, W)(Cat(way.registered(en, f"e2_raw{w}") for w, way in enumerate(ways)))
        l2_raw = lrus.registered(en, "l2_raw")

        # --- stage 2: writes the read missed (c3, c2, c: newest wins), XOR, length matches ----------
        eq2 = {"c3": Signal(name="s2_same_c3"), "c2": Signal(name="s2_same_c2"), "c": eqc[2]}
        leq2 = {"c3": Signal(name="s2_len_c3"), "c2": Signal(name="s2_len_c2"), "c": leqc[2]}
        with m.If(en):  # in stage 1: c2 and c3 of the next cycle are c and c2 now
            m.d.sync += [eq2["c3"].eq(c2["valid"] & (c2["set"] == sset[1])), leq2["c3"].eq(c2["len"] == slen[1]),
                         eq2["c2"].eq(c["valid"] & (c["set"] == sset[1])), leq2["c2"].eq(c["len"] == slen[1])]
        x3 = [Signal(S, name=f"s3_x{w}") for w in range(W)]
        valid3 = Signal(W)
        same3 = Signal(W)     # entry length == request length
        lru3 = Signal(P)
        recs = [(c3, "c3"), (c2, "c2"), (c, "c")]    # oldest first
        lru_sel = l2_raw
        for r, n in recs:
            lru_sel = Mux(eq2[n], r["lru"], lru_sel)
        with m.If(en):
            m.d.sync += lru3.eq(lru_sel)
            for w in range(W):
                k, sm, v = e2_raw[w].key, e2_raw[w].length == slen[2], e2_raw[w].valid
                for r, n in recs:
                    hit_w = Signal(name=f"s2_fwd_{n}_{w}")
                    m.d.comb += hit_w.eq(eq2[n] & r["alloc"] & r["used"][w])
                    k, sm, v = Mux(hit_w, r["key"], k), Mux(hit_w, leq2[n], sm), v | hit_w
                m.d.sync += [x3[w].eq(k ^ skey[2]), valid3[w].eq(v), same3[w].eq(sm)]

        # Patches of stages 3..5 from stage 7: validity, length match, LRU word; the distance of
        # the allocated way is the distance to stage 7's key (pd[j]: to the request j ahead).
        def patch(s, valid, same, lru):
            sm, len_eq = eqc[s], leqc[s]
            pe = Signal(W, name=f"s{s}_pe")
            m.d.comb += pe.eq(Mux(sm & c_alloc, c_used, 0))
            nv, ns, nl = Signal(W, name=f"s{s}_pvalid"), Signal(W, name=f"s{s}_psame"), Signal(P, name=f"s{s}_plru")
            m.d.comb += [nv.eq(valid | pe), nl.eq(Mux(sm, c_lru_out, lru))]
            for w in range(W):
                m.d.comb += ns[w].eq(Mux(pe[w], len_eq, same[w]))
            return pe, nv, ns, nl

        # Pairwise distances: pd[j] = popcount(key XOR key of the request j stages ahead), for the
        # requests that write while this one's distances are being computed (j = 1 .. C - 3), in
        # K stages from stage 2 (keys of stages 3 .. C), ready in the last popcount stage.
        K, CMP, D = self.POP_STAGES, self.DECIDE - 1, self.DECIDE
        LAST = 2 + K                      # the last popcount stage of the ways
        J = C - 3
        n_levels = _levels((S + 1) // 2)  # adder levels after the pair counts
        sched = sorted([n_levels // K + (1 if i < n_levels % K else 0) for i in range(K)], reverse=True)

        def popcount_stages(x, first, name):
            """Popcount of ``x`` in stage ``first`` .. ``first + K - 1``: the registers holding its
            last partial sums (one value) at stage ``first + K - 1``, and a function giving the
            total in that stage."""
            values = _add_levels(_pair_counts(x), sched[0] if K > 1 else 64)
            for k in range(1, K):
                regs = [Signal(len(v), name=f"s{first + k}_{name}_p{i}") for i, v in enumerate(values)]
                with m.If(en):
                    m.d.sync += [r.eq(v) for r, v in zip(regs, values)]
                values = _add_levels(regs, sched[k] if k < K - 1 else 64)
            return values[0]

        pdl = [None] + [Signal(dist_shape, name=f"s{LAST}_pd{j}") for j in range(1, J + 1)]
        pdc = [None] + [Signal(dist_shape, name=f"s{CMP}_pd{j}") for j in range(1, 3)]
        with m.If(en):
            for j in range(1, J + 1):
                m.d.sync += pdl[j].eq(popcount_stages(skey[2] ^ skey[2 + j], 2, f"pd{j}"))
            m.d.sync += [pdc[1].eq(pdl[1]), pdc[2].eq(pdl[2])]

        # --- popcount stages 3 .. LAST: patches from stage 7 recorded per way (ovr[j]: the way
        # allocated by the request j ahead, distance pd[j]), applied at the end of LAST ---------------
        totals = [popcount_stages(x3[w], 3, f"x{w}") for w in range(W)]
        valid_s, same_s, lru_s, ovr = valid3, same3, lru3, {}
        for st in range(3, LAST + 1):
            pe, nv, ns, nl = patch(st, valid_s, same_s, lru_s)
            ovr = {**ovr, C - st: pe}
            if st < LAST:
                valid_s, same_s, lru_s = Signal(W, name=f"s{st + 1}_valid"), Signal(W, name=f"s{st + 1}_same"), \
                    Signal(P, name=f"s{st + 1}_lru")
                regs = {j: Signal(W, name=f"s{st + 1}_ovr{j}") for j in ovr}
                with m.If(en):
                    m.d.sync += [valid_s.eq(nv), same_s.eq(ns), lru_s.eq(nl)] + [regs[j].eq(ovr[j]) for j in ovr]
                ovr = regs
        dc = [Signal(dist_shape, name=f"s{CMP}_d{w}") for w in range(W)]  # after every allocation so far
        valid_c, same_c, lru_c = Signal(W, name=f"s{CMP}_valid"), Signal(W, name=f"s{CMP}_same"), Signal(P, name=f"s{CMP}_lru")
        with m.If(en):
            m.d.sync += [valid_c.eq(nv), same_c.eq(ns), lru_c.eq(nl)]
            for w in range(W):
                value = totals[w]
                for j in sorted(ovr, reverse=True):   # the nearest request (smallest j) wins
                    value = Mux(ovr[j][w], pdl[j], value)
                m.d.sync += dc[w].eq(value)

        # --- stage CMP: comparisons (the way stage 7 allocates now is patched after the
        # comparators: the comparisons against pd[2] are made beside them) ------------------------
        pe5, nv5, ns5, nl5 = patch(CMP, valid_c, same_c, lru_c)
        d5 = dc
        beats = {}
        for i, j in pairs:
            beats[i, j] = Signal(name=f"s{D}_beats{i}_{j}")  # way i beats way j (i < j: ties to i)
        le6 = Signal(W)        # distance <= tau
        ple6, plt6 = Signal(W), Signal(W)  # pd[1] <= / < distance of way w
        ptau6 = Signal()       # pd[1] <= tau
        len_eq6 = leqc[D]      # length of the request one ahead == this one's
        same6 = eqc[D]         # the request one ahead is valid and in this set
        valid6, cand6, lru6 = Signal(W), Signal(W), Signal(P)
        d6 = [Signal(dist_shape, name=f"s{D}_d{w}") for w in range(W)]
        pd1_6 = Signal(dist_shape)
        pd1, pd2 = pdc[1], pdc[2]
        with m.If(en):
            for i, j in pairs:
                m.d.sync += beats[i, j].eq(Mux(pe5[i], pd2 <= d5[j], Mux(pe5[j], ~(pd2 < d5[i]), d5[i] <= d5[j])))
            for w in range(W):
                m.d.sync += [le6[w].eq(Mux(pe5[w], pd2 <= stau[CMP], d5[w] <= stau[CMP])),
                             ple6[w].eq(Mux(pe5[w], pd1 <= pd2, pd1 <= d5[w])),
                             plt6[w].eq(Mux(pe5[w], pd1 < pd2, pd1 < d5[w])),
                             d6[w].eq(Mux(pe5[w], pd2, d5[w]))]
            m.d.sync += [ptau6.eq(pd1 <= stau[CMP]), valid6.eq(nv5), cand6.eq(nv5 & ns5), lru6.eq(nl5),
                         pd1_6.eq(pd1)]

        # --- stage 6: decision (after the previous request, now in stage 7) -----------------------
        pa = Signal(W)   # the way the previous request allocated in this set
        m.d.comb += pa.eq(Mux(same6 & c_alloc, c_used, 0))
        cand, le = Signal(W), Signal(W)
        for w in range(W):
            m.d.comb += [cand[w].eq(Mux(pa[w], len_eq6, cand6[w])), le[w].eq(Mux(pa[w], ptau6, le6[w]))]
        beat = {}
        for i, j in pairs:
            b = Signal(name=f"beat{i}_{j}")
            m.d.comb += b.eq(Mux(pa[i], ple6[j], Mux(pa[j], ~plt6[i], beats[i, j])))
            beat[i, j] = b
        win = Signal(W)
        for w in range(W):
            term = cand[w]
            for j in range(W):
                if j < w:
                    term = term & (~cand[j] | ~beat[j, w])
                elif j > w:
                    term = term & (~cand[j] | beat[w, j])
            m.d.comb += win[w].eq(term)
        hit = Signal()
        m.d.comb += hit.eq((cand & le).any())
        valid = Signal(W)
        m.d.comb += valid.eq(valid6 | pa)
        lru = Signal(P)
        m.d.comb += lru.eq(Mux(same6 & c_touch, c_lru_new, lru6))
        low_invalid = Signal(W)
        for w in range(W):
            term = ~valid[w]
            for j in range(w):
                term = term & valid[j]
            m.d.comb += low_invalid[w].eq(term)
        any_invalid = Signal()
        m.d.comb += any_invalid.eq(~valid.all())
        oldest = _oldest(m, lru, pairs, W) if pairs else Const(1, 1)
        victim = Signal(W)
        m.d.comb += victim.eq(Mux(any_invalid, low_invalid, oldest))
        alloc = Signal()
        m.d.comb += alloc.eq(~hit & sallow[D])
        used = Signal(W)
        m.d.comb += used.eq(Mux(hit, win, victim))
        c_hit, c_evict, c_win, c_any = Signal(), Signal(), Signal(W), Signal()
        c_d = [Signal(dist_shape, name=f"c_d{w}") for w in range(W)]
        with m.If(en):
            m.d.sync += [c_used.eq(used), c_alloc.eq(sv[D] & alloc), c_touch.eq(sv[D] & (hit | alloc)),
                         c_lru.eq(lru), c_hit.eq(hit), c_evict.eq(alloc & ~any_invalid), c_win.eq(win),
                         c_any.eq(cand.any())]
            m.d.sync += [c_d[w].eq(Mux(pa[w], pd1_6, d6[w])) for w in range(W)]

        # --- stage 7: answer, writes, counters ---------------------------------------------------
        best = Const(0, dist_shape)
        for w in range(W):
            best = best | Mux(c_win[w], c_d[w], 0)
        dist = Signal(range(S + 2))
        m.d.comb += dist.eq(Mux(c_any, best, S + 1))
        way = Signal(range(max(2, W)))
        for w in range(W):
            with m.If(c_used[w]):
                m.d.comb += way.eq(w)
        ptr = Signal(cfg.ptr_bits)
        if W & (W - 1) == 0:
            m.d.comb += ptr.eq(Mux(c_touch, Cat(way[:cfg.way_bits if W > 1 else 0], sset[C]), 0))
        else:
            m.d.comb += ptr.eq(Mux(c_touch, sset[C] * W + way, 0))

        with m.If(clearing):
            m.d.comb += [lwr.addr.eq(clear_set), lwr.en.eq(1), lwr.data.eq(lru_init)]
            m.d.comb += [way.write.addr.eq(clear_set) for way in ways] + [way.write.en.eq(1) for way in ways]
            m.d.sync += clear_set.eq(clear_set + 1)
            with m.If(clear_set == cfg.sets - 1):
                m.d.sync += clearing.eq(0)
        with m.Else():
            written = Signal(entry)   # what an allocation writes into its way
            m.d.comb += [written.valid.eq(1), written.key.eq(skey[C]), written.length.eq(slen[C])]
            for way in ways:
                m.d.comb += [way.write.data.eq(written), way.write.addr.eq(sset[C])]
            m.d.comb += [lwr.addr.eq(sset[C]), lwr.data.eq(c_lru_out)]
            with m.If(en & sv[C]):
                m.d.comb += [way.write.en.eq(c_alloc & c_used[w]) for w, way in enumerate(ways)]
                m.d.comb += lwr.en.eq(c_touch)

        counters = self.counters
        with m.If(en):
            m.d.sync += self.o.valid.eq(sv[C])
            with m.If(sv[C]):
                m.d.sync += [self.o.payload.hit.eq(c_hit), self.o.payload.dist.eq(dist),
                             self.o.payload.ptr.eq(ptr), self.o.payload.alloc.eq(c_alloc),
                             self.o.payload.evict.eq(c_evict),
                             counters.lookups.eq(counters.lookups + 1), counters.hits.eq(counters.hits + c_hit),
                             counters.allocs.eq(counters.allocs + c_alloc),
                             counters.evictions.eq(counters.evictions + c_evict)]
        return m
