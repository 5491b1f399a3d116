"""Cycle models of MEMO (exact for an unstalled run of the lookup engine; the memoized path's
hit and miss packets are composed from golden.timing's stage models and golden.axi's read
model).

Lookup engine: a request accepted at cycle t answers at t + :data:`LOOKUP_LATENCY` (set read,
distances, best-way select / LRU update), one request accepted per cycle.

Memoized path, per head packet:

* miss (compute): the dense pipeline with a weighted sum of ``ws_lanes`` lanes (keys and values
  from cycle 0, queries after the last key); the map is forked to the AXI write manager,
  assumed always ready (it adds no cycles);
* hit: values load one per cycle from cycle 0 while the map is read over AXI (one read command
  of the packed map, issued at cycle 0); the weighted sum takes one probability every
  ``ws_chunks`` cycles once its values are loaded and the word holding it has arrived.
"""

from __future__ import annotations

from ..axi import AxiReaderConfig, AxiReadModel
from ..config import clog2
from ..hashing import HasherConfig, hasher_cycles
from ..timing import ScoreModel, SoftmaxModel, WeightedSumModel
from .config import MemoConfig

__all__ = ["LOOKUP_LATENCY", "lookup_cycles", "map_words", "hit_cycles", "miss_cycles", "signature_cycles"]

#: Request handshake -> answer valid: set read (2 cycles), the read-after-write patches and the
#: XOR (1), the popcounts (3), the distance comparisons (1), best-way select / LRU update (1),
#: the answer (1). Back-to-back lookups to one set are forwarded, never stalled.
LOOKUP_LATENCY = 9


def lookup_cycles(requests: int) -> int:
    """Cycles of ``requests`` back-to-back lookups, first request to last answer inclusive."""
    return requests + LOOKUP_LATENCY


def map_words(cfg: MemoConfig, n_keys: int, n_rows: int) -> int:
    """AXI words of a stored map: rows packed back to back, ``probs_per_word`` per word."""
    return -(-(n_keys * n_rows) // cfg.probs_per_word)


def signature_cycles(cfg: MemoConfig, n: int, hidden: int, hasher_lanes: int = 32) -> int:
    """A layer's signature and lookup: the token sum accumulates one token per cycle, the
    hasher hashes it (``hidden / hasher_lanes`` chunks), then the lookup."""
    hc = HasherConfig(dim=hidden, lanes=hasher_lanes, bits=cfg.sig_bits, seed=cfg.seed)
    return n + hasher_cycles(hc, 1) + LOOKUP_LATENCY


def miss_cycles(cfg: MemoConfig, n_keys: int, n_queries: int) -> int:
    score = ScoreModel(chunks=cfg.chunks, lanes=cfg.lanes, first_query=n_keys)
    softmax = SoftmaxModel(formats=cfg.formats)
    weighted = WeightedSumModel(chunks=cfg.ws_chunks, values_loaded=n_keys, formats=cfg.formats)
    last = 0
    for row in range(n_queries):
        scores = score.row(n_keys, softmax.slot_free(row))
        probs = softmax.row(scores, weighted.accept)
        last = weighted.output(probs[-1])
    return last + 1


def hit_cycles(cfg: MemoConfig, n_keys: int, n_rows: int, *, latency: int = 0, base: int = 0) -> int:
    axi = AxiReadModel(AxiReaderConfig(addr_width=cfg.addr_width, data_width=cfg.axi_data_width), latency=latency)
    _, words = axi.command(0, base, map_words(cfg, n_keys, n_rows))
    weighted = WeightedSumModel(chunks=cfg.ws_chunks, values_loaded=n_keys, formats=cfg.formats)
    ppw = cfg.probs_per_word
    last = 0
    for row in range(n_rows):
        for j in range(n_keys):
            taken = weighted.accept(words[(row * n_keys + j) // ppw] + 1)
        last = weighted.output(taken)
    return last + 1
