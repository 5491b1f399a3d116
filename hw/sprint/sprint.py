"""SPRINT recompute engine: pruning macro, K/V fetch over AXI with on-chip reuse, exact
attention over the survivors."""

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden.sprint.cycles import LAST_FIFO, ORDER_FIFO, PAIR_FIFO, QUERY_FIFO

from ..common import (AttentionUnit, PerfCounters, Score, Softmax, WeightedSum, output_layout, query_layout,
                      token_layout)
from ..common.axi import AxiReader, AxiReadSignature
from ..common.fifo import CreditFIFO, Credits, FlagRegisterFIFO, HeadRegisterFIFO
from ..common.perf import COUNTER_BITS
from ..common.pipeline import register
from .reram_macro import ReramMacro, macro_signature

__all__ = ["Sprint", "SprintEngine", "command_layout"]


#: Bits per group of the walker's survivor masks: the lowest survivor is searched by a
#: decrement within each group (a carry chain of this length) and a priority pick over the
#: groups' registered nonempty flags, instead of one decrement across all N bits.
WALK_GROUP = 16


def without_lowest(mask):
    """``mask - 1`` truncated: ``mask & without_lowest(mask)`` clears the lowest set bit,
    ``mask & ~without_lowest(mask)`` is that bit alone. A decrement is a carry chain fed
    straight by ``mask``'s registers, with one LUT after it per use."""
    return (mask - 1)[:len(mask)]


def lowest_is_in(inside, outside):
    """1 when the lowest set bit of ``inside | outside`` (disjoint sets) is in ``inside``. With
    their bits reversed, the larger of the two holds that bit: one compare, which maps to a
    carry chain, instead of isolating the bit and reducing an N-input AND-OR tree."""
    def reversed_bits(v):
        return Cat(*(v[i] for i in reversed(range(len(v)))))
    return reversed_bits(inside) > reversed_bits(outside)


def groups(mask):
    """``mask`` in slices of :data:`WALK_GROUP` bits, lowest first."""
    return [mask[i:i + WALK_GROUP] for i in range(0, len(mask), WALK_GROUP)]


#: Bits of a key's number within its group.
CODE_BITS = max((WALK_GROUP - 1).bit_length(), 1)


def encode_one_hot(hot, width):
    """The number of the set bit of ``hot`` (one-hot, a value or a list of bits; 0 when none),
    ``width`` bits: each an OR of the bits whose number has it set."""
    def bit(b):
        terms = [hot[k] for k in range(len(hot)) if k >> b & 1]
        return Cat(*terms).any() if terms else Const(0, 1)
    return Cat(*(bit(b) for b in range(width)))


def lowest_code(part):
    """The number of ``part``'s lowest set bit within the group (0 when empty): its one-hot
    lowest bit encoded by ORs of WALK_GROUP / 2 bits."""
    return encode_one_hot(part & ~without_lowest(part), CODE_BITS)


class SurvivorSet:
    """A set of survivors (a bit per key, ``mask``) held with what taking its lowest survivor
    needs, per group of :data:`WALK_GROUP` keys: ``minus`` (each group without its own lowest
    bit), ``codes`` (each group's lowest bit's number in the group, :data:`CODE_BITS` each) and
    ``nonempty`` (a bit per group). As registers, they make :class:`LowestSurvivor` a few gates:
    only the lead group changes when its lowest survivor is taken, and its new ``minus`` and
    code are one decrement of its registered ``minus``.

    Members (Signals): ``mask``, ``minus``, ``codes``, ``nonempty``; :meth:`code` group g's
    code; :meth:`load` the assignments that hold a new mask.
    """

    def __init__(self, n, *, name):
        self.mask = Signal(n, name=name)
        self.minus = Signal(n, name=f"{name}_minus")
        self.nonempty = Signal(len(groups(self.mask)), name=f"{name}_nonempty")
        self.codes = Signal(len(self.nonempty) * CODE_BITS, name=f"{name}_codes")

    def code(self, g):
        """Group ``g``'s lowest bit's number (a slice of ``codes``)."""
        return self.codes[g * CODE_BITS:(g + 1) * CODE_BITS]

    def load(self, mask):
        """Assignments that hold ``mask`` (one decrement per group)."""
        parts = groups(mask)
        return [self.mask.eq(mask), self.minus.eq(Cat(*(part & without_lowest(part) for part in parts))),
                self.codes.eq(Cat(*(lowest_code(part) for part in parts))), self.nonempty.eq(nonempty_groups(mask))]


class LowestSurvivor:
    """The lowest survivor of a :class:`SurvivorSet` ``survivors``, from its members alone (no
    search over the mask: the pick over groups uses the ``nonempty`` flags, the survivor's bit
    and number the lead group's ``minus`` and code).

    Members (values): ``lead`` the lowest nonempty group (one-hot, a list), ``bit`` the lowest
    survivor (one-hot), ``index`` its number (0 for an empty set); :meth:`take` the assignments
    that leave a SurvivorSet holding the rest; :meth:`pick` the lead group's bit of per-group
    flags; :meth:`first_in_after` a split's flags once the survivor is taken.
    """

    def __init__(self, survivors):
        self._survivors = survivors
        nonempty = survivors.nonempty
        self.lead = [nonempty[g] & ~nonempty[:g].any() if g else nonempty[0] for g in range(len(nonempty))]
        self.bit = Cat(*(Mux(lead, part & ~minus, 0)
                         for lead, part, minus in zip(self.lead, groups(survivors.mask), groups(survivors.minus))))
        # The lead group's code, beside the lead group's number.
        code = [self.pick(Cat(*(survivors.code(g)[b] for g in range(len(self.lead))))) for b in range(CODE_BITS)]
        self.index = Cat(*code, encode_one_hot(self.lead, (len(self.lead) - 1).bit_length()))

    def take(self, rest):
        """Assignments that leave ``rest`` (a SurvivorSet) holding the survivors after this one:
        the lead group's mask becomes its ``minus``, whose own lowest bit is then the one to
        clear and to encode."""
        s = self._survivors
        parts, minuses, codes, nonempty = [], [], [], []
        for g, (lead, part, minus) in enumerate(zip(self.lead, groups(s.mask), groups(s.minus))):
            parts.append(Mux(lead, minus, part))
            minuses.append(Mux(lead, minus & without_lowest(minus), minus))
            codes.append(Mux(lead, lowest_code(minus), s.code(g)))
            nonempty.append(s.nonempty[g] & ~(lead & ~minus.any()))
        return [rest.mask.eq(Cat(*parts)), rest.minus.eq(Cat(*minuses)), rest.codes.eq(Cat(*codes)),
                rest.nonempty.eq(Cat(*nonempty))]

    def pick(self, flags):
        """The lead group's bit of ``flags`` (a bit per group): with :func:`first_in_groups`
        held in registers, whether this survivor is on the inside of a split."""
        return Cat(*(lead & flags[g] for g, lead in enumerate(self.lead))).any()

    def first_in_after(self, inside, others):
        """:func:`first_in_groups` of the set's survivors split by ``inside`` (within ``mask``:
        the rest of ``mask`` is outside) once this survivor is taken: for the lead group a
        compare of its split within its ``minus``, selected after the compare (the pick over
        groups in front of it was the engine's critical path, 7.7 ns); for the other groups
        ``others``, their flags, which the take leaves as they are. Each side of the compare is
        one LUT from ``inside`` and ``minus``: an outside mask ANDed in would be a second."""
        return Cat(*(Mux(lead, lowest_is_in(i & minus, minus & ~i), others[g])
                     for g, (lead, i, minus) in enumerate(zip(self.lead, groups(inside),
                                                              groups(self._survivors.minus)))))


def first_in_groups(inside, outside):
    """A bit per :data:`WALK_GROUP`-bit group: the group's lowest set bit of ``inside |
    outside`` (disjoint) is in ``inside`` (:func:`lowest_is_in`, a compare per group)."""
    return Cat(*(lowest_is_in(i, o) for i, o in zip(groups(inside), groups(outside))))


def nonempty_groups(mask):
    """One bit per :data:`WALK_GROUP`-bit group of ``mask``: the group has a set bit."""
    return Cat(*(part.any() for part in groups(mask)))


def command_layout(cfg) -> data.StructLayout:
    """``theta`` (the head's threshold register), ``base`` (byte address of token 0's K/V pair
    in memory; pair j is at base + j * pair_stride: K_j's words, then V_j's)."""
    return data.StructLayout({"theta": signed(cfg.analog_bits), "base": unsigned(cfg.axi_addr_width)})


#: Sticky error flags and the counters beside cycles/mac_cycles/packets (``errors``, ``perf``).
ERRORS = ("key_overflow", "axi_error")
COUNTERS = ("fetched", "reused")


def _engine_signature(cfg) -> dict:
    return {
        "cmd": In(stream.Signature(command_layout(cfg))),
        "k": In(stream.Signature(token_layout(cfg))),
        "q": In(stream.Signature(query_layout(cfg))),
        "o": Out(stream.Signature(output_layout(cfg))),
        "axi": Out(AxiReadSignature(addr_width=cfg.axi_addr_width, data_width=cfg.axi_data_width)),
    }


class Sprint(AttentionUnit):
    """SPRINT for one head per packet: :class:`SprintEngine` with the behavioural
    :class:`ReramMacro` on its ``macro`` port (golden/sprint/model.py is the contract).

    Members: as :class:`SprintEngine`, without ``macro``.
    """

    ERRORS, COUNTERS = ERRORS, COUNTERS

    def __init__(self, *, config):
        super().__init__(_engine_signature(config), config=config)

    def elaborate(self, platform):
        m = Module()
        m.submodules.engine = engine = SprintEngine(config=self._config)
        m.submodules.macro = macro = ReramMacro(config=self._config)
        wiring.connect(m, engine.macro, macro)
        for name in ("cmd", "k", "q"):
            wiring.connect(m, wiring.flipped(getattr(self, name)), getattr(engine, name))
        wiring.connect(m, engine.o, wiring.flipped(self.o))
        wiring.connect(m, engine.axi, wiring.flipped(self.axi))
        m.d.comb += [self.errors.eq(engine.errors), self.perf.eq(engine.perf)]
        return m


class SprintEngine(AttentionUnit):
    """SPRINT's recompute engine, one head per packet, with the pruning macro outside on its
    ``macro`` port: the ``sprint_engine`` unit, for an ASIC flow that links a real macro there,
    and for FPGA synthesis of the engine alone (:class:`Sprint` adds the behavioural macro).

    A packet: one beat on ``cmd`` (theta, K/V base address), its n keys on ``k`` (they program
    the macro's columns), then query rows on ``q`` (``last`` on the final one). Per query the
    macro returns the keep mask; the walker goes through the survivors in key order: a survivor
    whose pair is in the on-chip buffer (policy ``config.reuse``) is reused, any other is
    fetched over ``axi`` (one command of 2 * row_words words) and written into its slot. The
    survivors' keys and values (in key order) are a packet of the score and weighted-sum stages
    (two banks each: the next query's survivors load while the current one is computed), so
    softmax runs over survivors only. One output token per query leaves on ``o``.

    Members:
        macro: ``Out(macro_signature.flip())`` to the macro: keys (``k``), queries (``q``), the
            keep masks (``mask``), ``theta``/``theta_we``, ``overflow`` (``n_keys`` unused).
        cmd: ``In(stream.Signature(command_layout))``.
        k: ``In(stream.Signature(token_layout))``.
        q: ``In(stream.Signature(query_layout))``.
        o: ``Out(stream.Signature(output_layout))``.
        axi: ``Out(AxiReadSignature)`` AR and R channels to the K/V memory.
        errors: ``Out(error_layout)`` sticky: ``key_overflow`` (more than N keys; dropped),
            ``axi_error`` (a read returned rresp != OKAY; its data is used as read).
        perf: ``Out(perf_layout)`` ``cycles``, ``mac_cycles`` (two L-lane arrays), ``packets``,
            ``fetched``, ``reused`` (K/V pairs of the last packet whose queries were all walked).
    """

    ERRORS, COUNTERS = ERRORS, COUNTERS

    def __init__(self, *, config):
        super().__init__({"macro": Out(macro_signature(config).flip()), **_engine_signature(config)}, config=config)

    def elaborate(self, platform):
        cfg = self._config
        m = Module()
        n_max, d, w = cfg.max_tokens, cfg.head_dim, cfg.data_width
        # Slots beyond N are never used (token j's slot is j mod slots < N).
        slots = min(cfg.slots, n_max)
        vec_bits = d * w
        aw = cfg.axi_data_width
        words = 2 * cfg.row_words
        handshake = lambda s: s.valid & s.ready

        macro = self.macro
        m.submodules.reader = reader = AxiReader(addr_width=cfg.axi_addr_width, data_width=aw,
                                                 max_burst=cfg.axi_max_burst, outstanding=2)
        # The query registers load whenever free, not on the query FIFO's handshake: with the
        # handshake as their enable, the placer put it between them and the FIFO, 6.2-6.5 ns of
        # routing at three seeds of five (docs/fpga.md, stop 42).
        m.submodules.score = score = Score(config=cfg, banks=2, query_load="free")
        m.submodules.softmax = softmax = Softmax(config=cfg)
        m.submodules.weighted_sum = weighted_sum = WeightedSum(config=cfg, banks=2)
        m.submodules.perf = perf = PerfCounters(arrays=self.mac_arrays)
        wiring.connect(m, reader.axi, wiring.flipped(self.axi))

        # --- Packet front: cmd, keys to the macro, queries to the macro and the query FIFO ----
        running = Signal()     # a packet's cmd was taken and its last query not yet walked
        base = Signal(cfg.axi_addr_width)
        packet_done = Signal()  # the walker finished the packet's last query (comb)
        m.d.comb += self.cmd.ready.eq(~running)
        with m.If(handshake(self.cmd)):
            m.d.sync += [running.eq(1), base.eq(self.cmd.payload.base)]
        m.d.comb += [macro.theta.eq(self.cmd.payload.theta), macro.theta_we.eq(handshake(self.cmd))]
        with m.If(packet_done):
            m.d.sync += running.eq(0)
        # A packet's keys, then its queries; the next packet's beats wait for its cmd.
        keys_loaded = Signal()   # the packet's last key programmed the macro
        queries_in = Signal()    # the packet's last query was taken
        with m.If(handshake(self.cmd)):
            m.d.sync += [keys_loaded.eq(0), queries_in.eq(0)]
        with m.If(handshake(self.k) & self.k.payload.last):
            m.d.sync += keys_loaded.eq(1)
        with m.If(handshake(self.q) & self.q.payload.last):
            m.d.sync += queries_in.eq(1)

        m.d.comb += [macro.k.payload.eq(self.k.payload), macro.k.valid.eq(self.k.valid & running & ~keys_loaded),
                     self.k.ready.eq(macro.k.ready & running & ~keys_loaded)]
        with m.If(macro.overflow):
            m.d.sync += self.errors.key_overflow.eq(1)

        # The query handshake drives only a few registers beside the input. The query lands in
        # a holding register (loaded every cycle while it is empty, so the handshake is not the
        # enable of its bits), which offers it to the macro; the query FIFO and the LAST FIFO
        # (each query's ``last``, for its output beat, by the output across the die) are written
        # from it a cycle later, and their room is their credit count (``CreditFIFO.room``:
        # queries taken and not yet read), registers by the input. With the macro's ``ready`` in
        # ``q.ready`` and the handshake as the enable of the macro's query registers and of both
        # FIFOs' writes, the handshake, placed among them, was the engine's critical path. The
        # holding register costs a packet's first query a cycle; later ones wait in it while the
        # macro works on the one before.
        q_layout = query_layout(cfg)
        m.submodules.qfifo = qfifo = CreditFIFO(width=q_layout.size, depth=QUERY_FIFO)
        m.submodules.lastfifo = lastfifo = CreditFIFO(width=1, depth=LAST_FIFO)
        held = Signal()             # the holding register has a query the macro has not taken
        held_query = Signal(q_layout)
        enqueue = Signal()          # a query was taken in the previous cycle: write both FIFOs
        m.d.comb += self.q.ready.eq(~held & qfifo.room & lastfifo.room & running & keys_loaded & ~queries_in)
        with m.If(~held):
            m.d.sync += held_query.eq(self.q.payload)
        m.d.sync += enqueue.eq(handshake(self.q))
        with m.If(handshake(self.q)):
            m.d.sync += held.eq(1)
        with m.Elif(handshake(macro.q)):
            m.d.sync += held.eq(0)
        m.d.comb += [
            macro.q.valid.eq(held), macro.q.payload.data.eq(held_query.data), macro.q.payload.last.eq(held_query.last),
            qfifo.issue.eq(handshake(self.q)), qfifo.w_en.eq(enqueue), qfifo.w_data.eq(held_query),
            lastfifo.issue.eq(handshake(self.q)), lastfifo.w_en.eq(enqueue), lastfifo.w_data.eq(held_query.last),
        ]
        queued = data.View(q_layout, qfifo.r_data)
        m.d.comb += [score.q.payload.data.eq(queued.data), score.q.payload.scale.eq(queued.scale),
                     score.q.payload.last.eq(1), score.q.valid.eq(qfifo.r_rdy), qfifo.r_en.eq(score.q.ready)]

        # --- Walker: survivors in key order, reuse or fetch ----------------------------------
        order_layout = data.StructLayout({"slot": range(max(slots, 2)), "fetch": 1, "last": 1})
        # Its head is a register: the head's slot addresses the K/V buffer's read, and a
        # memory read in front of that address was the engine's critical path.
        m.submodules.order = order = HeadRegisterFIFO(width=order_layout.size, depth=ORDER_FIFO)
        walking = Signal()
        # The walker holds the survivor this step handles (one-hot), the ones after it, and
        # whether the survivor's pair is in the buffer, all as registers: the step is then a
        # few gates from registers. The survivors after it are also held split by residency
        # (``rest_in``, the resident ones; the others are the rest of ``rest.mask``), and per
        # group whether its lowest survivor is resident (``rest_first_in``, one compare per
        # group, :func:`first_in_groups`, computed a step ahead), so the next survivor's
        # residency is a pick over registers. The next
        # survivor and its number come from the rest's :class:`SurvivorSet` registers (per group
        # of WALK_GROUP keys: the group without its lowest bit, that bit's number, a nonempty
        # flag), so a step is a pick over the groups' flags, and only the lead group's registers
        # take a decrement. One decrement across all N keys (a 128-bit carry chain, 8.3 ns) and
        # then a decrement per group in front of the number's encoder and the pick (7.2 ns) were
        # the engine's critical path.
        lowest = Signal(n_max)
        j = Signal(range(max(n_max, 2)), name="j")   # lowest's number
        rest = SurvivorSet(n_max, name="rest")
        rest_in = Signal(n_max)
        rest_first_in = Signal(len(rest.nonempty))
        resident = Signal()
        last_query = Signal()
        # reusable[j]: key j's pair may serve the query whose mask comes next. Policy ``all``:
        # the pair is in its slot (j mod slots). Policy ``previous``: also, the query walked
        # last kept key j; the bits are cleared as a mask is taken and set as the walker passes
        # each survivor, so they need no copy of the previous mask and no AND with it in front
        # of the next mask's residency compare (that path limited the engine). Kept as a
        # bitmap, so the reuse decision is an AND with the survivor bit, not a read of the
        # slot's tag and a compare. A slot holds one key at a time: a fetch clears the bits of
        # every key that shares the survivor's slot, so no per-slot tag is needed to know whom
        # it evicts.
        reusable = Signal(n_max)
        # Its next value is one of two (comb, for the staged mask's split below too): without a
        # step (``reusable_idle``: cleared by a cmd and, policy ``previous``, as the walker takes
        # a mask) and with one (``reusable_stepped``), selected by the step.
        reusable_idle, reusable_stepped = Signal(n_max), Signal(n_max)
        idle_cleared = Signal()     # reusable_idle is 0 (not reusable) this cycle
        step = Signal()
        m.d.comb += reusable_idle.eq(reusable)
        m.d.sync += reusable.eq(Mux(step, reusable_stepped, reusable_idle))
        # The survivor's slot, one-hot: an OR of the one-hot survivor's bits congruent mod
        # slots (with a slot per key, ``lowest`` itself). Both the keys sharing the slot and
        # the slot's number come from it.
        slot_hot = Signal(slots)
        m.d.comb += [slot_hot[s].eq(Cat(*(lowest[i] for i in range(s, n_max, slots))).any()) for s in range(slots)]
        same_slot = Cat(*(slot_hot[k % slots] for k in range(n_max)))
        fetched, reused = Signal(COUNTER_BITS, name="fetched"), Signal(COUNTER_BITS, name="reused")
        perf_fetched = Signal(COUNTER_BITS, name="perf_fetched")
        perf_reused = Signal(COUNTER_BITS, name="perf_reused")

        with m.If(handshake(self.cmd)):
            m.d.comb += [reusable_idle.eq(0), idle_cleared.eq(1)]

        # The mask waits in a staging register, held as a SurvivorSet, until the walker is free:
        # taking the first survivor straight from the macro's mask needs a decrement per group
        # and the number's encoder in front of the pick, the path the rest's registers take out
        # of the step. It costs a query whose mask the walker waits for a cycle; a mask that
        # arrives while the walker is busy waits there instead of in the macro. The register
        # loads every cycle while it is empty, so the macro's ``valid`` selects nothing in it.
        staged = SurvivorSet(n_max, name="staged")
        staged_valid, staged_last = Signal(), Signal()
        m.d.comb += macro.mask.ready.eq(~staged_valid)
        with m.If(~staged_valid):
            m.d.sync += [staged_last.eq(macro.mask.payload.last), *staged.load(macro.mask.payload.keep)]
        with m.If(handshake(macro.mask)):
            m.d.sync += staged_valid.eq(1)
        # Which of a query's survivors are resident is fixed when the walker takes its mask: in
        # the buffer (and, policy ``previous``, kept by the previous query), and no earlier
        # survivor shares the slot (that one is not resident, since the slot holds this key, so
        # its fetch evicts this key before the walker gets here; with a slot per key, as at the
        # default, none does). The staged mask's resident survivors (``staged_in``), and per
        # group whether its lowest survivor is resident (``staged_first_in``), are registers
        # kept current every cycle from the next values of the mask and of ``reusable``, so
        # taking the mask is a pick and a compare over registers: the AND with ``reusable``
        # and the compares in front of the first survivor's pick were the engine's critical
        # path (7.7 ns) once the mask was staged, and later the split of the staged mask by
        # residency in front of the rest's flags (6.7 ns). The compares are made for both of
        # reusable's next values and the step selects after them: the step in front of them
        # was 8.6 ns.
        def slot_leaders(mask, name):
            # The survivors no lower survivor of ``mask`` shares a slot with. A signal, not an
            # expression: Amaranth lowers an expression again at every use, and an expression
            # here once made the default config's Verilog 14 MB of copies (constant-zero wires).
            leaders = Signal(n_max, name=name)
            m.d.comb += leaders.eq(mask & ~Cat(*(Cat(*(mask[i] for i in range(k - slots, -1, -slots))).any()
                                                 for k in range(n_max))))
            return leaders
        staged_leaders = slot_leaders(staged.mask, "staged_leaders")
        macro_leaders = slot_leaders(macro.mask.payload.keep, "macro_leaders")
        staged_in = Signal(n_max, name="staged_in")
        staged_first_in = Signal(len(staged.nonempty), name="staged_first_in")

        def staged_split(reusable_value):
            # The mask next cycle is the staged one or, while that is empty, the macro's: both
            # are compared and ``staged_valid`` selects after the compares (in front of them it
            # drove N multiplexers, and with them three LUT levels ahead of the carry chains).
            def split(mask, leaders):
                inside = leaders & reusable_value
                return first_in_groups(inside, mask & ~inside)
            return Mux(staged_valid, split(staged.mask, staged_leaders), split(macro.mask.payload.keep, macro_leaders))
        # Cleared (a cmd, or policy ``previous`` a mask taken), reusable_idle splits nothing
        # inside: that clear selects after the compares too, not in front of them (the cmd's
        # handshake -> the compares' carry chains was the engine's critical path at one seed).
        # No start follows a clear by one cycle (the walker steps after a start; a packet's
        # masks come after its cmd), so the flags after a clear are never used (a start reads
        # them all: the lead group's for the first survivor, the others for the rest): the
        # clear keeps them exact, and no testbench can tell it from none.
        leaders_next = Mux(staged_valid, staged_leaders, macro_leaders)
        m.d.sync += [staged_in.eq(leaders_next & Mux(step, reusable_stepped, reusable_idle)),
                     staged_first_in.eq(Mux(step, staged_split(reusable_stepped),
                                            Mux(idle_cleared, 0, staged_split(reusable))))]

        def split_rest(survivor, inside, flags):
            """Assignments: the rest's resident survivors, from a set's resident ones
            (``inside``; ``flags`` its groups' flags) without the survivor taken (a
            :class:`LowestSurvivor`), and their groups' flags for the next pick."""
            return [rest_in.eq(inside & ~survivor.bit), rest_first_in.eq(survivor.first_in_after(inside, flags))]
        first = LowestSurvivor(staged)
        start = staged_valid & ~walking
        with m.If(start):
            if cfg.reuse == "previous":
                m.d.comb += [reusable_idle.eq(0), idle_cleared.eq(1)]
            m.d.sync += [staged_valid.eq(0), walking.eq(1), last_query.eq(staged_last), j.eq(first.index),
                         lowest.eq(first.bit), *first.take(rest),
                         resident.eq(first.pick(staged_first_in)), *split_rest(first, staged_in, staged_first_in)]

        # j: the survivor's index, a register loaded beside ``lowest`` (``LowestSurvivor.index``).
        # Encoded from the one-hot ``lowest`` by an OR tree over N / 2 bits per index bit, it sat
        # in front of the K/V buffer's read address, the AXI command's address and the order
        # entry: the engine's critical paths. slot: j mod slots; j's low bits when slots is a
        # power of two (a slot per key at the default), else an OR tree per bit of ``slot_hot``
        # (the ``noisy`` test config has 12 slots, ``small`` 8 of 16 keys).
        slot = Signal(range(max(slots, 2)))
        if slots == 1:
            pass    # one slot: slot 0
        elif slots & (slots - 1) == 0:
            m.d.comb += slot.eq(j[:len(slot)])
        else:
            m.d.comb += slot.eq(encode_one_hot(slot_hot, len(slot)))
        entry = data.View(order_layout, order.w_data)
        m.d.comb += [entry.slot.eq(slot), entry.fetch.eq(~resident), entry.last.eq(~rest.nonempty.any())]
        # Fetches issued and not yet taken from the landing FIFO.
        m.submodules.credits = credits = Credits(depth=PAIR_FIFO)
        can_fetch = credits.room
        m.d.comb += [reader.cmd.valid.eq(walking & order.w_rdy & ~resident & can_fetch),
                     reader.cmd.payload.addr.eq(base + j * cfg.pair_stride),
                     reader.cmd.payload.beats.eq(words)]
        following = LowestSurvivor(rest)
        m.d.comb += step.eq(walking & order.w_rdy & (resident | (can_fetch & reader.cmd.ready)))
        m.d.comb += order.w_en.eq(step)
        # A fetch evicts the slot's key; either way the survivor's pair is now buffered.
        m.d.comb += reusable_stepped.eq(Mux(resident, reusable, reusable & ~same_slot) | lowest)
        with m.If(step):
            # rest_in lies within rest, so clearing rest's lowest bit in it too leaves it the
            # rest's resident survivors.
            m.d.sync += [lowest.eq(following.bit), *following.take(rest), j.eq(following.index),
                         resident.eq(following.pick(rest_first_in)), *split_rest(following, rest_in, rest_first_in)]
            with m.If(~rest.nonempty.any()):
                m.d.sync += walking.eq(0)
                with m.If(last_query):
                    m.d.comb += packet_done.eq(1)
        # The fetch/reuse counts follow the steps a cycle late, and a packet's counts are
        # published (and cleared) the cycle after its last step: the reuse decision only drives
        # two registers here, not two 32-bit counters' enables or adds (the walker's critical
        # path). The packet's output leaves the stages many cycles later, so nothing reads the
        # counts earlier; clearing on publication (last) also wins over a late count.
        fetch_r = register(m, None, step & ~resident, "fetch_r")
        reuse_r = register(m, None, step & resident, "reuse_r")
        publish = register(m, None, packet_done, "publish")
        with m.If(fetch_r):
            m.d.sync += fetched.eq(fetched + 1)
        with m.If(reuse_r):
            m.d.sync += reused.eq(reused + 1)
        with m.If(publish):
            m.d.sync += [perf_fetched.eq(fetched + fetch_r), perf_reused.eq(reused + reuse_r),
                         fetched.eq(0), reused.eq(0)]

        # --- Landing: AXI words gathered into K/V pairs (credits: R never waits) --------------
        # The landing, value and order FIFOs' flags are registers too: they gate the assembler's
        # push, which reads the order FIFO and so enables the K/V buffer's read (``r_refill``).
        m.submodules.pairs = pairs = FlagRegisterFIFO(width=2 * vec_bits, depth=PAIR_FIFO)
        gathered = Signal(max(aw * (words - 1), 1))
        word = Signal(range(max(words, 2)))
        if words > 1:
            full = Cat(gathered[:aw * (words - 1)], reader.data.payload.data)
        else:
            full = reader.data.payload.data
        row = cfg.row_words * aw
        m.d.comb += [reader.data.ready.eq(~reader.data.payload.last | pairs.w_rdy),
                     pairs.w_data.eq(Cat(full[:vec_bits], full[row:row + vec_bits]))]
        with m.If(handshake(reader.data)):
            with m.If(reader.data.payload.last):
                m.d.comb += pairs.w_en.eq(1)
                m.d.sync += word.eq(0)
            with m.Else():
                m.d.sync += word.eq(word + 1)
                with m.Switch(word):
                    for i in range(words - 1):
                        with m.Case(i):
                            m.d.sync += gathered[i * aw:(i + 1) * aw].eq(reader.data.payload.data)
        with m.If(reader.error):
            m.d.sync += self.errors.axi_error.eq(1)

        # --- Assembler: survivors in order, reused from the buffer or landed, into both stages --
        # The buffer is read a cycle ahead: the order FIFO's next head addresses a synchronous
        # read, so its data belongs to the head entry when the head is. The read is transparent
        # for the buffer's write, which is the head itself writing a fetched pair into its slot:
        # the next entry may reuse that very pair (the previous query's last survivor). A
        # synchronous read lets the buffer be block RAM; a combinational read of LUT RAM in
        # front of the value FIFO was the engine's critical path.
        m.submodules.buffer = buffer = Memory(shape=unsigned(2 * vec_bits), depth=slots, init=[])
        bw = buffer.write_port()
        br = buffer.read_port(transparent_for=(bw,))
        head = data.View(order_layout, order.r_data)
        # The address is the entry that becomes the head when the head next moves on and the
        # enable is that move, so the buffer keeps the head's pair while it waits. Nothing writes
        # the buffer then (a write is the head moving on), so holding is exact. With the head's
        # move (the assembler's push) selecting the address instead, that multiplexer in
        # front of the buffer's 15 block RAMs was the engine's critical path.
        m.d.comb += [br.addr.eq(data.View(order_layout, order.r_following).slot), br.en.eq(order.r_refill)]
        have = order.r_rdy & (~head.fetch | pairs.r_rdy)
        # The pair waits in output registers: from them the key goes into the score stage's
        # load bank (its ready is a register, so the valid does not wait on it) and the value
        # into a FIFO for the weighted sum, which runs a row behind. Straight from the buffer's
        # block RAMs (4.3 ns clock-to-out) through the multiplexer to the load bank's block RAMs
        # and the value FIFO was the engine's critical path. The buffer's pair and the landed
        # one each have a register (``out_reused``, ``out_landed``) and the multiplexer follows
        # them: in front of one register it was the critical path after that. The registers take
        # the next pair in the cycle they hand their own on, so a survivor still leaves every
        # cycle; each one a cycle later.
        m.submodules.vfifo = vfifo = FlagRegisterFIFO(width=vec_bits + 1, depth=cfg.max_tokens)
        out_valid = Signal()
        out_reused = Signal(2 * vec_bits)
        out_landed = Signal(2 * vec_bits)
        out_fetch = Signal()
        out_last = Signal()
        handed = out_valid & score.k.ready & vfifo.w_rdy     # the registers' pair leaves
        free = ~out_valid | handed
        push = have & free                                  # the head's pair enters the registers
        with m.If(free):    # loaded whenever free: the enable of their bits ignores ``have``
            m.d.sync += [out_reused.eq(br.data), out_landed.eq(pairs.r_data), out_fetch.eq(head.fetch),
                         out_last.eq(head.last)]
        out_pair = Signal(2 * vec_bits)
        m.d.comb += out_pair.eq(Mux(out_fetch, out_landed, out_reused))
        with m.If(push):
            m.d.sync += out_valid.eq(1)
        with m.Elif(handed):
            m.d.sync += out_valid.eq(0)
        m.d.comb += [score.k.valid.eq(out_valid & vfifo.w_rdy),
                     score.k.payload.data.eq(out_pair[:vec_bits]), score.k.payload.last.eq(out_last),
                     vfifo.w_en.eq(handed), vfifo.w_data.eq(Cat(out_pair[vec_bits:], out_last)),
                     weighted_sum.v.payload.data.eq(vfifo.r_data[:vec_bits]),
                     weighted_sum.v.payload.last.eq(vfifo.r_data[vec_bits]),
                     weighted_sum.v.valid.eq(vfifo.r_rdy), vfifo.r_en.eq(weighted_sum.v.ready)]
        m.d.comb += [order.r_en.eq(push), pairs.r_en.eq(push & head.fetch),
                     bw.addr.eq(head.slot), bw.data.eq(pairs.r_data), bw.en.eq(push & head.fetch)]
        m.d.comb += [credits.issue.eq(step & ~resident), credits.take.eq(push & head.fetch)]

        # --- Stages and output ----------------------------------------------------------------
        wiring.connect(m, score.s, softmax.s)
        wiring.connect(m, softmax.p, weighted_sum.p)
        m.d.comb += [self.o.payload.data.eq(weighted_sum.o.payload.data), self.o.payload.last.eq(lastfifo.r_data),
                     self.o.valid.eq(weighted_sum.o.valid), weighted_sum.o.ready.eq(self.o.ready),
                     lastfifo.r_en.eq(handshake(self.o))]

        m.d.comb += [
            perf.start.eq(handshake(self.cmd) | handshake(self.k) | handshake(self.q)),
            perf.finish.eq(handshake(self.o) & self.o.payload.last),
            perf.mac.eq(score.mac | (weighted_sum.mac << 1)),
            self.perf.cycles.eq(perf.cycles), self.perf.mac_cycles.eq(perf.mac_cycles),
            self.perf.packets.eq(perf.packets), self.perf.fetched.eq(perf_fetched), self.perf.reused.eq(perf_reused),
        ]
        return m
