"""Helpers for the pytest side of RTL tests: run one cocotb case, record it for the summary."""

from __future__ import annotations

import json
import os
from collections import defaultdict

from .runner import RESULTS, build, run
from .vectors import load_vector, unit_vectors_module, vector_files

__all__ = ["rtl_case", "run_vectors", "default_seed"]


def default_seed() -> int:
    """``ATTNFORGE_SEED`` replays a run; the default is fixed so CI is deterministic."""
    return int(os.environ.get("ATTNFORGE_SEED", "1"))


def _record(unit, config_name, cfg, case, result, seed):
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = result["report"]
    entry = {"unit": unit, "config": config_name, "label": cfg.label, "case": case, "seed": seed,
             "vectors": report.get("packets", 0), "cycles": report.get("cycles"),
             "mac_utilization": report.get("mac_utilization"), "n": report.get("n"),
             "result": "PASS" if result["tests"] and not result["failed"] else "FAIL", "log": result["log"]}
    (RESULTS / f"{unit}-{config_name}-{case}.json".replace("/", "-")).write_text(json.dumps(entry, indent=1))


def rtl_case(unit: str, config_name: str, cfg, test_module: str, case: str, env: dict | None = None,
             name: str | None = None):
    """Build (cached) and run one cocotb test case; fail with the seed and log on error.
    ``name`` distinguishes runs of one case with different ``env``."""
    seed = default_seed()
    b = build(unit, cfg)
    name = name or case
    result = run(b, test_module, testcase=case, seed=seed, env=env, name=f"{name}-s{seed}")
    _record(unit, config_name, cfg, name, result, seed)
    assert result["tests"] == 1 and result["failed"] == 0, (
        f"{unit}/{config_name}/{case} failed: {result['failure']} "
        f"(seed {seed}; replay with ATTNFORGE_SEED={seed}); log: {result['log']}")


def run_vectors(unit: str, test_module: str):
    """Run every committed vector of ``unit`` on the RTL, grouped by config (one build each)."""
    groups = defaultdict(list)
    for path in vector_files(unit):
        vector = load_vector(path)
        groups[vector["cfg"]].append(str(path))
    assert groups, f"no vectors under verif/vectors/{unit}"
    for cfg, paths in groups.items():
        b = build(unit, cfg)
        result = run(b, test_module, testcase="vectors", env={"ATTNFORGE_VECTORS": json.dumps(paths)},
                     name="vectors")
        names = {c: n for n, c in getattr(unit_vectors_module(unit), "CONFIGS", {}).items()}
        _record(unit, f"vectors/{names.get(cfg, cfg.key)}", cfg, "vectors", result, default_seed())
        assert result["tests"] == 1 and result["failed"] == 0, (
            f"{unit} vectors failed for {cfg.label}: {result['failure']}; log: {result['log']}")
        assert result["report"].get("packets") == len(paths), f"{len(paths)} vectors sent, report says {result['report']}"
