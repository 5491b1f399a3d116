"""Cycle model of the reuse unit (exact for an unstalled run: inputs always valid, output
always ready, the unit idle before the packet, the packet's ``cmd`` beat at cycle 0).

Compute mode is the dense pipeline (score, softmax, weighted sum composed from
golden.timing's stage models) with a weighted sum of ``ws_lanes`` lanes; storing P costs
nothing (an eager fork into a write port that is always ready). Reuse mode: values load one
per cycle from cycle 0; the controller sees them loaded the cycle after the last one, checks
the map and starts the map buffer, whose read pipeline offers P three registers later (the
block RAMs' read registers, a register beside each bank, a register behind the multiplexer
across the banks) and then one element per cycle, as fast as the weighted sum takes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..timing import ScoreModel, SoftmaxModel, WeightedSumModel
from .config import ReuseConfig

__all__ = ["PacketCycles", "compute_cycles", "reuse_cycles", "MAP_LOAD_LATENCY", "MAP_READ_LATENCY"]

#: Map buffer ``load`` pulse (the cycle the controller sees the values loaded) -> first issue.
MAP_LOAD_LATENCY = 1
#: Map buffer issues an element -> it is offered to the weighted sum (the banks' read registers,
#: a register beside each bank, one more per bank in the fabric on the way across the die, the
#: register behind the multiplexer across the banks).
MAP_READ_LATENCY = 4


@dataclass(frozen=True)
class PacketCycles:
    """Members: ``cycles`` (first input handshake to last output handshake, inclusive),
    ``mac_cycles`` (L-lane MAC cycles over all multiplier arrays), ``arrays`` (multiplier
    arrays of L lanes: the score stage's and ws_factor for the weighted sum), ``outputs``
    (handshake cycle of each output row)."""

    cycles: int
    mac_cycles: int
    arrays: int
    outputs: tuple[int, ...]

    @property
    def utilization(self) -> float:
        return self.mac_cycles / (self.arrays * self.cycles)


def _check(cfg: ReuseConfig, n_keys: int, n_rows: int) -> None:
    if not 1 <= n_keys <= cfg.max_tokens or not 1 <= n_rows:
        raise ValueError(f"n_keys={n_keys} must be 1 to {cfg.max_tokens} and the rows {n_rows} at least 1.")


def compute_cycles(cfg: ReuseConfig, n_keys: int, n_queries: int) -> PacketCycles:
    """A compute packet: keys and values from cycle 0, the first query the cycle after the
    last key (as the dense unit; see golden.dense.cycles)."""
    _check(cfg, n_keys, n_queries)
    score = ScoreModel(chunks=cfg.chunks, lanes=cfg.lanes, first_query=n_keys)
    softmax = SoftmaxModel(formats=cfg.formats)
    weighted = WeightedSumModel(chunks=cfg.ws_chunks, values_loaded=n_keys, formats=cfg.formats)
    outputs = []
    for row in range(n_queries):
        scores = score.row(n_keys, softmax.slot_free(row))
        probs = softmax.row(scores, weighted.accept)
        outputs.append(weighted.output(probs[-1]))
    mac = 2 * n_queries * n_keys * cfg.chunks
    return PacketCycles(cycles=outputs[-1] + 1, mac_cycles=mac, arrays=1 + cfg.ws_factor, outputs=tuple(outputs))


def reuse_cycles(cfg: ReuseConfig, n_keys: int, n_rows: int) -> PacketCycles:
    """A reuse packet of ``n_keys`` values on a stored map of ``n_rows`` rows."""
    _check(cfg, n_keys, n_rows)
    weighted = WeightedSumModel(chunks=cfg.ws_chunks, values_loaded=n_keys, formats=cfg.formats)
    # Values loaded at cycle n_keys, when the controller pulses ``load``.
    offer = n_keys + MAP_LOAD_LATENCY + MAP_READ_LATENCY
    outputs = []
    for _ in range(n_rows):
        for _ in range(n_keys):
            taken = weighted.accept(offer)
            offer = taken + 1  # the next element issues in the cycle this one is taken
        outputs.append(weighted.output(taken))
    mac = n_rows * n_keys * cfg.chunks
    return PacketCycles(cycles=outputs[-1] + 1, mac_cycles=mac, arrays=1 + cfg.ws_factor, outputs=tuple(outputs))
