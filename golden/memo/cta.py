"""MEMO in front of CTA (beyond the papers; golden models only, no RTL): a layer lookup that
hits skips everything for the enabled heads (stored map over AXI into the weighted sum, as
:func:`golden.memo.model.memo_layer_int`); every other head, and every head on a miss, runs
CTA's compressed attention (:func:`golden.cta.model.cta_int_head`, bit-exact) instead of dense
attention.

Write-back on a miss (the choice this model makes): CTA never forms the n x n map, so the
record receives the CTA-expanded map of each head: query token i takes its query cluster's
probabilities over key clusters, and key cluster c's probability ``p_c`` is spread evenly over
its ``n_c`` member keys as ``floor((2 p_c + n_c) / (2 n_c))`` (rounded half up, in the
probability format ``prob_frac``). A later hit runs this map against the raw int8 values, which
equals the CTA output up to that rounding (the centroid of the values is their mean).

Quantization is the dense unit's (per head int8, one softmax scale register per head), shared
by both paths; the CTA config must have the memo config's head_dim, max_tokens and data_width
so both paths use the same integer formats.

Members: :func:`expanded_map`, :class:`CtaLayerEvent`, :func:`memo_cta_layer_int`,
:func:`memo_cta_attention` (a :mod:`golden.hf` attention function).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..attention import weighted_sum_int
from ..config import ConfigError
from ..cta.config import CtaConfig
from ..cta.model import Clusters, cta_int_head
from .config import MemoConfig
from ..quant import quantize, softmax_scale_tensor
from .model import LayerEvent, MemoDatabase, _dequant, hidden_signature

__all__ = ["expanded_map", "CtaLayerEvent", "check_configs", "memo_cta_layer_int", "memo_cta_attention"]


def expanded_map(probs: torch.Tensor, keys: Clusters, queries: Clusters) -> torch.Tensor:
    """The n x n map of a CTA packet: ``probs [query clusters, key clusters]`` (int) gathered
    per query token and spread over each key cluster's members (rounded division by n_c)."""
    kid = torch.tensor(keys.ids, dtype=torch.int64)
    p = probs.to(torch.int64)[torch.tensor(queries.ids, dtype=torch.int64)][:, kid]
    n = torch.tensor(keys.counts, dtype=torch.int64)[kid]
    return torch.div(2 * p + n, 2 * n, rounding_mode="floor")


@dataclass
class CtaLayerEvent(LayerEvent):
    """:class:`LayerEvent` plus ``clusters``: ``(key clusters, query clusters)`` of each head
    that ran CTA, in head order."""

    clusters: tuple[tuple[int, int], ...] = ()


def check_configs(cfg: MemoConfig, cta: CtaConfig) -> None:
    for name in ("head_dim", "max_tokens", "data_width", "lanes"):
        if getattr(cfg, name) != getattr(cta, name):
            raise ConfigError(f"MEMO+CTA needs the same {name} in both configs, got {getattr(cfg, name)} and "
                              f"{getattr(cta, name)}.")


def memo_cta_layer_int(q, k, v, sig: int, ctx: int, db: MemoDatabase, head_mask, cta: CtaConfig,
                       softmax_scale=None, layer=None):
    """Bit-exact MEMO+CTA attention of one sequence in one layer: ``q, k, v [h, n, d]`` float
    in, float out."""
    if softmax_scale is None:
        softmax_scale = q.shape[-1] ** -0.5
    cfg = db.cfg
    check_configs(cfg, cta)
    heads, n = q.shape[0], k.shape[-2]
    answer, stored = db.lookup(sig, n, ctx)
    # The dense unit's quantization; the dense map is not used (the scale and int tensors are).
    w = cfg.data_width
    qi, sq = quantize(q, w)
    ki, sk = quantize(k, w)
    vi, sv = quantize(v, w)
    scale = softmax_scale_tensor(sq, sk, softmax_scale)[..., 0]
    memo_heads = tuple(h for h in range(heads) if head_mask[h]) if stored is not None else ()
    oi = torch.zeros(q.shape, dtype=torch.int64)
    maps = torch.zeros((heads, n, n), dtype=torch.int64)
    clusters = []
    for h in range(heads):
        if h in memo_heads:
            oi[h] = weighted_sum_int(stored[h], vi[h], cfg.formats)
            continue
        o, info = cta_int_head(qi[h], ki[h], vi[h], scale[h], cta, return_info=True)
        oi[h] = o
        maps[h] = expanded_map(info["probs"], info["keys"], info["queries"])
        clusters.append((info["keys"].n, info["queries"].n))
    if stored is None and answer.alloc:
        db.store(answer.ptr, maps)
    db.events.append(CtaLayerEvent(ctx if layer is None else layer, n, answer, memo_heads, heads, tuple(clusters)))
    return _dequant(oi, sv, cfg, q.dtype)


def memo_cta_attention(q, k, v, key_mask, softmax_scale, ctx, *, cfg: MemoConfig, cta: CtaConfig, head_mask):
    """MEMO+CTA for a Hugging Face model (as :func:`golden.memo.hf.memo_attention`: one lookup
    per sequence and layer, the database in the session's state under ``ctx.impl``)."""
    from .hf import database_of
    hidden = ctx.hidden_states
    if hidden is None:
        raise ValueError(f"{ctx.impl} needs the layer's hidden states; load the model with golden.hf.load_minilm.")
    batch, heads, n, d = k.shape
    if n > cfg.max_tokens:
        raise ValueError(f"{ctx.impl} holds maps of at most max_tokens={cfg.max_tokens} tokens, got {n}.")
    db = database_of(ctx.session, ctx.impl, cfg)
    out = torch.zeros_like(q)
    for b in range(batch):
        real = key_mask[b, 0] if key_mask is not None else torch.ones(n, dtype=torch.bool)
        idx = real.nonzero().squeeze(-1)
        sig = hidden_signature(hidden[b, idx], cfg)
        out[b][:, idx] = memo_cta_layer_int(q[b][:, idx], k[b][:, idx], v[b][:, idx], sig, ctx.layer_idx, db,
                                            head_mask[ctx.layer_idx], cta, softmax_scale=softmax_scale,
                                            layer=ctx.layer_idx)
    return out
