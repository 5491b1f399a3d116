"""Cycle model of the SPRINT engine (exact for an unstalled run: inputs always valid, output
always ready, the unit idle before the packet, the K/V memory the AxiRam of golden/axi.py's
read model with ``latency`` extra cycles per burst).

Timeline (cycle numbers; "at t" = handshake in cycle t; hw/sprint/sprint.py):

* ``cmd`` at 0; key j programs the macro at 1 + j; query t is taken (into the holding
  register) once the keys are in, the holding register is free (the cycle after the macro took
  query t - 1) and the query FIFO (4) and output-framing FIFO (16) have room; both FIFOs are
  written the cycle after;
* the macro takes the query from the holding register the cycle after it was taken, once the
  macro is free (the cycle after the previous mask was taken); the mask is offered
  ``xbar_latency`` after that and taken into the walker's staging register once that is empty
  (the cycle after the walker took the previous mask from it); the walker takes it the cycle
  after, once it finished the previous query (the cycle after its last step);
* the walker handles one survivor per cycle from the cycle after it took the mask: a reused one needs
  room in the order FIFO (8), a fetched one also a landing credit (4 pairs) and the AXI reader's
  command handshake (golden.axi.AxiReadModel gives the words' cycles; R never waits);
* the assembler pushes one survivor per cycle into its output register: the cycle after its
  order entry (and, if fetched, its last word) arrived, once the register is empty or hands its
  pair on in the same cycle; the register hands it on (its key into the score stage's load bank,
  its value into the value FIFO of N entries) from the cycle after, with room in the value FIFO
  and the score stage's load bank free (two banks: query t loads once query t-2 issued its last
  chunk); the weighted sum takes values from the FIFO one per cycle, query t's once query t-2
  left its bank;
* score stage: one packet per query (keys = survivors); the query is taken once its keys are
  loaded and the previous row issued its last chunk; a row's first score waits for a softmax
  slot (golden.timing.SoftmaxModel) in the stage's output FIFO, and the issue waits for room
  in that FIFO (golden.timing.ScoreModel);
* weighted sum: a row's first probability once its values are loaded and the previous row's
  last chunk issued, then one every d/L cycles; output ``ws_latency`` after the last chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..axi import AxiReadModel
from ..timing import NEVER, ScoreModel, SoftmaxModel, ws_latency
from .config import SprintConfig
from .model import bookkeeping

__all__ = ["PacketCycles", "sprint_cycles", "QUERY_FIFO", "ORDER_FIFO", "PAIR_FIFO", "LAST_FIFO"]

QUERY_FIFO, ORDER_FIFO, PAIR_FIFO, LAST_FIFO = 4, 8, 4, 16


@dataclass(frozen=True)
class PacketCycles:
    """Members: ``cycles`` (cmd handshake to last output, inclusive), ``mac_cycles`` (L-lane MAC
    cycles of the score and weighted-sum arrays), ``arrays`` (2), ``outputs`` (cycle of each
    output row), ``fetched``, ``reused``."""

    cycles: int
    mac_cycles: int
    arrays: int
    outputs: tuple[int, ...]
    fetched: int
    reused: int

    @property
    def utilization(self) -> float:
        return self.mac_cycles / (self.arrays * self.cycles)


def sprint_cycles(cfg: SprintConfig, keep, *, n_keys: int, latency: int = 0, base: int = 0) -> PacketCycles:
    """Cycles of one packet: ``keep [nq][n]`` the keep masks (golden model), ``latency`` the
    memory's extra cycles per burst, ``base`` the K/V base address."""
    keep = [list(map(bool, row)) for row in keep]
    import torch
    book = bookkeeping(torch.tensor(keep, dtype=torch.bool), cfg)
    chunks = cfg.chunks
    axi = AxiReadModel(cfg.axi, latency=latency)
    softmax = SoftmaxModel(formats=cfg.formats)
    score = ScoreModel(chunks=chunks, lanes=cfg.lanes, first_query=NEVER)
    words = 2 * cfg.row_words

    qh, mt, mh, starts, qs, rel, ws_rel, outs = [], [], [], [], [], [], [], []
    pushes: list[int] = []         # every survivor's push into the output register, packet order
    handed: list[int] = []         # every survivor's key into the score stage, value into the FIFO
    values: list[int] = []         # the weighted sum takes its value from the FIFO
    fetch_pops: list[int] = []     # pushes of fetched survivors
    walk_end = -1
    step = -1
    ws_last_accept = None
    for t, order in enumerate(book.order):
        # Query handshake (into the holding register), the macro's take, the mask handshake (into
        # the staging register), the walker's take.
        c = n_keys + 1
        if t:
            c = max(c, mt[t - 1] + 1)
        if t >= QUERY_FIFO:
            c = max(c, qs[t - QUERY_FIFO] + 1)
        if t >= LAST_FIFO:
            c = max(c, outs[t - LAST_FIFO] + 1)
        qh.append(c)
        mt.append(max(c + 1, mh[t - 1] + 1 if t else 0))
        mh.append(max(mt[t] + cfg.xbar_latency, starts[t - 1] + 1 if t else 0))
        starts.append(max(mh[t] + 1, walk_end + 1))
        step = starts[t]  # the first step is the cycle after
        for k, (j, fetch) in enumerate(order):
            waits_banks = k == 0 and t >= 2   # the query's first survivor waits for query t-2's banks
            i = len(pushes)
            s = step + 1
            if i >= ORDER_FIFO:
                s = max(s, pushes[i - ORDER_FIFO] + 1)
            ready = s + 1
            if fetch:
                f = len(fetch_pops)
                if f >= PAIR_FIFO:
                    s = max(s, fetch_pops[f - PAIR_FIFO] + 1)
                s, wcycles = axi.command(s, base + j * cfg.pair_stride, words)
                ready = max(s + 1, wcycles[-1] + 1)
            step = s
            push = max(ready, pushes[-1] + 1 if pushes else 0, handed[-1] if handed else 0)
            p = max(push + 1, handed[-1] + 1 if handed else 0)
            if i >= cfg.max_tokens:
                p = max(p, values[i - cfg.max_tokens] + 1)
            if waits_banks:
                p = max(p, rel[t - 2] + 1)
            vt = max(p + 1, values[-1] + 1 if values else 0)
            if waits_banks:
                vt = max(vt, ws_rel[t - 2] + 1)
            pushes.append(push)
            handed.append(p)
            values.append(vt)
            if fetch:
                fetch_pops.append(push)
        walk_end = step
        m = len(order)
        loaded = handed[-1] + 1
        # Score row.
        c = max(loaded, qh[t] + 2, rel[t - 1] + 1 if t else 0)   # the query FIFO is written at qh + 1
        qs.append(c)
        accepts = score.row(m, softmax.slot_free(t), query=c)
        rel.append(score.last_issue)
        # Weighted sum.
        v_loaded = values[-1] + 1
        row_ready = v_loaded if ws_last_accept is None else max(v_loaded, ws_last_accept + chunks + 1)
        state = {"next": row_ready}

        def consumer(offered, state=state):
            a = max(offered, state["next"])
            state["next"] = a + chunks
            return a
        probs = softmax.row(accepts, consumer)
        ws_last_accept = probs[-1]
        ws_rel.append(ws_last_accept + chunks)
        outs.append(ws_last_accept + chunks + ws_latency(cfg.formats))
    kept = sum(len(o) for o in book.order)
    return PacketCycles(cycles=outs[-1] + 1, mac_cycles=2 * kept * chunks, arrays=2, outputs=tuple(outs),
                        fetched=book.fetched, reused=book.reused)
