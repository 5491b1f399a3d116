"""Bench point of MEMO in front of CTA (golden/memo/cta.py, scripts/bench_memo_cta.py): a
layer lookup that hits gives the enabled heads the stored map; every other head, and every
head on a miss, runs CTA, and a miss stores the CTA-expanded map.

There is no combined RTL: this technique is measured on the golden and cycle models only
(``source`` = ``cycle-model`` in bench.json, marked in bench.md), through
:func:`bench_memo_cta.run` on MEMO's request stream (the preset's prefix, in order, committed
policy, MEMO's default config; see benchlib/memo.py). Knob: the CTA config (compress, H, C).
Cycles per head: a hit packet (golden.memo.cycles) or a CTA packet with that head's cluster
counts (golden.cta.cycles), plus per layer the signature and lookup (golden.memo.cycles; the
map write-back assumed free, as bench_memo_cta.py). Bytes: map bytes read over AXI plus the
operands streamed in. "vs dense": the dense unit's cycle model (same lanes and N as the
golden configs, N=256) and Q, K, V on the same packets.
"""

from __future__ import annotations

from .core import PRESETS, Measured, Point, cached, dense_baseline, read_requests, request_fidelity, request_reference

NAME = "memo_cta"
UNIT = "memo+cta"
UNITS = ("memo", "cta")
DESCRIPTION = "MEMO in front of CTA: hits take stored maps, other heads run CTA (golden and cycle models, no RTL)"

#: CTA's default config (benchlib.cta.DEFAULT).
DEFAULT = ("both", 8, 32)
#: AXI latency per burst (bench_memo_cta.py's default).
AXI_LATENCY = 16
SWEEP = {
    "ci": [DEFAULT],
    "default": [("both", 4, 16), DEFAULT, ("both", 16, 144)],
    "full": [("both", 4, 16), DEFAULT, ("both", 12, 64), ("both", 16, 144), ("keys", 16, 64)],
}


def points(preset) -> list[Point]:
    out = []
    for compress, h, c in SWEEP[preset.name]:
        knobs = {"compress": compress, "hash_bits": h, "max_clusters": c}
        name = f"H={h} C={c}" if compress == "both" else f"{compress} H={h} C={c}"
        out.append(Point(NAME, name, knobs, (compress, h, c) == DEFAULT, dict(knobs)))
    return out


def run(point: Point, preset) -> dict:
    """bench_memo_cta.run for the point over the preset's requests (cached)."""
    p = point.params
    texts = read_requests(preset)

    def compute():
        from bench_memo import policy_config
        from bench_memo_cta import parse_grid, run as run_pipeline
        from golden import hf
        from golden.memo.hf import HF_CONFIG
        hf.discover()
        (cta,) = parse_grid(f"{p['compress']}:{p['hash_bits']}:{p['max_clusters']}")
        cfg, head_mask = policy_config(HF_CONFIG)
        tokenizer, _ = hf.load_minilm("exact")
        res = run_pipeline(cta, texts, cfg, head_mask, tokenizer, request_reference(preset), AXI_LATENCY)
        return {**res, "embeddings": res["embeddings"].numpy(), "config": cfg.to_dict(), "cta": cta.to_dict()}
    return cached("memo-cta", {"texts": texts, **p, "latency": AXI_LATENCY}, compute, "pickle")


def fidelity(point: Point, preset) -> dict:
    return request_fidelity(preset, run(point, preset)["embeddings"])


def fidelity_impl(point: Point) -> str:
    return f"memo_cta {point.name}"  # measured by :func:`fidelity` on the request stream


def measure(point: Point, workload, run_name: str) -> Measured:
    preset = PRESETS[workload.preset]
    res = run(point, preset)
    packets = []
    for r in res["packets"]:
        row = {**r, "sentence": r["request"], "cycles": r["packet_cycles"] + r["lookup_cycles"], "mac_cycles": None,
               "bytes": r["axi_read_bytes"] + r["stream_bytes"]}
        row.update(dense_baseline(r["n"], res["config"]["max_tokens"]))
        if row["baseline_cycles"] != r["dense_cycles"]:
            raise AssertionError(f"memo_cta packet {r}: dense cycles {r['dense_cycles']}, baseline "
                                 f"{row['baseline_cycles']}")
        packets.append(row)
    return Measured(UNIT, {"memo": res["config"], "cta": res["cta"], "axi_latency": AXI_LATENCY}, 2, packets,
                    "map bytes read over AXI + Q, K, V streamed into CTA packets, V into hits (cycle model)",
                    source="cycle-model", baseline=f"the dense unit's cycle model (lanes {res['config']['lanes']}, "
                    f"N={res['config']['max_tokens']} as the golden configs) and Q, K, V on the same packets",
                    workload=f"MEMO's request stream, {'all' if preset.requests is None else 'first'} "
                             f"{len(read_requests(preset))} requests in order, all 12 heads; a pass is a request")
