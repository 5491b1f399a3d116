"""hw.common.pipeline.pipelined_product against Python's integer product, in Amaranth's
simulator: every operand shape the stages use (one DSP, limbs on one or both sides), random
operands plus the extremes, one new pair per cycle, result after golden.timing.product_latency."""

import random

import pytest
from amaranth import Module, Signal, signed, unsigned
from amaranth.sim import Simulator

from golden.timing import operand_limbs, product_latency
from hw.common.pipeline import pipelined_product
from verif.common.operands import PRODUCT_SHAPES, random_operand

SEED = 1


@pytest.mark.parametrize("a_bits,a_signed,b_bits,b_signed", PRODUCT_SHAPES)
def test_pipelined_product(a_bits, a_signed, b_bits, b_signed):
    m = Module()
    a = Signal(signed(a_bits) if a_signed else unsigned(a_bits))
    b = Signal(signed(b_bits) if b_signed else unsigned(b_bits))
    product = pipelined_product(m, None, a, b, "product")
    latency = product_latency(a_bits, a_signed, b_bits, b_signed)
    rng = random.Random(SEED)
    pairs = [(random_operand(rng, a_bits, a_signed), random_operand(rng, b_bits, b_signed)) for _ in range(200)]
    got = []

    async def bench(ctx):
        for cycle in range(len(pairs) + latency):
            if cycle < len(pairs):
                ctx.set(a, pairs[cycle][0])
                ctx.set(b, pairs[cycle][1])
            await ctx.tick()
            if latency - 1 <= cycle < len(pairs) + latency - 1:
                got.append(ctx.get(product))

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    wrong = [(x, y, g) for (x, y), g in zip(pairs, got) if g != x * y]
    assert len(got) == len(pairs) and not wrong, f"seed {SEED}: first wrong (a, b, got): {wrong[:3]}"


def test_limbs_fit_one_dsp():
    for bits in range(1, 80):
        for is_signed in (False, True):
            widths = operand_limbs(bits, is_signed)
            assert sum(widths) == bits
            assert all(w == 17 for w in widths[:-1]) and widths[-1] <= (18 if is_signed else 17)
