"""Golden vectors of the reuse unit: one file is one layer group on one head (a compute
packet, then reuse packets with new values), with the outputs and cycles of every packet."""

from __future__ import annotations

import random

from golden.reuse import ReuseConfig
from verif.dense.packets import Packet, random_packet
from verif.vectors import FORMAT, VectorError, check_matrix

from .packets import MapModel, ReusePacket, random_values

__all__ = ["CONFIGS", "generate", "check", "group_of"]

#: Configs the vectors cover (both also run in verif/reuse/test_rtl.py, so no extra build).
CONFIGS = {"small": ReuseConfig(head_dim=8, max_tokens=16, lanes=4, heads=2),
           "d32": ReuseConfig(heads=1)}
SEED = 2026


def _vector(name: str, cfg: ReuseConfig, head: int, compute: Packet, reuses: list[list[list[int]]], seed: int) -> dict:
    model = MapModel(cfg)
    out, first = model.compute(head, compute)
    results = [model.reuse(ReusePacket(head, v)) for v in reuses]
    cycles = [first.cycles] + [c.cycles for _, c in results]
    return {
        "format": FORMAT, "unit": "reuse", "name": name, "seed": seed, "config": cfg.to_dict(),
        "inputs": {"head": head, "q": compute.q, "k": compute.k, "v": compute.v, "scale": compute.scale,
                   "v_reuse": reuses},
        "expected": {"out": out, "out_reuse": [o for o, _ in results], "cycles": sum(cycles),
                     "packet_cycles": cycles},
    }


def generate() -> list[dict]:
    """Every reuse vector, deterministically from SEED."""
    vectors = []
    small = CONFIGS["small"]
    rng = random.Random(SEED)
    fmt = small.formats
    for name, n, nq, head in (("random-n5", 5, 5, 1), ("n1", 1, 1, 0), ("nN", 16, 16, 1), ("rows3-n9", 9, 3, 0)):
        packet = random_packet(small, rng, n=n, n_queries=nq)
        vectors.append(_vector(f"small-{name}", small, head, packet,
                               [random_values(small, rng, n) for _ in range(2)], SEED))
    packet = random_packet(small, rng, n=8)
    packet.scale = [(1 << fmt.scale_bits) - 1] * 8  # nearly one-hot map
    vectors.append(_vector("small-sharp-extreme-v", small, 0, packet,
                           [[[fmt.data_min] * small.head_dim] * 8, [[fmt.data_max] * small.head_dim] * 8], SEED))
    d32 = CONFIGS["d32"]
    rng = random.Random(SEED + 1)
    vectors.append(_vector("d32-random-n32", d32, 0, random_packet(d32, rng, n=32),
                           [random_values(d32, rng, 32) for _ in range(3)], SEED + 1))
    return vectors


def group_of(vector: dict) -> tuple[int, Packet, list[ReusePacket]]:
    """``(head, compute packet, reuse packets)`` of a vector."""
    inputs, name = vector["inputs"], vector.get("name", "")
    compute = Packet(q=inputs["q"], k=inputs["k"], v=inputs["v"], scale=inputs["scale"], name=f"{name}-compute")
    reuses = [ReusePacket(inputs["head"], v, name=f"{name}-reuse{i}") for i, v in enumerate(inputs["v_reuse"])]
    return inputs["head"], compute, reuses


def check(vector: dict, cfg: ReuseConfig, path) -> None:
    """Shapes and ranges of a reuse vector's inputs and outputs."""
    fmt, d = cfg.formats, cfg.head_dim
    inputs, expected = vector["inputs"], vector["expected"]
    for key in ("head", "q", "k", "v", "scale", "v_reuse"):
        if key not in inputs:
            raise VectorError(f"{path}: inputs.{key} is missing.")
    head = inputs["head"]
    if isinstance(head, bool) or not isinstance(head, int) or not 0 <= head < cfg.heads:
        raise VectorError(f"{path}: inputs.head is {head!r}, outside the heads 0 to {cfg.heads - 1}.")
    check_matrix(path, "k", inputs["k"], d, fmt.data_min, fmt.data_max)
    n = len(inputs["k"])
    if n > cfg.max_tokens:
        raise VectorError(f"{path}: {n} keys exceed max_tokens={cfg.max_tokens}.")
    check_matrix(path, "v", inputs["v"], d, fmt.data_min, fmt.data_max, length=n)
    check_matrix(path, "q", inputs["q"], d, fmt.data_min, fmt.data_max)
    rows = len(inputs["q"])
    if rows > cfg.max_tokens:
        raise VectorError(f"{path}: {rows} query rows exceed max_tokens={cfg.max_tokens}: the map would not be kept.")
    check_matrix(path, "scale", inputs["scale"], None, 0, (1 << fmt.scale_bits) - 1, length=rows)
    if not isinstance(inputs["v_reuse"], list):
        raise VectorError(f"{path}: inputs.v_reuse must be a list of value matrices.")
    for i, v in enumerate(inputs["v_reuse"]):
        check_matrix(path, f"v_reuse[{i}]", v, d, fmt.data_min, fmt.data_max, length=n)
    for key in ("out", "out_reuse", "packet_cycles"):
        if key not in expected:
            raise VectorError(f"{path}: expected.{key} is missing.")
    check_matrix(path, "out", expected["out"], d, fmt.out_min, fmt.out_max, length=rows)
    if not isinstance(expected["out_reuse"], list) or len(expected["out_reuse"]) != len(inputs["v_reuse"]):
        raise VectorError(f"{path}: expected.out_reuse must hold one output matrix per inputs.v_reuse matrix.")
    for i, out in enumerate(expected["out_reuse"]):
        check_matrix(path, f"out_reuse[{i}]", out, d, fmt.out_min, fmt.out_max, length=rows)
    cycles = expected["packet_cycles"]
    if (not isinstance(cycles, list) or len(cycles) != 1 + len(inputs["v_reuse"])
            or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in cycles)
            or sum(cycles) != expected["cycles"]):
        raise VectorError(f"{path}: expected.packet_cycles must be one positive count per packet, summing to expected.cycles.")
