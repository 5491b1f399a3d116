"""pytest entry points: the hasher testbench on Verilator."""

import pytest

from golden.hashing import HasherConfig
from verif.rtl import rtl_case

CONFIGS = {
    "cta": HasherConfig(dim=32, lanes=32, bits=8, seed=1),        # one key per cycle
    "memo": HasherConfig(dim=48, lanes=8, bits=64, seed=7),       # chunked, wide signature
}


@pytest.mark.rtl
@pytest.mark.parametrize("case", ["random_and_extremes", "stalls", "reset_mid_stream"])
@pytest.mark.parametrize("config", CONFIGS)
def test_hasher(config, case):
    rtl_case("hasher", config, CONFIGS[config], "verif.hasher.tb_hasher", case)
