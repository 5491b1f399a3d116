"""cocotbext-axi memory models with an added, fixed read latency (DRAM is not 2 cycles away).

cocotbext-axi's AxiRam has no latency setting; the subclasses here delay the start of every
read burst by ``latency`` cycles after the RAM accepted its AR beat, then return the burst's
beats as AxiRam does. Bursts are served one at a time (AxiRam's own behaviour), so a long
command pays the latency once per burst. :func:`failing` injects SLVERR responses."""

from __future__ import annotations

from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiRam, AxiRamRead

__all__ = ["LatencyAxiRam", "LatencyAxiRamRead", "failing"]


def _delay_reads(ram, latency: int):
    if latency <= 0:
        return
    receive = ram.ar_channel.recv

    async def delayed():
        ar = await receive()
        await ClockCycles(ram.clock, latency)
        return ar
    ram.ar_channel.recv = delayed


class LatencyAxiRamRead(AxiRamRead):
    """Read-only AxiRam with ``latency`` extra cycles per burst."""

    def __init__(self, bus, clock, reset=None, *, latency: int = 0, **kwargs):
        super().__init__(bus, clock, reset, **kwargs)
        self.latency = latency
        _delay_reads(self, latency)


class LatencyAxiRam(AxiRam):
    """Read/write AxiRam with ``latency`` extra cycles per read burst."""

    def __init__(self, bus, clock, reset=None, *, latency: int = 0, **kwargs):
        super().__init__(bus, clock, reset, **kwargs)
        self.latency = latency
        _delay_reads(self.read_if, latency)


def failing(access, addresses):
    """``access`` (an AxiRam's ``_read`` or ``_write``, to be put in its place) raising for a beat
    whose word address is in ``addresses``: cocotbext-axi answers that beat with SLVERR (reads
    return zeros, writes are dropped)."""
    async def access_or_fail(address, *args):
        if address in addresses:
            raise OSError(f"injected SLVERR at {address:#x}")
        return await access(address, *args)
    return access_or_fail
