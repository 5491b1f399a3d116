"""hw.common.dsp's ECP5 products (MULT18X18D instances with their own registers) against the
generic pipelined product, on Verilator with the behavioural MULT18X18D model: every operand
shape the stages use, random stage enables and resets. Every shape is a pair in one harness,
built and run once."""

from pathlib import Path

import pytest

from verif.common.dsp_harness import ProductCase, ProductPair
from verif.common.operands import PRODUCT_SHAPES
from verif.common.primitive_pair import check_pairs

MODEL = Path(__file__).with_name("ecp5_mult18x18d.v")
# Every product shape the stages build, each stage with its own random enable (half the cycles
# all of them at once, as in a stall-as-unit pipeline; otherwise as in the softmax reader's
# bubble-collapsing one).
CASES = [ProductCase(*shape) for shape in PRODUCT_SHAPES]


@pytest.mark.rtl
def test_ecp5_products_equal_generic():
    check_pairs("dsp_ecp5", CASES, ProductPair, "product_pairs", MODEL, "verif.common.tb_dsp_ecp5")
