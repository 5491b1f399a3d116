"""Memo-lookup engine (golden/memo/table.py is its bit-exact model)."""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden.memo.cycles import LOOKUP_LATENCY
from golden.memo.table import context_salt

from ..common.perf import COUNTER_BITS

__all__ = ["MemoLookup", "request_layout", "response_layout", "registers_layout", "entry_layout"]


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
    """One way of a set word: ``valid``, ``key`` (salted signature), ``length``, ``age`` (LRU)."""
    return data.StructLayout({"valid": 1, "key": cfg.sig_bits, "length": cfg.length_bits, "age": cfg.way_bits})


def _popcount(value):
    bits = [value[i] for i in range(len(value))]
    while len(bits) > 1:
        bits = [bits[i] + bits[i + 1] if i + 1 < len(bits) else bits[i] for i in range(0, len(bits), 2)]
    return bits[0]


class MemoLookup(wiring.Component):
    """Set-associative signature table: E entries in E/W sets of W ways, one memory word per
    set. A request accepted at cycle t answers at t + 3 (LOOKUP_LATENCY); one request is
    accepted per cycle; the pipeline stalls as a unit while the answer is not taken.

    Stages: (0) accept, read the set; (A) W Hamming distances and length matches; (B) the
    answer of the previous request, if it was in the same set, is forwarded (its set word and
    the distance to the way it wrote), best way within tau / LRU victim, new set word written
    back; (C) the answer register. After reset the engine clears the table, one set per cycle
    (E/W cycles, ``i.ready`` low), before it accepts requests.

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

    @property
    def config(self):
        return self._config

    def elaborate(self, platform):
        m = Module()
        cfg = self._config
        W, S = cfg.ways, cfg.sig_bits
        way_shape = range(max(2, W))  # no zero-width signals when W = 1
        entry = entry_layout(cfg)
        set_layout = data.ArrayLayout(entry, W)
        set_bits = cfg.set_bits

        init_word = Signal(set_layout)
        m.d.comb += [init_word[w].age.eq(w) for w in range(W)]

        m.submodules.table = table = Memory(shape=set_layout, depth=cfg.sets, init=[])
        wr = table.write_port()
        rd = table.read_port(transparent_for=(wr,))

        # Runtime registers (reset values from the config).
        tau = Signal(range(S + 1), init=cfg.tau)
        mask = Signal(cfg.contexts, init=cfg.mask_value)
        m.d.comb += [self.regs.ready.eq(1), self.tau.eq(tau), self.mask.eq(mask)]
        with m.If(self.regs.valid):
            m.d.sync += [tau.eq(self.regs.payload.tau), mask.eq(self.regs.payload.mask)]

        # Clearing after reset: one set per cycle.
        clearing = Signal(init=1)
        clear_set = Signal(range(cfg.sets))
        with m.If(clearing):
            m.d.comb += [wr.en.eq(1), wr.addr.eq(clear_set), wr.data.eq(init_word)]
            m.d.sync += clear_set.eq(clear_set + 1)
            with m.If(clear_set == cfg.sets - 1):
                m.d.sync += clearing.eq(0)
        m.d.comb += self.ready.eq(~clearing)

        en = Signal()
        m.d.comb += en.eq(~self.o.valid | self.o.ready)

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
        m.d.comb += [self.i.ready.eq(en & ~clearing), rd.en.eq(en), rd.addr.eq(key0[:set_bits])]

        a_valid, a_key, a_len = Signal(), Signal(S), Signal(cfg.length_bits)
        a_tau, a_allow, a_set = Signal.like(tau), Signal(), Signal(range(cfg.sets))
        with m.If(en):
            m.d.sync += [a_valid.eq(self.i.valid & self.i.ready), a_key.eq(key0), a_len.eq(self.i.payload.length),
                         a_tau.eq(tau), a_allow.eq(allow0), a_set.eq(key0[:set_bits])]

        # Stage A: distances and length matches on the set as read.
        a_word = rd.data
        b_valid, b_key, b_len = Signal(), Signal(S), Signal(cfg.length_bits)
        b_tau, b_allow, b_set = Signal.like(tau), Signal(), Signal(range(cfg.sets))
        b_word = Signal(set_layout)
        b_dist = [Signal(range(S + 1), name=f"b_dist{w}") for w in range(W)]
        b_same = [Signal(name=f"b_same{w}") for w in range(W)]  # same length (validity from the word)
        with m.If(en):
            m.d.sync += [b_valid.eq(a_valid), b_key.eq(a_key), b_len.eq(a_len), b_tau.eq(a_tau),
                         b_allow.eq(a_allow), b_set.eq(a_set), b_word.eq(a_word)]
            for w in range(W):
                m.d.sync += [b_dist[w].eq(_popcount(a_key ^ a_word[w].key)), b_same[w].eq(a_word[w].length == a_len)]

        # Stage B: forwarding from C (the previous request wrote its set after this one read it).
        c_valid, c_set, c_key, c_len, c_alloc = Signal(), Signal(range(cfg.sets)), Signal(S), Signal(cfg.length_bits), Signal()
        c_way = Signal(way_shape)
        c_word = Signal(set_layout)
        fwd = Signal()
        m.d.comb += fwd.eq(c_valid & (c_set == b_set))
        word = Signal(set_layout)
        m.d.comb += word.eq(Mux(fwd, c_word, b_word))
        dist = [Signal(range(S + 1), name=f"dist{w}") for w in range(W)]
        cand = [Signal(name=f"cand{w}") for w in range(W)]
        fwd_dist = Signal(range(S + 1))
        m.d.comb += fwd_dist.eq(_popcount(b_key ^ c_key))
        for w in range(W):
            patched = fwd & c_alloc & (c_way == w)
            m.d.comb += [dist[w].eq(Mux(patched, fwd_dist, b_dist[w])),
                         cand[w].eq(word[w].valid & Mux(patched, c_len == b_len, b_same[w]))]

        # Best candidate: smallest distance, ties to the lowest way (linear scan from the top).
        none = S + 1
        best_d = Const(none, range(S + 2))
        best_w = Const(0, way_shape)
        for w in reversed(range(W)):
            take = cand[w] & (dist[w] <= best_d)
            best_d = Mux(take, dist[w], best_d)
            best_w = Mux(take, w, best_w)
        best_dist, best_way = Signal(range(S + 2)), Signal(way_shape)
        m.d.comb += [best_dist.eq(best_d), best_way.eq(best_w)]
        hit = Signal()
        m.d.comb += hit.eq((best_dist != none) & (best_dist <= b_tau))
        alloc = Signal()
        m.d.comb += alloc.eq(~hit & b_allow)

        # Victim: the lowest invalid way, else the oldest (age W - 1).
        victim = Const(0, way_shape)
        any_invalid = 0
        for w in reversed(range(W)):
            victim = Mux(~word[w].valid, w, victim)
        for w in range(W):
            any_invalid = any_invalid | ~word[w].valid
        oldest = Const(0, way_shape)
        for w in reversed(range(W)):
            oldest = Mux(word[w].age == W - 1, w, oldest)
        victim_way = Signal(way_shape)
        m.d.comb += victim_way.eq(Mux(any_invalid, victim, oldest))

        used = Signal(way_shape)
        touch = Signal()
        m.d.comb += [used.eq(Mux(hit, best_way, victim_way)), touch.eq(hit | alloc)]
        used_age = Signal(cfg.way_bits)
        m.d.comb += used_age.eq(word.as_value().word_select(used, entry.size)[entry.size - cfg.way_bits:])
        new_word = Signal(set_layout)
        m.d.comb += new_word.eq(word)
        with m.If(touch):
            for w in range(W):
                with m.If(used == w):
                    m.d.comb += new_word[w].age.eq(0)
                with m.Elif(word[w].age < used_age):
                    m.d.comb += new_word[w].age.eq(word[w].age + 1)
        with m.If(alloc):
            for w in range(W):
                with m.If(victim_way == w):
                    m.d.comb += [new_word[w].valid.eq(1), new_word[w].key.eq(b_key), new_word[w].length.eq(b_len)]
        evict = Signal()
        m.d.comb += evict.eq(alloc & ~any_invalid)

        with m.If(en & b_valid & ~clearing):
            m.d.comb += [wr.en.eq(1), wr.addr.eq(b_set), wr.data.eq(new_word)]

        ptr = Signal(cfg.ptr_bits)
        m.d.comb += ptr.eq(Mux(touch, b_set * W + used, 0))
        counters = self.counters
        with m.If(en):
            m.d.sync += [c_valid.eq(b_valid), c_set.eq(b_set), c_key.eq(b_key), c_len.eq(b_len),
                         c_alloc.eq(alloc), c_way.eq(used), c_word.eq(new_word),
                         self.o.valid.eq(b_valid)]
            with m.If(b_valid):
                m.d.sync += [self.o.payload.hit.eq(hit), self.o.payload.dist.eq(best_dist),
                             self.o.payload.ptr.eq(ptr), self.o.payload.alloc.eq(alloc),
                             self.o.payload.evict.eq(evict),
                             counters.lookups.eq(counters.lookups + 1), counters.hits.eq(counters.hits + hit),
                             counters.allocs.eq(counters.allocs + alloc),
                             counters.evictions.eq(counters.evictions + evict)]
        return m
