"""cocotb testbench of the sign-random-projection hasher."""

from __future__ import annotations

import cocotb
import torch

from golden.hashing import hash_bits, hasher_cycles, pack_bits
from hw.common import hasher_input_layout, hasher_output_layout
from verif.kit import Clocking, Packer, Scoreboard, StreamDriver, StreamMonitor
from verif.kit.env import Report, load_config, rng, seed


class HasherTB:
    """Driver on ``i``, monitor on ``o``, golden hashes on the scoreboard.

    Members: ``cfg``, ``clocking``, ``i``, ``o``, ``scoreboard``; :meth:`send`, :meth:`drain`."""

    def __init__(self, dut, *, stall: float = 0.0):
        self.dut, self.cfg = dut, load_config()
        self.report = Report()
        c = self.cfg
        self.clocking = Clocking(dut.clk, dut.rst)
        self.i = self.clocking.add(StreamDriver(dut, "i", Packer(hasher_input_layout(c.dim, c.data_width)),
                                                stall=stall, rng=rng(1)))
        self.o = self.clocking.add(StreamMonitor(dut, "o", Packer(hasher_output_layout(c.dim, c.data_width, c.bits)),
                                                 self._check, stall=stall, rng=rng(2)))
        self.scoreboard = Scoreboard(context=f"seed={seed()} stall={stall} config: {c.label}")

    def _check(self, beat, cycle):
        self.scoreboard.check("o", {"hash": beat["hash"], "data": beat["token"]["data"]}, cycle)

    async def start(self):
        await self.clocking.start()

    def send(self, vectors):
        self.i.send({"data": v, "last": j == len(vectors) - 1} for j, v in enumerate(vectors))
        hashes = pack_bits(hash_bits(torch.tensor(vectors), self.cfg.bits, self.cfg.seed))
        self.scoreboard.expect("o", ({"hash": h, "data": v} for h, v in zip(hashes, vectors)))

    async def drain(self):
        for _ in range(100000):
            if not self.scoreboard.pending() and self.i.idle:
                return
            await self.clocking.wait(4)
        raise AssertionError(f"timeout ({self.scoreboard.context})")

    def random_vectors(self, n, r):
        lo, hi = -(1 << (self.cfg.data_width - 1)), (1 << (self.cfg.data_width - 1)) - 1
        return [[r.randint(lo, hi) for _ in range(self.cfg.dim)] for _ in range(n)]


@cocotb.test()
async def random_and_extremes(dut):
    """Random vectors plus zeros (every bit 1: 0 >= 0), all minimum, all maximum; unstalled
    cycle count equals the model."""
    tb = HasherTB(dut)
    await tb.start()
    c, r = tb.cfg, rng(10)
    lo, hi = -(1 << (c.data_width - 1)), (1 << (c.data_width - 1)) - 1
    vectors = [[0] * c.dim, [lo] * c.dim, [hi] * c.dim] + tb.random_vectors(40, r)
    first = tb.clocking.cycle
    tb.send(vectors)
    await tb.drain()
    measured = tb.o.handshakes[-1] - tb.i.handshakes[0] + 1
    assert measured == hasher_cycles(c, len(vectors)), f"{measured} cycles, model {hasher_cycles(c, len(vectors))}"
    tb.report.add(packets=len(vectors), cycles=measured, n=len(vectors))


@cocotb.test()
async def stalls(dut):
    """Random stalls on input and output: hashes still exact and in order."""
    tb = HasherTB(dut, stall=0.35)
    await tb.start()
    tb.send(tb.random_vectors(60, rng(11)))
    await tb.drain()
    tb.report.add(packets=60)


@cocotb.test()
async def reset_mid_stream(dut):
    """Reset with vectors in flight; afterwards only the new vectors come out, exactly."""
    tb = HasherTB(dut)
    await tb.start()
    r = rng(12)
    tb.send(tb.random_vectors(20, r))
    await tb.clocking.wait(7)
    await tb.clocking.reset(2, on_assert=lambda: (tb.i.clear(), tb.scoreboard.clear()))
    await tb.clocking.wait(2)
    tb.send(tb.random_vectors(10, r))
    await tb.drain()
    tb.report.add(packets=10)
