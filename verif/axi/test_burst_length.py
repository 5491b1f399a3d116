"""``hw.common.axi.burst_length`` (the three compares side by side, ``left + offset >
page_words`` as one adder) against Python's ``min`` for every ``left`` and ``offset`` of small
pages, with ``max_burst`` below, at and above the page."""

import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from hw.common.axi import burst_length


@pytest.mark.parametrize("max_burst, page_words", [(4, 16), (16, 16), (1, 8), (32, 16), (5, 32)])
def test_burst_length_is_the_min_of_three(max_burst, page_words):
    left, offset = Signal(7), Signal(range(page_words))
    out = Signal(8)
    m = Module()
    m.d.comb += out.eq(burst_length(m, left, offset, max_burst=max_burst, page_words=page_words))

    async def bench(ctx):
        for o in range(page_words):
            ctx.set(offset, o)
            for n in range(1 << len(left)):
                ctx.set(left, n)
                want = min(n, max_burst, page_words - o)
                assert ctx.get(out) == want, f"left={n} offset={o} max_burst={max_burst} page={page_words}"

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
