"""Bench adapter of SPRINT (hw/sprint, docs/sprint.md): ReRAM-style pruning, exact recompute of
the surviving keys, K/V pairs fetched over AXI4 into an on-chip buffer.

Knobs: keep fraction f (theta per layer and head from the calibration:
golden/sprint/minilm_theta.json for the committed B_msb=4, else calibrated here the same way,
golden/sprint/calibrate.py on scripts/data/calibration.txt, and cached), crossbar noise sigma
and B_msb (``msb_bits``). Each (sigma, B_msb) is its own RTL build; theta is the command's
runtime field, so every packet carries its (layer, head)'s theta. Fidelity: the bit-exact int8
unit in MiniLM (``sprint``, ``sprint-k<percent>``, ``sprint-s<sigma>``; other configs
registered here). RTL: the captured heads through scripts/bench_sprint.py's
:func:`replay_rtl` (tb_sprint's ``workload`` case, outputs and counters checked exactly) with
:data:`AXI_LATENCY` cycles per burst. Bytes: K/V pairs fetched over AXI (``perf.fetched`` x
the pair's AXI bytes); "bytes vs dense" divides by the dense unit's K and V (2 n d per packet),
as bench_sprint.py does; ``reused`` per packet is in bench.json. N is the smallest power of two
that holds the replayed packets (ci: 16); cycles vs dense are against the dense unit at that N.
"""

from __future__ import annotations

from functools import lru_cache

from .core import Measured, Point, cached, dense_baseline, ensure_impl, fit_tokens, stream_bytes

NAME = "sprint"
UNIT = "sprint"
DESCRIPTION = "SPRINT: crossbar pruning with a calibrated theta per head, survivors' K/V fetched over AXI"

#: golden.sprint.hf.DEFAULT_FRACTION, sigma 0, the calibration file's B_msb.
DEFAULT = (0.5, 0, 4)
#: AXI memory latency per burst in cycles (scripts/bench_sprint.py's default).
AXI_LATENCY = 10
SWEEP = {
    "ci": [DEFAULT],
    # theta is a runtime field: the keep fractions share one build; every (sigma, B_msb) is a
    # build of its own (a SPRINT build compiles for tens of minutes on two shared cores): full only.
    "default": [(0.2, 0, 4), (0.3, 0, 4), DEFAULT, (0.7, 0, 4)],
    "full": [(f, 0, 4) for f in (0.1, 0.2, 0.3, 0.4)] + [DEFAULT] + [(f, 0, 4) for f in (0.6, 0.7, 0.8, 0.9)]
            + [(0.5, s, 4) for s in (4, 16, 64)] + [(0.5, 0, m) for m in (3, 6, 8)],
}


def _name(f: float, sigma: int, msb: int) -> str:
    parts = [f"k={f:g}"] + ([f"sigma={sigma}"] if sigma else []) + ([f"msb={msb}"] if msb != DEFAULT[2] else [])
    return " ".join(parts)


def points(preset) -> list[Point]:
    out = []
    for f, sigma, msb in SWEEP[preset.name]:
        knobs = {"keep": f, "sigma": sigma, "msb_bits": msb}
        out.append(Point(NAME, _name(f, sigma, msb), knobs, (f, sigma, msb) == DEFAULT, dict(knobs)))
    return out


def config(point: Point, max_tokens: int):
    """The unit: SprintConfig's defaults (d=32, L=16, 16 KiB buffer, 64-bit AXI) with the
    point's sigma and B_msb at N = ``max_tokens``."""
    from golden.sprint import SprintConfig
    return SprintConfig(max_tokens=max_tokens, sigma=point.params["sigma"], msb_bits=point.params["msb_bits"])


def thetas(fraction: float, msb_bits: int, q_bits: int = 4):
    """theta ``[layers, heads]`` keeping ``fraction`` at ``msb_bits`` / ``q_bits``: the committed
    calibration when it was made for them, else the same calibration run here (cached)."""
    import torch
    from golden.sprint.calibrate import FRACTIONS, calibrate, collect_scores, load_thetas, theta_table
    committed = load_thetas()["config"]
    if (committed["msb_bits"], committed["q_bits"]) == (msb_bits, q_bits):
        return theta_table(fraction)

    def run():
        from calibrate_sprint import CALIBRATION
        from golden import hf
        from golden.sprint.hf import HF_CONFIG
        hf.discover()
        tokenizer, model = hf.load_minilm("exact")
        sentences = [s.strip() for s in CALIBRATION.read_text().splitlines() if s.strip()]
        cfg = HF_CONFIG.replace(msb_bits=msb_bits, q_bits=q_bits)
        return calibrate(collect_scores(model, tokenizer, sentences, cfg))["theta"]
    key = {"msb_bits": msb_bits, "fractions": list(FRACTIONS)} | ({"q_bits": q_bits} if q_bits != 4 else {})
    table = cached("sprint-theta", key, run)
    return torch.tensor(table[f"{fraction:g}"], dtype=torch.int64)


def measure(point: Point, workload, run_name: str) -> Measured:
    from bench_sprint import replay_rtl
    packets = workload.packets()
    # The smallest N that holds the packets (ci: 16, a short build; N=128 is make sim's long one).
    cfg = config(point, fit_tokens([p.n for p in packets], workload.max_tokens))
    table = thetas(point.params["keep"], point.params["msb_bits"]).tolist()
    spec = [{"name": p.name, "q": p.q, "k": p.k, "v": p.v, "scale": [p.scale] * p.n,
             "theta": table[p.layer][p.head]} for p in packets]
    rows = replay_rtl(cfg, spec, AXI_LATENCY, run_name)
    results = []
    for p, s, r in zip(packets, spec, rows):
        results.append({**p.meta(), "cycles": r["cycles"], "mac_cycles": r["mac_cycles"], "fetched": r["fetched"],
                        "reused": r["reused"], "theta": s["theta"], "model_cycles": r["model_cycles"],
                        "bytes": r["fetched"] * cfg.pair_stride, "baseline_cycles": dense_baseline(p.n, cfg.max_tokens)[
                            "baseline_cycles"], "baseline_bytes": stream_bytes(cfg, p.n, 2)})
    return Measured(UNIT, {**cfg.to_dict(), "axi_latency": AXI_LATENCY}, 2, results,
                    f"K/V pairs fetched over AXI (perf.fetched x {cfg.pair_stride} bytes; Q and K also stream in, "
                    f"not counted)", baseline=f"cycles: the dense unit (lanes 16, N={cfg.max_tokens} as this build; its cycle "
                    "model, equal to its RTL) on the same packets; bytes: the dense unit's K and V (2 n d per packet)")


def fidelity_impl(point: Point) -> str:
    from functools import partial

    from golden.sprint.hf import HF_CONFIG, SIGMAS, impl_name
    f, sigma, msb = point.params["keep"], point.params["sigma"], point.params["msb_bits"]
    if msb == DEFAULT[2] and (sigma == 0 or (f == DEFAULT[0] and sigma in SIGMAS)):
        return impl_name(f, sigma)
    name = f"bench-sprint-k{round(f * 100)}-s{sigma}-m{msb}"
    fn = partial(_attention, cfg=HF_CONFIG.replace(sigma=sigma, msb_bits=msb), fraction=f)
    return ensure_impl(name, fn, f"SPRINT, bit-exact int8 unit, {point.name}")


def _attention(*args, cfg, fraction, **kwargs):
    """golden.sprint.hf.sprint_attention with the theta table of ``cfg.msb_bits`` (calibrated
    on first use, not when the implementation is registered)."""
    from golden.sprint.hf import sprint_attention
    return sprint_attention(*args, cfg=cfg, fraction=fraction, thetas=_table(fraction, cfg.msb_bits), **kwargs)


@lru_cache(maxsize=None)
def _table(fraction: float, msb_bits: int):
    return thetas(fraction, msb_bits)
