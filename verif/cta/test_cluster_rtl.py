"""pytest entry points: the CTA clustering unit's testbench on Verilator: a chunked config (d/L
cycles per token) and a streaming one (lanes = d: one token per cycle, where the decide stage
forwards the clusters opened by every token still in flight)."""

import pytest

from golden.cta import CtaConfig
from verif.rtl import rtl_case

CONFIGS = {
    "chunked": CtaConfig(head_dim=8, max_tokens=16, lanes=2, hash_bits=4, max_clusters=6),
    "streaming": CtaConfig(head_dim=8, max_tokens=16, lanes=8, hash_bits=4, max_clusters=6),
}


@pytest.mark.rtl
@pytest.mark.parametrize("case", ["cases", "forwarding", "stalls", pytest.param("reset_mid_packet", marks=pytest.mark.slow)])
@pytest.mark.parametrize("config", CONFIGS)
def test_cta_cluster(config, case):
    rtl_case("cta_cluster", config, CONFIGS[config], "verif.cta.tb_cluster", case)
