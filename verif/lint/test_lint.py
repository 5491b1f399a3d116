"""Every unit's default-config Verilog is lint-clean under ``verilator --lint-only -Wall`` and
compiles cleanly with Icarus Verilog (``iverilog -g2012 -Wall``), a second, independent parser.
The emitted artifacts (.v, .f, .json, .core, .vlt) are all written."""

import json

import pytest

from hw.units import all_units
from verif.lint.icarus_lint import MISSING, compile_file, iverilog
from verif.lint.verilator_lint import lint_file
from verif.runner import emit


def emitted(name, overrides=None):
    """A config's artifacts (the default's, or with ``overrides``), from verif.runner's emission
    cache (build/sim): the Verilator builds and every pytest worker share one emission."""
    return emit(name, all_units()[name].config(**(overrides or {})))


# Every unit's default config, and configs whose Verilog has constructs the defaults' lacks: one
# head makes reuse's map-buffer head numbers zero-width signals (`wire [-1:0] head;`, the
# waived ASCRANGE).
CONFIGS = [(name, None) for name in sorted(all_units())] + [("reuse", {"heads": 1})]
IDS = [name + "".join(f"-{k}={v}" for k, v in (overrides or {}).items()) for name, overrides in CONFIGS]


@pytest.mark.parametrize("name, overrides", CONFIGS, ids=IDS)
def test_config_is_lint_clean(name, overrides):
    problems = lint_file(emitted(name, overrides).verilog)
    assert not problems, "\n".join(problems[:10])


@pytest.mark.parametrize("name, overrides", CONFIGS, ids=IDS)
def test_config_compiles_with_icarus(name, overrides):
    if iverilog() is None:
        pytest.skip(MISSING)
    problems = compile_file(emitted(name, overrides).verilog, name)
    assert not problems, "\n".join(problems[:10])


@pytest.mark.parametrize("name", sorted(all_units()))
def test_artifacts(name):
    art = emitted(name)
    assert art.filelist.read_text().strip() == str(art.verilog.resolve())
    assert json.loads(art.manifest.read_text())["top"] == name
    core = art.core.read_text()
    assert core.startswith("CAPI=2:\n") and f"toplevel: {name}\n" in core
    assert f"- {name}.v\n" in core and f"- {name}.vlt\n" in core and art.waivers.exists()
