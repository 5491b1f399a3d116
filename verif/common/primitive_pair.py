"""Run a harness that holds generic circuits and their ECP5-primitive forms side by side on
Verilator, with a behavioural model of the primitive, and fail with the seed on a mismatch.
Every case of a kind is one pair in one harness (ports prefixed ``c<i>_``): one Verilator
build and one simulator start per kind, not one per case (each build compiles the model and
the harness anew, and each start loads cocotb and torch). Shared by
verif/common/test_dsp_ecp5.py and verif/common/test_bram_ecp5.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from amaranth import Elaboratable, Module
from amaranth.back import verilog

from verif.rtl import default_seed
from verif.runner import BUILD, Build, run, verilate

__all__ = ["CaseList", "PairHarness", "check_pairs", "port_prefix"]


def port_prefix(index: int) -> str:
    """The prefix of case ``index``'s ports in a :class:`PairHarness`."""
    return f"c{index}_"


@dataclass(frozen=True)
class CaseList:
    """The cases of one harness, the config the runner hands to the testbench. Members:
    ``cases`` (each with ``to_dict``); :meth:`to_dict`."""

    cases: tuple

    def to_dict(self) -> dict:
        return {"cases": [c.to_dict() for c in self.cases]}


class PairHarness(Elaboratable):
    """The pairs side by side (each a submodule with ``ports``, named with
    :func:`port_prefix`). Members: ``pairs``, ``ports`` (all the pairs' ports)."""

    def __init__(self, pairs: list):
        self.pairs = pairs

    def elaborate(self, platform):
        m = Module()
        for i, pair in enumerate(self.pairs):
            m.submodules[f"case{i}"] = pair
        return m

    @property
    def ports(self) -> list:
        return [port for pair in self.pairs for port in pair.ports]


def check_pairs(kind: str, cases: list, make_pair, top: str, model: Path, test_module: str):
    """Build one harness of ``make_pair(case, prefix)`` per case as module ``top`` with
    ``model``, run the cocotb module ``test_module`` on it and assert it passed."""
    case_list = CaseList(tuple(cases))
    harness = PairHarness([make_pair(case, port_prefix(i)) for i, case in enumerate(cases)])
    directory = BUILD / kind
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / f"{top}.v"
    source.write_text(verilog.convert(harness, name=top, ports=harness.ports, emit_src=False))
    verilate([source, model], top, directory)
    seed = default_seed()
    result = run(Build(kind, case_list, directory, top), test_module, seed=seed)
    assert result["tests"] == 1 and result["failed"] == 0, (
        f"{kind}: {result['failure']} (seed {seed}; replay with ATTNFORGE_SEED={seed}); log: {result['log']}")
