"""Every unit's default-config Verilog is lint-clean under ``verilator --lint-only -Wall`` and
compiles cleanly with Icarus Verilog (``iverilog -g2012 -Wall``), a second, independent parser.
The emitted artifacts (.v, .f, .json, .core, .vlt) are all written."""

import json

import pytest

from gen.emit import emit_unit
from hw.units import all_units
from verif.lint.icarus_lint import MISSING, compile_file, iverilog
from verif.lint.verilator_lint import lint_file


@pytest.fixture(scope="session")
def emitted(tmp_path_factory):
    """The default config's artifacts, emitted once per worker process, under pytest's
    temporary directory (which pytest prunes, unlike a bare mkdtemp)."""
    cache = {}

    def artifacts(name):
        if name not in cache:
            unit = all_units()[name]
            cache[name] = emit_unit(unit, unit.config(), tmp_path_factory.mktemp(f"lint-{name}"))
        return cache[name]
    return artifacts


@pytest.mark.parametrize("name", sorted(all_units()))
def test_default_config_is_lint_clean(name, emitted):
    problems = lint_file(emitted(name).verilog)
    assert not problems, "\n".join(problems[:10])


@pytest.mark.parametrize("name", sorted(all_units()))
def test_default_config_compiles_with_icarus(name, emitted):
    if iverilog() is None:
        pytest.skip(MISSING)
    problems = compile_file(emitted(name).verilog, name)
    assert not problems, "\n".join(problems[:10])


@pytest.mark.parametrize("name", sorted(all_units()))
def test_artifacts(name, emitted):
    art = emitted(name)
    assert art.filelist.read_text().strip() == str(art.verilog.resolve())
    assert json.loads(art.manifest.read_text())["top"] == name
    core = art.core.read_text()
    assert core.startswith("CAPI=2:\n") and f"toplevel: {name}\n" in core
    assert f"- {name}.v\n" in core and f"- {name}.vlt\n" in core and art.waivers.exists()
