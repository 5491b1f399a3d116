"""cocotb testbench: the ECP5 MULT18X18D products (with the behavioural model in
ecp5_mult18x18d.v) against the generic pipelined products, every case of the harness on every
cycle."""

from __future__ import annotations

import cocotb

from verif.common.dsp_harness import ProductCase
from verif.common.operands import random_operand
from verif.common.pair_bench import harness_cases, run_pairs
from verif.common.primitive_pair import port_prefix
from verif.kit.env import Report, rng, seed

CYCLES = 3000


class ProductDriver:
    """One case's ports: random operands and stage enables (half the cycles all of them at once,
    as in a stall-as-unit pipeline). Members: ``case``, ``seen`` (the products seen)."""

    def __init__(self, dut, index: int, case: ProductCase):
        self.case = case
        self.rng = rng(1 + index)
        prefix = port_prefix(index)
        for name in ("a", "b", "en", "generic", "ecp5"):
            setattr(self, name, getattr(dut, prefix + name))
        self.seen = set()

    def idle(self):
        self.a.value, self.b.value, self.en.value = 0, 0, 0

    def drive(self):
        r, case = self.rng, self.case
        self.a.value = random_operand(r, case.a_bits, case.a_signed)
        self.b.value = random_operand(r, case.b_bits, case.b_signed)
        width = len(self.en)
        self.en.value = r.getrandbits(width) if r.random() < 0.5 else (1 << width) - 1

    def check(self, cycle: int):
        generic, ecp5 = self.generic.value, self.ecp5.value
        assert ecp5 == generic, (f"seed {seed()} case {self.case.key} cycle {cycle}: ecp5 {ecp5.to_signed()} "
                                 f"generic {generic.to_signed()}")
        self.seen.add(int(generic))


@cocotb.test()
async def equal_every_cycle(dut):
    """Every case driven at random (:class:`ProductDriver`), with resets mid-stream shared by
    all: both products equal in every cycle, and each case saw many different non-zero
    products (else it compared little)."""
    products = [ProductDriver(dut, i, case) for i, case in enumerate(harness_cases(ProductCase))]
    await run_pairs(dut, products, CYCLES)
    for product in products:
        assert len(product.seen) > 500, f"seed {seed()} case {product.case.key}: only {len(product.seen)} distinct products"
    Report().add(cycles=CYCLES, cases=len(products), distinct=min(len(p.seen) for p in products))
