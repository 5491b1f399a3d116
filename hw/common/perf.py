"""Performance counters and sticky error flags that every unit exposes."""

from amaranth import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .pipeline import register

__all__ = ["PerfCounters", "perf_layout", "error_layout", "COUNTER_BITS"]

COUNTER_BITS = 32


def perf_layout(*extra):
    """``cycles`` of the last packet window, ``mac_cycles`` (L-lane MAC cycles summed over the
    unit's multiplier arrays in that window), ``packets`` completed, plus unit-specific counters."""
    return data.StructLayout({name: COUNTER_BITS for name in ("cycles", "mac_cycles", "packets", *extra)})


def error_layout(*names):
    """One sticky bit per error condition; reset clears them."""
    return data.StructLayout({name: 1 for name in names})


class PerfCounters(wiring.Component):
    """Measures a packet window: from the first input handshake while idle to the output
    handshake that ends the packet, both inclusive.

    The inputs are registered before they are counted (the handshakes come from ``ready``
    logic deep in the unit, and would otherwise drive every counter's clock enable
    combinationally), so the results and ``busy`` follow the handshakes one cycle late; the
    counts are the same.

    Members:
        start: ``In(1)`` an input handshake happened this cycle.
        finish: ``In(1)`` the packet's final output handshake happened this cycle.
        mac: ``In(arrays)`` per multiplier array, high when it did useful work this cycle.
        cycles, mac_cycles, packets: ``Out(32)`` results of the last finished window.
        busy: ``Out(1)`` a window is open.
    """

    def __init__(self, *, arrays=1):
        self._arrays = arrays
        super().__init__({
            "start": In(1), "finish": In(1), "mac": In(arrays),
            "cycles": Out(COUNTER_BITS), "mac_cycles": Out(COUNTER_BITS), "packets": Out(COUNTER_BITS),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        start, finish, mac = (register(m, None, value, name) for value, name in
                              ((self.start, "start_r"), (self.finish, "finish_r"), (self.mac, "mac_r")))
        count = Signal(COUNTER_BITS)
        macs = Signal(COUNTER_BITS)
        opening = start & ~self.busy
        busy_now = self.busy | opening
        # popcount of the arrays that worked this cycle
        worked = sum(mac[i] for i in range(self._arrays))
        with m.If(opening):
            m.d.sync += [self.busy.eq(1), count.eq(1), macs.eq(worked)]
        with m.Elif(self.busy):
            m.d.sync += [count.eq(count + 1), macs.eq(macs + worked)]
        with m.If(busy_now & finish):
            m.d.sync += [self.busy.eq(0), self.packets.eq(self.packets + 1),
                         self.cycles.eq(count + 1), self.mac_cycles.eq(macs + worked)]
        return m
