"""SPRINT models: the macro's crossbar scores and keep masks, exact recompute over the
survivors, K/V fetch/reuse bookkeeping, a float model and a quantized wrapper.

Integer contract (bit-exact with hw/sprint), per packet (one head: n keys, queries t = 0, 1, ...):

* ``k_msb = k >> (W - B_msb)``, ``q_hat = q >> (W - B_q)`` (arithmetic shifts);
* ``a[t, j] = q_hat_t . k_msb_j + noise[t, j]``; ``noise[t, j] = (r * sigma) >> 7`` with ``r`` the low
  byte (signed) of column j's xorshift32 state after t + 1 steps, the state starting at
  :func:`column_seed` (seed, j) when the macro is loaded with the packet's keys;
* ``keep[t, j] = a[t, j] >= theta`` for j < n; if no key is kept, the first j of largest a;
* outputs: the common integer softmax and weighted sum over the kept keys only (pruned keys
  contribute 0), i.e. golden.attention over the survivors in key order;
* K/V buffer: ``slots`` direct-mapped slots (token j in slot j mod slots, with a tag). Walking
  query t's survivors in key order, j is *reused* if the slot holds j and (policy ``all``, or
  ``previous`` and query t-1 kept j); otherwise j is *fetched* over AXI and written into its
  slot. The buffer is empty at the start of a packet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..attention import attention_float, attention_int
from ..prng import MASK32, xorshift32
from ..quant import quantize, softmax_scale_tensor
from .config import SprintConfig

__all__ = ["column_seed", "noise", "analog_scores", "keep_masks", "Bookkeeping", "bookkeeping", "sprint_int",
           "sprint_float", "float_logits", "attend_kept", "sprint_quantized", "NOISE_SHIFT"]

#: noise = (r * sigma) >> NOISE_SHIFT with r a signed byte: uniform in [-sigma, sigma).
NOISE_SHIFT = 7


def column_seed(seed: int, column: int) -> int:
    """Initial xorshift32 state of crossbar column ``column`` (never 0)."""
    return ((seed * 0x9E3779B1 + (column + 1) * 0x85EBCA77) & MASK32) or 1


def noise(cfg: SprintConfig, n_queries: int, n_keys: int) -> torch.Tensor:
    """``noise [n_queries, n_keys]`` int64 (zeros when sigma = 0)."""
    out = torch.zeros(n_queries, n_keys, dtype=torch.int64)
    if not cfg.sigma:
        return out
    for j in range(n_keys):
        state = column_seed(cfg.seed, j)
        for t in range(n_queries):
            state = xorshift32(state)
            r = state & 0xFF
            r = r - 256 if r & 0x80 else r
            out[t, j] = (r * cfg.sigma) >> NOISE_SHIFT
    return out


def analog_scores(q, k, cfg: SprintConfig, noise_values: torch.Tensor | None = None) -> torch.Tensor:
    """Crossbar scores ``a [..., nq, nk]`` = q_hat . k_msb (+ noise when given)."""
    w = cfg.data_width
    q_hat = torch.bitwise_right_shift(q.to(torch.int64), w - cfg.q_bits)
    k_msb = torch.bitwise_right_shift(k.to(torch.int64), w - cfg.msb_bits)
    a = torch.matmul(q_hat, k_msb.transpose(-1, -2))
    if noise_values is not None:
        a = a + noise_values
    return a


def keep_masks(a: torch.Tensor, theta, key_mask: torch.Tensor | None = None) -> torch.Tensor:
    """``keep [..., nq, nk]`` bool: ``a >= theta`` on real keys, and the first largest a of a row
    that keeps nothing. ``theta`` is a scalar or per leading dims (broadcast as ``[..., 1, 1]``)."""
    theta = torch.as_tensor(theta, dtype=torch.int64)
    while theta.dim() and theta.dim() < a.dim():
        theta = theta.unsqueeze(-1)
    real = torch.ones_like(a, dtype=torch.bool) if key_mask is None else key_mask.unsqueeze(-2).expand_as(a)
    keep = (a >= theta) & real
    floor = torch.iinfo(torch.int64).min
    best = torch.where(real, a, torch.full_like(a, floor)).argmax(dim=-1, keepdim=True)  # first maximum
    fallback = torch.zeros_like(keep).scatter_(-1, best, True)
    none = ~keep.any(dim=-1, keepdim=True)
    return torch.where(none, fallback, keep)


@dataclass
class Bookkeeping:
    """K/V traffic of one packet. Members: ``fetched`` and ``reused`` (vectors pairs, totals),
    ``per_query`` (list of (fetched, reused)), ``order`` (per query: list of (j, fetched?))."""

    fetched: int = 0
    reused: int = 0
    per_query: list = field(default_factory=list)
    order: list = field(default_factory=list)

    @property
    def kept(self) -> int:
        return self.fetched + self.reused


def bookkeeping(keep: torch.Tensor, cfg: SprintConfig) -> Bookkeeping:
    """Walk ``keep [nq, nk]`` (one packet) through the direct-mapped buffer (module docstring)."""
    slots = cfg.slots
    tag = [-1] * slots
    prev = None
    book = Bookkeeping()
    for row in keep.tolist():
        f = r = 0
        order = []
        for j, kept in enumerate(row):
            if not kept:
                continue
            s = j % slots
            resident = tag[s] == j and (cfg.reuse == "all" or (prev is not None and prev[j]))
            if resident:
                r += 1
            else:
                f += 1
                tag[s] = j
            order.append((j, not resident))
        prev = row
        book.fetched += f
        book.reused += r
        book.per_query.append((f, r))
        book.order.append(order)
    return book


def sprint_int(q, k, v, scale, theta, cfg: SprintConfig, *, return_all=False):
    """Bit-exact model of one packet on the unit: int ``q [nq, d]``, ``k, v [n, d]``, the
    softmax scale register per query (or one), ``theta``. Returns int outputs ``[nq, d]``, or
    with ``return_all`` a dict: ``out``, ``keep``, ``a``, ``book`` (:class:`Bookkeeping`)."""
    q, k, v = (torch.as_tensor(x, dtype=torch.int64) for x in (q, k, v))
    nq, n = q.shape[0], k.shape[0]
    scale = torch.as_tensor(scale, dtype=torch.int64).expand(nq)
    a = analog_scores(q, k, cfg, noise(cfg, nq, n) if cfg.sigma else None)
    keep = keep_masks(a, int(theta))
    fmt = cfg.formats
    rows = []
    for t in range(nq):
        idx = keep[t].nonzero().flatten()
        rows.append(attention_int(q[t:t + 1], k[idx], v[idx], scale[t:t + 1], fmt)[0])
    out = torch.stack(rows)
    if not return_all:
        return out
    return {"out": out, "keep": keep, "a": a, "book": bookkeeping(keep, cfg)}


def float_logits(q, k, softmax_scale=None):
    """``q k^T * softmax_scale`` (default ``d ** -0.5``), the float model's attention logits."""
    if softmax_scale is None:
        softmax_scale = q.shape[-1] ** -0.5
    return torch.matmul(q, k.transpose(-1, -2)) * softmax_scale


def attend_kept(logits, v, keep, key_mask=None):
    """Softmax of ``logits`` over the kept, unmasked keys only, times ``v``."""
    allowed = keep if key_mask is None else keep & key_mask.unsqueeze(-2)
    return torch.matmul(torch.softmax(logits.masked_fill(~allowed, float("-inf")), dim=-1), v)


def sprint_float(q, k, v, keep, key_mask=None, softmax_scale=None):
    """Float model: exact float attention over the kept keys (``keep [..., nq, nk]``) only."""
    return attend_kept(float_logits(q, k, softmax_scale), v, keep, key_mask)


def sprint_quantized(q, k, v, theta, cfg: SprintConfig, key_mask=None, softmax_scale=None, with_noise=True):
    """Float in, float out through the integer model, batched over leading dims
    (``q, k, v [..., n, d]``, ``theta [...]`` per head, e.g. ``[B, H]``): quantize per
    (sequence, head), crossbar scores, keep masks, integer attention over survivors,
    dequantize. Returns ``(out_float, {"q","k","v","scale","keep","a","out"})``.

    The noise of every head starts from the same column seeds (each head is its own packet)."""
    if softmax_scale is None:
        softmax_scale = q.shape[-1] ** -0.5
    w = cfg.data_width
    qi, sq = quantize(q, w, key_mask)
    ki, sk = quantize(k, w, key_mask)
    vi, sv = quantize(v, w, key_mask)
    scale = softmax_scale_tensor(sq, sk, softmax_scale)[..., 0]  # [..., 1]
    nq, n = qi.shape[-2], ki.shape[-2]
    nz = noise(cfg, nq, n) if (cfg.sigma and with_noise) else None
    a = analog_scores(qi, ki, cfg, nz)
    km = None if key_mask is None else key_mask.unsqueeze(-2) if key_mask.dim() < a.dim() - 1 else key_mask
    if km is not None:
        km = km.expand(*a.shape[:-2], n)
    keep = keep_masks(a, theta, km)
    fmt = cfg.formats
    # Pruned keys act as masked ones: identical to computing over the survivors only.
    from ..attention import exp_int, normalize_int, scaled_scores_int, scores_int, weighted_sum_int
    y = scaled_scores_int(scores_int(qi, ki), scale, fmt)
    floor = torch.iinfo(torch.int64).min // 4
    y = torch.where(keep, y, torch.full_like(y, floor))
    m = y.amax(dim=-1, keepdim=True)
    u = m - y
    whole = torch.bitwise_right_shift(u, fmt.x_frac)
    frac = torch.bitwise_and(u, (1 << fmt.x_frac) - 1)
    lut = torch.tensor(fmt.exp_lut, dtype=torch.int64)
    e = torch.bitwise_right_shift(lut[frac], whole.clamp(min=0, max=fmt.exp_zero_shift + 1))
    e = torch.where((whole > fmt.exp_zero_shift) | ~keep, torch.zeros_like(e), e)
    p = normalize_int(e, fmt)
    oi = weighted_sum_int(p, vi, fmt)
    out = oi.to(q.dtype) * (sv / (1 << cfg.out_frac_bits)).to(q.dtype)
    return out, {"q": qi, "k": ki, "v": vi, "scale": scale, "keep": keep, "a": a, "out": oi}
