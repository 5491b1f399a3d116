"""Bench adapter of the dense unit (hw/dense): the baseline every ratio is taken against.

Knob: lanes L (MAC lanes per stage). Fidelity does not depend on L (the integers are the
same), so every point shares the ``dense-int8`` run. Bytes: Q, K and V streamed in (3 n d
bytes a packet; the unit has no memory port of its own).
"""

from __future__ import annotations

from .core import Measured, Point, stream_bytes

NAME = "dense"
UNIT = "dense"
DESCRIPTION = "dense attention unit (baseline): exact softmax attention, int8 datapath"

#: make test's dense default build (verif/dense/test_rtl.py "default") at N=128.
DEFAULT_LANES = 16


def config(point: Point, max_tokens: int):
    from golden.dense import DenseConfig
    return DenseConfig(max_tokens=max_tokens, lanes=point.params["lanes"])


def points(preset) -> list[Point]:
    lanes = {"ci": [16], "default": [8, 16, 32], "full": [4, 8, 16, 32]}[preset.name]
    return [Point(NAME, "default" if L == DEFAULT_LANES else f"L={L}", {"lanes": L}, L == DEFAULT_LANES,
                  {"lanes": L}) for L in lanes]


def measure(point: Point, workload, run_name: str) -> Measured:
    from verif.workloads import run_rtl
    cfg = config(point, workload.max_tokens)
    results = run_rtl("dense", cfg, workload.packets(), "verif.dense.tb_dense", name=run_name)
    for r in results:
        r["bytes"] = stream_bytes(cfg, r["n"], 3)
    return Measured(UNIT, cfg.to_dict(), 2, results, "Q, K, V streamed in (3 n d bytes per packet)")


def fidelity_impl(point: Point) -> str:
    return "dense-int8"
