"""Stream plumbing shared by the units: fork one stream to several, select one of several, a
skid buffer that cuts a long ready path."""

from amaranth import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Fork", "Select", "SkidBuffer"]


class Fork(wiring.Component):
    """Copies every beat of ``i`` to each output exactly once (an eager fork: an output that
    took the beat is not offered it again). ``i`` advances once every output has taken it.
    No register: zero latency. Valid never depends on ready.

    Members:
        i: ``In(stream.Signature(layout))``.
        o: ``Out(stream.Signature(layout)).array(outputs)``.
    """

    def __init__(self, layout, *, outputs: int = 2):
        self._outputs = outputs
        super().__init__({"i": In(stream.Signature(layout)),
                          "o": Out(stream.Signature(layout)).array(outputs)})

    def elaborate(self, platform):
        m = Module()
        taken = Signal(self._outputs)  # outputs that already took the current beat
        done = [taken[k] | self.o[k].ready for k in range(self._outputs)]
        all_done = Signal()
        m.d.comb += all_done.eq(sum(d for d in done) == self._outputs)
        for k, port in enumerate(self.o):
            m.d.comb += [port.payload.eq(self.i.payload), port.valid.eq(self.i.valid & ~taken[k])]
        m.d.comb += self.i.ready.eq(all_done)
        with m.If(self.i.valid & all_done):
            m.d.sync += taken.eq(0)
        with m.Else():
            for k, port in enumerate(self.o):
                with m.If(port.valid & port.ready):
                    m.d.sync += taken[k].eq(1)
        return m


class Select(wiring.Component):
    """Passes the input named by ``sel`` to ``o``; the other inputs see ready low. ``sel`` must
    stay constant while a packet is passing. Zero latency.

    Members:
        i: ``In(stream.Signature(layout)).array(inputs)``.
        sel: ``In(range(inputs))``.
        o: ``Out(stream.Signature(layout))``.
    """

    def __init__(self, layout, *, inputs: int = 2):
        self._inputs = inputs
        super().__init__({"i": In(stream.Signature(layout)).array(inputs), "sel": In(range(inputs)),
                          "o": Out(stream.Signature(layout))})

    def elaborate(self, platform):
        m = Module()
        with m.Switch(self.sel):
            for k, port in enumerate(self.i):
                with m.Case(k):
                    m.d.comb += [self.o.valid.eq(port.valid), self.o.payload.eq(port.payload),
                                 port.ready.eq(self.o.ready)]
        return m


class SkidBuffer(wiring.Component):
    """Cuts the combinational path from ``o.ready`` back to ``i.ready``: ``i.ready`` is a
    register, high while the one spare slot is empty. Zero latency: a beat passes straight
    through while the slot is empty; a beat taken on ``i`` in a cycle ``o`` stalls waits in the
    slot and goes out first. While ``o`` is ready it is a wire (the same beats in the same
    cycles); under backpressure it takes one beat more than a direct connection, so the source
    may run one beat ahead.

    Members:
        i: ``In(stream.Signature(layout))``.
        o: ``Out(stream.Signature(layout))``.
    """

    def __init__(self, layout):
        super().__init__({"i": In(stream.Signature(layout)), "o": Out(stream.Signature(layout))})

    def elaborate(self, platform):
        m = Module()
        full = Signal()
        spare = Signal.like(self.i.payload)
        m.d.comb += [self.i.ready.eq(~full), self.o.valid.eq(full | self.i.valid),
                     self.o.payload.eq(Mux(full, spare, self.i.payload))]
        with m.If(full):
            with m.If(self.o.ready):
                m.d.sync += full.eq(0)
        with m.Elif(self.i.valid & ~self.o.ready):
            m.d.sync += [full.eq(1), spare.eq(self.i.payload)]
        return m
