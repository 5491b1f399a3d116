"""``hw.common.pipeline.saturate`` against Python's clamp for every value of small widths, with
ranges that take its bit-check form (a narrower signed integer's) and ranges that do not."""

import pytest
from amaranth import Module, Signal, signed
from amaranth.sim import Simulator

from hw.common.pipeline import saturate


@pytest.mark.parametrize("width, lo, hi", [(10, -128, 127), (8, -8, 7), (9, -256, 255), (8, -128, 127),
                                           (8, -100, 90), (8, 0, 15)])
def test_saturate_matches_clamp(width, lo, hi):
    value, out = Signal(signed(width)), Signal(signed(width))
    m = Module()
    m.d.comb += out.eq(saturate(value, lo, hi))

    async def bench(ctx):
        for v in range(-(1 << (width - 1)), 1 << (width - 1)):
            ctx.set(value, v)
            assert ctx.get(out) == min(max(v, lo), hi), f"width={width} lo={lo} hi={hi} value={v}"

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
