"""hw.common.dsp's ECP5 products (MULT18X18D instances with their own registers) against the
generic pipelined product, on Verilator with the behavioural MULT18X18D model: every operand
shape the stages use, random stage enables and resets."""

from pathlib import Path

import pytest
from amaranth.back import verilog

from verif.common.dsp_harness import ProductCase, ProductPair
from verif.common.operands import PRODUCT_SHAPES
from verif.rtl import default_seed
from verif.runner import BUILD, Build, run, verilate

MODEL = Path(__file__).with_name("ecp5_mult18x18d.v")
# Every product shape the stages build, each stage with its own random enable (half the cycles
# all of them at once, as in a stall-as-unit pipeline; otherwise as in the softmax reader's
# bubble-collapsing one).
CASES = [ProductCase(*shape) for shape in PRODUCT_SHAPES]


@pytest.mark.rtl
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.key)
def test_ecp5_products_equal_generic(case):
    directory = BUILD / f"dsp_ecp5-{case.key}"
    directory.mkdir(parents=True, exist_ok=True)
    harness = ProductPair(case)
    source = directory / "product_pair.v"
    source.write_text(verilog.convert(harness, name="product_pair", ports=harness.ports, emit_src=False))
    verilate([source, MODEL], "product_pair", directory)
    seed = default_seed()
    result = run(Build("dsp_ecp5", case, directory, "product_pair"), "verif.common.tb_dsp_ecp5", seed=seed)
    assert result["tests"] == 1 and result["failed"] == 0, (
        f"{case.key}: {result['failure']} (seed {seed}; replay with ATTNFORGE_SEED={seed}); log: {result['log']}")
