"""cocotb testbench: the ECP5 DP16KD memories (with the behavioural model in ecp5_dp16kd.v)
against the generic memory and register, every case of the harness on every cycle."""

from __future__ import annotations

import cocotb

from verif.common.bram_harness import BankCase
from verif.common.pair_bench import harness_cases, run_pairs
from verif.common.primitive_pair import port_prefix
from verif.kit.env import Report, rng, seed

CYCLES = 4000


class BankDriver:
    """One case's ports: random writes, reads (half of them of recently written words), read-stage
    and output enables (half the cycles one enable for both, as in the map buffer). A read never
    meets a write of its address in the same cycle (undefined on the block RAM; with the write
    registered, one cycle later). Members: ``case``, ``seen`` (the words read)."""

    def __init__(self, dut, index: int, case: BankCase):
        self.case = case
        self.rng = rng(1 + index)
        prefix = port_prefix(index)
        for name in ("w_addr", "w_data", "w_en", "r_addr", "r_en", "o_en", "generic", "ecp5"):
            setattr(self, name, getattr(dut, prefix + name))
        self.written = []
        self.landing = []   # (address, enable): this cycle's write and, when registered, the last cycle's, which lands now
        self.seen = set()

    def idle(self):
        for port in (self.w_addr, self.w_data, self.w_en, self.r_addr, self.r_en, self.o_en):
            port.value = 0

    def drive(self):
        r, case = self.rng, self.case
        w_addr = r.randrange(case.depth)
        w_en = r.random() < 0.5
        self.w_addr.value, self.w_en.value = w_addr, w_en
        self.w_data.value = r.getrandbits(case.width)
        if w_en:
            self.written = (self.written + [w_addr])[-64:]
        r_addr = r.choice(self.written) if self.written and r.random() < 0.5 else r.randrange(case.depth)
        self.landing = (self.landing + [(w_addr, w_en)])[-2:] if case.write_registered else [(w_addr, w_en)]
        while any(en and r_addr == addr for addr, en in self.landing):
            r_addr = (r_addr + 1) % case.depth
        self.r_addr.value = r_addr
        r_en = r.random() < 0.7
        self.r_en.value = r_en
        self.o_en.value = r_en if r.random() < 0.5 else r.random() < 0.7

    def check(self, cycle: int):
        generic, ecp5 = self.generic.value, self.ecp5.value
        assert ecp5 == generic, f"seed {seed()} case {self.case.key} cycle {cycle}: ecp5 {ecp5} generic {generic}"
        self.seen.add(int(generic))


@cocotb.test()
async def equal_every_cycle(dut):
    """Every case driven at random (:class:`BankDriver`), with resets shared by all: both words
    equal in every cycle, and each case read many different non-zero words (else it compared
    little)."""
    banks = [BankDriver(dut, i, case) for i, case in enumerate(harness_cases(BankCase))]
    await run_pairs(dut, banks, CYCLES)
    for bank in banks:
        distinct = min(200, 2 ** bank.case.width // 2)
        assert len(bank.seen) > distinct, f"seed {seed()} case {bank.case.key}: only {len(bank.seen)} distinct words"
    Report().add(cycles=CYCLES, cases=len(banks), distinct=min(len(bank.seen) for bank in banks))
