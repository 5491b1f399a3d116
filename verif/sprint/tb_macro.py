"""cocotb testbench of the behavioural ReRAM pruning macro alone: keep masks against the
golden model, the mask offered exactly xbar_latency cycles after its query, noise included."""

from __future__ import annotations

import os

import cocotb
import torch

from golden.sprint.model import analog_scores, keep_masks, noise
from hw.common import token_layout
from hw.sprint.reram_macro import macro_query_layout, mask_layout
from verif.kit import Clocking, Packer, Scoreboard, StreamDriver, StreamMonitor
from verif.kit.env import Report, load_config, rng, seed
from verif.sprint.packets import random_packet


@cocotb.test()
async def masks(dut):
    """Packets of random keys, queries and thetas (theta at both ends included); the mask of
    each query equals the golden keep mask and arrives xbar_latency after the query."""
    cfg = load_config()
    report = Report()
    clocking = Clocking(dut.clk, dut.rst)
    k = clocking.add(StreamDriver(dut, "k", Packer(token_layout(cfg)), rng=rng(1)))
    q = clocking.add(StreamDriver(dut, "q", Packer(macro_query_layout(cfg)), rng=rng(2)))
    board = Scoreboard(context=f"seed={seed()} config: {cfg.label}")
    out = clocking.add(StreamMonitor(dut, "mask", Packer(mask_layout(cfg)),
                                     lambda beat, cycle: board.check("mask", beat, cycle), rng=rng(3)))
    await clocking.start()
    r = rng(10)
    packets = int(os.environ.get("ATTNFORGE_PACKETS", "6"))
    for i in range(packets):
        p = random_packet(cfg, r, n=[1, cfg.max_tokens][i] if i < 2 else None)
        theta = [cfg.theta_max, cfg.theta_min][i % 2] if i in (2, 3) else p.theta
        dut.theta.value = theta & ((1 << cfg.analog_bits) - 1)
        dut.theta_we.value = 1
        await clocking.wait(1)
        dut.theta_we.value = 0
        kt, qt = torch.tensor(p.k), torch.tensor(p.q)
        a = analog_scores(qt, kt, cfg, noise(cfg, len(p.q), len(p.k)) if cfg.sigma else None)
        keep = keep_masks(a, theta)
        board.expect("mask", ({"keep": sum(int(b) << j for j, b in enumerate(row)), "last": t == len(p.q) - 1}
                              for t, row in enumerate(keep.tolist())))
        q_marks, o_marks = len(q.handshakes), out.count
        k.send({"data": row, "last": j == len(p.k) - 1} for j, row in enumerate(p.k))
        while not k.idle:  # a query taken between two keys would see a half-programmed crossbar
            await clocking.wait(1)
        q.send({"data": row, "last": t == len(p.q) - 1} for t, row in enumerate(p.q))
        while board.pending():
            await clocking.wait(4)
        for qc, mc in zip(q.handshakes[q_marks:], out.handshakes[o_marks:]):
            assert mc - qc == cfg.xbar_latency, f"mask {mc - qc} cycles after its query, xbar_latency={cfg.xbar_latency} (seed {seed()})"
    report.add(packets=packets)
