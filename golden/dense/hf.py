"""Attention implementations of the dense unit for Hugging Face models (see :mod:`golden.hf`).

Members:

- ``exact``: the float reference :func:`golden.attention.attention_float`.
- ``dense-int8``: the bit-exact dense unit through :func:`golden.dense.dense_quantized`
  with :data:`HF_CONFIG`; puts the integer tensors the hardware saw (q, k, v, scale, out) in
  ``ctx.record["ints"]`` and the config in ``ctx.record["config"]``, for workload dumps.
- :data:`HF_CONFIG`: the DenseConfig of ``dense-int8``.
"""

from __future__ import annotations

from ..attention import attention_float
from ..hf import register_attention
from .config import DenseConfig
from .model import dense_quantized

__all__ = ["HF_CONFIG", "exact_attention", "dense_int8_attention"]

#: MiniLM's head_dim is 32; max_tokens is the model's 512 positions. N is not just a buffer
#: size: the reciprocal shift (and so the probability rounding) widens with clog2(N), so the
#: integers depend on N and RTL must be built with this same config to reproduce them.
HF_CONFIG = DenseConfig(head_dim=32, max_tokens=512, data_width=8)


def exact_attention(q, k, v, key_mask, softmax_scale, ctx):
    """Float reference attention (golden.attention.attention_float)."""
    return attention_float(q, k, v, key_mask=key_mask, softmax_scale=softmax_scale)


def dense_int8_attention(q, k, v, key_mask, softmax_scale, ctx, cfg: DenseConfig = HF_CONFIG):
    """Dense unit, int8 bit-exact integer model (golden.dense.dense_quantized, N=512)."""
    n, d = k.shape[-2], q.shape[-1]
    if d != cfg.head_dim:
        raise ValueError(f"dense-int8 is configured for head_dim={cfg.head_dim}, the model has {d}.")
    if n > cfg.max_tokens:
        raise ValueError(f"dense-int8 holds at most max_tokens={cfg.max_tokens} tokens, got a sequence of {n}.")
    out, ints = dense_quantized(q, k, v, cfg, key_mask=key_mask, softmax_scale=softmax_scale)
    ctx.record["ints"] = ints
    ctx.record["config"] = cfg
    return out


register_attention("exact", exact_attention)
register_attention("dense-int8", dense_int8_attention)
