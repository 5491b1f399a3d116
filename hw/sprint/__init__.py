"""SPRINT: behavioural ReRAM pruning macro and the recompute engine with K/V reuse over AXI."""

from golden.sprint import SprintConfig

from ..units import Unit
from .reram_macro import ReramMacro, macro_blackbox
from .sprint import Sprint, SprintEngine

__all__ = ["Sprint", "SprintEngine", "ReramMacro", "UNITS"]

UNITS = [
    Unit(name="sprint", config=SprintConfig, component=Sprint,
         summary="SPRINT: ReRAM pruning macro, K/V fetch over AXI with on-chip reuse, exact recompute"),
    Unit(name="sprint_engine", config=SprintConfig, component=SprintEngine,
         summary="SPRINT's recompute engine with the pruning macro's ports at its top level "
                 "(a real macro links there; FPGA synthesis of the engine alone)"),
    Unit(name="reram_macro", config=SprintConfig, component=ReramMacro,
         summary="behavioural ReRAM pruning macro (keep mask per query); --blackbox for an ASIC flow",
         blackbox=macro_blackbox),
]
