"""The workload harness: packets survive the file round trip and replay on the dense RTL."""

import random

import pytest

from golden.dense import DenseConfig
from golden.dense.cycles import dense_cycles
from verif.workloads import WorkloadPacket, load_packets, run_rtl, save_packets


def synthetic(count, n_max, d, seed=3):
    r = random.Random(seed)
    out = []
    for i in range(count):
        n = r.randint(1, n_max)
        rows = lambda: [[r.randint(-128, 127) for _ in range(d)] for _ in range(n)]
        out.append(WorkloadPacket(sentence=i, layer=i % 2, head=i % 3, n=n, q=rows(), k=rows(), v=rows(),
                                  scale=r.randrange(1 << 14, 1 << 20)))
    return out


def test_packets_round_trip(tmp_path):
    packets = synthetic(5, 9, 4)
    assert load_packets(save_packets(packets, tmp_path / "p.npz")) == packets


@pytest.mark.rtl
def test_dense_workload_replay_reports_hardware_counters():
    cfg = DenseConfig(head_dim=8, max_tokens=16, lanes=4)
    packets = synthetic(3, 16, 8)
    report = run_rtl("dense", cfg, packets, "verif.dense.tb_dense", name="workload-test")
    assert [(r["sentence"], r["n"]) for r in report] == [(p.sentence, p.n) for p in packets]
    assert [r["cycles"] for r in report] == [dense_cycles(cfg, p.n, p.n).cycles for p in packets]
