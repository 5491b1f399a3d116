"""pytest entry points: the AXI4 read manager against AxiRam on Verilator."""

import pytest

from golden.axi import AxiReaderConfig
from verif.rtl import rtl_case

CONFIGS = {"w64": AxiReaderConfig(data_width=64, max_burst=16, outstanding=2),
           "w256": AxiReaderConfig(data_width=256, max_burst=4, outstanding=1),
           "deep": AxiReaderConfig(data_width=32, max_burst=8, outstanding=6)}  # data only: no timing model


@pytest.mark.rtl
@pytest.mark.parametrize("case", ["commands", "stalls"])
@pytest.mark.parametrize("config", CONFIGS)
def test_axi_reader(config, case):
    rtl_case("axi_reader", config, CONFIGS[config], "verif.axi.tb_axi_reader", case,
             env={"ATTNFORGE_AXI_LATENCY": "5"})


@pytest.mark.rtl
@pytest.mark.parametrize("latency", [0, 1, 7])
@pytest.mark.parametrize("config", ["w64", "w256"])
def test_axi_reader_timing(config, latency):
    """Every word arrives in the cycle golden.axi.AxiReadModel says."""
    rtl_case("axi_reader", config, CONFIGS[config], "verif.axi.tb_axi_reader", "timing",
             env={"ATTNFORGE_AXI_LATENCY": str(latency)}, name=f"timing-l{latency}")
