"""Bench adapter of CTA, compressed token attention (hw/cta, docs/cta.md).

Knobs: hash bits H and clusters per side C (``compress=both`` unless named), lanes in the full
preset. Every (H, C) is its own RTL build (the cluster table and sums memories are C rows, the
hasher H trees). Fidelity: the bit-exact int8 engine in MiniLM (``cta-int8`` for the default,
sweep configs registered through golden.cta.hf.register_config). Bytes: Q, K, V streamed in
(the engine has no memory port); ``key_clusters``/``query_clusters`` per packet are in
bench.json.

ci preset (6 sentences, N=128, head 0): 0.891x the dense unit's cycles at mean cosine 0.9524,
outputs exact on Verilator (``make bench BENCH=ci``).
"""

from __future__ import annotations

from .core import Measured, Point, ensure_impl, stream_bytes

NAME = "cta"
UNIT = "cta"
DESCRIPTION = "CTA: attention between hashed token-cluster centroids (keys and queries clustered)"

DEFAULT = ("both", 8, 32)  # ALGORITHMS.md's defaults: CtaConfig()
DEFAULT_LANES = 16
SWEEP = {
    "ci": [DEFAULT],
    "default": [("both", 4, 16), DEFAULT, ("both", 12, 64), ("both", 16, 128), ("keys", 16, 64)],
    "full": [("both", 4, 16), ("both", 6, 16), DEFAULT, ("both", 8, 64), ("both", 12, 64), ("both", 16, 64),
             ("both", 16, 128), ("keys", 16, 64), ("queries", 16, 64)],
}


def _name(compress: str, h: int, c: int, lanes: int = DEFAULT_LANES) -> str:
    text = f"H={h} C={c}" if compress == "both" else f"{compress} H={h} C={c}"
    return text if lanes == DEFAULT_LANES else f"{text} L={lanes}"


def config(point: Point, max_tokens: int):
    from golden.cta import CtaConfig
    p = point.params
    return CtaConfig(max_tokens=max_tokens, lanes=p["lanes"], compress=p["compress"], hash_bits=p["hash_bits"],
                     max_clusters=min(p["max_clusters"], max_tokens))


def _point(compress, h, c, lanes=DEFAULT_LANES) -> Point:
    knobs = {"compress": compress, "hash_bits": h, "max_clusters": c, "lanes": lanes}
    return Point(NAME, _name(compress, h, c, lanes), knobs, (compress, h, c) == DEFAULT and lanes == DEFAULT_LANES,
                 dict(knobs))


def points(preset) -> list:
    out = [_point(*knobs) for knobs in SWEEP[preset.name]]
    if preset.name == "full":
        out.append(_point(*DEFAULT, lanes=8))
    return out


def measure(point: Point, workload, run_name: str) -> Measured:
    from verif.workloads import run_rtl
    cfg = config(point, workload.max_tokens)
    results = run_rtl("cta", cfg, workload.packets(), "verif.cta.tb_cta", name=run_name)
    for r in results:
        r["bytes"] = stream_bytes(cfg, r["n"], 3)
    return Measured(UNIT, cfg.to_dict(), 2, results, "Q, K, V streamed in (3 n d bytes per packet)")


def fidelity_impl(point: Point) -> str:
    p = point.params
    if (p["compress"], p["hash_bits"], p["max_clusters"]) == DEFAULT:
        return "cta-int8"
    from golden.cta.hf import HF_CONFIG, attention_fn
    name = f"bench-cta-{p['compress']}-h{p['hash_bits']}-c{p['max_clusters']}"
    cfg = HF_CONFIG.replace(compress=p["compress"], hash_bits=p["hash_bits"], max_clusters=p["max_clusters"])
    return ensure_impl(name, attention_fn(cfg, True, name), f"CTA bit-exact int8 engine, {point.name}")
