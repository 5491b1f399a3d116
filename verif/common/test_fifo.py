"""HeadRegisterFIFO, CreditFIFO and FlagRegisterFIFO against amaranth's SyncFIFO(fwft=True), cycle for cycle, in
Amaranth's simulator (they are also exercised inside the sprint and cta testbenches on
Verilator)."""

import random

import pytest
from amaranth import Module
from amaranth.lib.fifo import SyncFIFO
from amaranth.sim import Simulator

from hw.common.fifo import CreditFIFO, Credits, FlagRegisterFIFO, HeadRegisterFIFO

PORTS = ("w_rdy", "r_rdy", "w_level", "r_level")


def simulate(m, bench):
    """Run testbench ``bench`` on module ``m`` with one clock."""
    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def drive_and_compare(ctx, dut, ref, *, w_en, value, r_en, where):
    """Drive both FIFOs with the same inputs for this cycle and check that the DUT's outputs
    equal the reference's (``r_data`` only while the reference holds an entry)."""
    for fifo in (dut, ref):
        ctx.set(fifo.w_en, w_en)
        ctx.set(fifo.w_data, value)
        ctx.set(fifo.r_en, r_en)
    for port in PORTS:
        assert ctx.get(getattr(dut, port)) == ctx.get(getattr(ref, port)), f"{where}: {port}"
    if ctx.get(ref.r_rdy):
        assert ctx.get(dut.r_data) == ctx.get(ref.r_data), f"{where}: r_data"


@pytest.mark.parametrize("depth", [2, 3, 8])
@pytest.mark.parametrize("seed", [1, 2])
def test_head_register_fifo_matches_sync_fifo_every_cycle(depth, seed):
    m = Module()
    m.submodules.dut = dut = HeadRegisterFIFO(width=8, depth=depth)
    m.submodules.ref = ref = SyncFIFO(width=8, depth=depth)
    rng = random.Random(seed)
    checked = []

    async def bench(ctx):
        value = 0
        for cycle in range(1500):
            # phases of mostly writing, mostly reading and both, so the FIFO fills and drains
            w_rate, r_rate = [(0.9, 0.2), (0.2, 0.9), (0.6, 0.6)][cycle // 100 % 3]
            w_en, r_en = rng.random() < w_rate, rng.random() < r_rate
            where = f"seed {seed} depth {depth} cycle {cycle}"
            drive_and_compare(ctx, dut, ref, w_en=w_en, value=value, r_en=r_en, where=where)
            if cycle and r_valid_next:
                # r_next, sampled a cycle ago, is the head entry now
                assert ctx.get(dut.r_data) == r_next, f"{where}: r_next"
            r_next = ctx.get(dut.r_next)
            # r_following and r_refill are how r_next is chosen (a memory read with the first as
            # its address and the second as its enable reads the entry r_next names)
            expected = ctx.get(dut.r_following) if ctx.get(dut.r_refill) else ctx.get(dut.r_data)
            assert r_next == expected, f"{where}: r_following / r_refill"
            if ctx.get(ref.r_rdy):
                checked.append(r_en)
            if w_en and ctx.get(ref.w_rdy):
                value = (value + 1) % 256
            await ctx.tick()
            r_valid_next = ctx.get(ref.r_rdy)

    simulate(m, bench)
    # the run must have read entries and seen the FIFO full (else it checked little)
    assert sum(checked) > 300, f"seed {seed}: only {sum(checked)} reads"


def test_head_register_fifo_rejects_depth_below_two():
    with pytest.raises(ValueError, match="depth=1"):
        HeadRegisterFIFO(width=8, depth=1)


def run_random_traffic(dut_cls, depth, seed, *, credits):
    """``dut_cls(width=8, depth=depth)`` beside SyncFIFO(fwft=True) for 1,500 cycles of random
    writes and reads in three phases (mostly writing, mostly reading, both), compared on every
    cycle; with ``credits`` the writer writes only while the reference has room, and issues
    each write as it writes it (``issue``, a CreditFIFO's). The run must have read entries and
    seen the FIFO full (else it checked little)."""
    m = Module()
    m.submodules.dut = dut = dut_cls(width=8, depth=depth)
    m.submodules.ref = ref = SyncFIFO(width=8, depth=depth)
    rng = random.Random(seed)
    reads, fulls = [0], [0]

    async def bench(ctx):
        value = 0
        for cycle in range(1500):
            w_rate, r_rate = [(0.9, 0.2), (0.2, 0.9), (0.6, 0.6)][cycle // 100 % 3]
            w_en, r_en = rng.random() < w_rate, rng.random() < r_rate
            w_en = w_en and (ctx.get(ref.w_rdy) or not credits)
            where = f"seed {seed} depth {depth} cycle {cycle}"
            drive_and_compare(ctx, dut, ref, w_en=w_en, value=value, r_en=r_en, where=where)
            if credits:
                # issued as written: the entries issued and not yet read are the level
                assert ctx.get(dut.room) == ctx.get(ref.w_rdy), f"{where}: room"
                ctx.set(dut.issue, w_en)
            if ctx.get(ref.r_rdy):
                reads[0] += r_en
            fulls[0] += not ctx.get(ref.w_rdy)
            if w_en and ctx.get(ref.w_rdy):
                value = (value + 1) % 256
            await ctx.tick()

    simulate(m, bench)
    assert reads[0] > 200 and fulls[0] > 50, f"seed {seed}: {reads[0]} reads, {fulls[0]} full cycles"


@pytest.mark.parametrize("depth", [1, 3, 8])
@pytest.mark.parametrize("seed", [1, 2])
def test_credit_fifo_matches_sync_fifo_for_a_writer_that_respects_w_rdy(depth, seed):
    """With writes only while there is room (as a writer holding credits makes them), CreditFIFO
    is SyncFIFO(fwft=True) cycle for cycle."""
    run_random_traffic(CreditFIFO, depth, seed, credits=True)


@pytest.mark.parametrize("depth, latency", [(1, 1), (3, 2), (6, 5)])
@pytest.mark.parametrize("seed", [1, 2])
def test_credit_fifo_room_covers_a_pipeline_in_front_of_it(depth, latency, seed):
    """A writer issues (``issue``) while ``room``; each entry is written ``latency`` cycles
    later, at the end of a pipeline that never stalls, and a random reader takes entries. On
    every cycle ``room`` is "fewer than ``depth`` entries in the pipeline and the FIFO", no entry
    arrives at a full FIFO, and the entries leave in the order issued; the run must have filled
    the FIFO."""
    m = Module()
    m.submodules.dut = dut = CreditFIFO(width=8, depth=depth)
    rng = random.Random(seed)
    fulls = [0]

    async def bench(ctx):
        in_flight = []   # (arrival cycle, value) of issued entries not yet written
        queued = []      # values written and not yet read, oldest first
        value = 0
        for cycle in range(1500):
            where = f"seed {seed} depth {depth} latency {latency} cycle {cycle}"
            w_rate, r_rate = [(0.9, 0.2), (0.2, 0.9), (0.7, 0.7)][cycle // 100 % 3]
            assert ctx.get(dut.room) == (len(in_flight) + len(queued) != depth), f"{where}: room"
            assert ctx.get(dut.r_rdy) == bool(queued), f"{where}: r_rdy"
            if queued:
                assert ctx.get(dut.r_data) == queued[0], f"{where}: r_data"
            arriving = bool(in_flight) and in_flight[0][0] == cycle
            if arriving:
                assert ctx.get(dut.w_rdy), f"{where}: an entry arrived at a full FIFO"
                ctx.set(dut.w_data, in_flight[0][1])
            taken = rng.random() < r_rate and bool(queued)
            issue = rng.random() < w_rate and ctx.get(dut.room)
            ctx.set(dut.w_en, arriving)
            ctx.set(dut.r_en, taken)
            ctx.set(dut.issue, issue)
            fulls[0] += len(queued) == depth
            if taken:
                queued.pop(0)
            if arriving:
                queued.append(in_flight.pop(0)[1])
            if issue:
                in_flight.append((cycle + latency, value))
                value = (value + 1) % 256
            await ctx.tick()

    simulate(m, bench)
    assert fulls[0] > 50, f"seed {seed}: the FIFO was full on {fulls[0]} cycles"


def test_credit_fifo_rejects_depth_below_one():
    with pytest.raises(ValueError, match="depth=0"):
        CreditFIFO(width=8, depth=0)


@pytest.mark.parametrize("depth", [1, 2, 4, 16])
@pytest.mark.parametrize("seed", [1, 2])
def test_flag_register_fifo_matches_sync_fifo_every_cycle(depth, seed):
    """Any writer and reader (writes and reads also while full or empty): the same flags,
    levels and head as SyncFIFO(fwft=True) on every cycle."""
    run_random_traffic(FlagRegisterFIFO, depth, seed, credits=False)


def test_flag_register_fifo_rejects_depth_below_one():
    with pytest.raises(ValueError, match="depth=0"):
        FlagRegisterFIFO(width=8, depth=0)


@pytest.mark.parametrize("depth, latency", [(1, 0), (3, 2), (6, 5)])
@pytest.mark.parametrize("seed", [1, 2])
def test_credits_keep_a_pipeline_into_a_fifo_from_overflowing(depth, latency, seed):
    """A writer issues while ``room``; each issue reaches a SyncFIFO of ``depth`` entries
    ``latency`` cycles later (a pipeline that never stalls), and a random reader takes entries.
    On every cycle the count is the entries in the pipeline and the FIFO together, ``room`` is
    ``count != depth``, and no entry arrives at a full FIFO; the run must have filled the FIFO
    (credits that were too few would never let it fill)."""
    m = Module()
    m.submodules.credits = credits = Credits(depth=depth)
    m.submodules.fifo = fifo = SyncFIFO(width=8, depth=depth)
    rng = random.Random(seed)
    fulls = [0]

    async def bench(ctx):
        in_flight = []   # cycles at which issued entries reach the FIFO
        for cycle in range(1500):
            where = f"seed {seed} depth {depth} latency {latency} cycle {cycle}"
            w_rate, r_rate = [(0.9, 0.2), (0.2, 0.9), (0.7, 0.7)][cycle // 100 % 3]
            arriving = bool(in_flight) and in_flight[0] == cycle
            if arriving:
                in_flight.pop(0)
                assert ctx.get(fifo.w_rdy), f"{where}: an entry arrived at a full FIFO"
            taken = rng.random() < r_rate and ctx.get(fifo.r_rdy)
            count = ctx.get(credits.count)
            assert count == len(in_flight) + arriving + ctx.get(fifo.r_level), f"{where}: count"
            assert ctx.get(credits.room) == (count != depth), f"{where}: room"
            issue = rng.random() < w_rate and ctx.get(credits.room)
            if issue:
                if latency == 0:
                    arriving = True
                    assert ctx.get(fifo.w_rdy), f"{where}: an entry arrived at a full FIFO"
                else:
                    in_flight.append(cycle + latency)
            ctx.set(fifo.w_en, arriving)
            ctx.set(fifo.r_en, taken)
            ctx.set(credits.issue, issue)
            ctx.set(credits.take, taken)
            fulls[0] += not ctx.get(fifo.w_rdy)
            await ctx.tick()

    simulate(m, bench)
    assert fulls[0] > 50, f"seed {seed}: the FIFO was full on {fulls[0]} cycles"


def test_credits_reject_depth_below_one():
    with pytest.raises(ValueError, match="depth=0"):
        Credits(depth=0)
