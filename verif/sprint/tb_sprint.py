"""cocotb testbench of the SPRINT engine with cocotbext-axi's AxiRam as the K/V memory (added
read latency, optional random R-channel stalls). Drivers on cmd/k/q, a monitor on o, the
golden integer model, a scoreboard, counters checked against the golden bookkeeping."""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.triggers import ReadOnly
from cocotbext.axi import AxiReadBus

from hw.common import error_layout, output_layout, perf_layout, query_layout, token_layout
from hw.sprint.sprint import Sprint, command_layout
from verif.kit import Clocking, Packer, Scoreboard, StreamDriver, StreamMonitor
from verif.kit.axi import LatencyAxiRamRead, failing
from verif.kit.env import Report, load_config, rng, seed
from verif.sprint.packets import Packet, expected, memory_image, random_packet, special_packets

STALL = 0.3
MEMORY = 1 << 20


class SprintTB:
    """Members: ``cfg``, ``clocking``, ``ram``, drivers ``cmd``, ``k``, ``q``, monitor ``o``,
    ``scoreboard``, ``report``; :meth:`send`, :meth:`drain`, :meth:`run_isolated`, :meth:`perf`,
    :meth:`errors`, :meth:`reset`."""

    def __init__(self, dut, *, stall: float = 0.0):
        self.dut, self.cfg = dut, load_config()
        self.report = Report()
        self.clocking = Clocking(dut.clk, dut.rst)
        self.latency = int(os.environ.get("ATTNFORGE_AXI_LATENCY", "0"))
        self.ram = LatencyAxiRamRead(AxiReadBus.from_prefix(dut, "axi_"), dut.clk, dut.rst, size=MEMORY,
                                     latency=self.latency)
        if stall:
            r = rng(5)

            def pauses():
                while True:
                    yield r.random() < stall
            self.ram.r_channel.set_pause_generator(pauses())
        self.cmd = self.clocking.add(StreamDriver(dut, "cmd", Packer(command_layout(self.cfg)), stall=stall, rng=rng(1)))
        self.k = self.clocking.add(StreamDriver(dut, "k", Packer(token_layout(self.cfg)), stall=stall, rng=rng(2)))
        self.q = self.clocking.add(StreamDriver(dut, "q", Packer(query_layout(self.cfg)), stall=stall, rng=rng(3)))
        self.o = self.clocking.add(StreamMonitor(dut, "o", Packer(output_layout(self.cfg)), self._on_output,
                                                 stall=stall, rng=rng(4)))
        self.scoreboard = Scoreboard(context=f"seed={seed()} stall={stall} latency={self.latency} "
                                             f"config: {self.cfg.label}")
        self._perf = Packer(perf_layout(*Sprint.COUNTERS))
        self._errors = Packer(error_layout(*Sprint.ERRORS))
        self.packets_checked = 0

    def _on_output(self, beat, cycle):
        self.scoreboard.check("o", beat, cycle)

    async def start(self):
        await self.clocking.start()

    async def reset(self, cycles: int = 2):
        await self.clocking.reset(cycles, on_assert=self._flush)

    def _flush(self):
        for driver in (self.cmd, self.k, self.q):
            driver.clear()
        self.scoreboard.clear()

    def send(self, p: Packet, outputs: list[dict] | None = None) -> dict | None:
        """Write the packet's K/V into the memory, queue its beats and its outputs: the golden
        model's (returned), or ``outputs`` (beats, or some of their fields) for a packet the
        model does not take (more than N keys, a failing memory)."""
        self.ram.write(p.base, memory_image(self.cfg, p))
        self.cmd.send([{"theta": p.theta, "base": p.base}])
        self.k.send({"data": row, "last": j == p.n_keys - 1} for j, row in enumerate(p.k))
        lastq = p.n_queries - 1
        self.q.send({"data": row, "scale": s, "last": i == lastq} for i, (row, s) in enumerate(zip(p.q, p.scale)))
        if outputs is not None:
            self.scoreboard.expect("o", outputs)
            return None
        want = expected(self.cfg, p)
        self.scoreboard.expect("o", ({"data": row, "last": i == lastq} for i, row in enumerate(want["out"])))
        return want

    async def drain(self, limit: int = 4_000_000):
        start = self.clocking.cycle
        while self.scoreboard.pending() or not (self.cmd.idle and self.k.idle and self.q.idle):
            if self.clocking.cycle - start > limit:
                raise AssertionError(f"timeout: {self.scoreboard.pending()} outputs missing after {limit} cycles "
                                     f"({self.scoreboard.context})")
            await self.clocking.wait(16)
        await self.clocking.wait(2)

    async def _read(self, packer, signal) -> dict:
        await ReadOnly()
        values = packer.unpack(signal.value.to_unsigned())
        await self.clocking.wait(1)
        return values

    async def perf(self) -> dict:
        return await self._read(self._perf, self.dut.perf)

    async def errors(self) -> dict:
        return await self._read(self._errors, self.dut.errors)

    async def run_isolated(self, p: Packet, *, check_cycles: bool = True) -> dict:
        """One packet on an idle unit: exact data; counters equal to the golden bookkeeping;
        cycles (measured and perf.cycles) equal to the cycle model when ``check_cycles``."""
        marks = [len(d.handshakes) for d in (self.cmd, self.k, self.q)]
        want = self.send(p)
        await self.drain()
        first = min(d.handshakes[i] for d, i in zip((self.cmd, self.k, self.q), marks))
        measured = self.o.handshakes[-1] - first + 1
        perf = await self.perf()
        ctx = f"packet {p.name} (n={p.n_keys}, nq={p.n_queries}, theta={p.theta}) {self.scoreboard.context}"
        assert perf["fetched"] == want["fetched"] and perf["reused"] == want["reused"], (
            f"{ctx}: perf fetched/reused {perf['fetched']}/{perf['reused']}, golden {want['fetched']}/{want['reused']}")
        assert perf["cycles"] == measured, f"{ctx}: perf.cycles={perf['cycles']}, measured {measured}"
        if check_cycles:
            from golden.sprint.cycles import sprint_cycles
            model = sprint_cycles(self.cfg, want["keep"], n_keys=p.n_keys, latency=self.latency, base=p.base)
            assert measured == model.cycles, f"{ctx}: {measured} cycles measured, cycle model says {model.cycles}"
            assert perf["mac_cycles"] == model.mac_cycles, f"{ctx}: perf.mac_cycles={perf['mac_cycles']}, model {model.mac_cycles}"
        self.packets_checked += 1
        return {"cycles": measured, **perf, "kept": want["fetched"] + want["reused"]}

    def record(self, **values):
        self.report.count("packets", self.packets_checked)
        self.packets_checked = 0
        self.report.add(**values)


def _cycles_checked() -> bool:
    return os.environ.get("ATTNFORGE_CHECK_CYCLES", "1") == "1"


@cocotb.test()
async def random_packets(dut):
    """Random packets and keep fractions on an idle unit, no stalls: exact data and counters,
    cycles equal to the model."""
    tb = SprintTB(dut)
    await tb.start()
    r = rng(10)
    for i in range(int(os.environ.get("ATTNFORGE_PACKETS", "5"))):
        await tb.run_isolated(random_packet(tb.cfg, r, name=f"random{i}"), check_cycles=_cycles_checked())
    tb.record()


@cocotb.test()
async def special(dut):
    """Nothing survives, everything survives, n=1, n=N, survivors beyond the buffer."""
    tb = SprintTB(dut)
    await tb.start()
    for p in special_packets(tb.cfg, rng(11)):
        await tb.run_isolated(p, check_cycles=_cycles_checked())
    tb.record()


@cocotb.test()
async def stalls(dut):
    """Random stalls on every stream and on the R channel, packets back to back: exact data."""
    tb = SprintTB(dut, stall=STALL)
    await tb.start()
    r = rng(13)
    count = int(os.environ.get("ATTNFORGE_PACKETS", "5"))
    base = 0
    for i in range(count):
        p = random_packet(tb.cfg, r, n=r.randint(1, tb.cfg.max_tokens), name=f"stall{i}", base=base)
        base += tb.cfg.max_tokens * tb.cfg.pair_stride  # back to back: each packet its own memory
        tb.send(p)
    await tb.drain()
    tb.packets_checked += count
    tb.record()


@cocotb.test()
async def stalls_counters(dut):
    """Stalls on every stream and the R channel, one packet at a time: data and counters exact."""
    tb = SprintTB(dut, stall=STALL)
    await tb.start()
    r = rng(14)
    for i in range(3):
        await tb.run_isolated(random_packet(tb.cfg, r, name=f"stall{i}"), check_cycles=False)
    tb.record()


@cocotb.test()
async def reset_mid_sequence(dut):
    """Reset while a packet is in flight (fetches outstanding), then an exact packet."""
    tb = SprintTB(dut)
    await tb.start()
    r = rng(15)
    for stop_after in (3, 30, 200):
        tb.send(random_packet(tb.cfg, r, n=min(tb.cfg.max_tokens, 12), name="interrupted"))
        await tb.clocking.wait(stop_after)
        await tb.reset()
        await tb.clocking.wait(tb.latency + 40)  # outstanding reads of the old packet die out
        await tb.run_isolated(random_packet(tb.cfg, r, name="after_reset"), check_cycles=_cycles_checked())
        errors = await tb.errors()
        assert not any(errors.values()), f"error flags after a clean packet: {errors}"
    tb.record()


@cocotb.test()
async def error_flags(dut):
    """Error conditions set their flags and nothing else, and a reset clears them. N+1 keys:
    ``key_overflow``, the excess key dropped, the outputs exactly those of the first N. A read
    answered with SLVERR (the memory model fails the reads of one pair that the query keeps):
    ``axi_error``; the engine uses the data as read, so that packet's outputs are checked for
    their framing only."""
    tb = SprintTB(dut)
    await tb.start()
    cfg, r = tb.cfg, rng(16)
    n = cfg.max_tokens
    none = dict.fromkeys(Sprint.ERRORS, 0)

    long = random_packet(cfg, r, n=n + 1, n_queries=2, name="long")
    first = Packet(q=long.q, k=long.k[:n], v=long.v[:n], scale=long.scale, theta=long.theta, base=long.base)
    tb.send(long, [{"data": row, "last": i == 1} for i, row in enumerate(expected(cfg, first)["out"])])
    await tb.drain()
    errors = await tb.errors()
    assert errors == {**none, "key_overflow": 1}, f"flags {errors}"
    await tb.reset()
    errors = await tb.errors()
    assert errors == none, f"reset did not clear the flags: {errors}"

    # theta_min keeps every key, so the one query fetches every pair, pair 0 among them.
    p = random_packet(cfg, r, n=min(n, 4), n_queries=1, fraction=1.0, name="slverr")
    read = tb.ram._read
    tb.ram._read = failing(read, range(p.base, p.base + cfg.pair_stride))
    tb.send(p, [{"last": True}])
    await tb.drain()
    tb.ram._read = read
    errors = await tb.errors()
    assert errors == {**none, "axi_error": 1}, f"flags {errors}"
    tb.record()


@cocotb.test()
async def vectors(dut):
    """Golden vector files (ATTNFORGE_VECTORS): exact data, counters and cycles."""
    from verif.vectors import load_vector
    from verif.sprint.vectors import packet_of
    paths = json.loads(os.environ.get("ATTNFORGE_VECTORS", "[]"))
    latencies = {load_vector(path)["inputs"].get("axi_latency", 0) for path in paths}
    assert len(latencies) <= 1, f"vectors with different memory latencies: {latencies}"
    os.environ["ATTNFORGE_AXI_LATENCY"] = str(latencies.pop() if latencies else 0)
    tb = SprintTB(dut)
    await tb.start()
    for path in paths:
        vector = load_vector(path)
        got = await tb.run_isolated(packet_of(vector), check_cycles=_cycles_checked())
        if _cycles_checked():
            assert got["cycles"] == vector["expected"]["cycles"], f"{path}: {got['cycles']} cycles, vector says {vector['expected']['cycles']}"
        assert expected(tb.cfg, packet_of(vector))["out"] == vector["expected"]["out"], f"{path}: golden model drifted"
    tb.record()


@cocotb.test()
async def workload(dut):
    """Captured MiniLM heads (ATTNFORGE_WORKLOAD: a JSON file of packets with theta): exact
    outputs and counters; reports cycles, fetched and reused per head."""
    spec = json.loads(open(os.environ["ATTNFORGE_WORKLOAD"]).read())
    tb = SprintTB(dut)
    await tb.start()
    results = []
    for item in spec["packets"]:
        p = Packet(q=item["q"], k=item["k"], v=item["v"], scale=item["scale"], theta=item["theta"], name=item["name"])
        got = await tb.run_isolated(p, check_cycles=False)
        results.append({"name": p.name, "n": p.n_keys, "cycles": got["cycles"], "fetched": got["fetched"],
                        "reused": got["reused"], "mac_cycles": got["mac_cycles"]})
    tb.report.add(workload=results)
