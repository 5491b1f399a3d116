"""Attention-map reuse models: a layer group's first layer computes P and keeps it, the others
compute P V with their own V (float reference, bit-exact integer model, quantized wrappers)."""

from __future__ import annotations

import torch

from ..attention import attention_float, scores_int, softmax_int, weighted_sum_int
from ..quant import quantize, softmax_scale_tensor
from .config import ReuseConfig

__all__ = ["map_float", "group_float", "map_int", "reuse_int", "group_int", "compute_quantized",
           "reuse_quantized"]


def map_float(q, k, key_mask=None, softmax_scale=None) -> torch.Tensor:
    """Float attention map ``softmax(q k^T * scale + mask)`` ``[..., nq, nk]``."""
    _, p = attention_float(q, k, k, key_mask=key_mask, softmax_scale=softmax_scale, return_probs=True)
    return p


def group_float(q, k, vs, key_mask=None, softmax_scale=None) -> list[torch.Tensor]:
    """Float model of a group: the map of ``q``, ``k`` (the first layer's) applied to each
    layer's values ``vs[0]`` (the first layer's own), ``vs[1]``, ...; one output per layer."""
    p = map_float(q, k, key_mask, softmax_scale)
    return [torch.matmul(p, v) for v in vs]


def map_int(q, k, scale, cfg: ReuseConfig, key_mask=None) -> torch.Tensor:
    """The map the unit stores in compute mode: integer P with P fraction bits."""
    return softmax_int(scores_int(q, k), scale, cfg.formats, key_mask)


def reuse_int(p, v, cfg: ReuseConfig) -> torch.Tensor:
    """Reuse mode: a stored map ``p`` times new values ``v``, in the output format."""
    return weighted_sum_int(p, v, cfg.formats)


def group_int(q, k, vs, scale, cfg: ReuseConfig, key_mask=None, return_map=False):
    """Bit-exact model of a group on the unit: one compute packet (``q``, ``k``, ``vs[0]``;
    its output equals the dense unit's) and a reuse packet per further ``vs[i]``."""
    p = map_int(q, k, scale, cfg, key_mask)
    outs = [reuse_int(p, v, cfg) for v in vs]
    return (outs, p) if return_map else outs


def compute_quantized(q, k, v, cfg: ReuseConfig, key_mask=None, softmax_scale=None):
    """Float in, float out for the computing layer: quantize Q, K, V per (sequence, head),
    integer map and output, dequantize with V's scale. Returns ``(out_float, p_int, ints)``;
    ``ints`` holds q, k, v, scale, out as the hardware saw them."""
    if softmax_scale is None:
        softmax_scale = q.shape[-1] ** -0.5
    w = cfg.data_width
    qi, sq = quantize(q, w, key_mask)
    ki, sk = quantize(k, w, key_mask)
    scale = softmax_scale_tensor(sq, sk, softmax_scale)[..., 0]  # [..., 1] per query row
    p = map_int(qi, ki, scale, cfg, key_mask)
    out, ints = reuse_quantized(p, v, cfg, key_mask)
    return out, p, {**ints, "q": qi, "k": ki, "scale": scale}


def reuse_quantized(p, v, cfg: ReuseConfig, key_mask=None):
    """Float values through a stored integer map: quantize V, :func:`reuse_int`, dequantize.
    Returns ``(out_float, {"v", "out"})``."""
    vi, sv = quantize(v, cfg.data_width, key_mask)
    oi = reuse_int(p, vi, cfg)
    out = oi.to(v.dtype) * (sv / (1 << cfg.out_frac_bits)).to(v.dtype)
    return out, {"v": vi, "out": oi}
