#!/usr/bin/env python3
"""CTA engine on MiniLM: fidelity and cycles per (compress, H, C), against the dense unit.

For each config of the sweep:

* fidelity: sentence-embedding cosine of MiniLM with every attention layer replaced by the
  bit-exact CTA engine (golden.cta, int8) against the exact float model, on all sentences of
  scripts/data/sentences.txt and on those with >= --min-n tokens;
* cycles: the CTA cycle model (golden.cta.cycles, equal to the RTL on every tested packet) over
  every captured (sentence, layer, head) packet with >= --min-n tokens, clustered by the golden
  model, against the dense unit's cycle model with the same lanes and N.

The config with the fewest cycles whose mean cosine on the long sentences is >= --target is
then run on Verilator on --rtl-packets of those packets, with the dense unit on the same
packets (outputs checked exactly by both testbenches; cycles from the units' perf counters).

``--kmeans R,...`` measures instead a reference that is not the engine: float CTA with k-means
clusters, ceil(n / R) per side (golden/cta/oracle.py), its cosine and its centroid pairs
C_q C_k against the n^2 token pairs, which bound the compressed attention's MAC-bound saving.

Usage: python scripts/bench_cta.py [--grid both:8:32,both:16:144,...] [--rtl-packets 64] [--json OUT]
       python scripts/bench_cta.py --rtl-only both:16:144 [--rtl-packets 64]
       python scripts/bench_cta.py --kmeans 1.5,2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from golden.cta import CtaConfig  # noqa: E402
from golden.cta.cycles import cta_cycles  # noqa: E402
from golden.cta.model import cluster_tokens  # noqa: E402
from golden.dense import DenseConfig  # noqa: E402
from golden.dense.cycles import dense_cycles  # noqa: E402
from verif.workloads import DEFAULT_WORKLOADS, WorkloadPacket, ensure_workloads  # noqa: E402

DEFAULT_GRID = ("both:8:32,both:12:64,both:16:64,both:16:96,both:16:128,both:16:144,both:20:144,"
                "keys:16:96,keys:16:144")
SENTENCES = Path(__file__).resolve().parent / "data" / "sentences.txt"


def parse_grid(text):
    out = []
    for item in text.split(","):
        try:
            compress, h, c = item.split(":")
            out.append((compress, int(h), int(c)))
        except ValueError:
            raise argparse.ArgumentTypeError(f"grid items are compress:H:C, got {item!r}")
    return out


def workload_heads(directory: Path, min_n: int):
    """(sentence, n, q, k, v, scale) int arrays [layers, heads, n, d] of sentences with n >= min_n."""
    from golden.workloads import load_manifest, load_workload
    manifest = load_manifest(directory)
    for name, n in zip(manifest["files"], manifest["token_lengths"]):
        if n >= min_n:
            w = load_workload(directory / name)
            yield int(Path(name).stem[1:]), int(w["n"]), w


def model_cycles(cfg: CtaConfig, dense_cfg: DenseConfig, directory: Path, min_n: int) -> dict:
    cta = dense = macs = packets = 0
    kcl = qcl = 0
    for _, n, w in workload_heads(directory, min_n):
        for layer in range(w["q"].shape[0]):
            for head in range(w["q"].shape[1]):
                k = torch.from_numpy(w["k"][layer, head]).to(torch.int64)
                q = torch.from_numpy(w["q"][layer, head]).to(torch.int64)
                ck = cluster_tokens(k, cfg).n if cfg.keys_compressed else n
                cq = cluster_tokens(q, cfg).n if cfg.queries_compressed else n
                c = cta_cycles(cfg, n, n, ck, cq)
                cta += c.cycles
                macs += c.mac_cycles
                dense += dense_cycles(dense_cfg, n, n).cycles
                kcl, qcl, packets = kcl + ck, qcl + cq, packets + 1
    return {"packets": packets, "cta_cycles": cta, "dense_cycles": dense, "ratio": dense / cta if cta else None,
            "mean_key_clusters": kcl / packets, "mean_query_clusters": qcl / packets,
            "mac_utilization": macs / (2 * cta) if cta else None}


def reference_embeddings(min_n: int, limit: int | None, batch_size: int, all_sentences: bool):
    """``(tokenizer, sentences, long mask, exact embeddings)`` of the evaluation sentences."""
    from golden import hf
    hf.discover()
    sentences = [s.strip() for s in SENTENCES.read_text().splitlines() if s.strip()][:limit]
    tokenizer, ref_model = hf.load_minilm("exact")
    lengths = [len(ids) for ids in tokenizer(sentences, truncation=True, max_length=256)["input_ids"]]
    if not all_sentences:  # embeddings are per sentence: the long ones alone give the same cosines
        sentences = [s for s, n in zip(sentences, lengths) if n >= min_n]
        lengths = [n for n in lengths if n >= min_n]
    long = torch.tensor([n >= min_n for n in lengths])
    return tokenizer, sentences, long, hf.embed(ref_model, tokenizer, sentences, batch_size=batch_size)


def fidelity(configs, min_n: int, limit: int | None, batch_size: int, all_sentences: bool) -> list[dict]:
    from golden import hf
    from golden.cta.hf import register_config
    tokenizer, sentences, long, ref = reference_embeddings(min_n, limit, batch_size, all_sentences)
    out = []
    for cfg in configs:
        name = f"cta-int8-{cfg.compress}-h{cfg.hash_bits}-c{cfg.max_clusters}"
        if name not in hf.implementations():
            register_config(name, cfg, integer=True)
        start = time.perf_counter()
        _, model = hf.load_minilm(name)
        emb = hf.embed(model, tokenizer, sentences, batch_size=batch_size)
        cos = (ref * emb).sum(dim=1)
        out.append({"impl": name, "sentences": len(sentences), "long_sentences": int(long.sum()),
                    "mean_cosine": cos.mean().item(), "mean_cosine_long": cos[long].mean().item() if long.any() else None,
                    "min_cosine_long": cos[long].min().item() if long.any() else None,
                    "seconds": time.perf_counter() - start})
        print(f"  {name}: mean cosine {out[-1]['mean_cosine']:.5f} ({len(sentences)} sentences), "
              f"{out[-1]['mean_cosine_long']:.5f} (n >= {min_n})", flush=True)
    return out


def kmeans_reference(ratios, min_n: int, limit: int | None, batch_size: int) -> list[dict]:
    """Cosine (sentences with n >= min_n) and centroid pairs / token pairs of the k-means references."""
    from golden import hf
    from golden.cta.hf import kmeans_name
    tokenizer, sentences, _, ref = reference_embeddings(min_n, limit, batch_size, all_sentences=False)
    out = []
    for ratio in ratios:
        start = time.perf_counter()
        _, model = hf.load_minilm(kmeans_name(ratio))
        pairs = [0, 0]

        def tap(ctx, tensors, pairs=pairs):
            pairs[0] += ctx.record["pairs"][0]
            pairs[1] += ctx.record["pairs"][1]
        hf.session_of(model).add_tap(tap)
        cos = (ref * hf.embed(model, tokenizer, sentences, batch_size=batch_size)).sum(dim=1)
        out.append({"impl": kmeans_name(ratio), "ratio": ratio, "sentences": len(sentences),
                    "mean_cosine_long": cos.mean().item(), "min_cosine_long": cos.min().item(),
                    "centroid_pairs_fraction": pairs[0] / pairs[1], "seconds": time.perf_counter() - start})
        r = out[-1]
        print(f"  {r['impl']}: mean cosine {r['mean_cosine_long']:.5f} (min {r['min_cosine_long']:.4f}, "
              f"{len(sentences)} sentences with n >= {min_n}); centroid pairs {r['centroid_pairs_fraction']:.3f} "
              f"of n^2 (MAC-bound saving at most {1 / r['centroid_pairs_fraction']:.2f}x)", flush=True)
    return out


def rtl(cfg: CtaConfig, dense_cfg: DenseConfig, directory: Path, min_n: int, count: int) -> dict:
    from verif.workloads import run_rtl, select_packets
    per_sentence = 12  # heads of layer 0 .. 5 spread: 2 layers x 6 heads per sentence
    sentences = max(1, -(-count // per_sentence))
    packets = select_packets(directory, min_n=min_n, sentences=sentences, layers=[0, 3], heads=[0, 2, 4, 6, 8, 10])
    packets = packets[:count]
    c = run_rtl("cta", cfg, packets, "verif.cta.tb_cta", name="bench")
    d = run_rtl("dense", dense_cfg, packets, "verif.dense.tb_dense", name="bench")
    per_packet = [{**a, "dense_cycles": b["cycles"],
                   "model_cycles": cta_cycles(cfg, a["n"], a["n"], a["key_clusters"], a["query_clusters"]).cycles,
                   "dense_model_cycles": dense_cycles(dense_cfg, a["n"], a["n"]).cycles} for a, b in zip(c, d)]
    return {"packets": len(packets), "cta_cycles": sum(r["cycles"] for r in c),
            "dense_cycles": sum(r["cycles"] for r in d),
            "ratio": sum(r["cycles"] for r in d) / sum(r["cycles"] for r in c),
            "equal_to_models": sum(p["cycles"] == p["model_cycles"] and p["dense_cycles"] == p["dense_model_cycles"]
                                   for p in per_packet),
            "per_packet": per_packet}


def print_rtl(r: dict) -> None:
    print(f"RTL (Verilator, {r['packets']} packets, outputs exact): CTA {r['cta_cycles']} cycles, "
          f"dense {r['dense_cycles']} cycles: {r['ratio']:.2f}x; cycles equal to both cycle models "
          f"on {r['equal_to_models']} of {r['packets']} packets")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", type=Path, default=DEFAULT_WORKLOADS)
    p.add_argument("--grid", type=parse_grid, default=parse_grid(DEFAULT_GRID), help="compress:H:C,...")
    p.add_argument("--min-n", type=int, default=64, help="shortest sequence counted (default 64)")
    p.add_argument("--lanes", type=int, default=16)
    p.add_argument("--max-tokens", type=int, default=256, help="N of both units (default 256)")
    p.add_argument("--target", type=float, default=0.99, help="mean cosine the chosen config must reach")
    p.add_argument("--limit", type=int, help="use only the first N sentences for fidelity")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--all-sentences", action="store_true",
                   help="fidelity on every sentence too (default: only those with >= --min-n tokens)")
    p.add_argument("--rtl-packets", type=int, default=64, help="packets run on Verilator (0: none)")
    p.add_argument("--rtl-only", type=parse_grid, metavar="compress:H:C",
                   help="skip the sweep: this config's cycle model and, with --rtl-packets > 0, "
                        "this config and dense on Verilator")
    p.add_argument("--kmeans", metavar="R,...",
                   help="instead of the sweep: the k-means references with ceil(n / R) clusters per side "
                        "(golden/cta/hf.py: KMEANS_RATIOS)")
    p.add_argument("--json", type=Path, help="write all results here")
    args = p.parse_args(argv)
    if args.rtl_packets < 0:
        p.error(f"--rtl-packets must be 0 or more, got {args.rtl_packets}")
    if args.kmeans is not None:
        from golden.cta.hf import KMEANS_RATIOS
        try:
            ratios = [float(x) for x in args.kmeans.split(",") if x]
        except ValueError:
            p.error(f"--kmeans takes comma-separated ratios, got {args.kmeans!r}")
        if not ratios or any(r not in KMEANS_RATIOS for r in ratios):
            p.error(f"--kmeans ratios are {', '.join(f'{r:g}' for r in KMEANS_RATIOS)}, got {args.kmeans!r}")
        # k-means runs thousands of small per-head ops: one thread each avoids oversubscribing the cores
        torch.set_num_threads(1)
        print(f"k-means references (float CTA, compress both, vs exact float, {SENTENCES.name}):", flush=True)
        rows = kmeans_reference(ratios, args.min_n, args.limit, args.batch_size)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"min_n": args.min_n, "kmeans": rows}, indent=1))
        return 0
    directory = ensure_workloads(args.workloads)
    dense_cfg = DenseConfig(max_tokens=args.max_tokens, lanes=args.lanes)
    if args.rtl_only:
        (c, h, k), = args.rtl_only
        cfg = CtaConfig(max_tokens=args.max_tokens, lanes=args.lanes, compress=c, hash_bits=h, max_clusters=k)
        model = model_cycles(cfg, dense_cfg, directory, args.min_n)
        print(f"{cfg.compress} H={h} C={k}, L={args.lanes} N={args.max_tokens}: cycle model over "
              f"{model['packets']} packets with n >= {args.min_n}: CTA {model['cta_cycles']}, dense "
              f"{model['dense_cycles']}: {model['ratio']:.2f}x", flush=True)
        r = None
        if args.rtl_packets:
            r = rtl(cfg, dense_cfg, directory, args.min_n, args.rtl_packets)
            print_rtl(r)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"config": cfg.to_dict(), "model": model, "rtl": r}, indent=1))
        return 0
    configs = [CtaConfig(max_tokens=args.max_tokens, lanes=args.lanes, compress=c, hash_bits=h, max_clusters=k)
               for c, h, k in args.grid]
    print(f"fidelity (bit-exact int8 engine vs exact float, {SENTENCES.name}):", flush=True)
    fid = fidelity(configs, args.min_n, args.limit, args.batch_size, args.all_sentences)
    rows = []
    for cfg, f in zip(configs, fid):
        rows.append({"config": {"compress": cfg.compress, "hash_bits": cfg.hash_bits, "max_clusters": cfg.max_clusters},
                     **f, "model": model_cycles(cfg, dense_cfg, directory, args.min_n)})
    print(f"\ncycle model over every captured packet with n >= {args.min_n} (L={args.lanes}, N={args.max_tokens}):")
    print(f"{'compress':>8} {'H':>3} {'C':>4} {'cos set':>8} {'cos long':>8} {'kC':>6} {'qC':>6} "
          f"{'CTA cycles':>11} {'dense':>11} {'ratio':>6}")
    for r in rows:
        c, m = r["config"], r["model"]
        print(f"{c['compress']:>8} {c['hash_bits']:>3} {c['max_clusters']:>4} {r['mean_cosine']:>8.5f} "
              f"{r['mean_cosine_long']:>8.5f} {m['mean_key_clusters']:>6.1f} {m['mean_query_clusters']:>6.1f} "
              f"{m['cta_cycles']:>11} {m['dense_cycles']:>11} {m['ratio']:>5.2f}x")
    ok = [(r, cfg) for r, cfg in zip(rows, configs) if (r["mean_cosine_long"] or 0) >= args.target]
    result = {"min_n": args.min_n, "lanes": args.lanes, "max_tokens": args.max_tokens, "target": args.target,
              "sweep": rows, "best": None, "rtl": None}
    if not ok:
        print(f"\nno config reaches mean cosine {args.target} on sentences with n >= {args.min_n}.")
    else:
        best, cfg = min(ok, key=lambda rc: rc[0]["model"]["cta_cycles"])
        result["best"] = best["config"]
        print(f"\nfewest cycles at cosine >= {args.target}: {cfg.compress} H={cfg.hash_bits} C={cfg.max_clusters}: "
              f"{best['model']['ratio']:.2f}x fewer cycles than dense (cycle model, {best['model']['packets']} packets)")
        if args.rtl_packets:
            r = rtl(cfg, dense_cfg, directory, args.min_n, args.rtl_packets)
            result["rtl"] = r
            print_rtl(r)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
