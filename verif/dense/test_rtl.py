"""pytest entry points: the dense cocotb testbench on Verilator, per config and test case."""

import pytest

from golden.dense import DenseConfig
from verif.rtl import rtl_case, run_vectors

CONFIGS = {
    "default": DenseConfig(),                                      # d=32 N=128 L=16
    "small": DenseConfig(head_dim=8, max_tokens=16, lanes=4),
    "lanes_eq_d": DenseConfig(head_dim=16, max_tokens=24, lanes=16),  # one chunk per score
}
CASES = ["random_packets", "extremes", "full_length", "stalls", "reset_mid_packet", "error_flags"]


@pytest.mark.rtl
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("config", CONFIGS)
def test_dense(config, case):
    rtl_case("dense", config, CONFIGS[config], "verif.dense.tb_dense", case)


@pytest.mark.rtl
def test_dense_vectors():
    """Every committed dense vector on the RTL: exact outputs and cycle counts."""
    run_vectors("dense", "verif.dense.tb_dense")
