"""The generic pipelined product and the ECP5 one side by side, on the same operands and stage
enables: the design verif/common/tb_dsp_ecp5.py compares, cycle by cycle."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from amaranth import Elaboratable, Module, Signal, signed, unsigned

from golden.timing import product_latency
from hw.common.dsp import ECP5
from hw.common.pipeline import pipelined_product

__all__ = ["ProductCase", "ProductPair"]


@dataclass(frozen=True)
class ProductCase:
    """Operand shapes of a product; each of its ``stages`` has its own enable.

    Members: ``a_bits``, ``a_signed``, ``b_bits``, ``b_signed``; ``stages``, ``key``."""

    a_bits: int
    a_signed: bool
    b_bits: int
    b_signed: bool

    @property
    def stages(self) -> int:
        return product_latency(self.a_bits, self.a_signed, self.b_bits, self.b_signed)

    @property
    def key(self) -> str:
        return "{}{}x{}{}".format(self.a_bits, "s" if self.a_signed else "u", self.b_bits,
                                  "s" if self.b_signed else "u")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ProductCase":
        return cls(**values)


class ProductPair(Elaboratable):
    """Members: ``a``, ``b`` operands; ``en`` (one bit per stage enable);
    ``generic``, ``ecp5`` the two products. Their port names start with ``prefix``."""

    def __init__(self, case: ProductCase, prefix: str = ""):
        self.case = case
        self.a = Signal(signed(case.a_bits) if case.a_signed else unsigned(case.a_bits), name=f"{prefix}a")
        self.b = Signal(signed(case.b_bits) if case.b_signed else unsigned(case.b_bits), name=f"{prefix}b")
        self.en = Signal(case.stages, name=f"{prefix}en")
        shape = (self.a * self.b).shape()
        self.generic, self.ecp5 = Signal(shape, name=f"{prefix}generic"), Signal(shape, name=f"{prefix}ecp5")

    def elaborate(self, platform):
        m = Module()
        en = list(self.en)
        m.d.comb += [
            self.generic.eq(pipelined_product(m, en, self.a, self.b, "generic")),
            self.ecp5.eq(pipelined_product(m, en, self.a, self.b, "ecp5", platform=ECP5)),
        ]
        return m

    @property
    def ports(self) -> list:
        return [self.a, self.b, self.en, self.generic, self.ecp5]
