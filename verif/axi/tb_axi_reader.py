"""cocotb testbench of the AXI4 read manager against cocotbext-axi's AxiRam."""

from __future__ import annotations

import os

import cocotb
from cocotbext.axi import AxiReadBus

from hw.common.axi import reader_cmd_layout, reader_data_layout
from verif.kit.axi import LatencyAxiRamRead
from verif.kit import Clocking, Packer, Scoreboard, StreamDriver, StreamMonitor
from verif.kit.env import Report, load_config, rng, seed


class ReaderTB:
    """Commands in, words out, AxiRam behind the AXI port.

    Members: ``cfg``, ``ram``, ``cmd``, ``out``, ``scoreboard``, ``log`` (word handshakes)."""

    def __init__(self, dut, *, stall: float = 0.0):
        self.dut, self.cfg = dut, load_config()
        self.report = Report()
        self.clocking = Clocking(dut.clk, dut.rst)
        self.latency = int(os.environ.get("ATTNFORGE_AXI_LATENCY", "0"))
        self.ram = LatencyAxiRamRead(AxiReadBus.from_prefix(dut, "axi_"), dut.clk, dut.rst, size=1 << 16,
                                     latency=self.latency)
        self.cmd = self.clocking.add(StreamDriver(dut, "cmd", Packer(reader_cmd_layout(self.cfg.addr_width)),
                                                  stall=stall, rng=rng(1)))
        self.out = self.clocking.add(StreamMonitor(dut, "data", Packer(reader_data_layout(self.cfg.data_width)),
                                                   self._check, stall=stall, rng=rng(2)))
        self.scoreboard = Scoreboard(context=f"seed={seed()} stall={stall} config: {self.cfg.label}")

    def _check(self, beat, cycle):
        self.scoreboard.check("data", beat, cycle)

    async def start(self):
        await self.clocking.start()

    def fill(self, r):
        self.ram.write(0, bytes(r.randrange(256) for _ in range(1 << 16)))

    def read(self, addr: int, beats: int):
        wb = self.cfg.word_bytes
        self.cmd.send([{"addr": addr, "beats": beats}])
        words = [int.from_bytes(self.ram.read(addr + i * wb, wb), "little") for i in range(beats)]
        self.scoreboard.expect("data", ({"data": w, "last": i == beats - 1} for i, w in enumerate(words)))

    async def drain(self):
        for _ in range(200000):
            if not self.scoreboard.pending() and self.cmd.idle:
                return
            await self.clocking.wait(4)
        raise AssertionError(f"timeout ({self.scoreboard.context})")


@cocotb.test()
async def commands(dut):
    """Commands of many lengths and alignments, including 4 KiB crossings and long runs."""
    tb = ReaderTB(dut)
    await tb.start()
    r = rng(10)
    tb.fill(r)
    wb = tb.cfg.word_bytes
    cases = [(0, 1), (wb, 3), (4096 - 2 * wb, 5), (4096 - wb, tb.cfg.max_burst * 3 + 1), (8192, 40)]
    cases += [(r.randrange(0, (1 << 16) - 512 * wb) // wb * wb, r.randint(1, 300)) for _ in range(20)]
    for addr, beats in cases:
        tb.read(addr, beats)
    await tb.drain()
    tb.report.add(packets=len(cases))


@cocotb.test()
async def stalls(dut):
    """Random stalls on the command and data streams: words still exact and in order."""
    tb = ReaderTB(dut, stall=0.4)
    await tb.start()
    r = rng(11)
    tb.fill(r)
    wb = tb.cfg.word_bytes
    for _ in range(25):
        tb.read(r.randrange(0, (1 << 16) - 300 * wb) // wb * wb, r.randint(1, 70))
    await tb.drain()
    tb.report.add(packets=25)


@cocotb.test()
async def timing(dut):
    """Random back-to-back commands, no stalls: every word arrives in the cycle the read
    model (golden/axi.py) says."""
    from golden.axi import AxiReadModel
    tb = ReaderTB(dut)
    await tb.start()
    r = rng(13)
    tb.fill(r)
    wb = tb.cfg.word_bytes
    commands = [(r.randrange(0, (1 << 16) - 600 * wb) // wb * wb, r.choice([1, 1, 2, 3, r.randint(1, 40)]))
                for _ in range(int(os.environ.get("ATTNFORGE_PACKETS", "30")))]
    for addr, beats in commands:
        tb.read(addr, beats)
    await tb.drain()
    model = AxiReadModel(tb.cfg, latency=tb.latency)
    t0 = tb.cmd.handshakes[-len(commands)]
    want = []
    for addr, beats in commands:
        _, words = model.command(0, addr, beats)
        want += words
    got = [c - t0 for c in tb.out.handshakes[-len(want):]]
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"word {i}: arrived at cycle {g}, read model says {w} (latency {tb.latency}, seed {seed()})"
    tb.report.add(packets=len(commands))
