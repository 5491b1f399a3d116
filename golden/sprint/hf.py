"""Attention implementations of SPRINT for Hugging Face models (see :mod:`golden.hf`).

Every head of every layer runs the bit-exact unit (int8, :data:`HF_CONFIG`) with its theta
calibrated offline for a target keep fraction (golden/sprint/minilm_theta.json, written by
scripts/calibrate_sprint.py from held-out sentences).

Members:

- ``sprint``: keep fraction :data:`DEFAULT_FRACTION`, sigma 0, reuse policy ``previous``;
- ``sprint-k<percent>``: another calibrated keep fraction (``sprint-k20`` keeps 20%);
- ``sprint-s<sigma>``: the default fraction with crossbar noise of amplitude sigma;
- ``sprint-float-k<percent>``: the float model over the same survivors (no quantization of
  the recompute), to tell pruning error from datapath error;
- ``sprint-oracle-l<percent>``: not the unit: float attention over the keys an oracle keeps
  (golden/sprint/oracle.py: per row the fewest keys holding all but ``<percent>`` of the
  probability), a reference for keep rules;
- :data:`HF_CONFIG`, :func:`sprint_attention`, :data:`SIGMAS`, :data:`ORACLE_LEAVES`,
  :func:`oracle_name`.
"""

from __future__ import annotations

from functools import lru_cache, partial

import torch

from ..hf import register_attention
from ..quant import quantize
from .calibrate import FRACTIONS, theta_table
from .config import SprintConfig
from .oracle import oracle_attention
from .model import analog_scores, keep_masks, noise, sprint_float, sprint_quantized

__all__ = ["HF_CONFIG", "DEFAULT_FRACTION", "SIGMAS", "ORACLE_LEAVES", "sprint_attention", "impl_name",
           "oracle_name"]

#: MiniLM: head_dim 32; N = 256, the evaluation's longest sequence (evaluate.py --max-length).
HF_CONFIG = SprintConfig(head_dim=32, max_tokens=256)
#: The smallest calibrated keep fraction at which MiniLM's embeddings stay at cosine >= 0.99.
DEFAULT_FRACTION = 0.5
SIGMAS = (4, 16, 64, 256)
#: Probability the oracle reference may leave out of each row (``sprint-oracle-l<percent>``).
ORACLE_LEAVES = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3)


@lru_cache(maxsize=None)
def _thetas(fraction: float) -> torch.Tensor:
    return theta_table(fraction)


def impl_name(fraction: float = DEFAULT_FRACTION, sigma: int = 0, exact: bool = False) -> str:
    if exact:
        return f"sprint-float-k{round(fraction * 100)}"
    if sigma:
        return f"sprint-s{sigma}"
    return "sprint" if fraction == DEFAULT_FRACTION else f"sprint-k{round(fraction * 100)}"


def oracle_name(leave: float) -> str:
    return f"sprint-oracle-l{round(leave * 100)}"


def sprint_attention(q, k, v, key_mask, softmax_scale, ctx, *, cfg: SprintConfig = HF_CONFIG,
                     fraction: float = DEFAULT_FRACTION, exact: bool = False, thetas: torch.Tensor | None = None):
    """SPRINT: crossbar pruning with calibrated theta, exact recompute over the survivors.
    ``thetas [layers, heads]`` replaces the committed calibration of ``fraction`` (e.g. a
    table calibrated for another ``msb_bits`` with golden.sprint.calibrate)."""
    n, d, heads = k.shape[-2], q.shape[-1], q.shape[1]
    if d != cfg.head_dim:
        raise ValueError(f"{ctx.impl} is configured for head_dim={cfg.head_dim}, the model has {d}.")
    if n > cfg.max_tokens:
        raise ValueError(f"{ctx.impl} holds at most max_tokens={cfg.max_tokens} tokens, got a sequence of {n}.")
    thetas = _thetas(fraction) if thetas is None else thetas
    if ctx.layer_idx >= thetas.shape[0] or heads != thetas.shape[1]:
        raise ValueError(f"theta is calibrated for {tuple(thetas.shape)} layers x heads, the model calls layer "
                         f"{ctx.layer_idx} with {heads} heads.")
    theta = thetas[ctx.layer_idx].expand(q.shape[0], heads)
    if exact:
        qi, _ = quantize(q, cfg.data_width, key_mask)
        ki, _ = quantize(k, cfg.data_width, key_mask)
        nz = noise(cfg, q.shape[-2], n) if cfg.sigma else None
        keep = keep_masks(analog_scores(qi, ki, cfg, nz), theta, key_mask)
        return sprint_float(q, k, v, keep, key_mask=key_mask, softmax_scale=softmax_scale)
    out, ints = sprint_quantized(q, k, v, theta, cfg, key_mask=key_mask, softmax_scale=softmax_scale)
    ctx.record["ints"] = {**ints, "theta": theta}
    ctx.record["config"] = cfg
    return out


for _f in FRACTIONS:
    register_attention(impl_name(_f), partial(sprint_attention, fraction=_f),
                       description=f"SPRINT, bit-exact int8 unit, theta keeps {_f:.0%} of keys (calibrated)")
    register_attention(impl_name(_f, exact=True), partial(sprint_attention, fraction=_f, exact=True),
                       description=f"SPRINT float model over the same survivors ({_f:.0%} kept)")
for _s in SIGMAS:
    register_attention(impl_name(sigma=_s), partial(sprint_attention, cfg=HF_CONFIG.replace(sigma=_s)),
                       description=f"SPRINT, bit-exact int8 unit, {DEFAULT_FRACTION:.0%} kept, noise sigma={_s}")
for _l in ORACLE_LEAVES:
    register_attention(oracle_name(_l), partial(oracle_attention, leave=_l),
                       description=f"not the unit: float attention over an oracle's keys, {_l:.0%} of each row's "
                                   "probability left out (golden/sprint/oracle.py)")
