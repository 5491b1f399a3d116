"""A reference for CTA's measurements, not hardware: clusters from k-means instead of the
hash.

The hash clustering groups tokens by the signs of H random projections; k-means groups them
by distance, with a cluster budget of ``ceil(n / ratio)`` per side. Run through the same float
CTA (mean centroids, ``ln(n_c)`` bias, scatter: :func:`golden.cta.model.cta_float`), it shows
what fidelity a distance-based clustering keeps at a given compression: the compressed
attention computes ``C_q x C_k`` centroid pairs instead of ``n^2``, so its MAC-bound time
shrinks by at most ``n^2 / (C_q C_k)``. It is not a bound: on MiniLM a fixed budget per head
does worse than the hash at H=16, C=144 (docs/cta.md).

Members: :func:`kmeans_clusters`, :func:`kmeans_attention`.
"""

from __future__ import annotations

import math

import torch

from .config import CtaConfig
from .model import Clusters, cta_float

__all__ = ["kmeans_clusters", "kmeans_attention"]

#: compress=both at MiniLM's head_dim; H and C are not used by the k-means clustering.
_BOTH = CtaConfig(head_dim=32, max_tokens=512, data_width=8, compress="both")


def kmeans_clusters(x: torch.Tensor, count: int, iters: int = 20, seed: int = 0) -> Clusters:
    """Lloyd's k-means of the rows of float ``x [n, d]`` into at most ``count`` clusters
    (k-means++ seeding from ``seed``; clusters left empty are dropped), numbered in order of
    first appearance as the hash clustering numbers them."""
    n = x.shape[0]
    count = max(1, min(count, n))
    g = torch.Generator().manual_seed(seed)
    centres = x[torch.randint(n, (1,), generator=g)]
    for _ in range(1, count):
        nearest = torch.cdist(x, centres).amin(dim=1) ** 2
        if not nearest.any():  # every row already sits on a centre
            break
        centres = torch.cat([centres, x[torch.multinomial(nearest, 1, generator=g)]])
    for _ in range(iters):
        ids = torch.cdist(x, centres).argmin(dim=1)
        counts = torch.zeros(len(centres)).index_add_(0, ids, torch.ones(n))
        sums = torch.zeros_like(centres).index_add_(0, ids, x)
        used = counts > 0
        centres[used] = sums[used] / counts[used, None]
    ids = torch.cdist(x, centres).argmin(dim=1).tolist()
    order: dict[int, int] = {}
    numbered = [order.setdefault(c, len(order)) for c in ids]
    sizes = [0] * len(order)
    for c in numbered:
        sizes[c] += 1
    return Clusters(tuple(numbered), tuple(sizes), ())


def kmeans_attention(q, k, v, key_mask, softmax_scale, ctx, *, ratio: float):
    """Float CTA (compress both) with k-means clusters of ``ceil(n / ratio)`` per side (a
    golden.hf implementation); adds the centroid pairs and the token pairs of every head to
    ``ctx.record["pairs"]`` as ``(C_q C_k, n^2)`` summed over the call."""
    if ratio < 1:
        raise ValueError(f"ratio={ratio} must be at least 1: k-means gets ceil(n / ratio) clusters per side.")
    pairs = {"centroid": 0, "token": 0, "keys": 0}

    def cluster(x, side):
        c = kmeans_clusters(x, math.ceil(x.shape[0] / ratio))
        if side == "keys":
            pairs["keys"] = c.n
        else:  # a head's queries are clustered after its keys (cta_float_head)
            pairs["centroid"] += pairs["keys"] * c.n
            pairs["token"] += x.shape[0] ** 2
        return c
    out = cta_float(q, k, v, _BOTH.replace(head_dim=q.shape[-1]), key_mask=key_mask, softmax_scale=softmax_scale,
                    cluster=cluster)
    ctx.record["pairs"] = (pairs["centroid"], pairs["token"])
    return out
