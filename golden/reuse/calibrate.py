"""Head matching for map reuse (offline calibration).

A model not trained for map reuse numbers its heads independently in every layer, so head h
of a reused layer need not resemble head h of the layer that computed the maps. Head matching
lets head h of layer l reuse the map of the source layer's head that was most alike on
calibration inputs; the hardware needs nothing for it (a reuse packet's ``cmd.head`` names
the map buffer region to read), only ``ReuseConfig.head_map``.

Overlap of two maps: ``1 - total variation distance`` of each query row's distribution,
averaged over rows (1 = identical, 0 = disjoint support), averaged over sentences.

Members: :func:`map_overlap`, :func:`collect_overlaps`, :func:`match_heads`,
:func:`head_map_for`, :func:`load_match`, :data:`MATCH_FILE`, :data:`FORMAT`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

__all__ = ["FORMAT", "MATCH_FILE", "map_overlap", "collect_overlaps", "match_heads", "head_map_for", "load_match"]

FORMAT = "attnforge-head-match/1"
#: Calibrated for all-MiniLM-L6-v2 by scripts/calibrate_reuse.py.
MATCH_FILE = Path(__file__).with_name("minilm_head_match.json")


def map_overlap(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Overlap of every head of ``a [Ha, n, n]`` with every head of ``b [Hb, n, n]``: ``[Ha, Hb]``."""
    distance = 0.5 * (a[:, None] - b[None, :]).abs().sum(-1)  # [Ha, Hb, n] per query row
    return 1 - distance.mean(-1)


def collect_overlaps(model, tokenizer, sentences) -> torch.Tensor:
    """Mean overlap ``[L, L, H, H]`` of layer l's heads (dim 0) with layer s's heads (dim 1)
    for s < l, over ``sentences`` one at a time (no padding); float maps of ``model``, which
    must return attentions (attn_implementation ``eager``)."""
    total = None
    with torch.no_grad():
        for text in sentences:
            enc = tokenizer([text], return_tensors="pt")
            maps = torch.stack([a[0] for a in model(**enc, output_attentions=True).attentions])  # [L, H, n, n]
            layers = maps.shape[0]
            if total is None:
                total = torch.zeros(layers, layers, maps.shape[1], maps.shape[1], dtype=torch.float64)
            for later in range(layers):
                for earlier in range(later):
                    total[later, earlier] += map_overlap(maps[later], maps[earlier]).double()
    if total is None:
        raise ValueError("head matching needs at least one calibration sentence.")
    return total / len(sentences)


def match_heads(overlap: torch.Tensor) -> tuple[int, ...]:
    """For each head of the later layer (rows), the earlier layer's head of largest overlap
    (ties: the lowest index)."""
    return tuple(int(i) for i in overlap.argmax(dim=-1))


def load_match(path: Path = MATCH_FILE) -> dict:
    """The calibration file: ``match[l][s]`` lists, per head of layer l, the head of layer s to
    reuse (s < l); ``overlap_same`` / ``overlap_matched`` the mean overlaps per (l, s)."""
    data = json.loads(Path(path).read_text())
    if data.get("format") != FORMAT:
        raise ValueError(f"{path} is not an {FORMAT} file.")
    return data


def head_map_for(match: dict, groups, num_layers: int) -> tuple[tuple[int, ...], ...]:
    """``ReuseConfig.head_map`` for ``groups``: each reused layer takes the matching of its
    group's first layer; computing layers get an empty entry."""
    head_map = [()] * num_layers
    for group in groups:
        for layer in group[1:]:
            head_map[layer] = tuple(match["match"][layer][group[0]])
    return tuple(head_map)
