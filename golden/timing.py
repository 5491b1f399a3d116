"""Cycle-level contract of the common stages: pipeline depths and the element-level timing
rules that ``hw/common`` implements and every unit's cycle model composes.

Conventions: a handshake "at cycle t" means valid & ready are both high in cycle t (the
transfer happens at the rising edge that ends cycle t). A register loaded at that edge is
visible from cycle t + 1. The first input handshake of a packet is cycle 0; a packet's cycle
count is ``last output handshake + 1``.

Stage micro-architecture (see hw/common for the circuits):

score
    Key buffer loads one key per cycle (LOAD), then for each query row issues d/L chunk cycles
    per key into a pipeline that never stalls: key read (1), key chunk register (1), the L lane
    products (:func:`product_latency`), adder tree (:func:`tree_stages` registers), accumulate
    into an output FIFO of :func:`score_fifo_depth` entries whose head is the output register
    (1). A chunk issues only while the FIFO has room for its key's score and every score in
    flight (credits, returned the cycle after a score leaves). The next query handshake happens
    in the cycle that issues the last chunk of the current row.
softmax
    Four row slots. Writer: input register, the scale multiply (:func:`product_latency`
    registers), the shift into ``y`` (1), then writes the slot and tracks the row max; a row is
    "written" :func:`softmax_write_latency` cycles after its last handshake. A new row may
    start only in a free slot. Exp pass: reads a written row one element per cycle through a
    7-cycle pipeline (buffer read, read register, max subtraction, LUT read, LUT register,
    shift, sum) into the exp buffer. Divider: restoring, one quotient bit per cycle. Reader:
    reads the exp buffer into a bubble-collapsing pipeline of :func:`softmax_read_stages`
    registers (buffer read, read register, multiply by the reciprocal, round).
weighted sum
    Value buffer loads one token per cycle (LOAD); each probability occupies d/L chunk cycles
    in a stall-as-unit pipeline: value read (1), value chunk register (1), the lane products
    (:func:`product_latency`), accumulate (1), round (1), saturate into the output register (1).

Every block-RAM read is registered before it reaches a multiplier or an adder, and a product
wider than one DSP multiplier is split into partial products (see :func:`product_latency`):
the ECP5 timing report (docs/fpga.md) showed both as the long paths.
"""

from __future__ import annotations

from .config import clog2

__all__ = [
    "tree_stages", "tree_register_levels", "score_latency", "score_fifo_depth", "SOFTMAX_SLOTS",
    "softmax_write_latency", "SOFTMAX_EXP_LATENCY", "softmax_read_stages",
    "divider_latency", "ws_latency", "ADDER_LEVELS_PER_STAGE", "hasher_latency",
    "DSP_OPERAND_BITS", "DSP_INPUT_REGISTERS", "DSP_OUTPUT_REGISTERS", "operand_limbs", "product_latency",
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


#: Signed operand bits of one hardware multiplier (the ECP5 MULT18X18D takes 18 x 18).
DSP_OPERAND_BITS = 18
#: Registers in front of and behind every hardware multiplier. With the operand and product
#: registers free to sit next to the DSP block, no path carries both the route from the fabric
#: to the DSP and the route back: on the ECP5 those two routes took 4.3 ns of the 7.8 ns
#: critical path of a register -> MULT18X18D -> register stage (docs/fpga.md).
DSP_INPUT_REGISTERS = 1
DSP_OUTPUT_REGISTERS = 1


def operand_limbs(bits: int, signed: bool) -> tuple[int, ...]:
    """How a multiplier operand is cut into limbs that one DSP multiplier takes: widths from
    the least significant limb up. Every limb but the top one is ``DSP_OPERAND_BITS - 1``
    bits, unsigned; the top one carries the sign (if any)."""
    low = DSP_OPERAND_BITS - 1
    fits = DSP_OPERAND_BITS if signed else low
    widths = []
    while bits > fits:
        widths.append(low)
        bits -= low
    return tuple(widths) + (bits,)


def product_latency(a_bits: int, a_signed: bool, b_bits: int, b_signed: bool) -> int:
    """Registers of a pipelined product: the operand registers, the partial products (one DSP
    multiplier each), their registers, and a tree that sums the partial products with a
    register after every adder level (none when the operands fit one DSP)."""
    partials = len(operand_limbs(a_bits, a_signed)) * len(operand_limbs(b_bits, b_signed))
    return DSP_INPUT_REGISTERS + 1 + DSP_OUTPUT_REGISTERS + clog2(partials)


def score_latency(lanes: int) -> int:
    """Cycles from issuing the last chunk of a key to its score in the output register:
    key read + key register + the lane products + adder tree + accumulate/output. (Q and K
    are at most 16 bits, AttentionConfig.data_width: one DSP per lane.)"""
    return 3 + product_latency(DSP_OPERAND_BITS, True, DSP_OPERAND_BITS, True) + tree_stages(lanes)


def score_fifo_depth(lanes: int) -> int:
    """Entries of the score stage's output FIFO. A key's credit is taken when its last chunk
    issues and returned the cycle after its score leaves, at the earliest ``score_latency``
    cycles later, so with one key per cycle (d = L) and the scores taken as they come,
    ``score_latency + 1`` credits keep the issue from ever waiting."""
    return score_latency(lanes) + 1


#: Row buffers in the softmax stage (writing, exp pass, dividing, reading can all overlap).
SOFTMAX_SLOTS = 4


def softmax_write_latency(formats) -> int:
    """Last input handshake of a row -> row max visible to the exp pass: input register, the
    score x scale product, the shifted ``y``, the row max."""
    return 3 + product_latency(formats.score_bits, True, formats.scale_bits, False)


#: Last exp-pass read of a row -> row sum visible to the divider.
SOFTMAX_EXP_LATENCY = 7


def softmax_read_stages(formats) -> int:
    """Registers of the reader's bubble-collapsing pipeline: buffer read, read register, the
    e x reciprocal product, rounding into the output register."""
    return 3 + product_latency(formats.exp_bits, False, formats.recip_bits, False)


def divider_latency(recip_bits: int) -> int:
    """Divider start -> reciprocal visible to the reader (one quotient bit per cycle + write)."""
    return recip_bits + 1


def ws_latency(formats) -> int:
    """Last chunk issue of a row's last probability -> output register valid: value read,
    value register, the lane products, accumulate, round, saturate."""
    return 5 + product_latency(formats.prob_bits, False, formats.data_bits, True)


# --- Stage timing models ------------------------------------------------------------------
# Each model turns the cycles at which elements become available into the cycles at which
# they are handed on, row by row and in order, with the same rules as the circuit. A unit's
# cycle model composes them; every dependency points to an earlier element, so one pass in
# row order is exact.

NEVER = -(1 << 62)


class ScoreModel:
    """Score stage output: one score every d/L cycles while the pipeline issues. The pipeline
    never stalls: a score that is not taken waits in the output FIFO, and the issue waits only
    when the FIFO has no room for another key (its ``depth``-th predecessor has not left)."""

    def __init__(self, *, chunks: int, lanes: int, first_query: int):
        self.chunks = chunks
        self.latency = score_latency(lanes)
        self.depth = score_fifo_depth(lanes)
        self.next_issue = first_query + 1    # first cycle the next key's first chunk may issue
        self.last_issue = NEVER              # the last chunk of the latest key
        self.taken: list[int] = []           # handshake cycles of every score so far

    def row(self, n_keys: int, not_before: int = NEVER, query: int = NEVER) -> list[int]:
        """Handshake cycles of one row's scores; the first waits for ``not_before``. ``query``:
        the row's query handshake, when it may come later than the previous row's last
        chunk (the unit models assume the next query is always waiting)."""
        times = []
        self.next_issue = max(self.next_issue, query + 1)
        for j in range(n_keys):
            k = len(self.taken)
            start = self.next_issue
            if k >= self.depth:
                start = max(start, self.taken[k - self.depth] + 1)
            self.last_issue = start + self.chunks - 1
            self.next_issue = self.last_issue + 1
            t = self.last_issue + self.latency
            if self.taken:
                t = max(t, self.taken[-1] + 1)
            if j == 0:
                t = max(t, not_before)
            self.taken.append(t)
            times.append(t)
        return times


class SoftmaxModel:
    """Softmax stage: writer, exp pass, divider and reader, each taking rows in order."""

    def __init__(self, *, formats):
        self.divide = divider_latency(formats.recip_bits)
        self.write_latency = softmax_write_latency(formats)
        read_stages = softmax_read_stages(formats)
        self.read_done: list[int] = []    # cycle each row's slot is free again
        self.exp_last = NEVER             # exp pass: last read of the previous row
        self.divider_free = NEVER
        self.reader_last = NEVER          # reader: last issue of the previous row
        self.stages = [NEVER] * (read_stages + 1)  # previous element's moves out of R0..R(k)

    def slot_free(self, row: int) -> int:
        """First cycle row ``row`` may start in the writer."""
        return self.read_done[row - SOFTMAX_SLOTS] if row >= SOFTMAX_SLOTS else NEVER

    def row(self, accepts: list[int], consumer) -> list[int]:
        """``accepts``: writer handshake cycles of the row's elements. ``consumer(t)`` returns
        the cycle the downstream takes an element offered from cycle ``t``. Returns the
        output handshake cycles."""
        n = len(accepts)
        written = accepts[-1] + self.write_latency
        exp_start = max(written, self.exp_last)
        self.exp_last = exp_start + n
        exped = self.exp_last + SOFTMAX_EXP_LATENCY
        divided = max(exped, self.divider_free) + self.divide
        self.divider_free = divided
        eligible = max(divided, self.reader_last) + 1
        out = []
        prev = self.stages
        for j in range(n):
            # moves[0] = issue (buffer read), moves[i] = the cycle the element leaves register
            # i; a register loads in the cycle its occupant moves on. The last register is the
            # output, left when the consumer takes the element.
            issue = max(eligible if j == 0 else prev_issue + 1, prev[1])
            moves = [issue]
            for i in range(1, len(prev) - 1):
                moves.append(max(moves[-1] + 1, prev[i + 1]))
            taken = consumer(moves[-1] + 1)
            prev = moves + [taken]
            prev_issue = issue
            out.append(taken)
        self.stages = prev
        self.reader_last = prev_issue
        self.read_done.append(prev_issue + 1)
        return out


class WeightedSumModel:
    """Weighted-sum stage: takes a probability every d/L cycles once its values are loaded."""

    def __init__(self, *, chunks: int, values_loaded: int, formats):
        self.chunks = chunks
        self.ready = values_loaded
        self.latency = ws_latency(formats)

    def accept(self, offered: int) -> int:
        t = max(offered, self.ready)
        self.ready = t + self.chunks
        return t

    def output(self, last_accept: int) -> int:
        """Output handshake of a row whose last probability was taken at ``last_accept``
        (the output is always taken at once in a cycle model run)."""
        return last_accept + self.chunks + self.latency


def hasher_latency(lanes: int) -> int:
    """Hasher: last chunk issue -> hash in the output register (chunk register, adder tree,
    accumulate and sign)."""
    return tree_stages(lanes) + 2
