"""Golden vectors of the SPRINT engine: what they cover, how they are checked."""

from __future__ import annotations

import random

from golden.sprint import SprintConfig
from golden.sprint.cycles import sprint_cycles
from verif.vectors import FORMAT, VectorError, check_matrix

from .packets import Packet, expected, random_packet, special_packets

__all__ = ["CONFIGS", "generate", "check", "packet_of"]

CONFIGS = {"small": SprintConfig(head_dim=8, max_tokens=16, lanes=4, buffer_bytes=128, xbar_latency=4)}
SEED = 2026
LATENCY = 5


def _vector(name: str, cfg: SprintConfig, p: Packet, seed: int) -> dict:
    want = expected(cfg, p)
    cycles = sprint_cycles(cfg, want["keep"], n_keys=p.n_keys, latency=LATENCY, base=p.base)
    return {
        "format": FORMAT, "unit": "sprint", "name": name, "seed": seed, "config": cfg.to_dict(),
        "inputs": {"q": p.q, "k": p.k, "v": p.v, "scale": p.scale, "theta": p.theta, "base": p.base,
                   "axi_latency": LATENCY},
        "expected": {"out": want["out"], "keep": want["keep"], "fetched": want["fetched"], "reused": want["reused"],
                     "cycles": cycles.cycles, "mac_cycles": cycles.mac_cycles},
    }


def generate() -> list[dict]:
    cfg = CONFIGS["small"]
    rng = random.Random(SEED)
    vectors = [_vector(f"small-{p.name}", cfg, p, SEED) for p in special_packets(cfg, rng)]
    for n in (5, 16):
        vectors.append(_vector(f"small-random-n{n}", cfg, random_packet(cfg, rng, n=n), SEED))
    return vectors


def packet_of(vector: dict) -> Packet:
    i = vector["inputs"]
    return Packet(q=i["q"], k=i["k"], v=i["v"], scale=i["scale"], theta=i["theta"], base=i["base"],
                  name=vector.get("name", ""))


def check(vector: dict, cfg: SprintConfig, path) -> None:
    fmt, d = cfg.formats, cfg.head_dim
    inputs, want = vector["inputs"], vector["expected"]
    for key in ("q", "k", "v", "scale", "theta", "base"):
        if key not in inputs:
            raise VectorError(f"{path}: inputs.{key} is missing.")
    check_matrix(path, "k", inputs["k"], d, fmt.data_min, fmt.data_max)
    n = len(inputs["k"])
    if n > cfg.max_tokens:
        raise VectorError(f"{path}: {n} keys exceed max_tokens={cfg.max_tokens}.")
    check_matrix(path, "v", inputs["v"], d, fmt.data_min, fmt.data_max, length=n)
    check_matrix(path, "q", inputs["q"], d, fmt.data_min, fmt.data_max)
    check_matrix(path, "scale", inputs["scale"], None, 0, (1 << fmt.scale_bits) - 1, length=len(inputs["q"]))
    if not cfg.theta_min <= inputs["theta"] <= cfg.theta_max:
        raise VectorError(f"{path}: theta={inputs['theta']} outside {cfg.theta_min} to {cfg.theta_max}.")
    if "out" not in want:
        raise VectorError(f"{path}: expected.out is missing.")
    check_matrix(path, "out", want["out"], d, fmt.out_min, fmt.out_max, length=len(inputs["q"]))
