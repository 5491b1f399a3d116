"""One coroutine per clock that services every agent: two awaits per cycle in total, instead
of two per agent, which is what makes long packets affordable in cocotb."""

from __future__ import annotations

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

__all__ = ["Clocking"]


class Clocking:
    """Drives the clock and calls each agent in two phases per cycle.

    After a rising edge, ``agent.drive(cycle)`` writes inputs for the new cycle; in the
    ReadOnly phase of the same cycle, ``agent.sample(cycle)`` sees settled values, so a
    handshake sampled there happens at the end of ``cycle``. In a cycle where ``rst`` is high
    nothing is sampled: a synchronous reset edge is not a transfer.

    Members: ``cycle`` (cycles since start), :meth:`add`, :meth:`start`, :meth:`wait`."""

    def __init__(self, clk, rst=None, period_ns: int = 10):
        self.clk = clk
        self.rst = rst
        self.period_ns = period_ns
        self.cycle = 0
        self.agents = []
        self._edge = RisingEdge(clk)
        self._task = None

    def add(self, agent):
        self.agents.append(agent)
        return agent

    def start(self):
        cocotb.start_soon(Clock(self.clk, self.period_ns, unit="ns").start())
        self._task = cocotb.start_soon(self._run())

    async def _run(self):
        read_only = ReadOnly()
        while True:
            await self._edge
            self.cycle += 1
            for agent in self.agents:
                agent.drive(self.cycle)
            await read_only
            if self.rst is not None and self.rst.value:
                continue
            for agent in self.agents:
                agent.sample(self.cycle)

    async def wait(self, cycles: int = 1):
        for _ in range(cycles):
            await self._edge
