"""Synchronous FIFOs for the units' internal queues."""

from amaranth import Elaboratable, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.fifo import FIFOInterface, SyncFIFO
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["HeadRegisterFIFO", "CreditFIFO", "FlagRegisterFIFO", "Credits"]


def _ring(m, fifo, level, do_write, do_read):
    """The storage of ``fifo`` as a ring of ``fifo.depth`` entries (``w_data`` written at the
    write pointer on ``do_write``, ``r_data`` read combinationally at the read pointer), the two
    pointers, and ``level`` counting the entries, moved by ``do_write`` and ``do_read``."""
    m.submodules.storage = storage = Memory(shape=fifo.width, depth=fifo.depth, init=[])
    w_port, r_port = storage.write_port(), storage.read_port(domain="comb")
    produce, consume = Signal(range(fifo.depth)), Signal(range(fifo.depth))
    step = lambda pointer: pointer.eq(Mux(pointer == fifo.depth - 1, 0, pointer + 1))
    m.d.comb += [w_port.addr.eq(produce), w_port.data.eq(fifo.w_data), w_port.en.eq(do_write),
                 r_port.addr.eq(consume), fifo.r_data.eq(r_port.data)]
    with m.If(do_write):
        m.d.sync += step(produce)
    with m.If(do_read):
        m.d.sync += step(consume)
    with m.If(do_write & ~do_read):
        m.d.sync += level.eq(level + 1)
    with m.Elif(do_read & ~do_write):
        m.d.sync += level.eq(level - 1)


class HeadRegisterFIFO(Elaboratable, FIFOInterface):
    """Behaves as ``SyncFIFO(width, depth, fwft=True)`` cycle for cycle (the same ``w_rdy``,
    ``r_rdy``, ``r_data`` and levels), but ``r_data`` is a register: the head entry lives in it
    and the other ``depth - 1`` entries in a :class:`FlagRegisterFIFO` behind it. A consumer then
    reads its head without a memory read (and its address) in front of whatever the head drives,
    and ``w_rdy`` and the choice of the next head come from registers.

    A write goes straight into the head register when the queue behind it is empty and the head is
    free or being read, so an entry written at cycle t is readable at t + 1, as in ``SyncFIFO``.

    Members: those of ``amaranth.lib.fifo.FIFOInterface``, and
        r_next: ``Signal(width)`` (comb) the value ``r_data`` holds in the next cycle. It lets a
            synchronous memory be addressed by the head a cycle ahead, so that its read data
            belongs to the head entry in the same cycle as ``r_data``.
        r_following: ``Signal(width)`` (comb) the entry the head register takes when it next
            refills: the queue's first, or the entry being written when the queue is empty. It
            does not depend on ``r_en``.
        r_refill: ``Signal()`` (comb) the head register takes ``r_following`` in this cycle (the
            head is empty or read). With ``r_following`` as the address and ``r_refill`` as the
            read enable, a synchronous memory read does what ``r_next`` as the address does,
            with ``r_en`` only on the memory's enable, not in front of its address.
    """

    def __init__(self, *, width: int, depth: int):
        if depth < 2:
            self._MustUse__silence = True   # never elaborated: no "created but never used" warning
            raise ValueError(f"HeadRegisterFIFO depth={depth} must be at least 2.")
        super().__init__(width=width, depth=depth)
        self.r_next = Signal(width)
        self.r_following = Signal(width)
        self.r_refill = Signal()

    def elaborate(self, platform):
        m = Module()
        m.submodules.queue = queue = FlagRegisterFIFO(width=self.width, depth=self.depth - 1)
        head_valid = Signal()
        # Invariant: the queue holds entries only while the head is valid, so the FIFO is full
        # exactly when the queue is.
        refill = ~head_valid | self.r_en        # the head register takes its next entry
        write = self.w_en & self.w_rdy
        direct = refill & ~queue.r_rdy        # the written entry is next: skip the queue
        m.d.comb += [
            self.w_rdy.eq(queue.w_rdy), self.r_rdy.eq(head_valid),
            self.w_level.eq(queue.w_level + head_valid), self.r_level.eq(queue.r_level + head_valid),
            queue.w_data.eq(self.w_data), queue.w_en.eq(write & ~direct),
            queue.r_en.eq(refill),
        ]
        m.d.comb += [self.r_following.eq(Mux(queue.r_rdy, queue.r_data, self.w_data)), self.r_refill.eq(refill),
                     self.r_next.eq(Mux(refill, self.r_following, self.r_data))]
        with m.If(refill):
            m.d.sync += head_valid.eq(queue.r_rdy | write)
        m.d.sync += self.r_data.eq(self.r_next)
        return m


class CreditFIFO(Elaboratable, FIFOInterface):
    """``SyncFIFO(width, depth, fwft=True)`` whose writer holds credits for its room. The writer
    issues an entry (``issue``) only while ``room``, and writes it (``w_en``) when it arrives: in
    the same cycle, or later, at the end of a pipeline that never stalls. ``room`` counts the
    entries issued and not yet read (:class:`Credits`, a register and a compare), so it depends
    on neither the level nor the reader's ready, and ``w_en`` is not gated by ``w_rdy``.
    ``SyncFIFO`` gates every write by its level, which puts a loop from the level through the
    writer's enable logic (wherever the writer sits) back into the level's clock enable; here
    the level depends on ``w_en`` and the read side only.

    Members: those of ``amaranth.lib.fifo.FIFOInterface`` (``w_rdy`` is the same signal as
    ``SyncFIFO``'s, for a writer that checks it and for tests, but does not gate ``w_en``: a
    write while full would overwrite the oldest entry, which the credits rule out), and
        issue: ``Signal()`` (in) one entry issued toward the FIFO in this cycle (only while
            ``room``).
        room: ``Signal()`` (out) fewer than ``depth`` entries issued and not yet read.
    """

    def __init__(self, *, width: int, depth: int):
        if depth < 1:
            self._MustUse__silence = True   # never elaborated: no "created but never used" warning
            raise ValueError(f"CreditFIFO depth={depth} must be at least 1.")
        super().__init__(width=width, depth=depth)
        self.issue = Signal()
        self.room = Signal()

    def elaborate(self, platform):
        m = Module()
        level = Signal(range(self.depth + 1))
        m.d.comb += [self.w_rdy.eq(level != self.depth), self.r_rdy.eq(level != 0),
                     self.w_level.eq(level), self.r_level.eq(level)]
        do_read = self.r_rdy & self.r_en
        _ring(m, self, level, self.w_en, do_read)
        m.submodules.credits = credits = Credits(depth=self.depth)
        m.d.comb += [credits.issue.eq(self.issue), credits.take.eq(do_read), self.room.eq(credits.room)]
        return m


class FlagRegisterFIFO(Elaboratable, FIFOInterface):
    """Behaves as ``SyncFIFO(width, depth, fwft=True)`` cycle for cycle (the same ``w_rdy``,
    ``r_rdy``, ``r_data`` and levels), but ``w_rdy`` and ``r_rdy`` are registers, computed a
    cycle ahead from this cycle's read and write. ``SyncFIFO`` compares its level with the
    depth, so a writer whose ``w_en`` depends on ``w_rdy`` (a handshake that also waits on other
    streams) closes a loop from the level's register through that logic, wherever it sits, and
    back into the level; here the loop starts at a register and its compare is a few gates.

    Members: those of ``amaranth.lib.fifo.FIFOInterface``.
    """

    def __init__(self, *, width: int, depth: int):
        if depth < 1:
            self._MustUse__silence = True   # never elaborated: no "created but never used" warning
            raise ValueError(f"FlagRegisterFIFO depth={depth} must be at least 1.")
        super().__init__(width=width, depth=depth)

    def elaborate(self, platform):
        m = Module()
        level = Signal(range(self.depth + 1))
        w_rdy, r_rdy = Signal(init=1), Signal()   # not full, not empty
        m.d.comb += [self.w_rdy.eq(w_rdy), self.r_rdy.eq(r_rdy), self.w_level.eq(level), self.r_level.eq(level)]
        do_write = self.w_en & w_rdy
        do_read = self.r_en & r_rdy
        _ring(m, self, level, do_write, do_read)
        # Full next cycle: full now, or one short and written, and in either case not read (a
        # read and a write together keep the level). Empty likewise.
        m.d.sync += [w_rdy.eq(~(~do_read & (~w_rdy | (do_write & (level == self.depth - 1))))),
                     r_rdy.eq(~(~do_write & (~r_rdy | (do_read & (level == 1)))))]
        return m


class Credits(wiring.Component):
    """The credits of a writer into a FIFO of ``depth`` entries: the count of entries issued
    toward it (into a pipeline that ends in the FIFO, or into the FIFO itself) and not yet taken
    from it. While ``room`` is high the FIFO has an entry for one more issue and for every entry
    in flight, so the pipeline never stalls and the writer never checks ``w_rdy``. ``room``
    comes from the count's register alone, never from the reader's ready. :class:`CreditFIFO`
    holds its own; this one serves other FIFOs (the score stage's :class:`HeadRegisterFIFO`) and
    those whose entries are taken otherwise (SPRINT's landed pairs, taken by fetched survivors).

    Members:
        issue: ``In(1)`` one entry issued in this cycle (the writer issues only while ``room``).
        take: ``In(1)`` one entry taken from the FIFO in this cycle.
        room: ``Out(1)`` fewer than ``depth`` entries in flight.
        count: ``Out(range(depth + 1))`` the entries in flight (a register).
    """

    def __init__(self, *, depth: int):
        if depth < 1:
            self._MustUse__silence = True   # never elaborated: no "created but never used" warning
            raise ValueError(f"Credits depth={depth} must be at least 1.")
        self._depth = depth
        super().__init__({"issue": In(1), "take": In(1), "room": Out(1), "count": Out(range(depth + 1))})

    @property
    def depth(self) -> int:
        """The FIFO's entries, the most that may be in flight."""
        return self._depth

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.count.eq(self.count + self.issue - self.take)
        m.d.comb += self.room.eq(self.count != self.depth)
        return m
