"""A reference for SPRINT's measurements, not hardware: the keep set an oracle that sees the
exact float attention would choose.

For each query row it keeps the fewest keys that hold at least ``1 - leave`` of the row's
softmax probability (largest first), so no keep rule with the same number of survivors
leaves less probability out of that row. Run in place of the crossbar's mask (float
attention over the survivors, as :func:`golden.sprint.model.sprint_float`), it shows how many
pairs a prune-then-recompute scheme keeps for a given fidelity when it keeps each row's largest
probabilities, and how many keys such a scheme fetches at least once (a key some query keeps
crosses AXI at least once). A reference, not a bound: it minimizes the pairs for a probability
mass per row, not for the model's output.

Members: :func:`oracle_keep`, :func:`keys_kept_by_some_query`, :func:`key_coverage`, :func:`oracle_attention`.
"""

from __future__ import annotations

import torch

from .model import attend_kept, float_logits

__all__ = ["oracle_keep", "keys_kept_by_some_query", "key_coverage", "oracle_attention"]


def oracle_keep(q, k, leave: float, key_mask=None, softmax_scale=None) -> torch.Tensor:
    """``keep [..., nq, nk]`` bool: per query row, the fewest keys holding >= ``1 - leave`` of
    the row's probability (``0 <= leave < 1``; masked keys are never kept)."""
    return _keep_from_logits(float_logits(q, k, softmax_scale), leave, key_mask)


def _keep_from_logits(logits, leave: float, key_mask=None) -> torch.Tensor:
    if not 0 <= leave < 1:
        raise ValueError(f"leave={leave} must be in [0, 1): the fraction of probability the oracle may drop.")
    if key_mask is not None:
        logits = logits.masked_fill(~key_mask.unsqueeze(-2), float("-inf"))
    p = torch.softmax(logits, dim=-1)
    ordered, order = p.sort(dim=-1, descending=True)
    # A key is needed while the probability of the larger ones before it is still short.
    needed = (ordered.cumsum(-1) - ordered) < 1 - leave
    needed &= ordered > 0
    needed[..., 0] = True
    return torch.zeros_like(needed).scatter_(-1, order, needed)


def keys_kept_by_some_query(keep: torch.Tensor, n_keys: int) -> int:
    """How many of the ``n_keys`` keys of one head's ``keep [nq, nk]`` some query keeps (each
    crosses AXI at least once, whatever the reuse policy)."""
    return int(keep[..., :n_keys].any(dim=-2).sum())


def key_coverage(keep: torch.Tensor, n_keys: int) -> float:
    """Fraction of the ``n_keys`` keys of one head's ``keep [nq, nk]`` that some query keeps."""
    return keys_kept_by_some_query(keep, n_keys) / n_keys


def oracle_attention(q, k, v, key_mask, softmax_scale, ctx, *, leave: float):
    """Float attention over :func:`oracle_keep`'s survivors (a golden.hf implementation);
    puts ``{"keep": keep}`` into ``ctx.record["ints"]`` for the cost bookkeeping. The logits
    are computed once, for the keep set and the attention."""
    logits = float_logits(q, k, softmax_scale)
    keep = _keep_from_logits(logits, leave, key_mask)
    ctx.record["ints"] = {"keep": keep}
    return attend_kept(logits, v, keep, key_mask)
