"""Pseudo-random numbers the hardware must reproduce: fully specified here (no library RNG),
so a seed means the same bits in Python, in the generated Verilog and in any other tool.

``xorshift32`` is Marsaglia's generator (shifts 13, 17, 5; the state never becomes 0).
"""

from __future__ import annotations

__all__ = ["xorshift32", "xorshift32_stream", "MASK32"]

MASK32 = 0xFFFF_FFFF


def xorshift32(state: int) -> int:
    """One step of xorshift32; ``state`` must be a nonzero 32-bit value."""
    state ^= (state << 13) & MASK32
    state ^= state >> 17
    state ^= (state << 5) & MASK32
    return state


def xorshift32_stream(seed: int, count: int) -> list[int]:
    """``count`` successive states after ``seed`` (a zero seed is replaced by 1)."""
    state = (seed & MASK32) or 1
    out = []
    for _ in range(count):
        state = xorshift32(state)
        out.append(state)
    return out
