"""The score stage alone in Amaranth's simulator: with the consumer holding rows' first scores
(as the softmax does while all its slots are in use), every score's handshake comes at the
cycle golden.timing.ScoreModel gives, and the scores are the exact dot products. With query
gaps, the query's ``valid`` drops in random cycles, over a payload of random data: each row's
query must still be taken in the cycle the model gives (as the previous row's last chunk
issues, or in the first valid cycle after it), and nothing but the taken queries scored. The
units' testbenches compare whole packets' cycles only, and there a held score rarely moves them."""

import random

import pytest
from amaranth.sim import Simulator

from golden.dense import DenseConfig
from golden.timing import NEVER, ScoreModel, score_fifo_depth
from hw.common.score import Score

CONFIGS = {
    "chunks2": DenseConfig(head_dim=8, max_tokens=16, lanes=4),
    "chunks1": DenseConfig(head_dim=8, max_tokens=16, lanes=8),   # a key per cycle: the FIFO's depth binds
}


@pytest.mark.parametrize("gaps", [False, True], ids=["queries-waiting", "query-gaps"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("query_load", Score.QUERY_LOADS)
def test_score_handshakes_follow_the_model(query_load, config, seed, gaps):
    """``gaps``: the query's ``valid`` drops in random cycles over random payloads (a stage may
    load its query register from one while it waits, as ``query_load="free"`` does, but must
    never score it)."""
    cfg = CONFIGS[config]
    rng = random.Random(seed)
    n, rows = rng.choice([1, 2, rng.randint(3, cfg.max_tokens)]), 10
    lo, hi = -(1 << (cfg.data_width - 1)), (1 << (cfg.data_width - 1)) - 1
    keys = [[rng.randint(lo, hi) for _ in range(cfg.head_dim)] for _ in range(n)]
    queries = [[rng.randint(lo, hi) for _ in range(cfg.head_dim)] for _ in range(rows)]
    # The cycle from which each row's first score may be taken: free, or held past the point
    # where the FIFO fills (depth + some).
    hold = [rng.choice([NEVER, NEVER, rng.randint(0, 3 * score_fifo_depth(cfg.lanes) * cfg.chunks)])
            for _ in range(rows)]
    span = n * cfg.chunks
    not_before = [h if h == NEVER else n + r * span + h for r, h in enumerate(hold)]

    dut = Score(config=cfg, query_load=query_load)
    k_shape, q_shape = dut.k.payload.shape(), dut.q.payload.shape()
    first_query, taken, gap_at = [], [], []

    async def bench(ctx):
        sent = queried = 0
        for cycle in range(rows * (span + 200) + 200):
            ctx.set(dut.k.valid, sent < n)
            if sent < n:
                ctx.set(dut.k.payload, k_shape.const({"data": keys[sent], "last": sent == n - 1}))
            gap = gaps and rng.random() < 0.4
            gap_at.append(gap)
            ctx.set(dut.q.valid, sent == n and queried < rows and not gap)
            if queried < rows and not gap:
                ctx.set(dut.q.payload, q_shape.const({"data": queries[queried], "scale": 1,
                                                      "last": queried == rows - 1}))
            else:   # what an idle producer might leave on the bus
                ctx.set(dut.q.payload, q_shape.const({"data": [rng.randint(lo, hi) for _ in range(cfg.head_dim)],
                                                      "scale": rng.randint(0, 3), "last": rng.random() < 0.5}))
            row, j = divmod(len(taken), n)
            ctx.set(dut.s.ready, j != 0 or row >= rows or cycle >= not_before[row])
            if ctx.get(dut.k.valid) and ctx.get(dut.k.ready):
                sent += 1
            if ctx.get(dut.q.valid) and ctx.get(dut.q.ready):
                first_query.append(cycle)
                queried += 1
            if ctx.get(dut.s.valid) and ctx.get(dut.s.ready):
                s = ctx.get(dut.s.payload)
                assert (s.index, s.last, s.last_row) == (j, j == n - 1, row == rows - 1), f"cycle {cycle}"
                assert s.score == sum(a * b for a, b in zip(queries[row], keys[j])), f"seed {seed} cycle {cycle}"
                assert s.scale == 1, f"seed {seed} cycle {cycle}"
                taken.append(cycle)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()

    assert len(taken) == rows * n
    model = ScoreModel(chunks=cfg.chunks, lanes=cfg.lanes, first_query=first_query[0])
    # A row's query is taken as the previous row's last chunk issues, or, if no query is valid
    # then, in the first cycle one is (the stage waits idle).
    expected = []
    for r in range(rows):
        query = first_query[0] if r == 0 else next(c for c in range(model.last_issue, len(gap_at)) if not gap_at[c])
        assert first_query[r] == query, f"seed {seed} n={n} row {r}: query taken at {first_query[r]}, not {query}"
        expected += model.row(n, not_before[r], query=query)
    assert taken == expected, f"seed {seed} n={n} not_before={not_before}"


def test_score_rejects_an_unknown_query_load():
    with pytest.raises(ValueError, match="query_load='eager' must be one of handshake, free"):
        Score(config=CONFIGS["chunks2"], query_load="eager")
