"""cocotb testbench of the memo-lookup engine: every answer against golden/memo/table.py.

Drivers on ``i`` (lookups) and ``regs`` (tau/mask writes), a monitor on ``o``. The model
agent applies each accepted request to the golden table in handshake order (a register write
in the same cycle as a lookup applies after it, as in the hardware) and queues the expected
answer; the scoreboard compares hit, dist, ptr, alloc and evict of every answer. Unstalled
runs also check the latency (answer handshake = request handshake + LOOKUP_LATENCY) of every
request.
"""

from __future__ import annotations

import json
import os

import cocotb

from golden.memo.cycles import LOOKUP_LATENCY
from golden.memo.table import MemoTable
from hw.memo import MemoLookup, registers_layout, request_layout, response_layout
from verif.kit import Clocking, Packer, Scoreboard, StreamDriver, StreamMonitor
from verif.kit.env import Report, load_config, rng, seed

LATENCY = LOOKUP_LATENCY


class _Model:
    """Sees the drivers' handshakes each cycle and runs the golden table in the same order."""

    def __init__(self, tb):
        self.tb = tb

    def drive(self, cycle):
        pass

    def sample(self, cycle):
        tb = self.tb
        if tb.i.handshakes and tb.i.handshakes[-1] == cycle and len(tb.i.handshakes) > tb.applied:
            req = tb.sent[tb.applied]
            tb.applied += 1
            tb.accepts.append(cycle)
            tb.scoreboard.expect("o", [tb.table.lookup(req["sig"], req["length"], req["ctx"]).as_dict()])
        if tb.regs.handshakes and tb.regs.handshakes[-1] == cycle and len(tb.regs.handshakes) > tb.regs_applied:
            w = tb.regs_sent[tb.regs_applied]
            tb.regs_applied += 1
            tb.table.write_registers(w["tau"], w["mask"])


class LookupTB:
    """Members: ``cfg``, ``table`` (golden), ``clocking``, ``i``, ``regs``, ``o``, ``scoreboard``,
    ``accepts`` / ``answers`` (handshake cycles); :meth:`lookup`, :meth:`write`, :meth:`drain`,
    :meth:`reset`."""

    def __init__(self, dut, *, stall: float = 0.0):
        self.dut, self.cfg = dut, load_config()
        c = self.cfg
        self.report = Report()
        self.table = MemoTable(c)
        self.sent, self.regs_sent = [], []
        self.applied = self.regs_applied = 0
        self.accepts, self.answers = [], []
        self.clocking = Clocking(dut.clk, dut.rst)
        self.i = self.clocking.add(StreamDriver(dut, "i", Packer(request_layout(c)), stall=stall, rng=rng(1)))
        self.regs = self.clocking.add(StreamDriver(dut, "regs", Packer(registers_layout(c)), rng=rng(3)))
        self.clocking.add(_Model(self))
        self.o = self.clocking.add(StreamMonitor(dut, "o", Packer(response_layout(c)), self._check,
                                                 stall=stall, rng=rng(2)))
        self.scoreboard = Scoreboard(context=f"seed={seed()} stall={stall} config: {c.label}")

    def _check(self, beat, cycle):
        self.answers.append(cycle)
        self.scoreboard.check("o", beat, cycle)

    async def start(self):
        await self.clocking.start()
        await self.wait_ready()

    async def wait_ready(self):
        for _ in range(self.cfg.sets + 10):
            if self.dut.ready.value:
                return
            await self.clocking.wait(1)
        raise AssertionError("the engine did not finish clearing its table")

    def lookup(self, requests):
        reqs = [{"sig": s, "length": n, "ctx": c} for s, n, c in requests]
        self.sent += reqs
        self.i.send(reqs)

    def write(self, tau, mask):
        w = {"tau": tau, "mask": mask}
        self.regs_sent.append(w)
        self.regs.send([w])

    async def drain(self, limit=2_000_000):
        for _ in range(limit // 4):
            if self.i.idle and self.regs.idle and not self.scoreboard.pending() and self.applied == len(self.sent):
                return
            await self.clocking.wait(4)
        raise AssertionError(f"timeout ({self.scoreboard.context})")

    async def reset(self):
        def flush():
            self.i.clear()
            self.regs.clear()
            self.scoreboard.clear()
            self.sent, self.regs_sent = [], []
            self.applied = self.regs_applied = 0
            self.i.handshakes.clear()
            self.regs.handshakes.clear()
            self.table.reset()
        await self.clocking.reset(2, on_assert=flush)
        await self.wait_ready()

    def check_latency(self, first: int = 0):
        pairs = list(zip(self.accepts[first:], self.answers[first:]))
        bad = [(a, o) for a, o in pairs if o - a != LATENCY]
        assert not bad, f"answers not {LATENCY} cycles after their request: {bad[:5]} ({self.scoreboard.context})"

    def check_counters(self):
        layout = MemoLookup(config=self.cfg).signature.members["counters"].shape
        got = Packer(layout).unpack(self.dut.counters.value.to_unsigned())
        assert got == self.table.stats, f"counters {got}, model {self.table.stats} ({self.scoreboard.context})"

    # --- stimulus ------------------------------------------------------------------------
    def random_requests(self, count, r, *, pool=None):
        """Signatures near a small pool (so hits, misses and evictions all happen), lengths
        from a few values, contexts including one beyond ``contexts`` (never allocates)."""
        c = self.cfg
        s_mask = (1 << c.sig_bits) - 1
        pool = pool or [r.getrandbits(c.sig_bits) for _ in range(max(4, c.entries // 2))]
        lengths = sorted({1, 2, c.max_tokens, max(1, c.max_tokens // 2)})
        out = []
        for _ in range(count):
            base = r.choice(pool)
            flips = r.choice([0, 0, 1, 2, 3, c.sig_bits // 4, c.sig_bits // 2])
            sig = base
            for _ in range(flips):
                sig ^= 1 << r.randrange(c.sig_bits)
            ctx = r.randrange(min(c.contexts + 1, 1 << c.ctx_bits))
            out.append((sig & s_mask, r.choice(lengths), ctx))
        return out


@cocotb.test()
async def model_random(dut):
    """Random lookups (ATTNFORGE_OPS, default 10,000) with random tau/mask writes and random
    stalls on i and o: every answer equals the golden table's."""
    stall = float(os.environ.get("ATTNFORGE_STALL", "0.3"))
    ops = int(os.environ.get("ATTNFORGE_OPS", "10000"))
    tb = LookupTB(dut, stall=stall)
    await tb.start()
    r, c = rng(10), tb.cfg
    done = 0
    while done < ops:
        batch = min(ops - done, r.randint(20, 300))
        tb.lookup(tb.random_requests(batch, r))
        if r.random() < 0.7:
            tb.write(r.randint(0, c.sig_bits), r.getrandbits(c.contexts))
        done += batch
        await tb.clocking.wait(r.randint(0, batch // 2))
    await tb.drain()
    tb.check_counters()
    if not stall:
        tb.check_latency()
    tb.report.add(packets=ops, n=ops, hits=tb.table.stats["hits"], evictions=tb.table.stats["evictions"])


@cocotb.test()
async def back_to_back(dut):
    """Unstalled, one request per cycle into few sets (every request forwards from the one
    before): answers exact, each exactly LOOKUP_LATENCY cycles after its request, one per cycle."""
    tb = LookupTB(dut)
    await tb.start()
    r, c = rng(11), tb.cfg
    pool = [(r.getrandbits(c.sig_bits) & ~((1 << c.set_bits) - 1)) | r.randrange(2) for _ in range(c.ways * 2)]
    reqs = tb.random_requests(600, r, pool=pool)
    tb.lookup(reqs)
    await tb.drain()
    tb.check_latency()
    assert tb.i.handshakes[-1] - tb.i.handshakes[0] == len(reqs) - 1, "not one request per cycle"
    measured = tb.answers[-1] - tb.i.handshakes[0] + 1
    tb.check_counters()
    tb.report.add(packets=len(reqs), cycles=measured, n=len(reqs))


@cocotb.test()
async def corners(dut):
    """Full sets (evictions in LRU order), all-equal signatures, tau = 0 and tau = S, lengths
    that differ, a masked context, a context beyond the mask."""
    tb = LookupTB(dut)
    await tb.start()
    c, r = tb.cfg, rng(12)
    same = r.getrandbits(c.sig_bits)
    # All-equal signatures and one length: the first allocates, the rest hit it.
    tb.lookup([(same, 1, 0)] * (c.ways + 3))
    # Lengths that differ: the same signature at every length allocates once per length.
    tb.lookup([(same, n, 0) for n in range(1, c.max_tokens + 1)] * 2)
    # Full set: 3W signatures into the set of `same` (context 0): evictions cycle through LRU.
    low = same & ((1 << c.set_bits) - 1)
    fill = [((r.getrandbits(c.sig_bits) >> c.set_bits << c.set_bits) | low, 1, 0) for _ in range(3 * c.ways)]
    tb.lookup(fill + fill[::-1])
    await tb.drain()
    # tau = 0: only exact matches hit; tau = S: any same-length entry hits.
    tb.write(0, (1 << c.contexts) - 1)
    tb.lookup([(same ^ 1, 1, 0), (same, 1, 0), (fill[0][0] ^ 1, 1, 0)])
    await tb.drain()
    tb.write(c.sig_bits, (1 << c.contexts) - 1)
    tb.lookup([(same ^ ((1 << c.sig_bits) - 1), 1, 0), (r.getrandbits(c.sig_bits), 2, 0)])
    await tb.drain()
    # Context 1 masked: misses never allocate; a context beyond `contexts` never allocates.
    tb.write(c.tau, ((1 << c.contexts) - 1) & ~2)
    tb.lookup([(r.getrandbits(c.sig_bits), 1, 1) for _ in range(4)])
    if c.contexts < (1 << c.ctx_bits):
        tb.lookup([(r.getrandbits(c.sig_bits), 1, c.contexts) for _ in range(4)])
    await tb.drain()
    tb.check_latency()
    tb.check_counters()
    tb.report.add(packets=len(tb.sent))


@cocotb.test()
async def reset_mid_stream(dut):
    """Reset with lookups in flight: the table is empty again and the registers hold their
    reset values; the lookups after it are exact."""
    tb = LookupTB(dut, stall=0.2)
    await tb.start()
    r, c = rng(13), tb.cfg
    tb.write(1, 0)
    tb.lookup(tb.random_requests(200, r))
    await tb.clocking.wait(60)
    await tb.reset()
    assert int(dut.tau.value) == c.tau and int(dut.mask.value) == c.mask_value, "registers not reset"
    tb.lookup(tb.random_requests(300, r))
    await tb.drain()
    tb.report.add(packets=300)


@cocotb.test()
async def vectors(dut):
    """Committed golden vectors (ATTNFORGE_VECTORS): each is a reset, a register write, then
    back-to-back lookups; every answer equals the file's and the run takes its cycles."""
    from verif.vectors import load_vector
    tb = LookupTB(dut)
    await tb.start()
    count = 0
    for path in json.loads(os.environ["ATTNFORGE_VECTORS"]):
        vector = load_vector(path)
        await tb.reset()
        inputs, expected = vector["inputs"], vector["expected"]
        tb.write(inputs["tau"], inputs["mask"])
        await tb.drain()
        first = len(tb.answers)
        tb.lookup([tuple(x) for x in inputs["lookups"]])
        await tb.drain()
        # The model agent checked every answer; the file must say the same.
        model = MemoTable(tb.cfg)
        model.write_registers(inputs["tau"], inputs["mask"])
        answers = [model.lookup(*x).as_dict() for x in inputs["lookups"]]
        assert answers == expected["answers"], f"{path}: the golden table disagrees with the file; run make golden"
        cycles = tb.answers[-1] - tb.accepts[first] + 1
        assert cycles == expected["cycles"], f"{path}: {cycles} cycles, expected {expected['cycles']}"
        count += 1
    tb.report.add(packets=count)
