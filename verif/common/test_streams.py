"""Protocol checks of Fork, Select and SkidBuffer in Amaranth's simulator (they are also exercised inside
the units' cocotb testbenches on Verilator)."""

import random

from amaranth import unsigned
from amaranth.sim import Simulator

from hw.common import Fork, Select, SkidBuffer


def test_fork_delivers_each_beat_once_to_every_output_under_stalls():
    dut = Fork(unsigned(8), outputs=3)
    beats = list(range(40))
    got = [[] for _ in range(3)]
    rng = random.Random(5)

    async def bench(ctx):
        i = 0
        for _ in range(600):
            present = i < len(beats) and rng.random() < 0.7
            ctx.set(dut.i.valid, present)
            if present:
                ctx.set(dut.i.payload, beats[i])
            for k in range(3):
                ctx.set(dut.o[k].ready, rng.random() < 0.5)
            for k in range(3):
                if ctx.get(dut.o[k].valid) and ctx.get(dut.o[k].ready):
                    got[k].append(ctx.get(dut.o[k].payload))
            if present and ctx.get(dut.i.ready):
                i += 1
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert all(g == beats for g in got), got


def test_select_routes_only_the_selected_input():
    dut = Select(unsigned(8), inputs=2)

    async def bench(ctx):
        for sel in (0, 1):
            ctx.set(dut.sel, sel)
            ctx.set(dut.i[0].valid, 1)
            ctx.set(dut.i[0].payload, 10)
            ctx.set(dut.i[1].valid, 1)
            ctx.set(dut.i[1].payload, 20)
            ctx.set(dut.o.ready, 1)
            await ctx.delay(1e-9)
            assert ctx.get(dut.o.payload) == (10, 20)[sel] and ctx.get(dut.o.valid)
            assert ctx.get(dut.i[sel].ready) and not ctx.get(dut.i[1 - sel].ready)

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()


def _skid_run(seed, ready_rate):
    """Random source (a beat stays valid until taken) into a SkidBuffer with random ``o.ready``;
    returns the beats sent, the beats received and a per-cycle trace."""
    dut = SkidBuffer(unsigned(8))
    beats = list(range(60))
    got, trace = [], []
    rng = random.Random(seed)

    async def bench(ctx):
        i, offered = 0, False
        for _ in range(800):
            offered = i < len(beats) and (offered or rng.random() < 0.6)
            ctx.set(dut.i.valid, offered)
            if offered:
                ctx.set(dut.i.payload, beats[i])
            # i.ready must not depend on o.ready in the same cycle: look at it both ways.
            ctx.set(dut.o.ready, 0)
            ready_when_stalled = ctx.get(dut.i.ready)
            ready = rng.random() < ready_rate
            ctx.set(dut.o.ready, ready)
            assert ctx.get(dut.i.ready) == ready_when_stalled, f"seed {seed}: i.ready follows o.ready"
            trace.append((offered, beats[i] if offered else None, ctx.get(dut.o.valid), ctx.get(dut.o.payload)))
            if ctx.get(dut.o.valid) and ready:
                got.append(ctx.get(dut.o.payload))
            if offered and ctx.get(dut.i.ready):
                i, offered = i + 1, False
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return beats, got, trace


def test_skid_buffer_delivers_each_beat_once_in_order_under_stalls():
    for seed in range(4):
        beats, got, _ = _skid_run(seed, ready_rate=0.5)
        assert got == beats, f"seed {seed}: {got}"


def test_skid_buffer_is_a_wire_while_the_output_is_ready():
    beats, got, trace = _skid_run(7, ready_rate=1.0)
    assert got == beats
    for cycle, (offered, beat, valid, payload) in enumerate(trace):
        assert valid == offered and (not offered or payload == beat), f"cycle {cycle}"
