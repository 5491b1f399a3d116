"""The cocotb side of verif/common/primitive_pair.py's harnesses: every case's driver (one per
pair, its ports found by :func:`~verif.common.primitive_pair.port_prefix`) driven and checked on
every cycle, with resets shared by all."""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from verif.kit.env import rng

__all__ = ["harness_cases", "run_pairs"]


def harness_cases(case_class) -> list:
    """The harness's cases (``ATTNFORGE_CONFIG``, a :class:`~verif.common.primitive_pair.CaseList`)."""
    return [case_class.from_dict(c) for c in json.loads(os.environ["ATTNFORGE_CONFIG"])["cases"]]


async def run_pairs(dut, drivers: list, cycles: int) -> None:
    """Two cycles of reset with every driver ``idle()``, then ``cycles`` cycles in which each
    driver ``drive()``s its inputs after the clock edge and ``check(cycle)``s its outputs once
    they settle; a reset in 1% of the cycles."""
    resets = rng(0)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    for driver in drivers:
        driver.idle()
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    for cycle in range(cycles):
        await RisingEdge(dut.clk)
        for driver in drivers:
            driver.drive()
        dut.rst.value = int(resets.random() < 0.01)
        await ReadOnly()
        for driver in drivers:
            driver.check(cycle)
