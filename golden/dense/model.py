"""Dense attention models: float reference, bit-exact integer model, quantized wrapper."""

from __future__ import annotations

import torch

from ..attention import attention_float, attention_int
from ..quant import quantize, softmax_scale_tensor
from .config import DenseConfig

__all__ = ["dense_float", "dense_int", "dense_quantized"]


def dense_float(q, k, v, key_mask=None, softmax_scale=None):
    """Float reference (equals torch's scaled_dot_product_attention)."""
    return attention_float(q, k, v, key_mask=key_mask, softmax_scale=softmax_scale)


def dense_int(q, k, v, scale, cfg: DenseConfig, key_mask=None, return_probs=False):
    """Bit-exact model of the dense unit: int Q/K/V and the scale register -> int outputs."""
    return attention_int(q, k, v, scale, cfg.formats, key_mask=key_mask, return_probs=return_probs)


def dense_quantized(q, k, v, cfg: DenseConfig, key_mask=None, softmax_scale=None):
    """Float in, float out through the bit-exact integer model: quantize Q, K, V per
    (sequence, head), run :func:`dense_int`, dequantize with V's scale.

    Returns ``(out_float, ints)`` where ``ints`` holds the integer tensors the hardware saw
    (q, k, v, scale, out) for dumping workloads."""
    if softmax_scale is None:
        softmax_scale = q.shape[-1] ** -0.5
    w = cfg.data_width
    qi, sq = quantize(q, w, key_mask)
    ki, sk = quantize(k, w, key_mask)
    vi, sv = quantize(v, w, key_mask)
    scale = softmax_scale_tensor(sq, sk, softmax_scale)[..., 0]  # [..., 1] per query row
    oi = dense_int(qi, ki, vi, scale, cfg, key_mask=key_mask)
    out = oi.to(q.dtype) * (sv / (1 << cfg.out_frac_bits)).to(q.dtype)
    return out, {"q": qi, "k": ki, "v": vi, "scale": scale, "out": oi}
