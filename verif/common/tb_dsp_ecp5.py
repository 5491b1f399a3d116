"""cocotb testbench: the ECP5 MULT18X18D products (with the behavioural model in
ecp5_mult18x18d.v) against the generic pipelined product, on every cycle."""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from verif.common.dsp_harness import ProductCase
from verif.common.operands import random_operand
from verif.kit.env import Report, rng, seed


@cocotb.test()
async def equal_every_cycle(dut):
    """Random operands, random stage enables and resets mid-stream: both products equal in every
    cycle, and the run saw many different non-zero products (else it compared little)."""
    case = ProductCase.from_dict({k: v for k, v in json.loads(os.environ["ATTNFORGE_CONFIG"]).items() if k != "class"})
    r = rng(1)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.a.value, dut.b.value, dut.en.value = 0, 0, 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    seen = set()
    for cycle in range(3000):
        await RisingEdge(dut.clk)
        dut.a.value = random_operand(r, case.a_bits, case.a_signed)
        dut.b.value = random_operand(r, case.b_bits, case.b_signed)
        width = len(dut.en)
        dut.en.value = r.getrandbits(width) if r.random() < 0.5 else (1 << width) - 1
        dut.rst.value = int(r.random() < 0.01)
        await ReadOnly()
        generic, ecp5 = dut.generic.value, dut.ecp5.value
        assert ecp5 == generic, (f"seed {seed()} case {case.key} cycle {cycle}: ecp5 {ecp5.to_signed()} "
                                 f"generic {generic.to_signed()}")
        seen.add(int(generic))
    assert len(seen) > 500, f"seed {seed()} case {case.key}: only {len(seen)} distinct products"
    Report().add(cycles=3000, distinct=len(seen))
