"""The clustering unit's centroid arithmetic, as the hardware does it (hw/cta/cluster.py).

The spec is golden.cta.model.centroids_int: ``floor((2 S + n) / (2 n))`` per element, S the
sum of the cluster's n signed W-bit elements. The hardware computes the same number without a
wide divider:

* it accumulates **biased** sums ``S' = sum(x + 2^(W-1))`` (each term is the element with its
  top bit inverted, read as unsigned), so ``0 <= S' <= n (2^W - 1)`` and nothing is signed;
* ``floor((2 S + n) / (2 n)) = floor((S' + floor(n/2)) / n) - 2^(W-1)`` (with ``S' = q n + r``,
  both sides are ``q + [r >= ceil(n/2)] - 2^(W-1)``);
* ``Y = S' + floor(n/2) < n 2^W``, so the quotient has W bits: a restoring division, one
  quotient bit (one ``clog2(N)+1``-bit subtraction) per pipeline stage, MSB first;
* the result is the quotient minus ``2^(W-1)``: its top bit inverted, read as signed.

verif/cta/test_golden.py checks :func:`centroid_divide` against the spec for every n <= N and
every biased sum of the default config (and small widths), so the hardware that follows these
steps is bit-exact with the golden model.
"""

from __future__ import annotations

import torch

__all__ = ["biased_sum_bits", "count_bits", "rounded_numerator", "division_steps", "centroid_divide"]


def biased_sum_bits(data_bits: int, max_tokens: int) -> int:
    """Bits of a biased sum ``S'`` of up to ``max_tokens`` elements (unsigned)."""
    return (max_tokens * ((1 << data_bits) - 1)).bit_length()


def count_bits(max_tokens: int) -> int:
    """Bits of a cluster's member count (1 to N)."""
    return max(1, max_tokens.bit_length())


def rounded_numerator(biased_sum, n):
    """``Y = S' + floor(n/2)``: the dividend whose floor quotient by n is the rounded mean."""
    return biased_sum + (n >> 1)


def division_steps(y, n, data_bits: int):
    """Restoring division of ``y < n 2^W`` by ``n >= 1``, one quotient bit per step, MSB first:
    step b compares ``y >> b`` (below ``2n``) with n and, if not smaller, subtracts ``n << b``.
    Returns the W-bit quotient ``floor(y / n)``. Works on ints and on int64 tensors."""
    q = 0
    for b in reversed(range(data_bits)):
        top = y >> b
        take = top >= n
        if isinstance(take, torch.Tensor):
            take = take.to(torch.int64)
        else:
            take = int(take)
        y = y - take * (n << b)
        q = q | (take << b)
    return q


def centroid_divide(biased_sum, n, data_bits: int):
    """The hardware's centroid element from the biased sum ``S'`` and the count n: equal to
    ``floor((2 S + n) / (2 n))`` with ``S = S' - n 2^(W-1)``."""
    q = division_steps(rounded_numerator(biased_sum, n), n, data_bits)
    return q - (1 << (data_bits - 1))
