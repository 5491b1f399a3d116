"""cocotb testbench: the ECP5 DP16KD memory (with the behavioural model in ecp5_dp16kd.v)
against the generic memory and register, on every cycle."""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from verif.common.bram_harness import BankCase
from verif.kit.env import Report, rng, seed

CYCLES = 4000


@cocotb.test()
async def equal_every_cycle(dut):
    """Random writes, reads (half of them of recently written words), read-stage and output
    enables (half the cycles one enable for both, as in the map buffer) and resets: both words
    equal in every cycle, and the run read many different non-zero words (else it compared
    little). A read never meets a write of its address in the same cycle (undefined on the
    block RAM; with the write registered, one cycle later)."""
    case = BankCase.from_dict({k: v for k, v in json.loads(os.environ["ATTNFORGE_CONFIG"]).items() if k != "class"})
    r = rng(1)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    for port in (dut.w_addr, dut.w_data, dut.w_en, dut.r_addr, dut.r_en, dut.o_en):
        port.value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    written, seen = [], set()
    landing = []   # (address, enable): this cycle's write and, when registered, the last cycle's, which lands now
    for cycle in range(CYCLES):
        await RisingEdge(dut.clk)
        w_addr = r.randrange(case.depth)
        w_en = r.random() < 0.5
        dut.w_addr.value, dut.w_en.value = w_addr, w_en
        dut.w_data.value = r.getrandbits(case.width)
        if w_en:
            written = (written + [w_addr])[-64:]
        r_addr = r.choice(written) if written and r.random() < 0.5 else r.randrange(case.depth)
        landing = (landing + [(w_addr, w_en)])[-2:] if case.write_registered else [(w_addr, w_en)]
        while any(en and r_addr == addr for addr, en in landing):
            r_addr = (r_addr + 1) % case.depth
        dut.r_addr.value = r_addr
        r_en = r.random() < 0.7
        dut.r_en.value = r_en
        dut.o_en.value = r_en if r.random() < 0.5 else r.random() < 0.7
        dut.rst.value = int(r.random() < 0.01)
        await ReadOnly()
        generic, ecp5 = dut.generic.value, dut.ecp5.value
        assert ecp5 == generic, f"seed {seed()} case {case.key} cycle {cycle}: ecp5 {ecp5} generic {generic}"
        seen.add(int(generic))
    distinct = min(200, 2 ** case.width // 2)
    assert len(seen) > distinct, f"seed {seed()} case {case.key}: only {len(seen)} distinct words"
    Report().add(cycles=CYCLES, distinct=len(seen))
