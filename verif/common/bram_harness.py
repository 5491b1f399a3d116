"""The generic registered-read memory and the ECP5 one side by side, on the same writes, reads
and enables: the design verif/common/tb_bram_ecp5.py compares, cycle by cycle."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from amaranth import Elaboratable, Module, Signal

from hw.common.bram import RegisteredReadMemory, dp16kd_mode
from hw.common.dsp import ECP5

__all__ = ["BankCase", "BankPair"]


@dataclass(frozen=True)
class BankCase:
    """A memory shape. Members: ``width``, ``depth``, ``write_registered`` (the write port's
    signals registered in front of the memory, as the weighted sum's value buffer has them);
    ``block_width`` (the DP16KD configuration it maps to), ``key``."""

    width: int
    depth: int
    write_registered: bool = False

    @property
    def block_width(self) -> int:
        return dp16kd_mode(self.width, self.depth)[0]

    @property
    def key(self) -> str:
        return f"{self.width}x{self.depth}" + ("_wreg" if self.write_registered else "")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "BankCase":
        return cls(**values)


class BankPair(Elaboratable):
    """Members: ``w_addr``, ``w_data``, ``w_en`` (write); ``r_addr``, ``r_en`` (read stage);
    ``o_en`` (output register); ``generic``, ``ecp5`` the two registered read words. Their
    port names start with ``prefix``."""

    def __init__(self, case: BankCase, prefix: str = ""):
        self.case = case
        self.w_addr = Signal(range(case.depth), name=f"{prefix}w_addr")
        self.w_data = Signal(case.width, name=f"{prefix}w_data")
        self.w_en = Signal(name=f"{prefix}w_en")
        self.r_addr = Signal(range(case.depth), name=f"{prefix}r_addr")
        self.r_en = Signal(name=f"{prefix}r_en")
        self.o_en = Signal(name=f"{prefix}o_en")
        self.generic = Signal(case.width, name=f"{prefix}generic")
        self.ecp5 = Signal(case.width, name=f"{prefix}ecp5")

    def elaborate(self, platform):
        m = Module()
        for out, target in ((self.generic, None), (self.ecp5, ECP5)):
            name = "generic" if target is None else "ecp5"
            bank = RegisteredReadMemory(m, width=self.case.width, depth=self.case.depth, name=f"{name}_mem",
                                        platform=target, write_registered=self.case.write_registered)
            assert bank.ecp5 == (target is not None), "the ECP5 side must be DP16KD instances"
            m.d.comb += [bank.write.addr.eq(self.w_addr), bank.write.data.eq(self.w_data),
                         bank.write.en.eq(self.w_en), bank.read.addr.eq(self.r_addr), bank.read.en.eq(self.r_en),
                         out.eq(bank.registered(self.o_en, f"{name}_word"))]
        return m

    @property
    def ports(self) -> list:
        return [self.w_addr, self.w_data, self.w_en, self.r_addr, self.r_en, self.o_en, self.generic, self.ecp5]
