"""``hw.common.pipeline.sum_exceeds`` (``a + b > x`` as one carry-save stage and one adder)
against Python's comparison for every value of small widths, including the extremes where
``a + b + ~x`` needs the extra bits."""

import pytest
from amaranth import Module, Signal, signed
from amaranth.sim import Simulator

from hw.common.pipeline import sum_exceeds


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
