"""Cycle model of the dense unit (exact for an unstalled run: inputs always valid, output
always ready, the unit idle before the packet)."""

from __future__ import annotations

from dataclasses import dataclass

from ..timing import ScoreModel, SoftmaxModel, WeightedSumModel
from .config import DenseConfig

__all__ = ["PacketCycles", "dense_cycles", "ideal_cycles"]


@dataclass(frozen=True)
class PacketCycles:
    """Members: ``cycles`` (first input handshake to last output handshake, inclusive),
    ``mac_cycles`` (L-lane MAC cycles over all multiplier arrays), ``arrays`` (multiplier
    arrays of L lanes), ``outputs`` (handshake cycle of each output row)."""

    cycles: int
    mac_cycles: int
    arrays: int
    outputs: tuple[int, ...]

    @property
    def utilization(self) -> float:
        """Fraction of all MAC lanes busy over the packet."""
        return self.mac_cycles / (self.arrays * self.cycles)


def dense_cycles(cfg: DenseConfig, n_keys: int, n_queries: int) -> PacketCycles:
    """Keys and values load one per cycle from cycle 0; the first query is taken the cycle
    after the last key; rows then flow through score, softmax and weighted sum."""
    if not 1 <= n_keys <= cfg.max_tokens or n_queries < 1:
        raise ValueError(f"n_keys={n_keys} must be 1 to {cfg.max_tokens} and n_queries >= 1.")
    chunks = cfg.chunks
    score = ScoreModel(chunks=chunks, lanes=cfg.lanes, first_query=n_keys)
    softmax = SoftmaxModel(formats=cfg.formats)
    weighted = WeightedSumModel(chunks=chunks, values_loaded=n_keys, formats=cfg.formats)
    outputs = []
    for row in range(n_queries):
        scores = score.row(n_keys, softmax.slot_free(row))
        probs = softmax.row(scores, weighted.accept)
        outputs.append(weighted.output(probs[-1]))
    mac = 2 * n_queries * n_keys * chunks
    return PacketCycles(cycles=outputs[-1] + 1, mac_cycles=mac, arrays=2, outputs=tuple(outputs))


def ideal_cycles(cfg: DenseConfig, n_keys: int, n_queries: int) -> int:
    """MAC-bound lower bound with both L-lane arrays always busy: n_q * n_k * d / L."""
    return n_queries * n_keys * cfg.chunks
