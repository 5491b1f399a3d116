"""Cycle-level contract of the common stages: pipeline depths and the element-level timing
rules that ``hw/common`` implements and every unit's cycle model composes.

Conventions: a handshake "at cycle t" means valid & ready are both high in cycle t (the
transfer happens at the rising edge that ends cycle t). A register loaded at that edge is
visible from cycle t + 1. The first input handshake of a packet is cycle 0; a packet's cycle
count is ``last output handshake + 1``.

Stage micro-architecture (see hw/common for the circuits):

score
    Key buffer loads one key per cycle (LOAD), then for each query row issues d/L chunk cycles
    per key into a stall-as-unit pipeline: key read (1), L multipliers (1), adder tree
    (:func:`tree_stages` registers), accumulate into the output register (1). The next query
    handshake happens in the cycle that issues the last chunk of the current row.
softmax
    Four row slots. Writer: scale multiply pipeline (3 registers), then writes the slot and
    tracks the row max; a row is "written" 4 cycles after its last handshake. A new row may
    start only in a free slot. Exp pass: reads a written row one element per cycle through a
    5-cycle pipeline (max subtraction, LUT, shift) into the exp buffer, summing. Divider:
    restoring, one quotient bit per cycle. Reader: reads the exp buffer into a
    3-register bubble-collapsing pipeline (buffer read, multiply by the reciprocal, round).
weighted sum
    Value buffer loads one token per cycle (LOAD); each probability occupies d/L chunk cycles
    in a stall-as-unit pipeline: value read (1), multipliers (1), accumulate (1), round and
    saturate into the output register (1).
"""

from __future__ import annotations

from .config import clog2

__all__ = [
    "tree_stages", "tree_register_levels", "score_latency", "SOFTMAX_SLOTS",
    "SOFTMAX_WRITE_LATENCY", "SOFTMAX_EXP_LATENCY", "SOFTMAX_READ_STAGES",
    "divider_latency", "WS_LATENCY", "ADDER_LEVELS_PER_STAGE", "hasher_latency",
]

#: Adder-tree levels between two pipeline registers (two 2-input adder levels fit a cycle).
ADDER_LEVELS_PER_STAGE = 2


def tree_register_levels(inputs: int) -> tuple[int, ...]:
    """The adder-tree levels (1-based, counted from the leaves) after which a register sits."""
    levels = clog2(inputs)
    return tuple(range(ADDER_LEVELS_PER_STAGE, levels + 1, ADDER_LEVELS_PER_STAGE)) + (
        (levels,) if levels % ADDER_LEVELS_PER_STAGE else ())


def tree_stages(inputs: int) -> int:
    """Registers in an adder tree over ``inputs`` values."""
    return len(tree_register_levels(inputs))


def score_latency(lanes: int) -> int:
    """Cycles from issuing the last chunk of a key to its score in the output register:
    key read + multiply + adder tree + accumulate/output."""
    return 3 + tree_stages(lanes)


#: Row buffers in the softmax stage (writing, exp pass, dividing, reading can all overlap).
SOFTMAX_SLOTS = 4
#: Last input handshake of a row -> row max visible to the exp pass.
SOFTMAX_WRITE_LATENCY = 4
#: Last exp-pass read of a row -> row sum visible to the divider.
SOFTMAX_EXP_LATENCY = 5
#: Registers of the reader's bubble-collapsing pipeline (buffer read, product, rounding).
SOFTMAX_READ_STAGES = 3


def divider_latency(recip_bits: int) -> int:
    """Divider start -> reciprocal visible to the reader (one quotient bit per cycle + write)."""
    return recip_bits + 1


#: Last chunk issue of a row's last probability -> output register valid.
WS_LATENCY = 4


# --- Stage timing models ------------------------------------------------------------------
# Each model turns the cycles at which elements become available into the cycles at which
# they are handed on, row by row and in order, with the same rules as the circuit. A unit's
# cycle model composes them; every dependency points to an earlier element, so one pass in
# row order is exact.

NEVER = -(1 << 62)


class ScoreModel:
    """Score stage output: one score every d/L cycles while the pipeline runs. The pipeline
    stalls as a unit, so holding one score for k cycles delays every later score by k."""

    def __init__(self, *, chunks: int, lanes: int, first_query: int):
        self.chunks = chunks
        self.next_offer = first_query + chunks + score_latency(lanes)

    def row(self, n_keys: int, not_before: int = NEVER) -> list[int]:
        """Handshake cycles of one row's scores; the first waits for ``not_before``."""
        times = []
        for j in range(n_keys):
            t = max(self.next_offer, not_before) if j == 0 else self.next_offer
            times.append(t)
            self.next_offer = t + self.chunks
        return times


class SoftmaxModel:
    """Softmax stage: writer, exp pass, divider and reader, each taking rows in order."""

    def __init__(self, *, recip_bits: int):
        self.divide = divider_latency(recip_bits)
        self.read_done: list[int] = []    # cycle each row's slot is free again
        self.exp_last = NEVER             # exp pass: last read of the previous row
        self.divider_free = NEVER
        self.reader_last = NEVER          # reader: last issue of the previous row
        self.stages = [NEVER] * (SOFTMAX_READ_STAGES + 1)  # previous element at R0..R3

    def slot_free(self, row: int) -> int:
        """First cycle row ``row`` may start in the writer."""
        return self.read_done[row - SOFTMAX_SLOTS] if row >= SOFTMAX_SLOTS else NEVER

    def row(self, accepts: list[int], consumer) -> list[int]:
        """``accepts``: writer handshake cycles of the row's elements. ``consumer(t)`` returns
        the cycle the downstream takes an element offered from cycle ``t``. Returns the
        output handshake cycles."""
        n = len(accepts)
        written = accepts[-1] + SOFTMAX_WRITE_LATENCY
        exp_start = max(written, self.exp_last)
        self.exp_last = exp_start + n
        exped = self.exp_last + SOFTMAX_EXP_LATENCY
        divided = max(exped, self.divider_free) + self.divide
        self.divider_free = divided
        eligible = max(divided, self.reader_last) + 1
        out = []
        prev = self.stages
        for j in range(n):
            # R0 = issue (buffer read); a register loads in the cycle its occupant moves on.
            issue = max(eligible if j == 0 else prev_issue + 1, prev[1])
            r1 = max(issue + 1, prev[2])
            r2 = max(r1 + 1, prev[3])
            taken = consumer(r2 + 1)
            prev = [issue, r1, r2, taken]
            prev_issue = issue
            out.append(taken)
        self.stages = prev
        self.reader_last = prev_issue
        self.read_done.append(prev_issue + 1)
        return out


class WeightedSumModel:
    """Weighted-sum stage: takes a probability every d/L cycles once its values are loaded."""

    def __init__(self, *, chunks: int, values_loaded: int):
        self.chunks = chunks
        self.ready = values_loaded

    def accept(self, offered: int) -> int:
        t = max(offered, self.ready)
        self.ready = t + self.chunks
        return t

    def output(self, last_accept: int) -> int:
        """Output handshake of a row whose last probability was taken at ``last_accept``
        (the output is always taken at once in a cycle model run)."""
        return last_accept + self.chunks + WS_LATENCY


def hasher_latency(lanes: int) -> int:
    """Hasher: last chunk issue -> hash in the output register (chunk register, adder tree,
    accumulate and sign)."""
    return tree_stages(lanes) + 2
