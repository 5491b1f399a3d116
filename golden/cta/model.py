"""CTA models (ALGORITHMS.md, CTA): clustering, float reference, bit-exact integer model.

Clustering of one side (keys with their values, or queries), identical in both models:

1. ``h_i`` = the H-bit sign-random-projection hash of token i (golden/hashing.py).
2. Clusters are numbered in order of first appearance. A token whose hash is already a
   cluster's joins it; else, while fewer than C clusters are open, it opens one; else it joins
   the open cluster whose hash is nearest in Hamming distance (ties: lowest cluster number).
   Padded tokens (mask False) are never clustered.
3. Integer centroid of cluster c (n_c members, element sum S): ``floor((2 S + n_c) / (2 n_c))``,
   the mean rounded half up (exact: the hardware divides). Float centroid: the mean.

Compressed attention: scores of query centroids against key centroids, plus the bias
``log2(n_c)`` as ``LOG2_LUT[n_c]`` (X = exp_lut_bits fraction bits, golden.numerics.log2_lut)
in the base-2 integer domain, ``ln(n_c)`` in the float model; softmax over key clusters;
weighted sum of value centroids. Scatter: query token i gets its cluster's output.

Integer model rule for the softmax scale register: a query centroid uses the scale of the
packet's first query (the hardware latches it; with uncompressed queries each row keeps its own).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..attention import attention_float, attention_int
from ..hashing import hash_bits, hash_tokens
from ..numerics import log2_lut
from ..quant import quantize, softmax_scale_tensor
from .config import CtaConfig

__all__ = ["Clusters", "cluster_ids", "cluster_tokens", "centroids_int", "log2_bias", "cta_int", "cta_float",
           "cta_quantized"]


@dataclass(frozen=True)
class Clusters:
    """One side's clustering. Members: ``ids`` (cluster of each token, in token order),
    ``counts`` (members per cluster), ``hashes`` (hash of each cluster, its first member's)."""

    ids: tuple[int, ...]
    counts: tuple[int, ...]
    hashes: tuple[int, ...]

    @property
    def n(self) -> int:
        return len(self.counts)


def cluster_ids(hashes: list[int], max_clusters: int) -> Clusters:
    """Clusters of tokens with packed hashes ``hashes`` (first-appearance order, nearest-hash
    rule once ``max_clusters`` are open)."""
    table: list[int] = []
    index: dict[int, int] = {}
    counts: list[int] = []
    ids = []
    for h in hashes:
        c = index.get(h)
        if c is None:
            if len(table) < max_clusters:
                c = len(table)
                table.append(h)
                index[h] = c
                counts.append(0)
            else:
                c = min(range(len(table)), key=lambda j: ((table[j] ^ h).bit_count(), j))
        counts[c] += 1
        ids.append(c)
    return Clusters(tuple(ids), tuple(counts), tuple(table))


def cluster_tokens(x: torch.Tensor, cfg: CtaConfig) -> Clusters:
    """Cluster the rows of ``x [n, d]`` (integer or float) with the config's hasher."""
    if x.is_floating_point():
        bits = hash_bits(x, cfg.hash_bits, cfg.seed).to(torch.int64)
        hashes = (bits * torch.tensor([1 << b for b in range(cfg.hash_bits)])).sum(-1)
    else:
        hashes = hash_tokens(x, cfg.hash_bits, cfg.seed)
    return cluster_ids(hashes.tolist(), cfg.max_clusters)


def _sums(x: torch.Tensor, clusters: Clusters) -> torch.Tensor:
    out = torch.zeros((clusters.n, x.shape[-1]), dtype=x.dtype)
    return out.index_add_(0, torch.tensor(clusters.ids, dtype=torch.int64), x)


def centroids_int(x: torch.Tensor, clusters: Clusters) -> torch.Tensor:
    """Rounded means ``floor((2 S + n_c) / (2 n_c))`` of each cluster's integer rows."""
    s = _sums(x.to(torch.int64), clusters)
    n = torch.tensor(clusters.counts, dtype=torch.int64).unsqueeze(-1)
    return torch.div(2 * s + n, 2 * n, rounding_mode="floor")


def log2_bias(counts, cfg: CtaConfig) -> torch.Tensor:
    """``LOG2_LUT[n_c]``: the per-key-cluster bias in the base-2 score domain."""
    lut = log2_lut(cfg.max_tokens, cfg.exp_lut_bits)
    return torch.tensor([lut[c] for c in counts], dtype=torch.int64)


def _identity(n: int) -> Clusters:
    return Clusters(tuple(range(n)), (1,) * n, ())


def _clusters(x, cfg: CtaConfig, hashes, on: bool) -> Clusters:
    if not on:
        return _identity(x.shape[0])
    return cluster_tokens(x, cfg) if hashes is None else cluster_ids(hashes, cfg.max_clusters)


def cta_int_head(q, k, v, scale, cfg: CtaConfig, return_info: bool = False, k_hashes=None, q_hashes=None):
    """Bit-exact CTA for one packet: int ``q [nq, d]``, ``k, v [n, d]``, ``scale`` per query
    row (or a scalar) -> int outputs ``[nq, d]`` (and ``info``: the two clusterings).
    ``k_hashes``/``q_hashes``: the tokens' packed hashes when already computed. ``info["probs"]``:
    the integer probabilities ``[query clusters, key clusters]`` (rows/columns per token on an
    unclustered side)."""
    q, k, v = (t.to(torch.int64) for t in (q, k, v))
    scale = torch.as_tensor(scale, dtype=torch.int64).expand(q.shape[0])
    kc = _clusters(k, cfg, k_hashes, cfg.keys_compressed)
    qc = _clusters(q, cfg, q_hashes, cfg.queries_compressed)
    if cfg.keys_compressed:
        k_cent, v_cent, bias = centroids_int(k, kc), centroids_int(v, kc), log2_bias(kc.counts, cfg)
    else:
        k_cent, v_cent, bias = k, v, None
    if cfg.queries_compressed:
        q_cent, q_scale = centroids_int(q, qc), scale[:1].expand(qc.n)
    else:
        q_cent, q_scale = q, scale
    o, p = attention_int(q_cent, k_cent, v_cent, q_scale, cfg.formats, bias=bias, return_probs=True)
    out = o[torch.tensor(qc.ids, dtype=torch.int64)]
    return (out, {"keys": kc, "queries": qc, "probs": p}) if return_info else out


def cta_int(q, k, v, scale, cfg: CtaConfig, key_mask=None):
    """Batched bit-exact CTA: ``q [..., nq, d]``, ``k, v [..., n, d]``, ``scale [..., nq]`` or
    ``[...]``; ``key_mask [..., n]`` (True = real token; for self-attention also masks the
    queries when nq == n: padded query rows get output 0)."""
    lead = q.shape[:-2]
    out = torch.zeros(q.shape, dtype=torch.int64)
    scale = torch.as_tensor(scale, dtype=torch.int64)
    # Hash every token of every head at once (the same hashes as per head, far faster).
    kh = hash_tokens(k.to(torch.int64), cfg.hash_bits, cfg.seed)
    qh = hash_tokens(q.to(torch.int64), cfg.hash_bits, cfg.seed)
    for idx in _indices(lead):
        qi, ki, vi, khi, qhi = q[idx], k[idx], v[idx], kh[idx], qh[idx]
        si = scale[idx] if scale.dim() > 0 else scale
        si = si.expand(qi.shape[0]) if si.dim() == 0 else si
        if key_mask is not None:
            m = key_mask[idx]
            ki, vi, khi = ki[m], vi[m], khi[m]
            qm = m if qi.shape[0] == m.shape[0] else torch.ones(qi.shape[0], dtype=torch.bool)
            out[idx][qm] = cta_int_head(qi[qm], ki, vi, si[qm], cfg, k_hashes=khi.tolist(),
                                        q_hashes=qhi[qm].tolist())
        else:
            out[idx] = cta_int_head(qi, ki, vi, si, cfg, k_hashes=khi.tolist(), q_hashes=qhi.tolist())
    return out


def _indices(lead):
    if len(lead) == 0:
        yield ()
        return
    for i in range(lead[0]):
        for rest in _indices(lead[1:]):
            yield (i, *rest)


def cta_float_head(q, k, v, cfg: CtaConfig, softmax_scale=None, cluster=None):
    """Float CTA for one head: clusters from the float tokens' hashes (or from
    ``cluster(x, side)``, side "keys" then "queries"), mean centroids, ``ln(n_c)`` bias, float
    attention, scatter."""
    if cluster is None:
        def cluster(x, side):
            return cluster_tokens(x, cfg)
    kc = cluster(k, "keys") if cfg.keys_compressed else _identity(k.shape[0])
    qc = cluster(q, "queries") if cfg.queries_compressed else _identity(q.shape[0])
    if cfg.keys_compressed:
        n = torch.tensor(kc.counts, dtype=k.dtype).unsqueeze(-1)
        k_cent, v_cent = _sums(k, kc) / n, _sums(v, kc) / n
        bias = torch.log(n.squeeze(-1))
    else:
        k_cent, v_cent, bias = k, v, None
    if cfg.queries_compressed:
        q_cent = _sums(q, qc) / torch.tensor(qc.counts, dtype=q.dtype).unsqueeze(-1)
    else:
        q_cent = q
    o = attention_float(q_cent, k_cent, v_cent, softmax_scale=softmax_scale, bias=bias)
    return o[torch.tensor(qc.ids, dtype=torch.int64)]


def cta_float(q, k, v, cfg: CtaConfig, key_mask=None, softmax_scale=None, cluster=None):
    """Batched float CTA (what accuracy is measured against the exact model with); ``cluster``
    replaces the hash clustering (golden/cta/oracle.py's k-means reference)."""
    out = torch.zeros_like(q)
    for idx in _indices(q.shape[:-2]):
        qi, ki, vi = q[idx], k[idx], v[idx]
        if key_mask is not None:
            m = key_mask[idx]
            ki, vi = ki[m], vi[m]
            qm = m if qi.shape[0] == m.shape[0] else torch.ones(qi.shape[0], dtype=torch.bool)
            out[idx][qm] = cta_float_head(qi[qm], ki, vi, cfg, softmax_scale, cluster)
        else:
            out[idx] = cta_float_head(qi, ki, vi, cfg, softmax_scale, cluster)
    return out


def cta_quantized(q, k, v, cfg: CtaConfig, key_mask=None, softmax_scale=None):
    """Float in, float out through the bit-exact integer model (quantization as the dense
    unit's, golden.dense.dense_quantized). Returns ``(out_float, ints)``."""
    if softmax_scale is None:
        softmax_scale = q.shape[-1] ** -0.5
    w = cfg.data_width
    qi, sq = quantize(q, w, key_mask)
    ki, sk = quantize(k, w, key_mask)
    vi, sv = quantize(v, w, key_mask)
    scale = softmax_scale_tensor(sq, sk, softmax_scale)[..., 0, 0]  # one register per (..., head)
    oi = cta_int(qi, ki, vi, scale, cfg, key_mask=key_mask)
    out = oi.to(q.dtype) * (sv / (1 << cfg.out_frac_bits)).to(q.dtype)
    return out, {"q": qi, "k": ki, "v": vi, "scale": scale.unsqueeze(-1), "out": oi}
