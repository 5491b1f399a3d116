"""MEMO models: signatures, the attention database (table + stored maps) and memoized
attention of one layer (float reference and bit-exact integer model).

A layer's lookup is one per sequence (context = the layer): its record holds the maps of all
heads. On a hit, every head enabled in ``head_mask`` takes the stored map (P V with its own
V); the other heads compute. On a miss every head computes and, if the table allocated an
entry, the maps of all heads are written to that record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..attention import attention_float, scores_int, softmax_int, weighted_sum_int
from ..hashing import hash_bits, pack_bits
from ..quant import quantize, softmax_scale_tensor
from .config import MemoConfig
from .table import Lookup, MemoTable

__all__ = ["signature", "hidden_signature", "MemoDatabase", "LayerEvent", "memo_layer_int", "memo_layer_float",
           "dense_heads_int"]


def signature(hidden_int: torch.Tensor, cfg: MemoConfig) -> int:
    """S-bit signature of a layer input ``[n, D]`` (int8): the hash of the token mean. The
    hash of the mean is the hash of the token sum (dividing by n > 0 changes no projection's
    sign), which is what the hardware accumulates: no divider, no rounding."""
    total = hidden_int.to(torch.int64).sum(0, keepdim=True)
    return pack_bits(hash_bits(total, cfg.sig_bits, cfg.seed))[0]


def hidden_signature(hidden: torch.Tensor, cfg: MemoConfig) -> int:
    """Signature of float hidden states ``[n, D]``: int8 (symmetric, per sequence), then
    :func:`signature`."""
    ints, _ = quantize(hidden.unsqueeze(0), 8)
    return signature(ints[0], cfg)


@dataclass
class LayerEvent:
    """What one layer lookup did. Members: ``layer``, ``n``, ``lookup`` (:class:`Lookup`),
    ``memo_heads`` (heads that took the stored map), ``heads``."""

    layer: int
    n: int
    lookup: Lookup
    memo_heads: tuple[int, ...]
    heads: int


@dataclass
class MemoDatabase:
    """The table and the records it points to (``records[ptr]`` = maps ``[heads, n, n]``).
    Members: ``cfg``, ``table``, ``records``, ``events`` (every :class:`LayerEvent`)."""

    cfg: MemoConfig
    table: MemoTable = None
    records: dict = field(default_factory=dict)
    events: list = field(default_factory=list)

    def __post_init__(self):
        if self.table is None:
            self.table = MemoTable(self.cfg)

    def lookup(self, sig: int, n: int, ctx: int) -> tuple[Lookup, torch.Tensor | None]:
        """The table's answer and, on a hit, the stored maps."""
        answer = self.table.lookup(sig, n, ctx)
        return answer, (self.records[answer.ptr] if answer.hit else None)

    def store(self, ptr: int, maps: torch.Tensor) -> None:
        self.records[ptr] = maps


def dense_heads_int(q, k, v, cfg: MemoConfig, softmax_scale):
    """Integer dense attention of one sequence, all heads (``q, k, v [h, n, d]`` float):
    per-head int8 quantization as the dense unit. Returns ``(out_float, p_int, vi, sv)``."""
    w = cfg.data_width
    qi, sq = quantize(q, w)
    ki, sk = quantize(k, w)
    vi, sv = quantize(v, w)
    scale = softmax_scale_tensor(sq, sk, softmax_scale)[..., 0]
    p = softmax_int(scores_int(qi, ki), scale, cfg.formats)
    return p, vi, sv


def _dequant(oi, sv, cfg, dtype):
    return oi.to(dtype) * (sv / (1 << cfg.out_frac_bits)).to(dtype)


def memo_layer_int(q, k, v, sig: int, ctx: int, db: MemoDatabase, head_mask, softmax_scale=None, layer=None):
    """Bit-exact memoized attention of one sequence in one layer: ``q, k, v [h, n, d]``
    float in, float out; ``head_mask[h]`` enables the stored map for head h."""
    if softmax_scale is None:
        softmax_scale = q.shape[-1] ** -0.5
    cfg = db.cfg
    heads, n = q.shape[0], k.shape[-2]
    answer, stored = db.lookup(sig, n, ctx)
    p, vi, sv = dense_heads_int(q, k, v, cfg, softmax_scale)
    memo_heads = ()
    if stored is not None:
        memo_heads = tuple(h for h in range(heads) if head_mask[h])
        for h in memo_heads:
            p[h] = stored[h]
    elif answer.alloc:
        db.store(answer.ptr, p.clone())
    out = _dequant(weighted_sum_int(p, vi, cfg.formats), sv, cfg, q.dtype)
    db.events.append(LayerEvent(ctx if layer is None else layer, n, answer, memo_heads, heads))
    return out


def memo_layer_float(q, k, v, sig: int, ctx: int, db: MemoDatabase, head_mask, softmax_scale=None, layer=None):
    """Float model of memoized attention (the same decisions; float maps stored and reused)."""
    heads, n = q.shape[0], k.shape[-2]
    answer, stored = db.lookup(sig, n, ctx)
    _, p = attention_float(q, k, v, softmax_scale=softmax_scale, return_probs=True)
    memo_heads = ()
    if stored is not None:
        memo_heads = tuple(h for h in range(heads) if head_mask[h])
        for h in memo_heads:
            p[h] = stored[h]
    elif answer.alloc:
        db.store(answer.ptr, p.clone())
    db.events.append(LayerEvent(ctx if layer is None else layer, n, answer, memo_heads, heads))
    return torch.matmul(p, v)
