"""MEMO implementations for Hugging Face models (see :mod:`golden.hf`).

The attention database persists across forward passes of one loaded model (in the session's
state): every sequence of every batch, layer by layer, hashes the layer's input hidden states
into a signature and looks it up (context = the layer). On a hit the heads enabled in the
selective head mask take the stored maps; on a miss every head computes and an allocated
entry receives the maps of all heads.

Members:

- ``memo``: the bit-exact int8 unit (:data:`HF_CONFIG`), selective head mask from
  :data:`POLICY_FILE` when it exists (else every head); ``memo-all``: every head enabled;
  ``memo-float``: the float model with the selective mask.
- :func:`database_of` (a model's :class:`~golden.memo.model.MemoDatabase`),
  :func:`memo_attention`.
"""

from __future__ import annotations

from functools import partial

import torch

from ..hf import register_attention
from .config import MemoConfig
from .model import MemoDatabase, hidden_signature, memo_layer_float, memo_layer_int
from .policy import POLICY_FILE, load_policy

__all__ = ["HF_CONFIG", "memo_attention", "database_of"]

#: MiniLM: head_dim 32, N = 256 (evaluate.py's default --max-length; a 256^2 map is 16384 AXI words), one
#: context per layer.
HF_CONFIG = MemoConfig(head_dim=32, max_tokens=256, contexts=6)


def database_of(session, impl: str, cfg: MemoConfig) -> MemoDatabase:
    key = ("memo-db", impl)
    if key not in session.state:
        session.state[key] = MemoDatabase(cfg)
    return session.state[key]


def memo_attention(q, k, v, key_mask, softmax_scale, ctx, *, cfg: MemoConfig = HF_CONFIG, exact: bool = False,
                   head_mask=None):
    """Memoized attention, one lookup per sequence and layer."""
    hidden = ctx.hidden_states
    if hidden is None:
        raise ValueError(f"{ctx.impl} needs the layer's hidden states; load the model with golden.hf.load_minilm.")
    batch, heads, n, d = k.shape
    if d != cfg.head_dim:
        raise ValueError(f"{ctx.impl} is configured for head_dim={cfg.head_dim}, the model has {d}.")
    if n > cfg.max_tokens:
        raise ValueError(f"{ctx.impl} holds maps of at most max_tokens={cfg.max_tokens} tokens, got {n}.")
    if ctx.layer_idx >= cfg.contexts:
        raise ValueError(f"{ctx.impl} has contexts={cfg.contexts}, the model has layer {ctx.layer_idx}.")
    if head_mask is None:
        policy = load_policy() if POLICY_FILE.exists() else None
        head_mask = policy["head_mask"] if policy else [[1] * heads] * ctx.num_layers
        if policy and not cfg.mask:  # the engine's mask: a layer allocates only if it may use its maps
            cfg = cfg.replace(mask=tuple(policy["layer_mask"]))
    db = database_of(ctx.session, ctx.impl, cfg)
    layer_mask = head_mask[ctx.layer_idx]
    out = torch.zeros_like(q)
    layer_fn = memo_layer_float if exact else memo_layer_int
    for b in range(batch):
        real = key_mask[b, 0] if key_mask is not None else torch.ones(n, dtype=torch.bool)
        idx = real.nonzero().squeeze(-1)
        sig = hidden_signature(hidden[b, idx], cfg)
        out[b][:, idx] = layer_fn(q[b][:, idx], k[b][:, idx], v[b][:, idx], sig, ctx.layer_idx, db, layer_mask,
                                  softmax_scale=softmax_scale, layer=ctx.layer_idx)
    return out


register_attention("memo", partial(memo_attention, cfg=HF_CONFIG),
                   description="MEMO memoized attention, bit-exact int8 unit, selective head mask (policy file)")
register_attention("memo-all", partial(memo_attention, cfg=HF_CONFIG, head_mask=[[1] * 12] * 6),
                   description="MEMO memoized attention, bit-exact int8 unit, every head memoized")
register_attention("memo-float", partial(memo_attention, cfg=HF_CONFIG, exact=True),
                   description="MEMO memoized attention, float model, selective head mask (policy file)")
