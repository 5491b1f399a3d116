"""Every unit's default-config Verilog is lint-clean under ``verilator --lint-only -Wall`` and
compiles cleanly with Icarus Verilog (``iverilog -g2012 -Wall``), a second, independent parser.
The emitted artifacts (.v, .f, .json, .core, .vlt) are all written."""

import json

import pytest

from hw.units import all_units
from verif.lint.icarus_lint import MISSING, compile_file, iverilog
from verif.lint.verilator_lint import lint_file
from verif.runner import emit


def emitted(name):
    """The default config's artifacts, from verif.runner's emission cache (build/sim): the
    Verilator builds of the default configs and every pytest worker share one emission."""
    return emit(name, all_units()[name].config())


@pytest.mark.parametrize("name", sorted(all_units()))
def test_default_config_is_lint_clean(name):
    problems = lint_file(emitted(name).verilog)
    assert not problems, "\n".join(problems[:10])


# Configs whose Verilog has constructs the default configs' lacks: one head makes the map
# buffer's head numbers zero-width signals (`wire [-1:0] head;`, the waived ASCRANGE).
EDGE_CONFIGS = [("reuse", {"heads": 1})]


@pytest.mark.parametrize("name, overrides", EDGE_CONFIGS, ids=lambda v: str(v))
def test_edge_config_is_lint_clean(name, overrides):
    art = emit(name, all_units()[name].config(**overrides))
    problems = lint_file(art.verilog)
    assert not problems, "\n".join(problems[:10])
    if iverilog() is not None:
        problems = compile_file(art.verilog, name)
        assert not problems, "\n".join(problems[:10])


@pytest.mark.parametrize("name", sorted(all_units()))
def test_default_config_compiles_with_icarus(name):
    if iverilog() is None:
        pytest.skip(MISSING)
    problems = compile_file(emitted(name).verilog, name)
    assert not problems, "\n".join(problems[:10])


@pytest.mark.parametrize("name", sorted(all_units()))
def test_artifacts(name):
    art = emitted(name)
    assert art.filelist.read_text().strip() == str(art.verilog.resolve())
    assert json.loads(art.manifest.read_text())["top"] == name
    core = art.core.read_text()
    assert core.startswith("CAPI=2:\n") and f"toplevel: {name}\n" in core
    assert f"- {name}.v\n" in core and f"- {name}.vlt\n" in core and art.waivers.exists()
