"""Every unit's default-config Verilog is lint-clean under ``verilator --lint-only -Wall``."""

import pytest

from gen.emit import emit_unit
from hw.units import all_units
from verif.lint.verilator_lint import lint_file


@pytest.mark.parametrize("name", sorted(all_units()))
def test_default_config_is_lint_clean(name, tmp_path):
    unit = all_units()[name]
    art = emit_unit(unit, unit.config(), tmp_path)
    problems = lint_file(art.verilog)
    assert not problems, "\n".join(problems[:10])
