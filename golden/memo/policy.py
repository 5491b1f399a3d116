"""Selective memoization (offline): which (layer, head)s may take a stored map.

Two measurements on a held-out calibration stream (requests in order, one per forward):

1. Layers (:func:`calibrate_layers`): per layer l, the stream runs through the bit-exact
   ``memo`` model with only layer l memoized (all its heads); the mean cosine of the sentence
   embeddings with the exact model's says what memoizing that layer costs. A layer is enabled
   when it keeps ``layer_target``: near-duplicate inputs can share a map harmlessly in early
   layers and harmfully in late ones, whose maps decide the output directly.
2. Heads (:func:`calibrate`): the ``memo-probe`` implementation does the same lookups and
   records as ``memo-all`` but computes every layer densely (errors do not compound) and, on
   each hit, compares the stored map of every head with the map the request would have
   computed: overlap = 1 - total variation distance per query row, averaged over rows and
   hits. A head of an enabled layer is enabled when its mean overlap reaches ``target``.

The hardware's per-layer mask enables a layer when any of its heads is.

Members: :func:`calibrate`, :func:`head_mask_for`, :func:`load_policy`, :data:`POLICY_FILE`,
:data:`FORMAT`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

__all__ = ["FORMAT", "POLICY_FILE", "calibrate", "calibrate_layers", "head_mask_for", "load_policy", "layer_mask_of"]

FORMAT = "attnforge-memo-policy/1"
#: Written by scripts/bench_memo.py --calibrate for all-MiniLM-L6-v2.
POLICY_FILE = Path(__file__).with_name("minilm_policy.json")
_PROBE = None


def load_policy(path: Path = POLICY_FILE) -> dict:
    data = json.loads(Path(path).read_text())
    if data.get("format") != FORMAT:
        raise ValueError(f"{path} is not an {FORMAT} file.")
    return data


def head_mask_for(overlap, hits, target: float, layer_cosine=None, layer_target: float = 0.0) -> list[list[int]]:
    """Enable a (layer, head) when its layer keeps ``layer_target`` (``layer_cosine``, if
    given) and its mean overlap over hits is >= ``target`` (and it had hits to judge by)."""
    return [[int(hits[l] > 0 and overlap[l][h] >= target
                 and (layer_cosine is None or layer_cosine[l] >= layer_target)) for h in range(len(overlap[l]))]
            for l in range(len(overlap))]


def calibrate_layers(requests, cfg, *, layers: int = 6, heads: int = 12) -> list[float]:
    """Mean embedding cosine (against the exact model) of ``requests`` with only layer l
    memoized, for each l."""
    from functools import partial

    from ..hf import embed, implementations, load_minilm, register_attention
    from .hf import memo_attention

    tokenizer, exact = load_minilm("exact")
    ref = torch.cat([embed(exact, tokenizer, [t], batch_size=1) for t in requests])
    out = []
    for layer in range(layers):
        name = f"memo-calibrate-layer{layer}"
        mask = [[int(l == layer)] * heads for l in range(layers)]
        if name not in implementations():
            register_attention(name, partial(memo_attention, cfg=cfg, head_mask=mask))
        _, model = load_minilm(name)
        emb = torch.cat([embed(model, tokenizer, [t], batch_size=1) for t in requests])
        out.append(float((ref * emb).sum(1).mean()))
    return out


def layer_mask_of(head_mask) -> tuple[int, ...]:
    """The engine's selective mask (one bit per layer context)."""
    return tuple(int(any(row)) for row in head_mask)


def calibrate(requests, cfg, *, layers: int = 6, heads: int = 12):
    """Run ``requests`` (texts, in order, one per forward) through ``memo-probe``; returns
    ``(overlap [layers][heads], hits [layers])``."""
    from ..attention import attention_float
    from ..hf import implementations, load_minilm, register_attention
    from .hf import database_of
    from .model import hidden_signature

    sums = torch.zeros(layers, heads, dtype=torch.float64)
    hits = [0] * layers

    def probe(q, k, v, key_mask, softmax_scale, ctx):
        db = database_of(ctx.session, ctx.impl, cfg)
        out, p = attention_float(q, k, v, key_mask=key_mask, softmax_scale=softmax_scale, return_probs=True)
        for b in range(q.shape[0]):
            sig = hidden_signature(ctx.hidden_states[b], cfg)
            answer, stored = db.lookup(sig, k.shape[-2], ctx.layer_idx)
            if stored is not None:
                tv = 0.5 * (stored - p[b]).abs().sum(-1)  # [heads, n]
                sums[ctx.layer_idx] += (1 - tv.mean(-1)).double()
                hits[ctx.layer_idx] += 1
            elif answer.alloc:
                db.store(answer.ptr, p[b].clone())
        return out

    global _PROBE
    _PROBE = probe
    if "memo-probe" not in implementations():
        register_attention("memo-probe", lambda *a: _PROBE(*a), description="MEMO calibration probe (dense outputs)")
    tokenizer, model = load_minilm("memo-probe")
    with torch.no_grad():
        for text in requests:
            model(**tokenizer([text], return_tensors="pt"))
    overlap = [[(sums[l, h] / hits[l]).item() if hits[l] else 0.0 for h in range(heads)] for l in range(layers)]
    return overlap, hits
