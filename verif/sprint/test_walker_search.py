"""The SPRINT walker's searches (``without_lowest``, ``lowest_is_in`` and the grouped
``LowestSurvivor`` built from them, with its survivor's number) against Python integers in Amaranth's simulator, at widths up to and beyond the default N = 128: the RTL
testbenches' fast configs have N <= 16, and the default config runs only in ``make sim``."""

import random

import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from hw.sprint.sprint import WALK_GROUP, LowestSurvivor, lowest_is_in, nonempty_groups, without_lowest


def reference_lowest_is_in(inside, outside):
    both = inside | outside
    return int(both != 0 and inside & both & -both != 0)


def masks(rng, n):
    """Empty, full, single bits and runs from the ends and the middle, random masks of every density."""
    yield 0
    yield (1 << n) - 1
    for bit in sorted({0, max(n // 2 - 1, 0), n // 2, n - 1}):
        yield 1 << bit
        yield (1 << n) - (1 << bit)
    for _ in range(300):
        density = rng.choice([0.01, 0.05, 0.3, 0.7])
        value = sum(1 << i for i in range(n) if rng.random() < density)
        yield value & ~((1 << rng.randrange(n)) - 1) if rng.random() < 0.3 else value


@pytest.mark.parametrize("n", [1, 5, 64, 128, 200])
def test_walker_searches_match_integers(n):
    seed = n
    rng = random.Random(seed)
    mask, inside, outside = Signal(n), Signal(n), Signal(n)
    below, is_in = Signal(n), Signal()
    m = Module()
    m.d.comb += [below.eq(without_lowest(mask)), is_in.eq(lowest_is_in(inside, outside))]
    # The walker's step: the group flags as the walker holds them (registers there), the next
    # survivor, the rest, the rest's flags, and whether the survivor is in ``inside``.
    survivor = LowestSurvivor(mask, nonempty_groups(mask))
    bit, rest, rest_nonempty, grouped_is_in = Signal(n), Signal(n), Signal(len(survivor.lead)), Signal()
    m.d.comb += [bit.eq(survivor.bit), rest.eq(survivor.rest), rest_nonempty.eq(survivor.rest_nonempty),
                 grouped_is_in.eq(survivor.is_in(inside, outside))]
    index = survivor.index(m, "index")

    async def bench(ctx):
        for value in masks(rng, n):
            split = sum(1 << i for i in range(n) if rng.random() < 0.5)
            ctx.set(mask, value)
            ctx.set(inside, value & split)
            ctx.set(outside, value & ~split)
            where = f"n={n} seed={seed} mask={value:#x} inside={value & split:#x}"
            assert ctx.get(below) == (value - 1) % (1 << n), where
            assert ctx.get(is_in) == reference_lowest_is_in(value & split, value & ~split), where
            lowest = value & -value
            assert ctx.get(bit) == lowest, where
            assert ctx.get(index) == max(lowest.bit_length() - 1, 0), f"{where}: index"
            assert ctx.get(rest) == value & ~lowest, where
            groups = range(0, n, WALK_GROUP)
            assert ctx.get(rest_nonempty) == sum(1 << g for g, i in enumerate(groups)
                                                 if (value & ~lowest) >> i & ((1 << WALK_GROUP) - 1)), where
            assert ctx.get(grouped_is_in) == reference_lowest_is_in(value & split, value & ~split), where

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
