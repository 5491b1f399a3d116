"""The bit-exact number formats of the attention datapath: the one definition that both the
golden integer model and the Amaranth hardware import.

Pipeline, per query row i and key j (all integers; ``>>`` is an arithmetic shift = floor):

====================  ===========================================================================
score                 ``s = sum_t q[t] * k[t]``                                  (exact)
scaled score          ``y = (s * c) >> Y_SHIFT  +  bias``       c = runtime scale, SCALE_BITS
                                                                 all fractional; y has X fraction
                                                                 bits (X = exp_lut_bits)
row max               ``m = max_j y``
exponent              ``u = m - y >= 0;  I = u >> X;  f = u & (2^X - 1)``
exp2                  ``e = EXP_LUT[f] >> I`` (0 when I > E);  EXP_LUT[f] = round(2^E * 2^(-f/2^X))
row sum               ``S = sum_j e``            (>= 2^E: the row maximum contributes exactly 2^E)
reciprocal            ``R = floor(2^RECIP_SHIFT / S)``
probability           ``p = (e * R + 2^(RECIP_SHIFT - P - 1)) >> (RECIP_SHIFT - P)``  (<= 2^P)
weighted sum          ``acc = sum_j p * v``
output                ``o = clamp((acc + 2^(P - O - 1)) >> (P - O))``  O = out_frac_bits
====================  ===========================================================================

Rounding: every ``round`` above is round-half-up, every other shift is floor. E (exp fraction
bits) equals P (probability fraction bits). The softmax scale ``c`` (``scale`` in the query
stream) is ``round(log2(e) * scale_q * scale_k * softmax_scale * 2^SCALE_BITS)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from .config import ConfigError, clog2

__all__ = [
    "SCALE_BITS", "Formats", "round_half_up_shift", "exp2_lut", "log2_lut",
    "quantize_symmetric", "softmax_scale_int", "LOG2E",
]

#: Width of the runtime softmax scale ``c``; all of it is fraction (c < 1).
SCALE_BITS = 32
LOG2E = 1.0 / math.log(2.0)


def round_half_up_shift(x: int, shift: int) -> int:
    """``round(x / 2^shift)`` with halves rounded up (towards +inf); floor for shift 0."""
    if shift <= 0:
        return x << -shift
    return (x + (1 << (shift - 1))) >> shift


@lru_cache(maxsize=None)
def exp2_lut(frac_bits: int, out_frac_bits: int) -> tuple[int, ...]:
    """``EXP_LUT[f] = round(2^out * 2^(-f / 2^frac))`` for f in [0, 2^frac): the fractional part
    of a base-2 exponent. Entry 0 is exactly ``2^out``; the rest are below it."""
    one = 1 << out_frac_bits
    return tuple(int(math.floor(one * 2.0 ** (-f / (1 << frac_bits)) + 0.5)) for f in range(1 << frac_bits))


@lru_cache(maxsize=None)
def log2_lut(max_count: int, frac_bits: int) -> tuple[int, ...]:
    """``LOG2_LUT[n] = round(log2(n) * 2^frac)`` for n in [0, max_count] (entry 0 unused, 0).
    CTA's cluster-size bias in the base-2 score domain."""
    return tuple(0 if n == 0 else int(math.floor(math.log2(n) * (1 << frac_bits) + 0.5))
                 for n in range(max_count + 1))


def quantize_symmetric(x, bits: int = 8):
    """Symmetric per-tensor quantization: ``scale = absmax / (2^(bits-1) - 1)``.

    Returns ``(ints, scale)`` with ints a torch int64 tensor. An all-zero tensor gets scale 1.
    ``x`` may carry leading batch dims; the scale is per whole tensor unless the caller
    reduces over chosen dims itself (see :func:`quantize_rows`)."""
    import torch
    qmax = (1 << (bits - 1)) - 1
    absmax = x.detach().abs().amax()
    scale = torch.where(absmax > 0, absmax / qmax, torch.ones_like(absmax))
    ints = torch.clamp(torch.round(x / scale), -qmax - 1, qmax).to(torch.int64)
    return ints, scale


def softmax_scale_int(scale_q: float, scale_k: float, softmax_scale: float) -> int:
    """The runtime scale register ``c`` for dequantization scales and the model's softmax
    scale (1/sqrt(d) for standard attention). Raises ConfigError when it does not fit."""
    c = LOG2E * scale_q * scale_k * softmax_scale
    c_int = int(math.floor(c * (1 << SCALE_BITS) + 0.5))
    if not 0 <= c_int < (1 << SCALE_BITS):
        raise ConfigError(f"softmax scale {c:.3g} does not fit the {SCALE_BITS}-bit scale register "
                          f"(allowed 0 to {1 - 2.0 ** -SCALE_BITS:.6f}).")
    return c_int


@dataclass(frozen=True)
class Formats:
    """Bit widths and constants of the datapath for one :class:`AttentionConfig`.

    Members: ``data_bits`` (W), ``score_bits``, ``y_shift``, ``y_bits``, ``bias_bits``,
    ``x_frac`` (X), ``exp_frac`` (E), ``exp_bits``, ``exp_lut``, ``sum_bits``, ``recip_shift``,
    ``recip_bits``, ``prob_frac`` (P), ``prob_bits``, ``acc_bits``, ``out_frac`` (O),
    ``out_bits``, ``scale_bits``, ``index_bits``, ``count_bits``."""

    data_bits: int
    score_bits: int
    y_shift: int
    y_bits: int
    bias_bits: int
    x_frac: int
    exp_frac: int
    exp_bits: int
    exp_lut: tuple[int, ...]
    sum_bits: int
    recip_shift: int
    recip_bits: int
    prob_frac: int
    prob_bits: int
    acc_bits: int
    out_frac: int
    out_bits: int
    scale_bits: int
    index_bits: int
    count_bits: int

    @classmethod
    @lru_cache(maxsize=None)
    def of(cls, cfg) -> "Formats":
        w, d, n = cfg.data_width, cfg.head_dim, cfg.max_tokens
        x, p, o = cfg.exp_lut_bits, cfg.prob_frac_bits, cfg.out_frac_bits
        if o >= p:
            raise ConfigError(f"out_frac_bits={o} must be below prob_frac_bits={p}.")
        e = p  # exp values and probabilities share one fraction width
        # |q.k| <= d * 2^(2w-2): magnitude bits 2w-2+clog2(d)+1, plus sign.
        score_bits = 2 * w + clog2(d)
        y_shift = SCALE_BITS - x
        # |s * c| >> y_shift < 2^(score_bits-1+x); one more bit of headroom for the bias.
        y_bits = score_bits + x + 1
        bias_bits = clog2(n + 1) + x + 1  # log2(n) with x fraction bits, signed
        sum_bits = e + 1 + clog2(n)
        recip_shift = e + p + clog2(n) + 2
        recip_bits = recip_shift - e + 1  # R <= 2^(recip_shift - e) since S >= 2^e
        prob_bits = p + 1  # p <= 2^p
        out_bits = w + o
        # |acc| <= (2^p + n/2) * 2^(w-1): rounding can push sum(p) above one.
        acc_bits = prob_bits + w + clog2(n) + 1
        return cls(
            data_bits=w, score_bits=score_bits, y_shift=y_shift, y_bits=y_bits, bias_bits=bias_bits,
            x_frac=x, exp_frac=e, exp_bits=e + 1, exp_lut=exp2_lut(x, e), sum_bits=sum_bits,
            recip_shift=recip_shift, recip_bits=recip_bits, prob_frac=p, prob_bits=prob_bits,
            acc_bits=acc_bits, out_frac=o, out_bits=out_bits, scale_bits=SCALE_BITS,
            index_bits=max(1, clog2(n)), count_bits=clog2(n + 1),
        )

    @property
    def data_min(self) -> int:
        return -(1 << (self.data_bits - 1))

    @property
    def data_max(self) -> int:
        return (1 << (self.data_bits - 1)) - 1

    @property
    def out_min(self) -> int:
        return -(1 << (self.out_bits - 1))

    @property
    def out_max(self) -> int:
        return (1 << (self.out_bits - 1)) - 1

    @property
    def out_shift(self) -> int:
        """Right shift from the accumulator to the output format."""
        return self.prob_frac - self.out_frac

    @property
    def exp_zero_shift(self) -> int:
        """Integer exponents above this give e = 0 (EXP_LUT entries are <= 2^E)."""
        return self.exp_frac
