"""Cycle model of the CTA engine (exact for an unstalled run: inputs always valid, output
always ready, the engine idle before the packet).

Timeline (hw/cta):

* clustered side: tokens enter the hasher one every d/L cycles from cycle 0 (keys paired with
  their values); token i's hash reaches the cluster stage at ``i*d/L + d/L + hasher_latency``
  and enters the clustering pipeline (:func:`decide_latency` cycles to its cluster,
  :data:`SUMS_STAGES` more to its sums written). The cycle after the last token's sums are
  written the emitter starts: centroid c (a W-stage restoring division on d lanes, one
  centroid per cycle) is handed on at ``E + c`` with ``E = last hash + emit_latency(cfg)``.
  Key centroids (with their log2 n_c bias) load the score stage's key buffer and value
  centroids the weighted-sum stage's value buffer in the same cycles.
* unclustered keys/values load one per cycle from cycle 0, as in the dense unit.
* the score stage takes its first query row (a query centroid, or a raw query) once the keys
  are loaded; rows then flow through score, softmax and weighted sum as in the dense unit
  (golden.timing stage models).
* with clustered queries, the scatter stage collects the centroid outputs and, from two cycles
  after the last one, emits one output per query token per cycle.
"""

from __future__ import annotations

from ..config import clog2
from ..dense.cycles import PacketCycles
from ..timing import ScoreModel, SoftmaxModel, WeightedSumModel, hasher_latency
from .config import CtaConfig

__all__ = ["cta_cycles", "cluster_cycles", "PacketCycles", "SCATTER_LATENCY", "ARGMIN_LEVELS_PER_STAGE",
           "POPCOUNT_BITS_PER_STAGE", "SUMS_STAGES", "EMIT_READ_STAGES", "dist_stages", "argmin_stages",
           "decide_latency", "emit_latency"]

# --- The clustering unit's pipeline (hw/cta/cluster.py), every stage one register deep. -----
#
# COLLECT, from the cycle a hash is taken (stage 0, the hasher's output register):
#   dist_stages     XOR with every table entry and popcount (invalid entries: "infinitely far")
#   argmin_stages   argmin tree over the C (distance, index) pairs, ties to the lower index
#   1               compare stage: the tree's best against the tokens still in flight
#   1               decide: hit / forwarded hit / open a cluster / nearest; table, map written
#   SUMS_STAGES     read address registered, sums read (block RAM), read data registered, add
#                   (written the cycle after, from the sum's register: not a stage of its own)
# The cluster of a token depends on the table after the previous token, so a token's search
# also compares its hash with the (at most decide_latency) tokens ahead of it in the pipeline
# and takes their decisions (forwarding); a sums read is forwarded from the three writes it did
# not see.
# EMIT, from the cycle after the last token's sums are written: read address registered, read,
# read data registered, rounding offset added (golden.cta.divide), data_bits division steps
# into the output register: one centroid per cycle.

#: Levels of the argmin tree (a distance compare and a mux each) per register stage.
ARGMIN_LEVELS_PER_STAGE = 1
#: Hash bits XORed and counted in the first distance stage; wider hashes add a second stage
#: that adds the partial popcounts.
POPCOUNT_BITS_PER_STAGE = 8
#: Decided cluster -> sums added: read address registered, read, read data registered, add
#: (the block RAM is written the cycle after, from the sum's register; forwarding covers it). The address is a register with nothing after it (the sums' block RAMs lie
#: across the die), so reading costs a stage of its own.
SUMS_STAGES = 4
#: Emit: read address registered, read, read data registered, rounding offset ``+ floor(n/2)``.
EMIT_READ_STAGES = 4


def dist_stages(hash_bits: int) -> int:
    """Register stages from a hash to its Hamming distances to the table."""
    return 1 if hash_bits <= POPCOUNT_BITS_PER_STAGE else 2


def argmin_stages(max_clusters: int) -> int:
    """Register stages of the argmin tree over ``max_clusters`` entries."""
    return -(-clog2(max_clusters) // ARGMIN_LEVELS_PER_STAGE)


def decide_latency(cfg: CtaConfig) -> int:
    """Hash taken -> its cluster decided (table and map written at the end of that cycle)."""
    return dist_stages(cfg.hash_bits) + argmin_stages(cfg.max_clusters) + 1


def emit_latency(cfg: CtaConfig) -> int:
    """Last hash of a side taken -> its first centroid in the output register (handed on)."""
    written = decide_latency(cfg) + SUMS_STAGES          # cycle the last sums are written
    return written + EMIT_READ_STAGES + cfg.formats.data_bits + 1

#: Last centroid output taken by the scatter stage -> first scattered output handed on.
SCATTER_LATENCY = 2


def _clustered_ready(cfg: CtaConfig, tokens: int) -> int:
    """Cycle the first centroid of a side of ``tokens`` tokens is handed on."""
    last_hash = (tokens - 1) * cfg.chunks + cfg.chunks + hasher_latency(cfg.lanes)
    return last_hash + emit_latency(cfg)


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
