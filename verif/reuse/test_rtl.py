"""pytest entry points: the reuse cocotb testbench on Verilator, per config and test case."""

import pytest

from golden.reuse import ReuseConfig
from verif.rtl import rtl_case, run_vectors

CONFIGS = {
    "small": ReuseConfig(head_dim=8, max_tokens=16, lanes=4, heads=2),                 # 8 ws lanes: 1 cycle per P
    "narrow": ReuseConfig(head_dim=16, max_tokens=24, lanes=4, heads=3, ws_factor=1),  # N not a power of two
    "d32": ReuseConfig(heads=1),                                                       # MiniLM's d, N=128
}
CASES = {
    "small": ["compute_then_reuse", "full_length", "stalls", "errors", "reset_mid_packet"],
    "narrow": ["compute_then_reuse", "full_length", "stalls", "errors"],
    "d32": ["full_length"],
}


@pytest.mark.rtl
@pytest.mark.parametrize("config, case", [(c, k) for c, cases in CASES.items() for k in cases])
def test_reuse(config, case):
    rtl_case("reuse", config, CONFIGS[config], "verif.reuse.tb_reuse", case)


@pytest.mark.rtl
def test_reuse_vectors():
    """Every committed reuse vector on the RTL: exact outputs and cycle counts."""
    run_vectors("reuse", "verif.reuse.tb_reuse")
