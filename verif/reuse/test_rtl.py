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


@pytest.mark.rtl
def test_reuse_workload_replay_with_groups_and_head_matching():
    """The ``workload`` contract on synthetic packets: modes follow the groups passed to the
    testbench, reused heads read the matched head's region, counters equal the cycle model."""
    import json
    import random

    from golden.reuse.cycles import compute_cycles, reuse_cycles
    from verif.workloads import WorkloadPacket, run_rtl

    cfg = CONFIGS["small"]
    r = random.Random(7)
    packets = []
    for sentence, n in ((0, 5), (1, 16)):
        for layer in range(3):
            for head in range(2):
                rows = lambda: [[r.randint(-128, 127) for _ in range(cfg.head_dim)] for _ in range(n)]
                packets.append(WorkloadPacket(sentence=sentence, layer=layer, head=head, n=n, q=rows(), k=rows(),
                                              v=rows(), scale=r.randrange(1 << 14, 1 << 22)))
    env = {"ATTNFORGE_GROUPS": json.dumps([[0, 1, 2]]), "ATTNFORGE_HEAD_MAP": json.dumps([[], [1, 0], [1, 1]])}
    report = run_rtl("reuse", cfg, packets, "verif.reuse.tb_reuse", name="workload-test", env=env)
    assert [r["mode"] for r in report] == (["compute"] * 2 + ["reuse"] * 4) * 2
    assert [r["cycles"] for r in report] == [
        (compute_cycles if p.layer == 0 else reuse_cycles)(cfg, p.n, p.n).cycles for p in packets]
