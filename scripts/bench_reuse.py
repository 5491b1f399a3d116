#!/usr/bin/env python3
"""Attention-map reuse on MiniLM: fidelity and RTL attention cycles per model pass, per layer
partition, against the dense unit.

Fidelity: scripts/evaluate.py on the sentence set for dense-int8 and, per partition, the
bit-exact reuse implementation (``reuse``, ``reuse-<partition>``) and its float model.
Cycles: the dense-int8 workloads of a sample of sentences (captured once into
build/workloads/minilm) are replayed on Verilator, every packet checked exactly against the
golden model: all layers and heads on the dense unit, and per partition on the reuse unit
(the first layer of a group in compute mode, the others in reuse mode on the map it left;
one build, the partition passed to the testbench). A model pass is the sum of a sentence's
6 x 12 packet counts (``perf.cycles``). The cycle model, equal to the RTL on every replayed
packet, extends the cycle columns to all sentences.

Bad input exits with status 2 and one sentence on stderr.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from golden.dense import DenseConfig  # noqa: E402
from golden.dense.cycles import dense_cycles  # noqa: E402
from golden.reuse import ReuseConfig  # noqa: E402
from golden.reuse.cycles import compute_cycles, reuse_cycles  # noqa: E402

PARTITIONS_MODULE = "golden.reuse.hf"
HEADS = 12


class UsageError(Exception):
    """Bad input: one sentence, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message if message.endswith(".") else message + ".")


def parse_args(argv):
    p = _Parser(prog="bench_reuse.py", description=__doc__.splitlines()[0])
    p.add_argument("--workloads", type=Path, default=None, help="workload directory (default build/workloads/minilm)")
    p.add_argument("--sentences", type=int, default=8, help="sentences replayed on the RTL, spread over the "
                                                          "length range (default 8)")
    p.add_argument("--fidelity-limit", type=int, default=None, metavar="N",
                   help="evaluate fidelity on the first N sentences only (default: all)")
    p.add_argument("--heads", default="0,1", help="heads replayed per layer on the RTL, comma-separated or 'all' "
                                                  "(default 0,1: every head of a layer has the sentence's n and the "
                                                  "layer's mode, so the same count; passes are scaled to 12 heads)")
    p.add_argument("--partitions", default=None, help="comma-separated partitions (default: all of golden.reuse.hf)")
    p.add_argument("--max-tokens", type=int, default=256, help="N of both RTL units (default 256, as bench_dense)")
    p.add_argument("--skip-fidelity", action="store_true", help="cycles only")
    p.add_argument("--skip-rtl", action="store_true", help="fidelity and cycle model only")
    p.add_argument("--json", type=Path, help="write every number here")
    args = p.parse_args(argv)
    from golden.reuse.hf import PARTITIONS
    names = list(PARTITIONS) if args.partitions is None else [x for x in args.partitions.split(",") if x]
    unknown = [x for x in names if x not in PARTITIONS]
    if unknown or not names:
        raise UsageError(f"unknown partition {unknown[0] if unknown else '(none)'!r}; choose from {', '.join(PARTITIONS)}.")
    args.partitions = {name: PARTITIONS[name] for name in names}
    try:
        args.heads = list(range(HEADS)) if args.heads == "all" else sorted({int(h) for h in args.heads.split(",")})
    except ValueError:
        raise UsageError(f"--heads must be 'all' or comma-separated integers, got {args.heads!r}.") from None
    if not args.heads or not all(0 <= h < HEADS for h in args.heads):
        raise UsageError(f"--heads must name heads 0 to {HEADS - 1}.")
    if args.sentences < 1:
        raise UsageError(f"--sentences must be at least 1, got {args.sentences}.")
    if args.fidelity_limit is not None and args.fidelity_limit < 2:
        raise UsageError(f"--fidelity-limit must be at least 2, got {args.fidelity_limit}.")
    return args


def fidelity(partitions, limit) -> dict:
    """Run scripts/evaluate.py on dense-int8 and each partition's int8 and float implementation."""
    import evaluate
    from golden.reuse.hf import impl_name
    impls = ["dense-int8"] + [impl_name(p, exact, matched) for p in partitions
                              for exact, matched in ((False, False), (False, True), (True, False))]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fidelity.json"
        argv = [arg for impl in impls for arg in ("--impl", impl)] + ["--json", str(out)]
        if limit:
            argv += ["--limit", str(limit)]
        if evaluate.main(argv) != 0:
            raise RuntimeError("scripts/evaluate.py failed (see above).")
        report = json.loads(out.read_text())
    return {row["impl"]: row for row in report["results"]} | {"_sentences": report["sentences"]}


def sample_sentences(manifest: dict, count: int, max_tokens: int) -> list[int]:
    """``count`` sentence ids spread evenly over the length-sorted sentences that fit N."""
    ids = sorted((n, int(Path(f).stem[1:])) for f, n in zip(manifest["files"], manifest["token_lengths"])
                 if n <= max_tokens)
    if not ids:
        raise UsageError(f"no captured sentence fits --max-tokens {max_tokens}.")
    count = min(count, len(ids))
    picks = [ids[round(i * (len(ids) - 1) / max(count - 1, 1))] for i in range(count)]
    return sorted({sid for _, sid in picks})


def packets_of(directory: Path, sentences: list[int], groups, heads: list[int]) -> list:
    """The (layer, head) packets of ``sentences`` for ``heads``, ordered (sentence, group, head,
    layer) so a one-region map buffer always holds the map a reuse packet needs."""
    from golden.workloads import load_workload
    from verif.workloads import WorkloadPacket
    grouped = {layer for group in groups for layer in group}
    out = []
    for sid in sentences:
        w = load_workload(directory / f"s{sid:04d}.npz")
        blocks = [list(g) for g in groups] + [[l] for l in range(w["q"].shape[0]) if l not in grouped]
        for block in blocks:
            for head in heads:
                for layer in block:
                    out.append(WorkloadPacket(sentence=sid, layer=layer, head=head, n=int(w["n"]),
                                              q=w["q"][layer, head].tolist(), k=w["k"][layer, head].tolist(),
                                              v=w["v"][layer, head].tolist(), scale=int(w["scale"][layer, head])))
    return out


def per_pass(results: list[dict], heads: list[int]) -> dict[int, float]:
    """Sentence -> attention cycles of its model pass: the replayed heads' packets, scaled to
    all 12 heads (heads of a layer take equal cycles: same n, same mode)."""
    totals: dict[int, float] = {}
    for r in results:
        totals[r["sentence"]] = totals.get(r["sentence"], 0) + r["cycles"] * HEADS / len(heads)
    return totals


def model_pass(cfg: ReuseConfig, dense_cfg: DenseConfig, groups, n: int, layers: int = 6) -> tuple[int, int]:
    """(reuse unit, dense unit) cycles of one model pass of an n-token sentence, cycle model."""
    plan = cfg.replace(groups=groups)
    reuse = sum(HEADS * (reuse_cycles(cfg, n, n) if plan.reuses(l) is not None else compute_cycles(cfg, n, n)).cycles
                for l in range(layers))
    return reuse, layers * HEADS * dense_cycles(dense_cfg, n, n).cycles


def main(argv=None) -> int:
    try:
        args = parse_args(argv)
    except UsageError as e:
        print(f"bench_reuse.py: error: {e}", file=sys.stderr)
        return 2
    from verif.workloads import DEFAULT_WORKLOADS, ensure_workloads, run_rtl
    report = {"partitions": {k: [list(g) for g in v] for k, v in args.partitions.items()}}
    try:
        dense_cfg = DenseConfig(max_tokens=args.max_tokens)
        # One map region: packets come grouped by head (see packets_of).
        reuse_cfg = ReuseConfig(max_tokens=args.max_tokens, heads=1)
    except ValueError as e:
        print(f"bench_reuse.py: error: {e}", file=sys.stderr)
        return 2

    if not args.skip_fidelity:
        report["fidelity"] = fidelity(args.partitions, args.fidelity_limit)

    from golden.workloads import load_manifest
    directory = ensure_workloads(args.workloads or DEFAULT_WORKLOADS)
    manifest = load_manifest(directory)
    lengths = [n for n in manifest["token_lengths"] if n <= args.max_tokens]
    model = {"dense": statistics.fmean(model_pass(reuse_cfg, dense_cfg, ((0,),), n)[1] for n in lengths)}
    for name, groups in args.partitions.items():
        model[name] = statistics.fmean(model_pass(reuse_cfg, dense_cfg, groups, n)[0] for n in lengths)
    report["cycle_model"] = {"sentences": len(lengths), "mean_cycles_per_pass": model}

    rtl = {}
    if not args.skip_rtl:
        sentences = sample_sentences(manifest, args.sentences, args.max_tokens)
        base = packets_of(directory, sentences, ((0,), (1,), (2,), (3,), (4,), (5,)), args.heads)
        dense = run_rtl("dense", dense_cfg, base, "verif.dense.tb_dense", name="bench-reuse-dense")
        dense_by = {(r["sentence"], r["layer"], r["head"]): r["cycles"] for r in dense}
        rtl["dense"] = {"per_pass": per_pass(dense, args.heads), "packets": len(dense)}
        for name, groups in args.partitions.items():
            packets = packets_of(directory, sentences, groups, args.heads)
            res = run_rtl("reuse", reuse_cfg, packets, "verif.reuse.tb_reuse", name=f"bench-reuse-{name}",
                          env={"ATTNFORGE_GROUPS": json.dumps([list(g) for g in groups])})
            reused = [r for r in res if r["mode"] == "reuse"]
            ratio = (sum(r["cycles"] for r in reused) / sum(dense_by[(r["sentence"], r["layer"], r["head"])] for r in reused)
                     if reused else None)
            rtl[name] = {"per_pass": per_pass(res, args.heads), "reused_layer_vs_dense": ratio, "packets": len(res)}
        report["rtl"] = {"sentences": sentences, "heads": args.heads, "token_lengths": sorted({r["n"] for r in dense}),
                         "units": {"dense": dense_cfg.to_dict(), "reuse": reuse_cfg.to_dict()}, **rtl}

    print_tables(args, report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, default=str) + "\n")
    return 0


def print_tables(args, report):
    from golden.reuse.hf import impl_name
    fid = report.get("fidelity", {})
    model = report["cycle_model"]["mean_cycles_per_pass"]
    rtl = report.get("rtl", {})
    dense_rtl = statistics.fmean(rtl["dense"]["per_pass"].values()) if rtl else None
    print()
    if fid:
        print(f"fidelity: {fid['_sentences']} sentences, embedding cosine against the float model")
    if rtl:
        print(f"RTL: {len(rtl['sentences'])} sentences ({', '.join(map(str, rtl['token_lengths']))} tokens), "
              f"every layer, heads {rtl['heads']}, on Verilator; outputs checked exactly")
    print(f"cycle model: {report['cycle_model']['sentences']} sentences\n")
    header = ("partition", "reused", "cos int8", "cos matched", "cos float", "NN int8", "NN matched",
              "RTL cyc/pass", "vs dense", "reused layer", "model vs dense")
    rows = [header]

    def cosine(name):
        row = fid.get(name)
        return f"{row['mean_cosine']:.4f}" if row else "-"

    def agree(name):
        row = fid.get(name)
        return f"{row['nn_agree']}/{row['sentences']}" if row else "-"

    rows.append(("dense", "0", cosine("dense-int8"), "-", "-", agree("dense-int8"), "-",
                 f"{dense_rtl:.0f}" if rtl else "-", "100%", "-", "100%"))
    for name, groups in args.partitions.items():
        reused = sum(len(g) - 1 for g in groups)
        if rtl:
            mean = statistics.fmean(rtl[name]["per_pass"].values())
            ratio = rtl[name]["reused_layer_vs_dense"]
            rtl_cells = (f"{mean:.0f}", f"{mean / dense_rtl:.1%}", "-" if ratio is None else f"{ratio:.1%}")
        else:
            rtl_cells = ("-", "-", "-")
        rows.append((name, str(reused), cosine(impl_name(name)), cosine(impl_name(name, matched=True)),
                     cosine(impl_name(name, True)), agree(impl_name(name)), agree(impl_name(name, matched=True)),
                     *rtl_cells, f"{model[name] / model['dense']:.1%}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print("\nreused: layers per pass in reuse mode. cos: mean embedding cosine (int8: the unit; matched: with "
          "head matching; float: the float model). NN: nearest-neighbour agreement. RTL cyc/pass: mean attention "
          "cycles of one model pass (6 layers x 12 heads, perf counters); reused layer: reuse-mode packets' "
          "cycles over the dense unit's on the same packets; model vs dense: the cycle model's pass ratio over "
          "all sentences (head matching changes no cycle count).")


if __name__ == "__main__":
    sys.exit(main())
