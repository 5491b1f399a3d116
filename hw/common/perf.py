"""Performance counters and sticky error flags that every unit exposes."""

from amaranth import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

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
        count = Signal(COUNTER_BITS)
        macs = Signal(COUNTER_BITS)
        opening = self.start & ~self.busy
        busy_now = self.busy | opening
        # popcount of the arrays that worked this cycle
        worked = sum(self.mac[i] for i in range(self._arrays))
        with m.If(opening):
            m.d.sync += [self.busy.eq(1), count.eq(1), macs.eq(worked)]
        with m.Elif(self.busy):
            m.d.sync += [count.eq(count + 1), macs.eq(macs + worked)]
        with m.If(busy_now & self.finish):
            m.d.sync += [self.busy.eq(0), self.packets.eq(self.packets + 1),
                         self.cycles.eq(count + 1), self.mac_cycles.eq(macs + worked)]
        return m
