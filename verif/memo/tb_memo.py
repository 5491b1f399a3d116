"""cocotb testbench of the MEMO unit: lookup engine + memoized path, with cocotbext-axi's
AxiRam (read and write ports on one memory) as the attention database.

The golden side: :class:`golden.memo.MemoTable` for lookups; for packets, the integer dense
model (compute: outputs, and the map the unit must write back, checked word by word in the
RAM) and the weighted sum of the map stored in the RAM (hit). Unstalled packets also check
the measured cycles and ``perf.cycles`` against golden/memo/cycles.py.
"""

from __future__ import annotations

import os
import random

import cocotb
import torch
from cocotb.triggers import ReadOnly
from cocotbext.axi import AxiReadBus, AxiWriteBus
from cocotbext.axi.axi_ram import AxiRamWrite

from golden.attention import attention_int, weighted_sum_int
from golden.memo import MemoTable
from golden.memo.cycles import hit_cycles, map_words, miss_cycles
from hw.common import output_layout, query_layout, token_layout
from hw.common.perf import error_layout, perf_layout
from hw.memo import Memo, Mode, command_layout, registers_layout, request_layout, response_layout
from verif.dense.packets import random_packet
from verif.kit import Clocking, Packer, Scoreboard, StreamDriver, StreamMonitor
from verif.kit.axi import LatencyAxiRamRead, failing
from verif.kit.env import Report, load_config, rng, seed


class MemoTB:
    """Members: ``cfg``, ``ram_r`` / ``ram_w`` (one memory), drivers ``cmd``, ``k``, ``v``, ``q``,
    ``lookup``, monitors ``o``, ``answer``; ``table`` (golden); :meth:`compute`, :meth:`hit`,
    :meth:`run`, :meth:`stored_map`."""

    def __init__(self, dut, *, stall: float = 0.0):
        self.dut, self.cfg = dut, load_config()
        c = self.cfg
        self.report = Report()
        self.clocking = Clocking(dut.clk, dut.rst)
        self.latency = int(os.environ.get("ATTNFORGE_AXI_LATENCY", "0"))
        size = c.map_address(c.entries - 1, c.heads - 1) + c.record_words * (c.axi_data_width // 8)
        self.ram_w = AxiRamWrite(AxiWriteBus.from_prefix(dut, "axi_w_"), dut.clk, dut.rst, size=size)
        self.ram_r = LatencyAxiRamRead(AxiReadBus.from_prefix(dut, "axi_r_"), dut.clk, dut.rst, size=size,
                                       mem=self.ram_w.mem, latency=self.latency)
        tokens = Packer(token_layout(c))
        self.cmd = self.clocking.add(StreamDriver(dut, "cmd", Packer(command_layout(c)), stall=stall, rng=rng(1)))
        self.k = self.clocking.add(StreamDriver(dut, "k", tokens, stall=stall, rng=rng(2)))
        self.v = self.clocking.add(StreamDriver(dut, "v", tokens, stall=stall, rng=rng(3)))
        self.q = self.clocking.add(StreamDriver(dut, "q", Packer(query_layout(c)), stall=stall, rng=rng(4)))
        self.lookup = self.clocking.add(StreamDriver(dut, "lookup", Packer(request_layout(c)), stall=stall, rng=rng(5)))
        self.o = self.clocking.add(StreamMonitor(dut, "o", Packer(output_layout(c)), self._on_o, stall=stall, rng=rng(6)))
        self.answer = self.clocking.add(StreamMonitor(dut, "answer", Packer(response_layout(c)), self._on_answer,
                                                      stall=stall, rng=rng(7)))
        self.scoreboard = Scoreboard(context=f"seed={seed()} stall={stall} latency={self.latency} config: {c.label}")
        self.table = MemoTable(c)
        self.answers = []
        self.ignore_o = False  # flagged packets: outputs not compared
        self._perf = Packer(perf_layout(*Memo.COUNTERS))
        self._errors = Packer(error_layout(*Memo.ERRORS))

    def _on_o(self, beat, cycle):
        if not self.ignore_o:
            self.scoreboard.check("o", beat, cycle)

    def _on_answer(self, beat, cycle):
        self.answers.append(beat)
        self.scoreboard.check("answer", beat, cycle)

    async def start(self):
        await self.clocking.start()
        for _ in range(self.cfg.sets + 10):
            if not self.dut.rst.value and int(self.dut.lookup__ready.value):
                return
            await self.clocking.wait(1)

    # --- golden side ------------------------------------------------------------------------
    def stored_map(self, ptr, head, n) -> torch.Tensor:
        """The n x n map in the RAM at (ptr, head), as the unit reads it."""
        c = self.cfg
        wb = c.axi_data_width // 8
        raw = self.ram_w.mem[c.map_address(ptr, head):c.map_address(ptr, head) + map_words(c, n, n) * wb]
        words = [int.from_bytes(raw[i * wb:(i + 1) * wb], "little") for i in range(map_words(c, n, n))]
        slot, ppw = c.prob_slot_bits, c.probs_per_word
        probs = [(words[i // ppw] >> (slot * (i % ppw))) & ((1 << c.formats.prob_bits) - 1) for i in range(n * n)]
        return torch.tensor(probs, dtype=torch.int64).reshape(n, n)

    def _expect_out(self, out):
        rows = out.tolist()
        self.scoreboard.expect("o", ({"data": r, "last": i == len(rows) - 1} for i, r in enumerate(rows)))

    def send_compute(self, keys, values, queries, scales, *, ptr=0, head=0, store=False):
        """Queue a COMPUTE packet's beats as given (``cmd.n``: the number of queries)."""
        self.cmd.send([{"mode": Mode.COMPUTE, "store": int(store), "ptr": ptr, "head": head, "n": len(queries)}])
        self.k.send({"data": r, "last": j == len(keys) - 1} for j, r in enumerate(keys))
        self.v.send({"data": r, "last": j == len(values) - 1} for j, r in enumerate(values))
        self.q.send({"data": r, "scale": s, "last": i == len(queries) - 1} for i, (r, s) in enumerate(zip(queries, scales)))

    def compute(self, packet, *, ptr=0, head=0, store=True):
        """Queue a COMPUTE packet (n keys = values = queries); returns its integer map."""
        self.send_compute(packet.k, packet.v, packet.q, packet.scale, ptr=ptr, head=head, store=store)
        return self.expect_compute(packet)

    def expect_compute(self, packet):
        """Expect the golden outputs of ``packet`` as a COMPUTE packet; returns its integer map."""
        t = lambda rows: torch.tensor(rows, dtype=torch.int64)
        out, p = attention_int(t(packet.q), t(packet.k), t(packet.v), t(packet.scale), self.cfg.formats,
                               return_probs=True)
        self._expect_out(out)
        return p

    def hit(self, values, *, ptr, head, p):
        """Queue a HIT packet on the stored map ``p``."""
        n = len(values)
        self.cmd.send([{"mode": Mode.HIT, "store": 0, "ptr": ptr, "head": head, "n": n}])
        self.v.send({"data": r, "last": j == n - 1} for j, r in enumerate(values))
        self._expect_out(weighted_sum_int(p, torch.tensor(values), self.cfg.formats))

    def lookups(self, requests):
        self.lookup.send({"sig": s, "length": n, "ctx": c} for s, n, c in requests)
        self.scoreboard.expect("answer", [self.table.lookup(s, n, c).as_dict() for s, n, c in requests])

    def flush(self):
        """Forget everything queued and expected (a reset's ``on_assert``); the golden table
        empties with the unit's."""
        for d in (self.cmd, self.k, self.v, self.q, self.lookup):
            d.clear()
        self.scoreboard.clear()
        self.table.reset()
        self.ignore_o = False

    async def drain(self, limit=2_000_000):
        start = self.clocking.cycle
        while (self.scoreboard.pending() or not all(d.idle for d in (self.cmd, self.k, self.v, self.q, self.lookup))
               or int(self.dut.busy.value)):
            if self.clocking.cycle - start > limit:
                raise AssertionError(f"timeout: {self.scoreboard.pending()} beats missing ({self.scoreboard.context})")
            await self.clocking.wait(8)
        await self.clocking.wait(2)

    async def read(self, what):
        await ReadOnly()
        packer = self._perf if what == "perf" else self._errors
        value = packer.unpack(getattr(self.dut, what).value.to_unsigned())
        await self.clocking.wait(1)
        return value

    async def run(self, send, model_cycles=None, name=""):
        """Run one packet alone; with ``model_cycles``, check measured and perf cycles."""
        marks = [len(d.handshakes) for d in (self.cmd, self.k, self.v, self.q)]
        result = send()
        await self.drain()
        if model_cycles is not None:
            first = min(d.handshakes[m] for d, m in zip((self.cmd, self.k, self.v, self.q), marks)
                        if len(d.handshakes) > m)
            measured = self.o.handshakes[-1] - first + 1
            perf = await self.read("perf")
            assert measured == model_cycles == perf["cycles"], (
                f"{name}: {measured} cycles measured, perf {perf['cycles']}, model {model_cycles} ({self.scoreboard.context})")
        return result

    def random_values(self, r, n):
        fmt = self.cfg.formats
        return [[r.randint(fmt.data_min, fmt.data_max) for _ in range(self.cfg.head_dim)] for _ in range(n)]


async def _miss_then_hit(tb, r, *, check_cycles):
    c = tb.cfg
    for trial, n in enumerate([1, 2, 5, c.max_tokens, r.randint(3, c.max_tokens), r.randint(1, c.max_tokens)]):
        ptr, head = r.randrange(c.entries), r.randrange(c.heads)
        packet = random_packet(c, r, n=n, n_queries=n)
        p = await tb.run(lambda: tb.compute(packet, ptr=ptr, head=head),
                         miss_cycles(c, n, n) if check_cycles else None, f"compute n={n}")
        assert torch.equal(tb.stored_map(ptr, head, n), p), f"record ({ptr}, {head}) differs from P ({tb.scoreboard.context})"
        for _ in range(2):
            await tb.run(lambda: tb.hit(tb.random_values(r, n), ptr=ptr, head=head, p=p),
                         hit_cycles(c, n, n, latency=tb.latency, base=c.map_address(ptr, head)) if check_cycles else None,
                         f"hit n={n}")


@cocotb.test()
async def miss_then_hit(dut):
    """Compute packets write their map back (checked in the RAM); hit packets read it into the
    weighted sum with new values. Unstalled: cycles equal the cycle models."""
    tb = MemoTB(dut)
    await tb.start()
    await _miss_then_hit(tb, rng(20), check_cycles=True)
    perf = await tb.read("perf")
    assert perf["hits"] == 12 and perf["stores"] == 6, perf
    assert not any((await tb.read("errors")).values())
    tb.report.add(packets=18)


@cocotb.test()
async def stalls(dut):
    """Random valid/ready stalls on every stream: outputs, answers and records still exact;
    back-to-back packets (not isolated)."""
    tb = MemoTB(dut, stall=0.3)
    await tb.start()
    r, c = rng(21), tb.cfg
    await _miss_then_hit(tb, r, check_cycles=False)
    # Back to back: a compute with store, then hits on it, queued at once.
    ptr, head, n = r.randrange(c.entries), r.randrange(c.heads), r.randint(1, c.max_tokens)
    packet = random_packet(c, r, n=n, n_queries=n)
    p = tb.compute(packet, ptr=ptr, head=head)
    await tb.drain()
    for _ in range(3):
        tb.hit(tb.random_values(r, n), ptr=ptr, head=head, p=p)
        tb.compute(random_packet(c, r, n=n, n_queries=n), store=False)
    await tb.drain()
    tb.report.add(packets=25)


@cocotb.test()
async def memoized_path(dut):
    """The host loop over the engine: per sequence a lookup (answers checked against the golden
    table), then a HIT packet on the pointer it returned, or a COMPUTE packet that stores the
    map to the allocated entry (or does not store on a miss without allocation)."""
    tb = MemoTB(dut)
    await tb.start()
    r, c = rng(22), tb.cfg
    pool = [(r.getrandbits(c.sig_bits), r.randint(1, c.max_tokens)) for _ in range(6)]
    maps = {}
    hits = 0
    for step in range(24):
        sig, n = r.choice(pool)
        ctx = r.randrange(c.contexts)
        head = r.randrange(c.heads)
        tb.lookups([(sig, n, ctx)])
        await tb.drain()
        a = tb.answers[-1]
        if a["hit"] and (a["ptr"], head) in maps:
            hits += 1
            await tb.run(lambda: tb.hit(tb.random_values(r, n), ptr=a["ptr"], head=head, p=maps[a["ptr"], head]),
                         hit_cycles(c, n, n, base=c.map_address(a["ptr"], head), latency=tb.latency), "hit")
        else:
            packet = random_packet(c, r, n=n, n_queries=n)
            store = bool(a["alloc"] or a["hit"])
            p = await tb.run(lambda: tb.compute(packet, ptr=a["ptr"], head=head, store=store),
                             miss_cycles(c, n, n), "compute")
            if store:
                maps[a["ptr"], head] = p
    assert hits >= 3, f"only {hits} hits"
    tb.report.add(packets=24, hits=hits)


@cocotb.test()
async def errors_and_reset(dut):
    """A hit with fewer values than cmd.n sets length_mismatch; a reset mid-packet clears it,
    and packets after the reset are exact."""
    tb = MemoTB(dut)
    await tb.start()
    r, c = rng(23), tb.cfg
    n = max(2, c.max_tokens // 2)
    packet = random_packet(c, r, n=n, n_queries=n)
    p = await tb.run(lambda: tb.compute(packet, ptr=1, head=0))
    tb.ignore_o = True
    tb.cmd.send([{"mode": Mode.HIT, "store": 0, "ptr": 1, "head": 0, "n": n}])
    tb.v.send({"data": row, "last": j == n - 2} for j, row in enumerate(tb.random_values(r, n - 1)))
    await tb.clocking.wait(60 + n * n)
    assert (await tb.read("errors"))["length_mismatch"] == 1
    tb.compute(random_packet(c, r, n=n, n_queries=n), ptr=2, head=0)
    tb.scoreboard.clear()
    await tb.clocking.wait(n + 5)
    await tb.clocking.reset(2, on_assert=tb.flush)
    await tb.clocking.wait(c.sets + 5)
    assert not any((await tb.read("errors")).values())
    await tb.run(lambda: tb.hit(tb.random_values(r, n), ptr=1, head=0, p=p),
                 hit_cycles(c, n, n, base=c.map_address(1, 0), latency=tb.latency), "hit after reset")
    tb.lookups([(5, 1, 0), (5, 1, 0)])
    await tb.drain()
    tb.report.add(packets=2)


@cocotb.test()
async def token_errors(dut):
    """The common stages' flags through the memo unit's own wiring, on COMPUTE packets: N + 1
    keys set ``key_overflow`` and N + 1 values ``value_overflow``, each alone, the excess token
    dropped (outputs those of the first N, exact); fewer values than keys set ``missing_value``
    (outputs not meaningful: framing only). A reset clears each."""
    tb = MemoTB(dut)
    await tb.start()
    r, c = rng(25), tb.cfg
    none = dict.fromkeys(Memo.ERRORS, 0)

    async def flags_then_reset(expected, what):
        await tb.drain()
        errors = await tb.read("errors")
        assert errors == {**none, **expected}, f"{what}: flags {errors} ({tb.scoreboard.context})"
        await tb.clocking.reset(2, on_assert=tb.flush)
        await tb.clocking.wait(c.sets + 5)
        errors = await tb.read("errors")
        assert errors == none, f"reset after {what} left flags {errors}"

    n = c.max_tokens
    for flag, extra_keys, extra_values in (("key_overflow", 1, 0), ("value_overflow", 0, 1)):
        packet = random_packet(c, r, n=n, n_queries=n)
        tb.send_compute(packet.k + tb.random_values(r, extra_keys), packet.v + tb.random_values(r, extra_values),
                        packet.q, packet.scale)
        tb.expect_compute(packet)
        await flags_then_reset({flag: 1}, f"{flag} (N={n})")
    if n >= 2:
        short = random_packet(c, r, n=2, n_queries=1)
        tb.send_compute(short.k, short.v[:1], short.q, short.scale)
        tb.scoreboard.expect("o", [{"last": True}])
        await flags_then_reset({"missing_value": 1}, "two keys, one value")
    tb.report.add(packets=3)


@cocotb.test()
async def axi_errors(dut):
    """Responses other than OKAY set their flags and nothing else. A stored COMPUTE whose map
    writes the memory model answers with SLVERR: ``axi_write``, and the packet's outputs are
    still exact (the write only stores the map). A HIT whose map reads are answered with
    SLVERR: ``axi_read`` too; the unit uses the data as read, so that packet's outputs are not
    compared."""
    tb = MemoTB(dut)
    await tb.start()
    r, c = rng(24), tb.cfg
    n = max(2, c.max_tokens // 2)
    none = dict.fromkeys(Memo.ERRORS, 0)
    record = range(c.map_address(1, 0), c.map_address(1, 0) + map_words(c, n, n) * (c.axi_data_width // 8))
    write, read = tb.ram_w._write, tb.ram_r._read
    tb.ram_w._write = failing(write, record)
    await tb.run(lambda: tb.compute(random_packet(c, r, n=n, n_queries=n), ptr=1, head=0), name="store fails")
    tb.ram_w._write = write
    errors = await tb.read("errors")
    assert errors == {**none, "axi_write": 1}, f"flags {errors}"

    tb.ram_r._read = failing(read, record)
    tb.ignore_o = True
    tb.cmd.send([{"mode": Mode.HIT, "store": 0, "ptr": 1, "head": 0, "n": n}])
    tb.v.send({"data": row, "last": j == n - 1} for j, row in enumerate(tb.random_values(r, n)))
    await tb.drain()
    tb.ram_r._read, tb.ignore_o = read, False
    errors = await tb.read("errors")
    assert errors == {**none, "axi_write": 1, "axi_read": 1}, f"flags {errors}"
    tb.report.add(packets=2)


@cocotb.test()
async def vectors(dut):
    """Committed golden vectors (ATTNFORGE_VECTORS) on the lookup ports: each is a reset, a
    register write, then back-to-back lookups; every answer equals the file's and the run
    takes its cycles (lookups + LOOKUP_LATENCY)."""
    import json

    from verif.vectors import load_vector
    tb = MemoTB(dut)
    await tb.start()
    count = 0
    for path in json.loads(os.environ["ATTNFORGE_VECTORS"]):
        vector = load_vector(path)
        await tb.clocking.reset(2, on_assert=tb.table.reset)
        await tb.clocking.wait(tb.cfg.sets + 2)
        inputs, expected = vector["inputs"], vector["expected"]
        tb.dut.regs__payload.value = Packer(registers_layout(tb.cfg)).pack({"tau": inputs["tau"], "mask": inputs["mask"]})
        tb.dut.regs__valid.value = 1
        await tb.clocking.wait(1)
        tb.dut.regs__valid.value = 0
        tb.table.write_registers(inputs["tau"], inputs["mask"])
        first_answer, first_req = len(tb.answers), len(tb.lookup.handshakes)
        requests = [tuple(x) for x in inputs["lookups"]]
        tb.lookup.send({"sig": s, "length": n, "ctx": c} for s, n, c in requests)
        tb.scoreboard.expect("answer", expected["answers"])
        await tb.drain()
        assert tb.answers[first_answer:] == expected["answers"]
        cycles = tb.answer.handshakes[-1] - tb.lookup.handshakes[first_req] + 1
        assert cycles == expected["cycles"], f"{path}: {cycles} cycles, expected {expected['cycles']}"
        count += 1
    tb.report.add(packets=count)


@cocotb.test()
async def workload(dut):
    """A request stream in order (scripts/benchlib/memo.py writes it): ATTNFORGE_WORKLOAD holds
    the head packets (verif/workloads.py; ``sentence`` = request), ATTNFORGE_MEMO_STREAM a JSON
    file with the ``tau`` and ``mask`` registers, the selective ``head_mask`` [layer][head] and
    the ``lookups`` in order, each ``request``, ``layer`` (the context), ``n``, ``sig`` (the
    host's signature) and the golden model's ``answer``. Per lookup: the answer, checked
    against the golden table and the captured one; then per head, as
    golden.memo.model.memo_layer_int: a HIT packet on the stored map when the lookup hit and
    the head is enabled, else a COMPUTE packet that stores its map when a miss allocated. Exact
    outputs; reports per packet the unit's counters, the AXI bytes read (counted on the read
    port) and, on a lookup's first packet, the lookup's cycles (request to answer)."""
    import json

    from verif.dense.packets import Packet
    from verif.workloads import load_packets
    stream = json.loads(open(os.environ["ATTNFORGE_MEMO_STREAM"]).read())
    tb = MemoTB(dut)
    read_bytes = [0]
    receive = tb.ram_r.ar_channel.recv

    async def counted():
        ar = await receive()
        read_bytes[0] += (int(ar.arlen) + 1) << int(ar.arsize)
        return ar
    tb.ram_r.ar_channel.recv = counted  # before the RAM's read loop first awaits an AR (at the first await)
    await tb.start()
    c = tb.cfg
    tb.dut.regs__payload.value = Packer(registers_layout(c)).pack({"tau": stream["tau"], "mask": stream["mask"]})
    tb.dut.regs__valid.value = 1
    await tb.clocking.wait(1)
    tb.dut.regs__valid.value = 0
    tb.table.write_registers(stream["tau"], stream["mask"])

    groups = {}
    for p in load_packets(os.environ["ATTNFORGE_WORKLOAD"]):
        groups.setdefault((p.sentence, p.layer), []).append(p)
    maps = {}  # (ptr, head) -> (n, map) the RAM holds
    results, counters = [], {"hits": 0, "stores": 0}
    for item in stream["lookups"]:
        n, layer = item["n"], item["layer"]
        tb.lookups([(int(item["sig"]), n, layer)])
        await tb.drain()
        a = tb.answers[-1]
        assert a == item["answer"], (f"request {item['request']} layer {layer}: answer {a}, the golden model in "
                                     f"MiniLM gave {item['answer']} ({tb.scoreboard.context})")
        lookup_cycles = tb.answer.handshakes[-1] - tb.lookup.handshakes[-1] + 1
        for i, p in enumerate(groups.get((item["request"], layer), [])):
            assert p.n == n, f"{p.name}: {p.n} tokens, its lookup says {n}"
            before = read_bytes[0]
            store = False
            if a["hit"] and stream["head_mask"][layer][p.head]:
                held = maps.get((a["ptr"], p.head))
                assert held is not None and held[0] == n, (
                    f"{p.name} hits entry {a['ptr']}, whose record holds {held and held[0]} tokens for head {p.head}")
                await tb.run(lambda: tb.hit(p.v, ptr=a["ptr"], head=p.head, p=held[1]))
                mode = "hit"
            else:
                store = not a["hit"] and bool(a["alloc"])
                packet = Packet(q=p.q, k=p.k, v=p.v, scale=[p.scale] * n, name=p.name)
                probs = await tb.run(lambda: tb.compute(packet, ptr=a["ptr"], head=p.head, store=store))
                if store:
                    maps[a["ptr"], p.head] = (n, probs)
                mode = "compute"
            perf = await tb.read("perf")
            delta = {k: perf[k] - counters[k] for k in counters}
            counters = {k: perf[k] for k in counters}
            assert delta == {"hits": int(mode == "hit"), "stores": int(store)}, f"{p.name}: counters moved by {delta}"
            results.append({**p.meta(), "mode": mode, "store": int(store), "lookup_hit": a["hit"], "ptr": a["ptr"],
                            "cycles": perf["cycles"], "mac_cycles": perf["mac_cycles"],
                            "lookup_cycles": lookup_cycles if i == 0 else 0,
                            "axi_read_bytes": read_bytes[0] - before})
    assert not any((await tb.read("errors")).values())
    tb.report.add(workload=results)
