"""Multiplier operands for the product tests: the shapes the common stages use, and random
values with the extremes mixed in."""

from __future__ import annotations

__all__ = ["PRODUCT_SHAPES", "random_operand"]

#: (a_bits, a_signed, b_bits, b_signed) of every product shape the stages build.
PRODUCT_SHAPES = [
    (8, True, 8, True),       # score lanes
    (16, False, 8, True),     # weighted-sum lanes
    (16, False, 25, False),   # softmax reader: e x reciprocal
    (21, True, 32, False),    # softmax writer: score x scale
    (40, True, 37, True),     # limbs on both sides, three levels of sums
]


def random_operand(rng, bits: int, is_signed: bool) -> int:
    """The lowest value (1 in 10), the highest (1 in 10) or a uniform one."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if is_signed else (0, (1 << bits) - 1)
    pick = rng.random()
    return lo if pick < 0.1 else hi if pick < 0.2 else rng.randint(lo, hi)
