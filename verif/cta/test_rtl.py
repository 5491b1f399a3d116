"""pytest entry points: the CTA cocotb testbench on Verilator, per config and test case."""

import pytest

from golden.cta import CtaConfig
from verif.rtl import rtl_case, run_vectors

CONFIGS = {
    "small": CtaConfig(head_dim=8, max_tokens=16, lanes=4, hash_bits=4, max_clusters=6),
    "keys": CtaConfig(head_dim=8, max_tokens=16, lanes=8, hash_bits=5, max_clusters=8, compress="keys"),
    "queries": CtaConfig(head_dim=8, max_tokens=16, lanes=2, hash_bits=3, max_clusters=5, compress="queries"),
    "default": CtaConfig(),                    # d=32 N=128 L=16 H=8 C=32, compress both
}
CASES = ["random_packets", "cases", "padded", "stalls", "reset_mid_packet", "error_flags"]
#: make test runs one unstalled and one stalled case per config, the error flags on the small
#: configs (and the vectors); make sim all.
FAST = {"cases", "stalls"}


def _marks(config, case):
    fast = case in FAST or (case == "error_flags" and config != "default")
    return [] if fast else [pytest.mark.slow]


@pytest.mark.rtl
@pytest.mark.parametrize("config, case", [pytest.param(c, k, marks=_marks(c, k)) for c in CONFIGS for k in CASES])
def test_cta(config, case):
    rtl_case("cta", config, CONFIGS[config], "verif.cta.tb_cta", case)


@pytest.mark.rtl
def test_cta_vectors():
    """Every committed CTA vector on the RTL: exact outputs and cycle counts."""
    run_vectors("cta", "verif.cta.tb_cta")
