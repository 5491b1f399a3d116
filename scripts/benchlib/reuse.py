"""Bench adapter of attention-map reuse (hw/reuse).

Knobs: the layer partition (golden/reuse/hf.py PARTITIONS: the first layer of a group
computes its maps, the later ones reuse them) and, in the full preset, lanes. The RTL is one
build with a one-map buffer (heads=1: packets come ordered sentence, group, head, layer, so the
buffer always holds the map the next reuse packet needs; this is make test's ``d32`` build at
N=128); the partition is handed to the testbench. Fidelity: the bit-exact int8 implementation
of the partition (``reuse``, ``reuse-<partition>``). Bytes: Q, K, V streamed into a computing
packet, V alone into a reusing one (the map stays on chip).
"""

from __future__ import annotations

import json

from .core import Measured, Point, stream_bytes

NAME = "reuse"
UNIT = "reuse"
DESCRIPTION = "attention-map reuse: later layers of a group reuse the first layer's maps"

DEFAULT_PARTITION = "pairs"
DEFAULT_LANES = 16


def config(point: Point, max_tokens: int):
    from golden.reuse import ReuseConfig
    return ReuseConfig(max_tokens=max_tokens, heads=1, lanes=point.params["lanes"])


def points(preset) -> list[Point]:
    from golden.reuse.hf import PARTITIONS
    partitions = [DEFAULT_PARTITION] if preset.name == "ci" else list(PARTITIONS)
    out = []
    for name in partitions:
        reused = sum(len(g) - 1 for g in PARTITIONS[name])
        out.append(Point(NAME, name, {"partition": name, "reused_layers": reused, "lanes": DEFAULT_LANES},
                         name == DEFAULT_PARTITION, {"partition": name, "lanes": DEFAULT_LANES}))
    if preset.name == "full":
        reused = sum(len(g) - 1 for g in PARTITIONS[DEFAULT_PARTITION])
        out.append(Point(NAME, f"{DEFAULT_PARTITION} L=8",
                         {"partition": DEFAULT_PARTITION, "reused_layers": reused, "lanes": 8},
                         False, {"partition": DEFAULT_PARTITION, "lanes": 8}))
    return out


def measure(point: Point, workload, run_name: str) -> Measured:
    from golden.reuse.hf import PARTITIONS
    from verif.workloads import run_rtl
    cfg = config(point, workload.max_tokens)
    groups = PARTITIONS[point.params["partition"]]
    results = run_rtl("reuse", cfg, workload.packets(blocks=groups), "verif.reuse.tb_reuse", name=run_name,
                      env={"ATTNFORGE_GROUPS": json.dumps([list(g) for g in groups])})
    for r in results:
        r["bytes"] = stream_bytes(cfg, r["n"], 3 if r["mode"] == "compute" else 1)
    return Measured(UNIT, cfg.replace(groups=groups).to_dict(), 1 + cfg.ws_factor, results,
                    "Q, K, V streamed into computing packets, V into reusing ones")


def fidelity_impl(point: Point) -> str:
    from golden.reuse.hf import impl_name
    return impl_name(point.params["partition"])
