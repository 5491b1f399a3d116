"""Quantization outside the hardware: float tensors to the unit's signed integer format.

Symmetric, per tensor (per sequence and head: the reduction covers the last two dims),
``scale = absmax / (2^(W-1) - 1)``, round half to even (torch.round), as DESIGN.md specifies.
"""

from __future__ import annotations

import torch

from .numerics import LOG2E, SCALE_BITS

__all__ = ["quantize", "softmax_scale_tensor"]


def quantize(x: torch.Tensor, bits: int, token_mask: torch.Tensor | None = None):
    """Per-(..., head) symmetric quantization of ``x [..., n, d]``.

    Returns ``(ints [..., n, d] int64, scale [..., 1, 1] float)``. Masked tokens
    (``token_mask [..., n]`` False) do not count towards absmax and are quantized to 0."""
    qmax = (1 << (bits - 1)) - 1
    mag = x.detach().abs()
    if token_mask is not None:
        mag = mag * token_mask.unsqueeze(-1)
    absmax = mag.amax(dim=(-2, -1), keepdim=True)
    scale = torch.where(absmax > 0, absmax / qmax, torch.ones_like(absmax))
    ints = torch.clamp(torch.round(x / scale), -qmax - 1, qmax).to(torch.int64)
    if token_mask is not None:
        ints = ints * token_mask.unsqueeze(-1)
    return ints, scale


def softmax_scale_tensor(scale_q: torch.Tensor, scale_k: torch.Tensor, softmax_scale: float) -> torch.Tensor:
    """Vectorized :func:`golden.numerics.softmax_scale_int`: the runtime scale register per
    (..., head), clamped into the register's range."""
    c = LOG2E * scale_q.double() * scale_k.double() * softmax_scale
    c_int = torch.floor(c * (1 << SCALE_BITS) + 0.5).to(torch.int64)
    return c_int.clamp(0, (1 << SCALE_BITS) - 1)
