"""Golden models of the three common stages (score, softmax, weighted sum), bit-exact with
``hw/common`` and shared by every technique, plus the float reference.

All integer functions take and return ``torch.int64`` tensors with arbitrary leading batch
dimensions; shapes are ``q [..., nq, d]``, ``k, v [..., nk, d]``, scores and probabilities
``[..., nq, nk]``. ``key_mask [..., nk]`` (bool, True = attend) models padding: a masked key
gets probability 0 exactly as if it had not been sent.
"""

from __future__ import annotations

import math

import torch

from .numerics import Formats

__all__ = [
    "scores_int", "scaled_scores_int", "exp_int", "normalize_int", "softmax_int",
    "weighted_sum_int", "attention_int", "attention_float",
]


def scores_int(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Exact integer dot products ``s[i, j] = q_i . k_j`` (no truncation)."""
    return torch.matmul(q.to(torch.int64), k.to(torch.int64).transpose(-1, -2))


def scaled_scores_int(s: torch.Tensor, scale: torch.Tensor | int, fmt: Formats,
                      bias: torch.Tensor | None = None) -> torch.Tensor:
    """``y = (s * c) >> Y_SHIFT + bias`` in the base-2 fixed-point domain (floor shift).
    ``scale`` is per query row (broadcast over keys) or a scalar; ``bias`` per key."""
    scale = torch.as_tensor(scale, dtype=torch.int64)
    if scale.dim() > 0:
        scale = scale.unsqueeze(-1)
    y = torch.bitwise_right_shift(s * scale, fmt.y_shift)
    if bias is not None:
        y = y + bias.to(torch.int64).unsqueeze(-2)
    return y


def exp_int(y: torch.Tensor, fmt: Formats, key_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Row max subtraction and base-2 exponential from the LUT: ``e = LUT[f] >> I``."""
    if key_mask is not None:
        floor = torch.iinfo(torch.int64).min // 4
        y = torch.where(key_mask.unsqueeze(-2), y, torch.full_like(y, floor))
    m = y.amax(dim=-1, keepdim=True)
    u = m - y
    whole = torch.bitwise_right_shift(u, fmt.x_frac)
    frac = torch.bitwise_and(u, (1 << fmt.x_frac) - 1)
    lut = torch.tensor(fmt.exp_lut, dtype=torch.int64)
    e = torch.bitwise_right_shift(lut[frac], whole.clamp(max=fmt.exp_zero_shift + 1))
    e = torch.where(whole > fmt.exp_zero_shift, torch.zeros_like(e), e)
    if key_mask is not None:
        e = torch.where(key_mask.unsqueeze(-2), e, torch.zeros_like(e))
    return e


def normalize_int(e: torch.Tensor, fmt: Formats) -> torch.Tensor:
    """``p = round(e * floor(2^RECIP_SHIFT / sum(e)) / 2^(RECIP_SHIFT - P))``."""
    total = e.sum(dim=-1, keepdim=True)
    recip = torch.div(torch.full_like(total, 1 << fmt.recip_shift), total.clamp(min=1), rounding_mode="floor")
    shift = fmt.recip_shift - fmt.prob_frac
    return torch.bitwise_right_shift(e * recip + (1 << (shift - 1)), shift)


def softmax_int(s: torch.Tensor, scale, fmt: Formats, key_mask: torch.Tensor | None = None,
                bias: torch.Tensor | None = None) -> torch.Tensor:
    """Integer softmax of scores: probabilities with ``P`` fraction bits (``<= 2^P``)."""
    return normalize_int(exp_int(scaled_scores_int(s, scale, fmt, bias), fmt, key_mask), fmt)


def weighted_sum_int(p: torch.Tensor, v: torch.Tensor, fmt: Formats) -> torch.Tensor:
    """``o = clamp(round(sum_j p_j v_j / 2^(P - O)))`` in the output format."""
    acc = torch.matmul(p.to(torch.int64), v.to(torch.int64))
    if fmt.out_shift:
        acc = torch.bitwise_right_shift(acc + (1 << (fmt.out_shift - 1)), fmt.out_shift)
    return acc.clamp(fmt.out_min, fmt.out_max)


def attention_int(q, k, v, scale, fmt: Formats, key_mask=None, bias=None, return_probs=False):
    """Dense integer attention: the three stages in a row."""
    p = softmax_int(scores_int(q, k), scale, fmt, key_mask, bias)
    o = weighted_sum_int(p, v, fmt)
    return (o, p) if return_probs else o


def attention_float(q, k, v, key_mask=None, softmax_scale: float | None = None, bias=None,
                    return_probs=False):
    """Float reference: ``softmax(q k^T * scale + bias + mask) v`` (scale defaults to 1/sqrt(d)).
    Equals ``torch.nn.functional.scaled_dot_product_attention`` for the same inputs.
    ``bias`` is per key (natural-log units), as CTA's ln(n_c)."""
    if softmax_scale is None:
        softmax_scale = 1.0 / math.sqrt(q.shape[-1])
    logits = torch.matmul(q, k.transpose(-1, -2)) * softmax_scale
    if bias is not None:
        logits = logits + bias.unsqueeze(-2)
    if key_mask is not None:
        logits = logits.masked_fill(~key_mask.unsqueeze(-2), float("-inf"))
    p = torch.softmax(logits, dim=-1)
    o = torch.matmul(p, v)
    return (o, p) if return_probs else o
