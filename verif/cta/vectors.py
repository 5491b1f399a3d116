"""Golden vectors of the CTA engine: the issue's cases on three small configs (one per
``compress`` value) and two packets of the default config."""

from __future__ import annotations

import random

from golden.cta import CtaConfig
from verif.dense.vectors import check as dense_check
from verif.vectors import FORMAT

from .packets import Packet, case_packets, clustered_packet, expected, expected_cycles

__all__ = ["CONFIGS", "generate", "check", "packet_of"]

CONFIGS = {
    "small": CtaConfig(head_dim=8, max_tokens=16, lanes=4, hash_bits=4, max_clusters=6),
    "keys": CtaConfig(head_dim=8, max_tokens=16, lanes=8, hash_bits=5, max_clusters=8, compress="keys"),
    "queries": CtaConfig(head_dim=8, max_tokens=16, lanes=2, hash_bits=3, max_clusters=5, compress="queries"),
    "default": CtaConfig(),
}
SEED = 2027


def _vector(name: str, cfg: CtaConfig, packet: Packet, seed: int) -> dict:
    cycles = expected_cycles(cfg, packet)
    out, info = expected(cfg, packet)
    return {
        "format": FORMAT, "unit": "cta", "name": name, "seed": seed, "config": cfg.to_dict(),
        "inputs": {"q": packet.q, "k": packet.k, "v": packet.v, "scale": packet.scale},
        "expected": {"out": out, "cycles": cycles.cycles, "mac_cycles": cycles.mac_cycles,
                     "key_clusters": info["keys"].n, "query_clusters": info["queries"].n,
                     "key_map": list(info["keys"].ids), "query_map": list(info["queries"].ids)},
    }


def generate() -> list[dict]:
    """Every CTA vector, deterministically from SEED."""
    vectors = []
    for offset, name in enumerate(("small", "keys", "queries")):
        cfg = CONFIGS[name]
        rng = random.Random(SEED + offset)
        for packet in case_packets(cfg, rng):
            vectors.append(_vector(f"{name}-{packet.name}", cfg, packet, SEED + offset))
    cfg = CONFIGS["default"]
    rng = random.Random(SEED + 10)
    vectors.append(_vector("default-clustered-n40", cfg, clustered_packet(cfg, rng, 40, 5), SEED + 10))
    vectors.append(_vector("default-clustered-n128", cfg, clustered_packet(cfg, rng, 128, 12), SEED + 10))
    return vectors


def packet_of(vector: dict) -> Packet:
    inputs = vector["inputs"]
    return Packet(q=inputs["q"], k=inputs["k"], v=inputs["v"], scale=inputs["scale"], name=vector.get("name", ""))


def check(vector: dict, cfg: CtaConfig, path) -> None:
    """Shapes and ranges as the dense unit's vectors (same inputs, same output format)."""
    dense_check(vector, cfg, path)
