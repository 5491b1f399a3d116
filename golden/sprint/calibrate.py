"""theta calibration for SPRINT (offline): per layer and head, the threshold that keeps a
target fraction of keys on sample inputs.

The calibration runs the float model (``exact``) on sentences one at a time (no padding),
quantizes each layer's Q and K per head as the unit sees them (golden.quant), forms the
noise-free crossbar scores a = q_hat . k_msb (golden.sprint.model.analog_scores), and for each
target fraction f picks, per (layer, head), the largest integer theta with at least a fraction
f of the (query, key) pairs at a >= theta.

Members: :data:`FORMAT`, :data:`THETA_FILE`, :data:`FRACTIONS`, :func:`collect_scores`,
:func:`thetas_for`, :func:`calibrate`, :func:`load_thetas`, :func:`theta_table`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from ..quant import quantize
from .config import SprintConfig
from .model import analog_scores

__all__ = ["FORMAT", "THETA_FILE", "FRACTIONS", "collect_scores", "thetas_for", "calibrate", "load_thetas",
           "theta_table"]

FORMAT = "attnforge-sprint-theta/1"
THETA_FILE = Path(__file__).with_name("minilm_theta.json")
#: Keep fractions the calibration file holds.
FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def collect_scores(model, tokenizer, sentences, cfg: SprintConfig) -> list[list[torch.Tensor]]:
    """Crossbar scores ``[layer][head]`` (1-D int64, all pairs of all sentences) of ``model``
    (loaded with an attention implementation that calls golden.hf's taps, e.g. ``exact``)."""
    from .. import hf
    scores: dict[tuple[int, int], list[torch.Tensor]] = {}

    def tap(ctx, tensors):
        qi, _ = quantize(tensors["q"], cfg.data_width)
        ki, _ = quantize(tensors["k"], cfg.data_width)
        a = analog_scores(qi, ki, cfg)  # [1, H, n, n]
        for h in range(a.shape[1]):
            scores.setdefault((ctx.layer_idx, h), []).append(a[0, h].flatten())

    hf.session_of(model).add_tap(tap)
    with torch.no_grad():
        for text in sentences:
            enc = tokenizer([text], return_tensors="pt")
            model(**enc)
    if not scores:
        raise ValueError("theta calibration needs at least one sentence.")
    layers = 1 + max(l for l, _ in scores)
    heads = 1 + max(h for _, h in scores)
    return [[torch.cat(scores[(l, h)]) for h in range(heads)] for l in range(layers)]


def thetas_for(a: torch.Tensor, fraction: float) -> int:
    """The largest integer theta with at least ``fraction`` of ``a`` at or above it."""
    ordered = a.sort(descending=True).values
    count = max(1, math.ceil(fraction * len(ordered)))
    return int(ordered[count - 1])


def calibrate(scores, fractions=FRACTIONS) -> dict:
    """``{"fractions": [...], "theta": {"0.5": [[per head] per layer]}, "kept": ...}``; ``kept``
    is the fraction each theta keeps on the calibration pairs (ties make it exceed f)."""
    theta, kept = {}, {}
    for f in fractions:
        key = f"{f:g}"
        theta[key] = [[thetas_for(a, f) for a in layer] for layer in scores]
        kept[key] = [[round(float((a >= t).float().mean()), 4) for a, t in zip(layer, ts)]
                     for layer, ts in zip(scores, theta[key])]
    return {"format": FORMAT, "fractions": list(fractions), "theta": theta, "kept": kept}


def load_thetas(path: Path = THETA_FILE) -> dict:
    data = json.loads(Path(path).read_text())
    if data.get("format") != FORMAT:
        raise ValueError(f"{path} is not an {FORMAT} file.")
    return data


def theta_table(fraction: float, path: Path = THETA_FILE) -> torch.Tensor:
    """``theta [layers, heads]`` int64 for a calibrated keep fraction."""
    data = load_thetas(path)
    key = f"{fraction:g}"
    if key not in data["theta"]:
        raise ValueError(f"keep fraction {fraction} is not calibrated; {path} has {', '.join(data['theta'])}.")
    return torch.tensor(data["theta"][key], dtype=torch.int64)
