"""Attention implementations of map reuse for Hugging Face models (see :mod:`golden.hf`).

Within one forward pass the first layer of each group computes its attention maps (all
heads) and keeps them in ``ctx.state``; the group's later layers take those maps and apply
them to their own V, ignoring their own Q and K. A layer in no group computes normally.

Members:

- ``reuse``: the bit-exact unit (int8, :data:`HF_CONFIG`, groups [[0,1],[2,3],[4,5]]);
  ``reuse-<partition>``: the same with another partition of :data:`PARTITIONS`.
- ``reuse-float``, ``reuse-float-<partition>``: the float model (no quantization), to tell
  the error of reusing maps from the error of the integer datapath.
- ``reuse-matched``, ``reuse-matched-<partition>``: the bit-exact unit with head matching
  (a reused head takes the most alike head's map of the group's first layer, calibrated
  offline on held-out sentences; see golden/reuse/calibrate.py).
- :data:`HF_CONFIG`, :data:`PARTITIONS`, :func:`reuse_attention`, :func:`config_for`.
"""

from __future__ import annotations

from functools import partial

import torch

from ..attention import attention_float
from ..hf import register_attention
from .calibrate import head_map_for, load_match
from .config import ReuseConfig
from .model import compute_quantized, reuse_quantized

__all__ = ["HF_CONFIG", "PARTITIONS", "DEFAULT_PARTITION", "reuse_attention", "config_for", "impl_name"]

#: MiniLM: head_dim 32, 12 heads whose maps the buffer keeps between layers, N = 512 as the
#: dense-int8 implementation (the integers depend on N).
HF_CONFIG = ReuseConfig(head_dim=32, max_tokens=512, heads=12)

MINILM_LAYERS = 6

#: Partitions of MiniLM's six layers that the evaluation compares.
PARTITIONS = {
    "pairs": ((0, 1), (2, 3), (4, 5)),         # the default: every other layer reuses
    "inner": ((0,), (1, 2), (3, 4), (5,)),     # first and last layer compute their own
    "tail": ((0,), (1,), (2,), (3,), (4, 5)),  # one reused layer, the last
    "triples": ((0, 1, 2), (3, 4, 5)),
    "all": ((0, 1, 2, 3, 4, 5),),              # one map for the whole model
}
DEFAULT_PARTITION = "pairs"


def config_for(partition: str, matched: bool = False) -> ReuseConfig:
    """HF_CONFIG with a partition's groups and, when ``matched``, the calibrated head matching
    (golden/reuse/minilm_head_match.json, written by scripts/calibrate_reuse.py)."""
    groups = PARTITIONS[partition]
    head_map = head_map_for(load_match(), groups, MINILM_LAYERS) if matched else ()
    return HF_CONFIG.replace(groups=groups, head_map=head_map)


def impl_name(partition: str, exact: bool = False, matched: bool = False) -> str:
    """Registered name of a partition's implementation (``reuse``, ``reuse-triples``,
    ``reuse-float-all``, ``reuse-matched-inner``, ...)."""
    base = "reuse-matched" if matched else "reuse-float" if exact else "reuse"
    return base if partition == DEFAULT_PARTITION else f"{base}-{partition}"


def reuse_attention(q, k, v, key_mask, softmax_scale, ctx, *, cfg: ReuseConfig = HF_CONFIG, exact: bool = False):
    """Map reuse across layer groups: bit-exact int8 unit, or the float model when ``exact``."""
    layer = ctx.layer_idx
    cfg.check_layers(ctx.num_layers)
    n, heads, d = k.shape[-2], q.shape[1], q.shape[-1]
    if not exact:
        if d != cfg.head_dim:
            raise ValueError(f"{ctx.impl} is configured for head_dim={cfg.head_dim}, the model has {d}.")
        if n > cfg.max_tokens:
            raise ValueError(f"{ctx.impl} holds maps of at most max_tokens={cfg.max_tokens} tokens, got a sequence of {n}.")
        if heads > cfg.heads:
            raise ValueError(f"{ctx.impl}'s map buffer holds heads={cfg.heads} maps, the model has {heads} heads.")
    maps = ctx.state.setdefault(("reuse-maps", ctx.impl), {})
    place = cfg.group_of(layer)
    group = cfg.groups[place[0]] if place else (layer,)
    source = group[0] if place and place[1] else None
    if source is None:
        if exact:
            out, p = attention_float(q, k, v, key_mask=key_mask, softmax_scale=softmax_scale, return_probs=True)
        else:
            out, p, _ = compute_quantized(q, k, v, cfg, key_mask=key_mask, softmax_scale=softmax_scale)
        if len(group) > 1:  # kept until the group's last layer (int32 holds P <= 2^P)
            maps[layer] = p if exact else p.to(torch.int32)
        return out
    p = maps.get(source)
    if layer == group[-1]:
        maps.pop(source, None)
    if p is None:
        raise ValueError(f"layer {layer} reuses the map of layer {source}, which has not run in this forward pass.")
    if p.shape[:-2] != k.shape[:-2] or p.shape[-1] != n:
        raise ValueError(f"layer {layer} has {n} tokens in batch shape {tuple(k.shape[:-2])}, the map of layer "
                         f"{source} is {tuple(p.shape)}.")
    if layer < len(cfg.head_map) and cfg.head_map[layer]:
        matched = list(cfg.head_map[layer])
        if len(matched) != heads or max(matched) >= heads:
            raise ValueError(f"head_map of layer {layer} is {matched}: it needs one head 0 to {heads - 1} per head.")
        p = p[:, matched]
    if exact:
        return p.to(v.dtype) @ v
    return reuse_quantized(p, v, cfg, key_mask)[0]


for _partition in PARTITIONS:
    _groups = [list(g) for g in PARTITIONS[_partition]]
    for _exact, _matched, _kind in ((False, False, "bit-exact int8 unit"), (True, False, "float model"),
                                    (False, True, "bit-exact int8 unit, matched heads")):
        register_attention(impl_name(_partition, _exact, _matched),
                           partial(reuse_attention, cfg=config_for(_partition, _matched), exact=_exact),
                           description=f"map reuse, {_kind}, groups {_groups}")
