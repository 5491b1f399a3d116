"""Cycle model of the CTA engine (exact for an unstalled run: inputs always valid, output
always ready, the engine idle before the packet).

Timeline (hw/cta):

* clustered side: tokens enter the hasher one every d/L cycles from cycle 0 (keys paired with
  their values); token i's hash reaches the cluster stage at ``i*d/L + d/L + hasher_latency``
  and is clustered in that cycle. The cycle after the last token the emitter starts: centroid
  c (rounded division on d lanes, one centroid per cycle) is handed on at ``E + c`` with
  ``E = last hash + 2``. Key centroids (with their log2 n_c bias) load the score stage's key
  buffer and value centroids the weighted-sum stage's value buffer in the same cycles.
* unclustered keys/values load one per cycle from cycle 0, as in the dense unit.
* the score stage takes its first query row (a query centroid, or a raw query) once the keys
  are loaded; rows then flow through score, softmax and weighted sum as in the dense unit
  (golden.timing stage models).
* with clustered queries, the scatter stage collects the centroid outputs and, from two cycles
  after the last one, emits one output per query token per cycle.
"""

from __future__ import annotations

from ..dense.cycles import PacketCycles
from ..timing import ScoreModel, SoftmaxModel, WeightedSumModel, hasher_latency
from .config import CtaConfig

__all__ = ["cta_cycles", "cluster_cycles", "PacketCycles", "EMIT_LATENCY", "SCATTER_LATENCY"]

#: Last hash of a side -> its first centroid handed on (emit state, then output register).
EMIT_LATENCY = 2
#: Last centroid output taken by the scatter stage -> first scattered output handed on.
SCATTER_LATENCY = 2


def _clustered_ready(cfg: CtaConfig, tokens: int) -> int:
    """Cycle the first centroid of a side of ``tokens`` tokens is handed on."""
    last_hash = (tokens - 1) * cfg.chunks + cfg.chunks + hasher_latency(cfg.lanes)
    return last_hash + EMIT_LATENCY


def cta_cycles(cfg: CtaConfig, n_keys: int, n_queries: int, key_clusters: int, query_clusters: int) -> PacketCycles:
    """Cycles of one packet with ``key_clusters`` / ``query_clusters`` clusters (ignored on an
    unclustered side, where every token is its own)."""
    if not 1 <= n_keys <= cfg.max_tokens or not 1 <= n_queries <= cfg.max_tokens:
        raise ValueError(f"n_keys={n_keys} and n_queries={n_queries} must be 1 to {cfg.max_tokens}.")
    if cfg.keys_compressed:
        keys = key_clusters
        loaded = _clustered_ready(cfg, n_keys) + keys
    else:
        keys, loaded = n_keys, n_keys
    if cfg.queries_compressed:
        rows = query_clusters
        first_query = max(loaded, _clustered_ready(cfg, n_queries))
    else:
        rows, first_query = n_queries, loaded
    score = ScoreModel(chunks=cfg.chunks, lanes=cfg.lanes, first_query=first_query)
    softmax = SoftmaxModel(formats=cfg.formats)
    weighted = WeightedSumModel(chunks=cfg.chunks, values_loaded=loaded, formats=cfg.formats)
    outputs = []
    for row in range(rows):
        scores = score.row(keys, softmax.slot_free(row))
        probs = softmax.row(scores, weighted.accept)
        outputs.append(weighted.output(probs[-1]))
    if cfg.queries_compressed:
        last = outputs[-1] + SCATTER_LATENCY
        outputs = [last + i for i in range(n_queries)]
    mac = 2 * rows * keys * cfg.chunks
    return PacketCycles(cycles=outputs[-1] + 1, mac_cycles=mac, arrays=2, outputs=tuple(outputs))


def cluster_cycles(cfg: CtaConfig, tokens: int, clusters: int) -> int:
    """The clustering unit alone: first token handshake to last centroid handshake + 1,
    output always ready."""
    return _clustered_ready(cfg, tokens) + clusters
