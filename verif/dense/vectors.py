"""Golden vectors of the dense unit: what they cover, how they are checked."""

from __future__ import annotations

import random

from golden.dense import DenseConfig
from verif.vectors import FORMAT, VectorError, check_matrix

from .packets import Packet, expected_cycles, expected_outputs, extreme_packets, random_packet

__all__ = ["CONFIGS", "generate", "check", "packet_of"]

#: Configs the vectors cover: the default unit and a small one (fast to simulate).
CONFIGS = {"small": DenseConfig(head_dim=8, max_tokens=16, lanes=4), "default": DenseConfig()}
SEED = 2026


def _vector(name: str, cfg: DenseConfig, packet: Packet, seed: int) -> dict:
    cycles = expected_cycles(cfg, packet)
    return {
        "format": FORMAT, "unit": "dense", "name": name, "seed": seed, "config": cfg.to_dict(),
        "inputs": {"q": packet.q, "k": packet.k, "v": packet.v, "scale": packet.scale},
        "expected": {"out": expected_outputs(cfg, packet), "cycles": cycles.cycles, "mac_cycles": cycles.mac_cycles},
    }


def generate() -> list[dict]:
    """Every dense vector, deterministically from SEED."""
    vectors = []
    small = CONFIGS["small"]
    rng = random.Random(SEED)
    for packet in extreme_packets(small, rng):
        vectors.append(_vector(f"small-{packet.name}", small, packet, SEED))
    for n in (5, 16):
        vectors.append(_vector(f"small-random-n{n}", small, random_packet(small, rng, n=n), SEED))
    default = CONFIGS["default"]
    rng = random.Random(SEED + 1)
    vectors.append(_vector("default-random-n32", default, random_packet(default, rng, n=32), SEED + 1))
    vectors.append(_vector("default-n128-q4", default, random_packet(default, rng, n=128, n_queries=4), SEED + 1))
    return vectors


def packet_of(vector: dict) -> Packet:
    inputs = vector["inputs"]
    return Packet(q=inputs["q"], k=inputs["k"], v=inputs["v"], scale=inputs["scale"], name=vector.get("name", ""))


def check(vector: dict, cfg: DenseConfig, path) -> None:
    """Shapes and ranges of a dense vector's inputs and outputs."""
    fmt = cfg.formats
    inputs, expected = vector["inputs"], vector["expected"]
    for key in ("q", "k", "v", "scale"):
        if key not in inputs:
            raise VectorError(f"{path}: inputs.{key} is missing.")
    d = cfg.head_dim
    check_matrix(path, "k", inputs["k"], d, fmt.data_min, fmt.data_max)
    n = len(inputs["k"])
    if n > cfg.max_tokens:
        raise VectorError(f"{path}: {n} keys exceed max_tokens={cfg.max_tokens}.")
    check_matrix(path, "v", inputs["v"], d, fmt.data_min, fmt.data_max, length=n)
    check_matrix(path, "q", inputs["q"], d, fmt.data_min, fmt.data_max)
    check_matrix(path, "scale", inputs["scale"], None, 0, (1 << fmt.scale_bits) - 1, length=len(inputs["q"]))
    if "out" not in expected:
        raise VectorError(f"{path}: expected.out is missing.")
    check_matrix(path, "out", expected["out"], d, fmt.out_min, fmt.out_max, length=len(inputs["q"]))
