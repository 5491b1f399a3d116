"""cocotb testbench of the attention-map reuse unit (pytest starts it through
verif/reuse/test_rtl.py). It extends the dense testbench (drivers k, v, q, monitor o,
scoreboard, reset, counters) with the ``cmd`` driver and a golden model of the map buffer."""

from __future__ import annotations

import json
import os

import cocotb

from hw.common import error_layout, perf_layout
from hw.reuse import Mode, Reuse, command_layout
from verif.dense.packets import Packet, extreme_packets, random_packet
from verif.dense.tb_dense import STALL, DenseTB
from verif.kit import Packer, StreamDriver
from verif.kit.env import rng
from verif.reuse.packets import MapModel, ReusePacket, random_values


class ReuseTB(DenseTB):
    """Testbench for the reuse unit.

    Members (besides DenseTB's): ``cmd`` driver, ``model`` (:class:`MapModel`);
    :meth:`send_compute`, :meth:`send_reuse` (queue), :meth:`run_compute`, :meth:`run_reuse`
    (one packet on an idle unit, cycles checked), :meth:`run_dropped`, :meth:`expect_flags`."""

    def __init__(self, dut, *, stall: float = 0.0):
        super().__init__(dut, stall=stall)
        self.cmd = self.clocking.add(StreamDriver(dut, "cmd", Packer(command_layout(self.cfg)), stall=stall,
                                                  rng=rng(5)))
        self._errors = Packer(error_layout(*Reuse.ERRORS))
        self._perf = Packer(perf_layout(*Reuse.COUNTERS))
        self.model = MapModel(self.cfg)

    @property
    def inputs(self):
        return (self.cmd, self.k, self.v, self.q)

    def _flush(self):
        super()._flush()
        self.cmd.clear()
        self.model.clear()  # reset forgets every stored map

    async def drain(self, limit: int = 2_000_000):
        start = self.clocking.cycle
        while not self.cmd.idle:
            if self.clocking.cycle - start > limit:
                raise AssertionError(f"timeout: the unit took no command for {limit} cycles ({self.scoreboard.context})")
            await self.clocking.wait(16)
        await super().drain(limit)

    def send_compute(self, head: int, packet: Packet):
        """Queue a compute packet for ``head``; returns its cycle model."""
        self.cmd.send([{"mode": Mode.COMPUTE, "head": head}])
        last = packet.n_keys - 1
        self.k.send({"data": row, "last": j == last} for j, row in enumerate(packet.k))
        self.v.send({"data": row, "last": j == last} for j, row in enumerate(packet.v))
        lastq = packet.n_queries - 1
        self.q.send({"data": row, "scale": s, "last": i == lastq} for i, (row, s) in enumerate(zip(packet.q, packet.scale)))
        outs, cycles = self.model.compute(head, packet)
        self.scoreboard.expect("o", ({"data": row, "last": i == lastq} for i, row in enumerate(outs)))
        return cycles

    def send_reuse(self, packet: ReusePacket):
        """Queue a reuse packet; returns its cycle model (None when the unit must drop it)."""
        self.cmd.send([{"mode": Mode.REUSE, "head": packet.head}])
        last = packet.n_keys - 1
        self.v.send({"data": row, "last": j == last} for j, row in enumerate(packet.v))
        outs, cycles = self.model.reuse(packet)
        self.scoreboard.expect("o", ({"data": row, "last": i == len(outs) - 1} for i, row in enumerate(outs)))
        return cycles

    async def _isolated(self, send, name: str) -> int:
        """Run one packet on an idle unit; data, measured cycles, perf counters == model."""
        marks = [len(d.handshakes) for d in self.inputs]
        outs_before = self.o.count
        model = send()
        await self.drain()
        first = min(d.handshakes[m] for d, m in zip(self.inputs, marks) if len(d.handshakes) > m)
        measured = self.o.handshakes[-1] - first + 1
        assert self.o.count - outs_before == len(model.outputs)
        assert measured == model.cycles, (f"packet {name}: {measured} cycles measured, cycle model says "
                                          f"{model.cycles} ({self.scoreboard.context})")
        perf = await self.perf()
        assert perf["cycles"] == model.cycles, f"packet {name}: perf.cycles={perf['cycles']}, model {model.cycles}"
        assert perf["mac_cycles"] == model.mac_cycles, (
            f"packet {name}: perf.mac_cycles={perf['mac_cycles']}, model {model.mac_cycles}")
        self.packets_checked += 1
        return measured

    async def run_compute(self, head: int, packet: Packet) -> int:
        return await self._isolated(lambda: self.send_compute(head, packet), f"{packet.name} (compute, head {head}, "
                                    f"n={packet.n_keys}, nq={packet.n_queries})")

    async def run_reuse(self, packet: ReusePacket) -> int:
        assert not self.model.error(packet), f"{packet.name}: the model says this reuse is dropped"
        return await self._isolated(lambda: self.send_reuse(packet), f"{packet.name} (reuse, head {packet.head}, "
                                    f"n={packet.n_keys})")

    async def run_dropped(self, packet: ReusePacket, flag: str):
        """A reuse packet the unit must drop: no output, ``flag`` set, ``perf.dropped`` counts it."""
        assert self.model.error(packet) == flag, f"{packet.name}: model expects {self.model.error(packet)}, test {flag}"
        before = (await self.perf())["dropped"]
        outs_before = self.o.count
        self.send_reuse(packet)
        await self.drain()
        await self.clocking.wait(3 * self.cfg.chunks + 16)  # the flush row passes; nothing may leave
        assert self.o.count == outs_before, f"{packet.name}: a dropped packet emitted {self.o.count - outs_before} rows"
        perf = await self.perf()
        assert perf["dropped"] == before + 1, f"{packet.name}: perf.dropped={perf['dropped']}, expected {before + 1}"
        errors = await self.errors()
        assert errors[flag], f"{packet.name}: {flag} not flagged: {errors}"
        self.packets_checked += 1

    async def expect_flags(self, *names):
        errors = await self.errors()
        assert {k for k, v in errors.items() if v} == set(names), f"error flags {errors}, expected exactly {names}"


def _heads(cfg, count):
    return [h % cfg.heads for h in range(count)]


@cocotb.test()
async def compute_then_reuse(dut):
    """Each head computes a map, then several reuses with fresh values, heads interleaved; then
    the dense extreme packets in compute mode, each reused with all -128, all 127 and zeros."""
    tb = ReuseTB(dut)
    await tb.start()
    cfg, fmt, r = tb.cfg, tb.cfg.formats, rng(20)
    heads = sorted(set(_heads(cfg, 3)))
    lengths = {}
    for h in heads:
        n = r.randint(1, cfg.max_tokens)
        lengths[h] = n
        await tb.run_compute(h, random_packet(cfg, r, n=n, n_queries=r.randint(1, cfg.max_tokens), name=f"compute{h}"))
    for i in range(int(os.environ.get("ATTNFORGE_PACKETS", "3"))):
        for h in heads:
            await tb.run_reuse(ReusePacket(h, random_values(cfg, r, lengths[h]), name=f"reuse{h}.{i}"))
    for packet in extreme_packets(cfg, rng(21)):
        await tb.run_compute(0, packet)
        for value in (fmt.data_min, fmt.data_max, 0):
            await tb.run_reuse(ReusePacket(0, [[value] * cfg.head_dim] * packet.n_keys, name=f"{packet.name}-v{value}"))
    await tb.expect_flags()
    tb.record()


@cocotb.test()
async def full_length(dut):
    """n = N keys and N queries, compute then reuse, no stalls: the summary table's point."""
    tb = ReuseTB(dut)
    await tb.start()
    cfg, r = tb.cfg, rng(22)
    n = cfg.max_tokens
    compute = await tb.run_compute(0, random_packet(cfg, r, n=n, n_queries=n, name="full"))
    perf = await tb.perf()
    reuse = await tb.run_reuse(ReusePacket(0, random_values(cfg, r, n), name="full-reuse"))
    tb.record(n=n, cycles=compute, reuse_cycles=reuse, reuse_ratio=reuse / compute,
              mac_utilization=perf["mac_cycles"] / ((1 + cfg.ws_factor) * perf["cycles"]))


@cocotb.test()
async def stalls(dut):
    """Random valid/ready stalls on every stream; computes, reuses and a dropped reuse queued
    back to back: data still exact, nothing emitted for the dropped one."""
    tb = ReuseTB(dut, stall=STALL)
    await tb.start()
    cfg, r = tb.cfg, rng(23)
    heads = sorted(set(_heads(cfg, 2)))
    lengths = {}
    count, flags = 0, {"length_mismatch"}
    for i in range(int(os.environ.get("ATTNFORGE_PACKETS", "3"))):
        for h in heads:
            n = r.randint(1, min(cfg.max_tokens, 12))
            lengths[h] = n
            tb.send_compute(h, random_packet(cfg, r, n=n, n_queries=r.randint(1, min(cfg.max_tokens, 12)),
                                             name=f"stall-compute{h}.{i}"))
            count += 1
        for h in heads:
            for j in range(2):
                tb.send_reuse(ReusePacket(h, random_values(cfg, r, lengths[h]), name=f"stall-reuse{h}.{i}.{j}"))
                count += 1
        if i == 0:  # dropped between two good packets
            m = lengths[heads[0]] + 1
            tb.send_reuse(ReusePacket(heads[0], random_values(cfg, r, m), name="stall-mismatch"))
            if m > cfg.max_tokens:
                flags.add("value_overflow")
    await tb.drain()
    await tb.clocking.wait(3 * cfg.chunks + 16)
    await tb.expect_flags(*flags)
    tb.packets_checked += count
    tb.record()


@cocotb.test()
async def reset_mid_packet(dut):
    """Reset during a compute or a reuse packet: the maps are gone (reuse gives no_map), then an
    exact compute and reuse with the modelled cycle counts."""
    tb = ReuseTB(dut)
    await tb.start()
    cfg, r = tb.cfg, rng(26)
    n = min(cfg.max_tokens, 12)
    for stop_after in (3, 40, 400):
        for phase in ("compute", "reuse"):
            if phase == "reuse":
                await tb.run_compute(0, random_packet(cfg, r, n=n, name="before"))
                tb.send_reuse(ReusePacket(0, random_values(cfg, r, n), name="interrupted"))
            else:
                tb.send_compute(0, random_packet(cfg, r, n=n, name="interrupted"))
            await tb.clocking.wait(stop_after)
            await tb.reset()
            # Any output after the reset hits the emptied scoreboard and fails as unexpected.
            await tb.clocking.wait(5)
            await tb.run_dropped(ReusePacket(0, random_values(cfg, r, n), name="after-reset"), "no_map")
            await tb.reset()
            await tb.run_compute(0, random_packet(cfg, r, n=n, name="after_reset"))
            await tb.run_reuse(ReusePacket(0, random_values(cfg, r, n), name="reuse_after_reset"))
            await tb.expect_flags()
    tb.record()


async def _reuse_before_compute(tb):
    """A reuse before any compute is dropped with no_map, and the unit carries on normally."""
    cfg, r = tb.cfg, rng(24)
    n = min(cfg.max_tokens, 6)
    await tb.run_dropped(ReusePacket(0, random_values(cfg, r, n), name="early"), "no_map")
    await tb.expect_flags("no_map")
    await tb.reset()
    await tb.expect_flags()
    await tb.run_compute(0, random_packet(cfg, r, n=n, name="compute"))
    await tb.run_reuse(ReusePacket(0, random_values(cfg, r, n), name="reuse"))
    if cfg.heads > 1:  # another head still has no map
        await tb.run_dropped(ReusePacket(cfg.heads - 1, random_values(cfg, r, n), name="other-head"), "no_map")
    await tb.run_reuse(ReusePacket(0, random_values(cfg, r, n), name="reuse-after-drop"))


async def _length_mismatch(tb):
    """Reuses with fewer, more and more than N values than the stored map: dropped and flagged;
    a correct reuse afterwards is exact with the modelled cycle count."""
    cfg, r = tb.cfg, rng(25)
    n = min(cfg.max_tokens, 5)
    await tb.run_compute(0, random_packet(cfg, r, n=n, name="compute"))
    for m in sorted({n - 1, n + 1, cfg.max_tokens + 1} - {0, n}):
        await tb.run_dropped(ReusePacket(0, random_values(cfg, r, m), name=f"reuse-n{m}"), "length_mismatch")
        await tb.run_reuse(ReusePacket(0, random_values(cfg, r, n), name=f"reuse-after-n{m}"))
    flags = await tb.errors()
    assert flags["length_mismatch"] and not flags["no_map"], flags


async def _overflows(tb):
    """Key overflow behaves as in the dense unit; a compute packet of N + 1 rows gives exact
    outputs and map_overflow, and its head then has no map."""
    cfg, r = tb.cfg, rng(27)
    n = min(cfg.max_tokens, 4)
    packet = random_packet(cfg, r, n=n, n_queries=cfg.max_tokens + 1, name="tall")
    await tb.run_compute(0, packet)
    await tb.expect_flags("map_overflow")
    await tb.run_dropped(ReusePacket(0, random_values(cfg, r, n), name="after-overflow"), "no_map")
    await tb.reset()
    long = random_packet(cfg, r, n=cfg.max_tokens + 1, n_queries=2, name="long")
    long.v = long.v[:cfg.max_tokens]
    tb.cmd.send([{"mode": Mode.COMPUTE, "head": 0}])
    tb.k.send({"data": row, "last": j == cfg.max_tokens} for j, row in enumerate(long.k))
    tb.v.send({"data": row, "last": j == cfg.max_tokens - 1} for j, row in enumerate(long.v))
    tb.q.send({"data": row, "scale": s, "last": i == 1} for i, (row, s) in enumerate(zip(long.q, long.scale)))
    outs, _ = tb.model.compute(0, long)  # excess keys are dropped: the map and outputs of the first N
    tb.scoreboard.expect("o", ({"data": row, "last": i == 1} for i, row in enumerate(outs)))
    await tb.drain()
    await tb.expect_flags("key_overflow")
    await tb.run_reuse(ReusePacket(0, random_values(cfg, r, cfg.max_tokens), name="reuse-truncated"))


@cocotb.test()
async def errors(dut):
    """Reuse before any compute (no_map), reuse with the wrong length (length_mismatch), a
    compute of N + 1 rows (map_overflow) and too many keys (key_overflow): each flagged, no
    garbage on ``o``, and exact packets afterwards; reset clears the flags."""
    tb = ReuseTB(dut)
    await tb.start()
    for check in (_reuse_before_compute, _length_mismatch, _overflows):
        await tb.reset()
        await check(tb)
    await tb.reset()
    await tb.expect_flags()
    tb.record()


@cocotb.test()
async def vectors(dut):
    """Golden vector files (ATTNFORGE_VECTORS, a JSON list of paths): exact data and cycles."""
    from verif.reuse.vectors import group_of
    from verif.vectors import load_vector
    paths = json.loads(os.environ.get("ATTNFORGE_VECTORS", "[]"))
    tb = ReuseTB(dut)
    await tb.start()
    for path in paths:
        vector = load_vector(path)
        head, compute, reuses = group_of(vector)
        cycles = [await tb.run_compute(head, compute)]
        for packet in reuses:
            cycles.append(await tb.run_reuse(packet))
        assert cycles == vector["expected"]["packet_cycles"], f"{path}: cycles {cycles}, vector says {vector['expected']['packet_cycles']}"
        golden = MapModel(tb.cfg)
        outs = [golden.compute(head, compute)[0]] + [golden.reuse(p)[0] for p in reuses]
        assert outs == [vector["expected"]["out"], *vector["expected"]["out_reuse"]], f"{path}: golden model drifted from the vector"
    tb.packets_checked = len(paths)
    tb.record()


def workload_plan(cfg):
    """Layer groups and head matching of a workload run: ``ATTNFORGE_GROUPS`` and
    ``ATTNFORGE_HEAD_MAP`` (JSON) where set, else the config's. The hardware does not depend on
    them, so a benchmark can try partitions on one build."""
    changes = {field: json.loads(os.environ[var]) for field, var in
               (("groups", "ATTNFORGE_GROUPS"), ("head_map", "ATTNFORGE_HEAD_MAP")) if var in os.environ}
    return cfg.replace(**changes)


@cocotb.test()
async def workload(dut):
    """Captured MiniLM packets (ATTNFORGE_WORKLOAD, see verif/workloads.py) in file order: a
    layer that opens its group (or is in none) runs in compute mode and stores head h's map in
    region ``h mod heads``; a later layer of the group reuses, with its own V, the map of head
    ``head_map[layer][h]`` (default h). Exact outputs, cycles equal to the model; reports the
    unit's counters and the mode per packet."""
    from verif.workloads import load_packets
    tb = ReuseTB(dut)
    await tb.start()
    plan = workload_plan(tb.cfg)
    holder = {}  # map buffer region -> (sentence, layer, head) whose map it holds
    results = []
    for p in load_packets(os.environ["ATTNFORGE_WORKLOAD"]):
        source = plan.reuses(p.layer)
        if source is None:
            region = p.head % tb.cfg.heads
            await tb.run_compute(region, Packet(q=p.q, k=p.k, v=p.v, scale=[p.scale] * p.n, name=p.name))
            holder[region] = (p.sentence, p.layer, p.head)
        else:
            head = plan.source_head(p.layer, p.head)
            region = head % tb.cfg.heads
            assert holder.get(region) == (p.sentence, source, head), (
                f"{p.name} reuses the map of layer {source}, head {head}, sentence {p.sentence}, but region "
                f"{region} holds {holder.get(region)}: give the unit more heads or order the packets so the "
                f"map is still there.")
            await tb.run_reuse(ReusePacket(region, p.v, name=p.name))
        perf = await tb.perf()
        results.append({**p.meta(), "mode": "compute" if source is None else "reuse", "cycles": perf["cycles"],
                        "mac_cycles": perf["mac_cycles"]})
    tb.report.add(workload=results)
