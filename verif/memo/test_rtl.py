"""pytest entry points: the memo-lookup engine's and the MEMO unit's testbenches on Verilator."""

import pytest

from golden.memo import MemoConfig
from verif.rtl import rtl_case, run_vectors

from .vectors import CONFIGS as VECTOR_CONFIGS

CONFIGS = {
    "small": MemoConfig(sig_bits=8, entries=16, ways=4, tau=2, contexts=3, max_tokens=4, head_dim=8, lanes=4),
    "default": MemoConfig(),                               # E=1024, W=8, S=64
    "odd": MemoConfig(sig_bits=12, entries=6, ways=3, contexts=5, max_tokens=9, tau=3,  # W not a power of two
                      head_dim=8, lanes=4),
}

#: make test runs the small config (one cheap build); the default (E=1024, W=8, S=64) and odd
#: (W=3, 2 sets) engines are marked slow (make sim). W=8, S=64 is also in make test inside the
#: memo unit's d32 config (its lookup ports run the golden vectors).
CASES = {
    "small": ["back_to_back", "corners", "reset_mid_stream"],
    "default": ["back_to_back", "corners", "reset_mid_stream"],
    "odd": ["back_to_back", "corners"],
}
SLOW = {"default", "odd"}


def _marks(config):
    return [pytest.mark.slow] if config in SLOW else []


@pytest.mark.rtl
@pytest.mark.parametrize("config, case", [pytest.param(c, k, marks=_marks(c)) for c, cases in CASES.items()
                                          for k in cases])
def test_memo_lookup(config, case):
    rtl_case("memo_lookup", config, CONFIGS[config], "verif.memo.tb_memo_lookup", case)


@pytest.mark.rtl
@pytest.mark.parametrize("config, ops, stall", [
    ("small", 10000, 0.3),
    pytest.param("small", 3000, 0.0, marks=pytest.mark.slow),
    pytest.param("default", 1500, 0.3, marks=pytest.mark.slow),
    pytest.param("odd", 2000, 0.3, marks=pytest.mark.slow),
])
def test_memo_lookup_model(config, ops, stall):
    """Model-based: random lookups and register writes (10,000 in make test), every answer
    (hit, distance, pointer, allocation, eviction) against the golden table."""
    rtl_case("memo_lookup", config, CONFIGS[config], "verif.memo.tb_memo_lookup", "model_random",
             env={"ATTNFORGE_OPS": str(ops), "ATTNFORGE_STALL": str(stall)}, name=f"model_random-{ops}-{stall}")


#: The memo unit's configs (small: 4-beat bursts, so maps span bursts; d32: MiniLM's d, L=16,
#: 2 x 16 weighted-sum lanes); the golden vectors use the same two.
MEMO_CONFIGS = VECTOR_CONFIGS
MEMO_CASES = {
    "small": ["miss_then_hit", "stalls", "memoized_path", "errors_and_reset", "axi_errors", "token_errors"],
    "d32": ["miss_then_hit", "stalls"],
}


@pytest.mark.rtl
@pytest.mark.parametrize("config, case", [(c, k) for c, cases in MEMO_CASES.items() for k in cases])
def test_memo(config, case):
    rtl_case("memo", config, MEMO_CONFIGS[config], "verif.memo.tb_memo", case)


@pytest.mark.rtl
def test_memo_axi_latency():
    """Hits with a slow memory (8 extra cycles per read burst): the cycle model still holds."""
    rtl_case("memo", "small", MEMO_CONFIGS["small"], "verif.memo.tb_memo", "miss_then_hit",
             env={"ATTNFORGE_AXI_LATENCY": "8"}, name="miss_then_hit-latency8")


@pytest.mark.rtl
def test_memo_vectors():
    """Every committed memo vector on the RTL (lookup answers and cycles)."""
    run_vectors("memo", "verif.memo.tb_memo")
