"""cocotb testbench of the CTA engine (pytest starts it through verif/cta/test_rtl.py). It is
the dense unit's testbench (verif/dense/tb_dense.py) with CTA's golden model, cycle model,
error flags and counters."""

from __future__ import annotations

import json
import os

import cocotb

from hw.common import error_layout, perf_layout
from hw.cta import Cta
from verif.dense.tb_dense import STALL, DenseTB
from verif.kit import Packer
from verif.kit.env import rng

from .packets import Packet, case_packets, clustered_packet, expected, expected_cycles, expected_outputs


class CtaTB(DenseTB):
    """DenseTB with CTA's models. Members as DenseTB's; :meth:`run_isolated` also checks the
    engine's cluster counters against the golden clustering."""

    def __init__(self, dut, *, stall: float = 0.0):
        super().__init__(dut, stall=stall)
        self._perf = Packer(perf_layout(*Cta.COUNTERS))
        self._errors = Packer(error_layout(*Cta.ERRORS))

    def send(self, packet: Packet):
        last = packet.n_keys - 1
        self.k.send({"data": row, "last": j == last} for j, row in enumerate(packet.k))
        self.v.send({"data": row, "last": j == last} for j, row in enumerate(packet.v))
        lastq = packet.n_queries - 1
        self.q.send({"data": row, "scale": s, "last": i == lastq}
                    for i, (row, s) in enumerate(zip(packet.q, packet.scale)))
        outs, _ = expected(self.cfg, packet)
        self.scoreboard.expect("o", ({"data": row, "last": i == lastq} for i, row in enumerate(outs)))

    async def run_isolated(self, packet: Packet) -> int:
        marks = [len(d.handshakes) for d in (self.k, self.v, self.q)]
        outs_before = self.o.count
        self.send(packet)
        await self.drain()
        first = min(d.handshakes[m] for d, m in zip((self.k, self.v, self.q), marks))
        measured = self.o.handshakes[-1] - first + 1
        model = expected_cycles(self.cfg, packet)
        _, info = expected(self.cfg, packet)
        assert self.o.count - outs_before == packet.n_queries
        assert measured == model.cycles, (
            f"packet {packet.name} (n={packet.n_keys}, nq={packet.n_queries}, clusters k={info['keys'].n} "
            f"q={info['queries'].n}): {measured} cycles measured, cycle model says {model.cycles} "
            f"({self.scoreboard.context})")
        perf = await self.perf()
        assert perf["cycles"] == model.cycles, f"perf.cycles={perf['cycles']}, model {model.cycles}"
        assert perf["mac_cycles"] == model.mac_cycles, f"perf.mac_cycles={perf['mac_cycles']}, model {model.mac_cycles}"
        if self.cfg.keys_compressed:
            assert perf["key_clusters"] == info["keys"].n, f"perf.key_clusters={perf['key_clusters']}, golden {info['keys'].n}"
        if self.cfg.queries_compressed:
            assert perf["query_clusters"] == info["queries"].n, (
                f"perf.query_clusters={perf['query_clusters']}, golden {info['queries'].n}")
        self.packets_checked += 1
        return measured


def _packets() -> int:
    return int(os.environ.get("ATTNFORGE_PACKETS", "6"))


@cocotb.test()
async def random_packets(dut):
    """Random clustered packets on an idle engine, no stalls: exact data, cycles equal to the model."""
    tb = CtaTB(dut)
    await tb.start()
    r = rng(10)
    for i in range(_packets()):
        n = r.randint(1, tb.cfg.max_tokens)
        await tb.run_isolated(clustered_packet(tb.cfg, r, n, r.randint(1, 6), name=f"random{i}"))
    tb.record()


@cocotb.test()
async def cases(dut):
    """One cluster, every token its own cluster, more distinct hashes than C, n=1, n=N, per-row scales."""
    tb = CtaTB(dut)
    await tb.start()
    for packet in case_packets(tb.cfg, rng(11)):
        await tb.run_isolated(packet)
    tb.record()


@cocotb.test()
async def padded(dut):
    """A padded sequence: the engine gets only the real tokens; outputs equal the golden model
    with the padding masked (golden.cta.cta_int with key_mask), cycles as the model's."""
    import torch
    from golden.cta import cta_int
    tb = CtaTB(dut)
    await tb.start()
    r = rng(12)
    n_max = tb.cfg.max_tokens
    real = max(1, n_max - 3)
    full = clustered_packet(tb.cfg, r, n_max, 3, name="padded")
    mask = torch.tensor([True] * real + [False] * (n_max - real))
    t = lambda x: torch.tensor(x)
    masked = cta_int(t(full.q), t(full.k), t(full.v), t(full.scale), tb.cfg, key_mask=mask)[:real].tolist()
    short = Packet(q=full.q[:real], k=full.k[:real], v=full.v[:real], scale=full.scale[:real], name="padded")
    assert expected(tb.cfg, short)[0] == masked, "golden: padding mask and truncation disagree"
    await tb.run_isolated(short)
    tb.record()


@cocotb.test()
async def stalls(dut):
    """Random valid/ready stalls on every stream, packets back to back: data still exact."""
    tb = CtaTB(dut, stall=STALL)
    await tb.start()
    r = rng(13)
    for i in range(_packets()):
        n = r.randint(1, min(tb.cfg.max_tokens, 24))
        tb.send(clustered_packet(tb.cfg, r, n, r.randint(1, 5), name=f"stall{i}"))
    for packet in case_packets(tb.cfg, r)[:3]:
        tb.send(packet)
    await tb.drain()
    tb.packets_checked += _packets() + 3
    tb.record()


@cocotb.test()
async def reset_mid_packet(dut):
    """Reset while a packet is in flight, then an exact packet with the modelled cycle count."""
    tb = CtaTB(dut)
    await tb.start()
    r = rng(14)
    for stop_after in (3, 40, 400):
        tb.send(clustered_packet(tb.cfg, r, min(tb.cfg.max_tokens, 12), 3, name="interrupted"))
        await tb.clocking.wait(stop_after)
        await tb.reset()
        await tb.clocking.wait(5)
        await tb.run_isolated(clustered_packet(tb.cfg, r, min(tb.cfg.max_tokens, 10), 3, name="after_reset"))
        errors = await tb.errors()
        assert not any(errors.values()), f"error flags after a clean packet: {errors}"
    tb.record()


@cocotb.test()
async def error_flags(dut):
    """Error conditions set their flags and nothing else, and a reset clears them. N+1 keys
    (and N+1 queries, when they are clustered): ``key_overflow`` (``query_overflow``), the
    excess dropped, the outputs exactly those of the first N. Clustered keys: a value whose
    ``last`` disagrees with its key's sets ``length_mismatch``; the key frames the packet and
    the pairs stay paired, so the outputs are exact. Unclustered keys: fewer values than keys
    set ``missing_value`` (that packet's outputs are not meaningful: framing only)."""
    tb = CtaTB(dut)
    await tb.start()
    cfg, r = tb.cfg, rng(15)
    n = cfg.max_tokens
    none = dict.fromkeys(Cta.ERRORS, 0)

    long = clustered_packet(cfg, r, n + 1, 3, name="long")
    values = long.v if cfg.keys_compressed else long.v[:n]    # unclustered: N values, as the dense unit
    queries = n + 1 if cfg.queries_compressed else n
    tb.k.send({"data": row, "last": j == n} for j, row in enumerate(long.k))
    tb.v.send({"data": row, "last": j == len(values) - 1} for j, row in enumerate(values))
    tb.q.send({"data": row, "scale": s, "last": i == queries - 1}
              for i, (row, s) in enumerate(zip(long.q[:queries], long.scale)))
    first = Packet(q=long.q[:n], k=long.k[:n], v=long.v[:n], scale=long.scale[:n], name="first N")
    tb.scoreboard.expect("o", ({"data": row, "last": i == n - 1} for i, row in enumerate(expected_outputs(cfg, first))))
    await tb.drain()
    errors = await tb.errors()
    assert errors == {**none, "key_overflow": 1, "query_overflow": int(cfg.queries_compressed)}, f"flags {errors}"
    await tb.reset()
    errors = await tb.errors()
    assert errors == none, f"reset did not clear the flags: {errors}"

    if n >= 2:
        m = min(n, 3)
        short = clustered_packet(cfg, r, m, 2, name="short")
        tb.k.send({"data": row, "last": j == m - 1} for j, row in enumerate(short.k))
        tb.q.send({"data": row, "scale": s, "last": i == m - 1} for i, (row, s) in enumerate(zip(short.q, short.scale)))
        if cfg.keys_compressed:
            # ``last`` on the value before the last too.
            tb.v.send({"data": row, "last": j >= m - 2} for j, row in enumerate(short.v))
            outs = expected_outputs(cfg, short)
            tb.scoreboard.expect("o", ({"data": row, "last": i == m - 1} for i, row in enumerate(outs)))
            flagged = {**none, "length_mismatch": 1}
        else:
            tb.v.send({"data": row, "last": j == m - 2} for j, row in enumerate(short.v[:m - 1]))
            tb.scoreboard.expect("o", ({"last": i == m - 1} for i in range(m)))   # framing only
            flagged = {**none, "missing_value": 1}
        await tb.drain()
        errors = await tb.errors()
        assert errors == flagged, f"flags {errors}, expected {flagged}"
    tb.record()


@cocotb.test()
async def vectors(dut):
    """Golden vector files (ATTNFORGE_VECTORS, a JSON list of paths): exact data and cycles."""
    from verif.vectors import load_vector
    paths = json.loads(os.environ.get("ATTNFORGE_VECTORS", "[]"))
    tb = CtaTB(dut)
    await tb.start()
    for path in paths:
        vector = load_vector(path)
        packet = Packet(**{k: vector["inputs"][k] for k in ("q", "k", "v", "scale")}, name=str(path))
        cycles = await tb.run_isolated(packet)
        assert cycles == vector["expected"]["cycles"], f"{path}: {cycles} cycles, vector says {vector['expected']['cycles']}"
        assert expected(tb.cfg, packet)[0] == vector["expected"]["out"], f"{path}: golden model drifted from the vector"
    tb.record()


@cocotb.test()
async def workload(dut):
    """Captured MiniLM packets (ATTNFORGE_WORKLOAD, see verif/workloads.py), each on an idle
    engine: exact outputs, cycles equal to the model; reports the counters per packet."""
    from verif.workloads import load_packets
    tb = CtaTB(dut)
    await tb.start()
    results = []
    for p in load_packets(os.environ["ATTNFORGE_WORKLOAD"]):
        await tb.run_isolated(Packet(q=p.q, k=p.k, v=p.v, scale=[p.scale] * p.n, name=p.name))
        perf = await tb.perf()
        results.append({**p.meta(), "cycles": perf["cycles"], "mac_cycles": perf["mac_cycles"],
                        "key_clusters": perf["key_clusters"], "query_clusters": perf["query_clusters"]})
    tb.report.add(workload=results)
