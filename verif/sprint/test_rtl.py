"""pytest entry points: the SPRINT engine and the pruning macro on Verilator, per config and case."""

import pytest

from golden.sprint import SprintConfig
from verif.rtl import rtl_case, run_vectors

CONFIGS = {
    # 8 slots for 16 tokens: survivors beyond the buffer, slot collisions; 64-bit AXI (one word a row).
    "small": SprintConfig(head_dim=8, max_tokens=16, lanes=4, buffer_bytes=128, xbar_latency=4),
    # noise, the "all" reuse policy, 32-bit AXI words (two per row), a buffer for every token.
    "noisy": SprintConfig(head_dim=8, max_tokens=12, lanes=2, sigma=24, reuse="all", buffer_bytes=1024,
                          axi_data_width=32, axi_max_burst=4, xbar_latency=3, seed=7),
    "default": SprintConfig(),  # d=32 N=128 L=16, 16 KiB buffer: a long build, make sim only
}
FAST = ["small", "noisy"]
#: make test: one unstalled (cycle-exact) and one stalled case per config, the error flags, plus the vectors
#: (nothing/everything survives, n=1, n=N, beyond the buffer); make sim runs the rest.
CASES = ["random_packets", "stalls", "error_flags"]
SLOW_CASES = ["special", "stalls_counters", "reset_mid_sequence"]
LATENCY = {"ATTNFORGE_AXI_LATENCY": "5"}


@pytest.mark.rtl
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("config", FAST)
def test_sprint(config, case):
    rtl_case("sprint", config, CONFIGS[config], "verif.sprint.tb_sprint", case, env=LATENCY)


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW_CASES)
@pytest.mark.parametrize("config", FAST)
def test_sprint_more(config, case):
    rtl_case("sprint", config, CONFIGS[config], "verif.sprint.tb_sprint", case, env=LATENCY)


@pytest.mark.rtl
@pytest.mark.slow
@pytest.mark.parametrize("case", ["random_packets", "special", "stalls"])
def test_sprint_default(case):
    rtl_case("sprint", "default", CONFIGS["default"], "verif.sprint.tb_sprint", case,
             env={**LATENCY, "ATTNFORGE_PACKETS": "2"})


@pytest.mark.rtl
@pytest.mark.slow  # a build of its own; the engine's tests run the same macro inside
@pytest.mark.parametrize("config", FAST)
def test_macro(config):
    rtl_case("reram_macro", config, CONFIGS[config], "verif.sprint.tb_macro", "masks")


@pytest.mark.rtl
def test_sprint_vectors():
    """Every committed SPRINT vector on the RTL: exact outputs, counters and cycle counts."""
    run_vectors("sprint", "verif.sprint.tb_sprint")
