"""cocotb testbench of the dense unit (runs inside Verilator; pytest starts it through
verif/dense/test_rtl.py). Structure after cocotb's examples/matrix_multiplier: drivers per
input stream, a monitor on the output, the golden model, a scoreboard, a testbench class.
"""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.triggers import ReadOnly

from hw.common import error_layout, output_layout, perf_layout, query_layout, token_layout
from hw.dense import Dense
from verif.dense.packets import Packet, expected_cycles, expected_outputs, extreme_packets, random_packet
from verif.kit import Clocking, Packer, Scoreboard, StreamDriver, StreamMonitor
from verif.kit.env import Report, load_config, rng, seed

STALL = 0.3  # probability of a stall cycle on each stream in the stall tests


class DenseTB:
    """Testbench for the dense unit.

    Members: ``cfg``, ``clocking``, drivers ``k``, ``v``, ``q``, monitor ``o``,
    ``scoreboard``, ``report``; :meth:`reset`, :meth:`send`, :meth:`drain`,
    :meth:`run_isolated`, :meth:`perf`, :meth:`errors`."""

    def __init__(self, dut, *, stall: float = 0.0):
        self.dut = dut
        self.cfg = load_config()
        self.report = Report()
        self.clocking = Clocking(dut.clk, dut.rst)
        tokens = Packer(token_layout(self.cfg))
        self.k = self.clocking.add(StreamDriver(dut, "k", tokens, stall=stall, rng=rng(1)))
        self.v = self.clocking.add(StreamDriver(dut, "v", tokens, stall=stall, rng=rng(2)))
        self.q = self.clocking.add(StreamDriver(dut, "q", Packer(query_layout(self.cfg)), stall=stall, rng=rng(3)))
        self.o = self.clocking.add(StreamMonitor(dut, "o", Packer(output_layout(self.cfg)), self._on_output,
                                                 stall=stall, rng=rng(4)))
        self.scoreboard = Scoreboard(context=f"seed={seed()} stall={stall} config: {self.cfg.label}")
        self._perf = Packer(perf_layout())
        self._errors = Packer(error_layout(*Dense.ERRORS))
        self.packets_checked = 0
        self.check_fields = None  # None: every field; a tuple: only these (flagged garbage)

    def _on_output(self, beat: dict, cycle: int):
        self.scoreboard.check("o", beat, cycle, self.check_fields)

    async def start(self):
        await self.clocking.start()

    async def reset(self, cycles: int = 2):
        """Synchronous reset in the middle of anything: drops queued beats and expectations."""
        await self.clocking.reset(cycles, on_assert=self._flush)

    def _flush(self):
        for driver in (self.k, self.v, self.q):
            driver.clear()
        self.scoreboard.clear()

    def send(self, packet: Packet):
        """Queue a packet on all three inputs and its golden outputs on the scoreboard."""
        last = packet.n_keys - 1
        self.k.send({"data": row, "last": j == last} for j, row in enumerate(packet.k))
        self.v.send({"data": row, "last": j == last} for j, row in enumerate(packet.v))
        lastq = packet.n_queries - 1
        self.q.send({"data": row, "scale": s, "last": i == lastq}
                    for i, (row, s) in enumerate(zip(packet.q, packet.scale)))
        outs = expected_outputs(self.cfg, packet)
        self.scoreboard.expect("o", ({"data": row, "last": i == lastq} for i, row in enumerate(outs)))

    async def drain(self, limit: int = 2_000_000):
        start = self.clocking.cycle
        while self.scoreboard.pending() or not (self.k.idle and self.v.idle and self.q.idle):
            if self.clocking.cycle - start > limit:
                raise AssertionError(f"timeout: {self.scoreboard.pending()} outputs missing after {limit} cycles "
                                     f"({self.scoreboard.context})")
            await self.clocking.wait(16)
        await self.clocking.wait(2)  # let the counters settle

    async def perf(self) -> dict:
        await ReadOnly()
        values = self._perf.unpack(self.dut.perf.value.to_unsigned())
        await self.clocking.wait(1)
        return values

    async def errors(self) -> dict:
        await ReadOnly()
        values = self._errors.unpack(self.dut.errors.value.to_unsigned())
        await self.clocking.wait(1)
        return values

    async def run_isolated(self, packet: Packet) -> int:
        """Run one packet on an idle unit; check data, and that the measured cycle count and
        the hardware's own counters equal the cycle model. Returns the cycle count."""
        marks = [len(d.handshakes) for d in (self.k, self.v, self.q)]
        outs_before = self.o.count
        self.send(packet)
        await self.drain()
        first = min(d.handshakes[m] for d, m in zip((self.k, self.v, self.q), marks))
        measured = self.o.handshakes[-1] - first + 1
        model = expected_cycles(self.cfg, packet)
        assert self.o.count - outs_before == packet.n_queries
        assert measured == model.cycles, (
            f"packet {packet.name} (n={packet.n_keys}, nq={packet.n_queries}): {measured} cycles measured, "
            f"cycle model says {model.cycles} ({self.scoreboard.context})")
        perf = await self.perf()
        assert perf["cycles"] == model.cycles, f"perf.cycles={perf['cycles']}, model {model.cycles}"
        assert perf["mac_cycles"] == model.mac_cycles, f"perf.mac_cycles={perf['mac_cycles']}, model {model.mac_cycles}"
        self.packets_checked += 1
        return measured

    def record(self, **values):
        self.report.count("packets", self.packets_checked)
        self.packets_checked = 0
        self.report.add(**values)


@cocotb.test()
async def random_packets(dut):
    """Random packets on an idle unit, no stalls: exact data, cycles equal to the model."""
    tb = DenseTB(dut)
    await tb.start()
    r = rng(10)
    for i in range(int(os.environ.get("ATTNFORGE_PACKETS", "6"))):
        await tb.run_isolated(random_packet(tb.cfg, r, name=f"random{i}"))
    tb.record()


@cocotb.test()
async def extremes(dut):
    """All -128, all 127, zeros, identical tokens, n=1, n=N, scale 0 and maximum."""
    tb = DenseTB(dut)
    await tb.start()
    for packet in extreme_packets(tb.cfg, rng(11)):
        await tb.run_isolated(packet)
    tb.record()


@cocotb.test()
async def full_length(dut):
    """n = N keys and N queries, no stalls: the utilization point of the summary table."""
    tb = DenseTB(dut)
    await tb.start()
    n = tb.cfg.max_tokens
    cycles = await tb.run_isolated(random_packet(tb.cfg, rng(12), n=n, n_queries=n, name="full"))
    model = expected_cycles(tb.cfg, Packet([[0]] * n, [[0]] * n, [[0]] * n, [0] * n))
    perf = await tb.perf()
    tb.record(n=n, cycles=cycles, mac_utilization=perf["mac_cycles"] / (model.arrays * perf["cycles"]))


@cocotb.test()
async def stalls(dut):
    """Random valid/ready stalls on every stream, packets back to back: data still exact."""
    tb = DenseTB(dut, stall=STALL)
    await tb.start()
    r = rng(13)
    for i in range(int(os.environ.get("ATTNFORGE_PACKETS", "6"))):
        tb.send(random_packet(tb.cfg, r, n=r.randint(1, min(tb.cfg.max_tokens, 24)), name=f"stall{i}"))
    await tb.drain()
    tb.packets_checked += int(os.environ.get("ATTNFORGE_PACKETS", "6"))
    tb.record()


@cocotb.test()
async def reset_mid_packet(dut):
    """Reset while a packet is in flight, then an exact packet with the modelled cycle count."""
    tb = DenseTB(dut)
    await tb.start()
    r = rng(14)
    for stop_after in (3, 40, 400):
        tb.send(random_packet(tb.cfg, r, n=min(tb.cfg.max_tokens, 12), name="interrupted"))
        await tb.clocking.wait(stop_after)
        await tb.reset()
        # Any output after the reset hits the emptied scoreboard and fails as unexpected.
        await tb.clocking.wait(5)
        await tb.run_isolated(random_packet(tb.cfg, r, name="after_reset"))
        errors = await tb.errors()
        assert not any(errors.values()), f"error flags after a clean packet: {errors}"
    tb.record()


@cocotb.test()
async def error_flags(dut):
    """A key packet longer than N and a value packet shorter than the keys set their flags."""
    tb = DenseTB(dut)
    await tb.start()
    cfg, r = tb.cfg, rng(15)
    long = random_packet(cfg, r, n=cfg.max_tokens)
    extra = [[1] * cfg.head_dim]
    tb.k.send({"data": row, "last": False} for row in long.k)
    tb.k.send([{"data": extra[0], "last": True}])
    tb.v.send({"data": row, "last": j == cfg.max_tokens - 1} for j, row in enumerate(long.v))
    tb.q.send([{"data": long.q[0], "scale": long.scale[0], "last": True}])
    # Excess keys are dropped, so the outputs are those of the first N keys.
    tb.scoreboard.expect("o", [{"data": expected_outputs(cfg, Packet(long.q[:1], long.k, long.v, long.scale[:1]))[0],
                                "last": True}])
    await tb.drain()
    errors = await tb.errors()
    assert errors["key_overflow"] and not errors["value_overflow"], f"flags {errors}"
    await tb.reset()
    errors = await tb.errors()
    assert not any(errors.values()), f"reset did not clear the flags: {errors}"
    if cfg.max_tokens >= 2:
        short = random_packet(cfg, r, n=2, n_queries=1)
        tb.k.send({"data": row, "last": j == 1} for j, row in enumerate(short.k))
        tb.v.send([{"data": short.v[0], "last": True}])
        tb.q.send([{"data": short.q[0], "scale": short.scale[0], "last": True}])
        # The output of a flagged packet is not meaningful: check its framing only.
        tb.check_fields = ("last",)
        tb.scoreboard.expect("o", [{"last": True}])
        await tb.drain()
        errors = await tb.errors()
        assert errors["missing_value"], f"a value packet shorter than the keys was not flagged: {errors}"
    tb.record()


@cocotb.test()
async def vectors(dut):
    """Golden vector files (ATTNFORGE_VECTORS, a JSON list of paths): exact data and cycles."""
    from verif.vectors import load_vector
    paths = json.loads(os.environ.get("ATTNFORGE_VECTORS", "[]"))
    tb = DenseTB(dut)
    await tb.start()
    for path in paths:
        vector = load_vector(path)
        packet = Packet(**{k: vector["inputs"][k] for k in ("q", "k", "v", "scale")}, name=str(path))
        cycles = await tb.run_isolated(packet)
        assert cycles == vector["expected"]["cycles"], f"{path}: {cycles} cycles, vector says {vector['expected']['cycles']}"
        assert expected_outputs(tb.cfg, packet) == vector["expected"]["out"], f"{path}: golden model drifted from the vector"
    tb.record()


@cocotb.test()
async def workload(dut):
    """Captured MiniLM packets (ATTNFORGE_WORKLOAD, see verif/workloads.py), each on an idle
    unit: exact outputs, cycles equal to the model; reports the unit's counters per packet."""
    from verif.workloads import load_packets
    tb = DenseTB(dut)
    await tb.start()
    results = []
    for p in load_packets(os.environ["ATTNFORGE_WORKLOAD"]):
        await tb.run_isolated(Packet(q=p.q, k=p.k, v=p.v, scale=[p.scale] * p.n, name=p.name))
        perf = await tb.perf()
        results.append({**p.meta(), "cycles": perf["cycles"], "mac_cycles": perf["mac_cycles"]})
    tb.report.add(workload=results)
