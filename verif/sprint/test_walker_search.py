"""The SPRINT walker's searches (``without_lowest``, ``lowest_is_in``, the grouped
``SurvivorSet`` and the ``LowestSurvivor`` taken from it, with its survivor's number) against
Python integers in Amaranth's simulator, at widths up to and beyond the default N = 128: the
RTL testbenches' fast configs have N <= 16, and the default config runs only in ``make sim``."""

import random

import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from hw.sprint.sprint import (CODE_BITS, WALK_GROUP, LowestSurvivor, SurvivorSet, first_in_groups, lowest_is_in,
                              without_lowest)


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
    # The walker's step: a SurvivorSet holding the mask (registers there), its lowest survivor,
    # the set it leaves (``rest``), and whether the survivor is in ``inside``.
    survivors, rest = SurvivorSet(n, name="survivors"), SurvivorSet(n, name="rest")
    m.d.comb += survivors.load(mask)
    survivor = LowestSurvivor(survivors)
    m.d.comb += survivor.take(rest)
    bit, index, grouped_is_in = Signal(n), Signal(range(max(n, 2))), Signal()
    flags_before, flags_after = Signal(len(survivors.nonempty)), Signal(len(survivors.nonempty))
    m.d.comb += [bit.eq(survivor.bit), index.eq(survivor.index), flags_before.eq(first_in_groups(inside, outside)),
                 grouped_is_in.eq(survivor.pick(flags_before)),
                 flags_after.eq(survivor.first_in_after(inside, flags_before))]

    def group_parts(value):
        return [value >> i & ((1 << WALK_GROUP) - 1) for i in range(0, n, WALK_GROUP)]

    def expected_set(value):
        """What a SurvivorSet holds for ``value``, from Python integers."""
        parts = group_parts(value)
        return {"mask": value,
                "minus": sum((p & (p - 1)) << (g * WALK_GROUP) for g, p in enumerate(parts)),
                "codes": sum(max((p & -p).bit_length() - 1, 0) << (g * CODE_BITS) for g, p in enumerate(parts)),
                "nonempty": sum(1 << g for g, p in enumerate(parts) if p)}

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
            for name, value_expected in expected_set(value).items():
                assert ctx.get(getattr(survivors, name)) == value_expected, f"{where}: loaded {name}"
            for name, value_expected in expected_set(value & ~lowest).items():
                assert ctx.get(getattr(rest, name)) == value_expected, f"{where}: rest {name}"
            assert ctx.get(grouped_is_in) == reference_lowest_is_in(value & split, value & ~split), where
            for flags, taken in ((flags_before, 0), (flags_after, lowest)):
                expected = sum(reference_lowest_is_in(i, o) << g for g, (i, o) in
                               enumerate(zip(group_parts(value & split & ~taken), group_parts(value & ~split & ~taken))))
                assert ctx.get(flags) == expected, f"{where}: group flags, survivor taken={taken:#x}"

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
