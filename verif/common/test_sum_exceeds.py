"""``hw.common.pipeline.sum_exceeds`` (``a + b > x`` as one carry-save stage and one adder)
and ``exceeds`` (``a > x`` as the sign of ``x - a``) against Python's comparison for every
value of small widths, including the extremes where the sums need the extra bits."""

import pytest
from amaranth import Module, Signal, signed
from amaranth.sim import Simulator

from hw.common.pipeline import exceeds, sum_exceeds


@pytest.mark.parametrize("a_bits, b_bits, width", [(4, 4, 5), (5, 3, 5), (3, 2, 4)])
def test_sum_exceeds_matches_compare(a_bits, b_bits, width):
    a, b, x = Signal(signed(a_bits)), Signal(signed(b_bits)), Signal(signed(width))
    out = Signal()
    m = Module()
    m.d.comb += out.eq(sum_exceeds(m, a, b, x, width, "t"))

    def values(bits):
        return range(-(1 << (bits - 1)), 1 << (bits - 1))

    async def bench(ctx):
        for va in values(a_bits):
            ctx.set(a, va)
            for vb in values(b_bits):
                ctx.set(b, vb)
                for vx in values(width):
                    ctx.set(x, vx)
                    assert ctx.get(out) == (va + vb > vx), f"a={va} b={vb} x={vx} width={width}"

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("a_bits, x_bits", [(4, 4), (5, 3), (3, 6)])
def test_exceeds_matches_compare(a_bits, x_bits):
    a, x = Signal(signed(a_bits)), Signal(signed(x_bits))
    out = Signal()
    m = Module()
    m.d.comb += out.eq(exceeds(a, x))

    async def bench(ctx):
        for va in range(-(1 << (a_bits - 1)), 1 << (a_bits - 1)):
            ctx.set(a, va)
            for vx in range(-(1 << (x_bits - 1)), 1 << (x_bits - 1)):
                ctx.set(x, vx)
                assert ctx.get(out) == (va > vx), f"a={va} x={vx}"

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
