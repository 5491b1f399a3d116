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

    Members: ``cycle`` (cycles since start), :meth:`add`, :meth:`start`, :meth:`reset`,
    :meth:`wait`."""

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

    async def start(self, reset_cycles: int = 3):
        """Start the clock and the agents with ``rst`` held for ``reset_cycles``, then one
        idle cycle."""
        if self.rst is not None:
            self.rst.value = 1
        cocotb.start_soon(Clock(self.clk, self.period_ns, unit="ns").start())
        self._task = cocotb.start_soon(self._run())
        await self.wait(reset_cycles)
        if self.rst is not None:
            self.rst.value = 0
        await self.wait(1)

    async def reset(self, cycles: int = 2, on_assert=None):
        """Synchronous reset in the middle of a run: ``on_assert()`` (e.g. flush drivers and
        the scoreboard) runs as ``rst`` rises."""
        self.rst.value = 1
        if on_assert is not None:
            on_assert()
        await self.wait(cycles)
        self.rst.value = 0
        await self.wait(1)

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
