"""cocotb testbench of the CTA clustering unit alone (unit ``cta_cluster``: keys with values)."""

from __future__ import annotations

import cocotb
import torch
from cocotb.triggers import ReadOnly

from golden.cta.cycles import cluster_cycles
from golden.cta.model import centroids_int, cluster_tokens, log2_bias
from hw.cta.cluster import centroid_layout, cluster_input_layout
from verif.kit import Clocking, Packer, Scoreboard, StreamDriver, StreamMonitor
from verif.kit.env import Report, load_config, rng, seed

from .packets import case_packets, clustered_packet, forwarding_packets


class ClusterTB:
    """Driver on ``i``, monitor on ``o``, golden centroids on the scoreboard; the token map is
    read back through ``map_addr``/``map_data`` after each packet."""

    def __init__(self, dut, *, stall: float = 0.0):
        self.dut, self.cfg = dut, load_config()
        self.report = Report()
        self.clocking = Clocking(dut.clk, dut.rst)
        self.i = self.clocking.add(StreamDriver(dut, "i", Packer(cluster_input_layout(self.cfg, values=True, scale=False)),
                                                stall=stall, rng=rng(1)))
        self.o = self.clocking.add(StreamMonitor(dut, "o", Packer(centroid_layout(self.cfg, values=True, scale=False)),
                                                 lambda beat, cycle: self.scoreboard.check("o", beat, cycle),
                                                 stall=stall, rng=rng(2)))
        self.scoreboard = Scoreboard(context=f"seed={seed()} stall={stall} config: {self.cfg.label}")
        self.packets = 0

    def send(self, k, v):
        self.i.send({"data": a, "value": b, "last": j == len(k) - 1} for j, (a, b) in enumerate(zip(k, v)))
        kt, vt = torch.tensor(k), torch.tensor(v)
        cl = cluster_tokens(kt, self.cfg)
        kc, vc, bias = centroids_int(kt, cl).tolist(), centroids_int(vt, cl).tolist(), log2_bias(cl.counts, self.cfg)
        self.scoreboard.expect("o", ({"data": a, "value": b, "bias": int(s), "last": c == cl.n - 1}
                                     for c, (a, b, s) in enumerate(zip(kc, vc, bias))))
        return cl

    async def drain(self):
        for _ in range(200000):
            if not self.scoreboard.pending() and self.i.idle:
                await self.clocking.wait(2)
                return
            await self.clocking.wait(4)
        raise AssertionError(f"timeout ({self.scoreboard.context})")

    async def check_map(self, cl):
        for t, c in enumerate(cl.ids):
            self.dut.map_addr.value = t
            await ReadOnly()
            got = self.dut.map_data.value.to_unsigned()
            assert got == c, f"map[{t}] = {got}, golden {c} ({self.scoreboard.context})"
            await self.clocking.wait(1)
        await ReadOnly()
        assert self.dut.clusters.value.to_unsigned() == cl.n and self.dut.n_tokens.value.to_unsigned() == len(cl.ids)
        await self.clocking.wait(1)

    async def run_isolated(self, k, v):
        mark, outs = len(self.i.handshakes), len(self.o.handshakes)
        cl = self.send(k, v)
        await self.drain()
        measured = self.o.handshakes[-1] - self.i.handshakes[mark] + 1
        assert len(self.o.handshakes) - outs == cl.n
        model = cluster_cycles(self.cfg, len(k), cl.n)
        assert measured == model, f"{len(k)} tokens, {cl.n} clusters: {measured} cycles, model {model}"
        await self.check_map(cl)
        self.packets += 1


@cocotb.test()
async def cases(dut):
    """The issue's cases (one cluster, own clusters, more hashes than C, n=1, n=N) and random
    clustered packets, unstalled: exact centroids, biases, map, cycles."""
    tb = ClusterTB(dut)
    await tb.clocking.start()
    r = rng(10)
    for p in case_packets(tb.cfg, r) + [clustered_packet(tb.cfg, r, r.randint(1, tb.cfg.max_tokens), 4) for _ in range(4)]:
        await tb.run_isolated(p.k, p.v)
    tb.report.add(packets=tb.packets)


@cocotb.test()
async def forwarding(dut):
    """A full table, then a token nearest to a cluster opened 1..D tokens before it (still in
    flight at one token per cycle): exact map, centroids and cycles."""
    tb = ClusterTB(dut)
    await tb.clocking.start()
    for p in forwarding_packets(tb.cfg, rng(13)):
        await tb.run_isolated(p.k, p.v)
    tb.report.add(packets=tb.packets)


@cocotb.test()
async def stalls(dut):
    """Random stalls on input and output, packets back to back: centroids still exact."""
    tb = ClusterTB(dut, stall=0.3)
    await tb.clocking.start()
    r = rng(11)
    packets = case_packets(tb.cfg, r) + [clustered_packet(tb.cfg, r, r.randint(1, tb.cfg.max_tokens), 3) for _ in range(4)]
    for p in packets:
        tb.send(p.k, p.v)
    await tb.drain()
    tb.report.add(packets=len(packets))


@cocotb.test()
async def reset_mid_packet(dut):
    """Reset with tokens in flight; afterwards a packet is exact with the modelled cycles."""
    tb = ClusterTB(dut)
    await tb.clocking.start()
    r = rng(12)
    for stop in (2, 15):
        p = clustered_packet(tb.cfg, r, tb.cfg.max_tokens, 3)
        tb.send(p.k, p.v)
        await tb.clocking.wait(stop)
        await tb.clocking.reset(2, on_assert=lambda: (tb.i.clear(), tb.scoreboard.clear()))
        await tb.clocking.wait(3)
        p = clustered_packet(tb.cfg, r, 9, 3)
        await tb.run_isolated(p.k, p.v)
    tb.report.add(packets=tb.packets)
