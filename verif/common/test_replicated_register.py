"""``replicated_register``: its copies survive the ECP5 flow of scripts/synth.py as separate
flip-flops, and only because of that flow's keep step (without it Yosys merges them into one)."""

import importlib.util
import subprocess
from pathlib import Path

import pytest
from amaranth import Module, Mux, Signal
from amaranth.back import verilog

from hw.common.pipeline import replicated_register

ROOT = Path(__file__).resolve().parents[2]
COPIES = 3


def _synth_script_module():
    spec = importlib.util.spec_from_file_location("attnforge_synth_script", ROOT / "scripts" / "synth.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _verilog():
    """Three copies of one select, each steering its own 8-bit multiplexer to an output."""
    m = Module()
    a, b = Signal(name="a"), Signal(name="b")
    xs = [Signal(8, name=f"x{i}") for i in range(COPIES)]
    ys = [Signal(8, name=f"y{i}") for i in range(COPIES)]
    outs = [Signal(8, name=f"o{i}") for i in range(COPIES)]
    selects = replicated_register(m, a & b, "sel", COPIES)
    m.d.comb += [o.eq(Mux(s, x, y)) for o, s, x, y in zip(outs, selects, xs, ys)]
    return verilog.convert(m, name="top", ports=[a, b, *xs, *ys, *outs])


def test_copies_are_distinct_kept_registers_in_the_verilog():
    text = _verilog()
    for i in range(COPIES):
        assert f"sel_copy{i}" in text
    assert text.count("keep") >= COPIES, "each copy carries the keep attribute"


@pytest.mark.parametrize("keep_step, flip_flops", [(True, COPIES), (False, 1)])
def test_copies_survive_the_ecp5_flow_only_with_its_keep_step(tmp_path, keep_step, flip_flops):
    synth = _synth_script_module()
    script = synth.ecp5_script("top")
    assert synth.KEEP_REPLICAS in script
    if not keep_step:
        script = script.replace(synth.KEEP_REPLICAS, "")
    (tmp_path / "top.v").write_text(_verilog())
    (tmp_path / "top.ys").write_text(script)
    yosys, _ = synth.yosys_cmd()
    run = subprocess.run([*yosys, "-q", "-s", "top.ys"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    counts, _ = synth.netlist_cells(tmp_path / "top.ecp5.json", "top")
    assert counts["TRELLIS_FF"] == flip_flops, dict(counts)
