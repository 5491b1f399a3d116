"""pytest entry points: the CTA clustering unit's testbench on Verilator (one token per cycle
is covered inside the engine by verif/cta/test_rtl.py's ``keys`` config, lanes = d)."""

import pytest

from golden.cta import CtaConfig
from verif.rtl import rtl_case

CONFIGS = {
    "chunked": CtaConfig(head_dim=8, max_tokens=16, lanes=2, hash_bits=4, max_clusters=6),
}


@pytest.mark.rtl
@pytest.mark.parametrize("case", ["cases", "stalls", pytest.param("reset_mid_packet", marks=pytest.mark.slow)])
@pytest.mark.parametrize("config", CONFIGS)
def test_cta_cluster(config, case):
    rtl_case("cta_cluster", config, CONFIGS[config], "verif.cta.tb_cluster", case)
