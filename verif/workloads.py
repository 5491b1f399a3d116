"""Replay Q/K/V captured from MiniLM on a unit's RTL and collect its own counters.

A *packet* is one (sentence, layer, head): the int Q, K, V that head saw and its softmax scale
register. :func:`select_packets` picks packets from a workload directory (written by
``scripts/evaluate.py --dump-workloads DIR``, format in golden/workloads.py);
:func:`run_rtl` writes them to a packets file, builds the unit and runs the cocotb test named
``workload`` of the unit's testbench with ``ATTNFORGE_WORKLOAD`` naming that file.

The ``workload`` test of every unit follows one contract: run each packet (on an idle unit
unless the technique itself spans packets, e.g. map reuse across layers), check the outputs
exactly against the golden integer model, and report
``Report().add(workload=[{"sentence", "layer", "head", "n", "cycles", ...}])`` with ``cycles``
read from the unit's ``perf`` counter and any unit-specific counters beside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .runner import BUILD, ROOT, build, run

__all__ = ["WorkloadPacket", "select_packets", "save_packets", "load_packets", "run_rtl", "ensure_workloads",
           "DEFAULT_WORKLOADS"]

#: Where ``ensure_workloads`` captures MiniLM's Q/K/V on the repo's sentence set.
DEFAULT_WORKLOADS = ROOT / "build" / "workloads" / "minilm"


@dataclass
class WorkloadPacket:
    """Members: ``sentence``, ``layer``, ``head``, ``n`` (tokens), ``q``, ``k``, ``v`` (int
    rows [n][d]), ``scale`` (the head's softmax scale register)."""

    sentence: int
    layer: int
    head: int
    n: int
    q: list
    k: list
    v: list
    scale: int

    @property
    def name(self) -> str:
        return f"s{self.sentence:04d}-l{self.layer}-h{self.head}"

    def meta(self) -> dict:
        return {"sentence": self.sentence, "layer": self.layer, "head": self.head, "n": self.n}


def ensure_workloads(directory: Path = DEFAULT_WORKLOADS) -> Path:
    """Capture MiniLM workloads on the repo's sentence set unless ``directory`` has them."""
    directory = Path(directory)
    if not (directory / "manifest.json").exists():
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate.py"), "--impl", "dense-int8",
                        "--dump-workloads", str(directory)], check=True, env=env, stdout=subprocess.DEVNULL)
    return directory


def select_packets(directory: Path, *, min_n: int = 1, max_n: int | None = None, sentences: int | None = None,
                   layers=None, heads=None) -> list[WorkloadPacket]:
    """Packets of the first ``sentences`` sentences with ``min_n <= n <= max_n`` tokens,
    restricted to ``layers`` and ``heads`` (default: all), in (sentence, layer, head) order."""
    from golden.workloads import load_manifest, load_workload
    directory = Path(directory)
    manifest = load_manifest(directory)
    chosen = []
    for index, (name, n) in enumerate(zip(manifest["files"], manifest["token_lengths"])):
        if n < min_n or (max_n is not None and n > max_n):
            continue
        if sentences is not None and len(chosen) >= sentences:
            break
        chosen.append((int(Path(name).stem[1:]), directory / name))
    packets = []
    for sentence, path in chosen:
        w = load_workload(path)
        for layer in (range(w["q"].shape[0]) if layers is None else layers):
            for head in (range(w["q"].shape[1]) if heads is None else heads):
                packets.append(WorkloadPacket(sentence=sentence, layer=layer, head=head, n=int(w["n"]),
                                              q=w["q"][layer, head].tolist(), k=w["k"][layer, head].tolist(),
                                              v=w["v"][layer, head].tolist(), scale=int(w["scale"][layer, head])))
    return packets


def save_packets(packets: list[WorkloadPacket], path: Path) -> Path:
    """One ``.npz``: per-packet meta and scale, and Q/K/V rows concatenated in packet order."""
    meta = np.array([[p.sentence, p.layer, p.head, p.n] for p in packets], dtype=np.int64)
    cat = lambda name: np.concatenate([np.asarray(getattr(p, name), dtype=np.int64) for p in packets])
    np.savez(path, meta=meta, scale=np.array([p.scale for p in packets], dtype=np.int64),
             q=cat("q"), k=cat("k"), v=cat("v"))
    return Path(path)


def load_packets(path) -> list[WorkloadPacket]:
    data = np.load(path)
    out, at = [], 0
    for (sentence, layer, head, n), scale in zip(data["meta"].tolist(), data["scale"].tolist()):
        rows = slice(at, at + n)
        out.append(WorkloadPacket(sentence=sentence, layer=layer, head=head, n=n, q=data["q"][rows].tolist(),
                                  k=data["k"][rows].tolist(), v=data["v"][rows].tolist(), scale=scale))
        at += n
    return out


def run_rtl(unit: str, cfg, packets: list[WorkloadPacket], test_module: str, *, name: str = "workload",
            env: dict | None = None, seed: int = 1) -> list[dict]:
    """Run ``packets`` through the unit's ``workload`` cocotb test; returns its per-packet
    report (one dict per packet, with the unit's counters). Raises on any mismatch."""
    b = build(unit, cfg)
    run_dir = b.directory / "runs" / name
    run_dir.mkdir(parents=True, exist_ok=True)
    packets_file = save_packets(packets, run_dir / "packets.npz")
    result = run(b, test_module, testcase="workload", seed=seed, name=name,
                 env={"ATTNFORGE_WORKLOAD": str(packets_file), **(env or {})})
    if result["tests"] != 1 or result["failed"]:
        raise AssertionError(f"{unit} workload run failed: {result['failure']}; log: {result['log']}")
    report = result["report"].get("workload", [])
    if len(report) != len(packets):
        raise AssertionError(f"{unit} workload reported {len(report)} packets of {len(packets)}; log: {result['log']}")
    return report
