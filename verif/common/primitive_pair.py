"""Run a harness that holds a generic circuit and its ECP5-primitive form side by side on
Verilator, with a behavioural model of the primitive, and fail with the seed on a mismatch.
Shared by verif/common/test_dsp_ecp5.py and verif/common/test_bram_ecp5.py."""

from pathlib import Path

from amaranth.back import verilog

from verif.rtl import default_seed
from verif.runner import BUILD, Build, run, verilate

__all__ = ["check_pair"]


def check_pair(kind: str, case, harness, top: str, model: Path, test_module: str):
    """Build ``harness`` (ports ``harness.ports``) as module ``top`` with ``model``, run the
    cocotb module ``test_module`` on it and assert it passed. ``case.key`` names the build."""
    directory = BUILD / f"{kind}-{case.key}"
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / f"{top}.v"
    source.write_text(verilog.convert(harness, name=top, ports=harness.ports, emit_src=False))
    verilate([source, model], top, directory)
    seed = default_seed()
    result = run(Build(kind, case, directory, top), test_module, seed=seed)
    assert result["tests"] == 1 and result["failed"] == 0, (
        f"{case.key}: {result['failure']} (seed {seed}; replay with ATTNFORGE_SEED={seed}); log: {result['log']}")
