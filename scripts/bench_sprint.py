#!/usr/bin/env python3
"""SPRINT on all-MiniLM-L6-v2: fidelity per keep fraction and noise, and K/V bytes and cycles
against the dense unit on the heads of the evaluation sentences with n >= 64 tokens.

Fidelity: mean / min cosine of sentence embeddings against the exact float model (as
scripts/evaluate.py) over all sentences and over those with n >= --min-tokens.

Cost, per head (one packet: the sentence's n queries against its n keys), summed over every
layer and head of the long sentences:

* fetched K/V bytes: pairs fetched over AXI (golden bookkeeping, which the RTL's counters
  equal) times the pair's AXI bytes; dense: every key and value loaded once (2 n d bytes);
* cycles: golden/sprint/cycles.py (equal to the RTL's perf.cycles in verif/sprint) with the
  AXI memory ``--latency`` cycles per burst; dense: golden/dense/cycles.py (equal to the dense
  RTL), K/V streamed on chip at one token per cycle;
* ``--rtl K``: also replay the first K heads with n <= 128 on the RTL of the default config
  (verif/sprint/tb_sprint.py workload case) and report its perf counters next to the model's;
* ``--msb-bits`` / ``--q-bits``: another crossbar precision (B_msb, B_q), theta calibrated for it
  as scripts/calibrate_sprint.py does (scripts/benchlib/sprint.py, cached);
* ``--oracle L,...``: the same measurements with golden/sprint/oracle.py's keep set in place of
  the crossbar's (per row, the fewest keys holding all but L of the exact probability; float
  recompute): a reference for keep rules, plus the fraction of keys some query keeps (every
  one of them crosses AXI at least once, whatever the reuse policy).

Usage: python scripts/bench_sprint.py [--fractions 0.2,0.5] [--sigmas 0,16] [--limit N]
       [--json OUT] [--rtl K] [--msb-bits B --q-bits B] [--oracle 0.1,0.2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SENTENCES = ROOT / "scripts" / "data" / "sentences.txt"


def embed_with(name, sentences, tap=None, batch_size=16):
    from golden import hf
    tokenizer, model = hf.load_minilm(name)
    if tap is not None:
        hf.session_of(model).add_tap(tap)
    return hf.embed(model, tokenizer, sentences, batch_size=batch_size, max_length=256)


def cosines(ref, emb):
    return (ref * emb).sum(dim=1)


def head_costs(cfg, ints, n, latency):
    """Per head of one layer call (batch of 1): fetched/reused/cycles for both policies."""
    from golden.sprint.cycles import sprint_cycles
    from golden.sprint.oracle import keys_kept_by_some_query
    keep = ints["keep"][0]  # [H, n, n]
    out = []
    for h in range(keep.shape[0]):
        rows = keep[h, :n, :n].tolist()
        item = {"kept": sum(map(sum, rows)), "covered": keys_kept_by_some_query(keep[h, :n, :n], n)}
        for policy in ("previous", "all"):
            c = sprint_cycles(cfg.replace(reuse=policy), rows, n_keys=n, latency=latency)
            item[policy] = {"fetched": c.fetched, "reused": c.reused, "cycles": c.cycles}
        out.append(item)
    return out


def replay_rtl(cfg, packets: list[dict], latency: int, name: str) -> list[dict]:
    """Replay SPRINT packets (dicts: ``name``, ``q``, ``k``, ``v``, ``scale`` per query row,
    ``theta``) on the RTL of ``cfg`` (verif/sprint/tb_sprint.py ``workload`` case: outputs and
    fetched/reused counters checked exactly against the golden model) with an AXI memory of
    ``latency`` cycles per burst. Returns per packet the unit's counters (``cycles``,
    ``mac_cycles``, ``fetched``, ``reused``), ``model_cycles`` (golden/sprint/cycles.py) and
    ``dense_cycles`` (the dense unit's model on the same n). Raises AssertionError on a
    failed run."""
    from golden.dense import DenseConfig
    from golden.dense.cycles import dense_cycles
    from golden.sprint.cycles import sprint_cycles
    from golden.sprint.model import sprint_int
    from verif.runner import build, run
    b = build("sprint", cfg)
    spec = b.directory / "runs" / name / "sprint_workload.json"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(json.dumps({"packets": packets}))
    res = run(b, "verif.sprint.tb_sprint", testcase="workload", name=name,
              env={"ATTNFORGE_WORKLOAD": str(spec), "ATTNFORGE_AXI_LATENCY": str(latency)})
    if res["failed"] or res["tests"] != 1:
        raise AssertionError(f"sprint workload run failed: {res['failure']}; log: {res['log']}")
    got_rows = res["report"].get("workload", [])
    if len(got_rows) != len(packets):
        raise AssertionError(f"sprint workload reported {len(got_rows)} packets of {len(packets)}; log: {res['log']}")
    rows = []
    for pk, got in zip(packets, got_rows):
        r = sprint_int(pk["q"], pk["k"], pk["v"], pk["scale"], pk["theta"], cfg, return_all=True)
        n = len(pk["k"])
        model = sprint_cycles(cfg, r["keep"].tolist(), n_keys=n, latency=latency)
        rows.append({**got, "model_cycles": model.cycles, "dense_cycles": dense_cycles(DenseConfig(), n, n).cycles})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fractions", default="0.2,0.3,0.4,0.5,0.6")
    p.add_argument("--sigmas", default="0,16,64,256")
    p.add_argument("--min-tokens", type=int, default=64)
    p.add_argument("--limit", type=int, help="first N sentences only")
    p.add_argument("--cost-sentences", type=int, metavar="M",
                   help="bytes and cycles on the first M sentences with n >= --min-tokens only (default: all)")
    p.add_argument("--latency", type=int, default=10, help="AXI memory latency per burst (cycles)")
    p.add_argument("--axi-bits", type=int, help="AXI data width for the cost part (default: the config's)")
    p.add_argument("--json", type=Path)
    p.add_argument("--rtl", type=int, default=0, metavar="K", help="replay K heads (n <= 128) on the RTL")
    p.add_argument("--msb-bits", type=int, help="crossbar key bits B_msb (default: the config's, 4)")
    p.add_argument("--q-bits", type=int, help="crossbar query bits B_q (default: the config's, 4)")
    p.add_argument("--oracle", default="", metavar="L,...",
                   help="also the oracle keep set leaving out L of each row's probability (golden/sprint/oracle.py)")
    args = p.parse_args(argv)

    import torch
    from golden import hf
    from golden.dense import DenseConfig
    from golden.dense.cycles import dense_cycles
    from golden.config import ConfigError
    from golden.sprint.calibrate import FRACTIONS
    from golden.sprint.hf import HF_CONFIG, ORACLE_LEAVES, impl_name, oracle_name
    try:
        fractions = [float(x) for x in args.fractions.split(",") if x]
        sigmas = [int(x) for x in args.sigmas.split(",") if x]
        leaves = [float(x) for x in args.oracle.split(",") if x]
    except ValueError as e:
        print(f"bench_sprint.py: error: --fractions, --sigmas and --oracle take comma-separated numbers ({e}).",
              file=sys.stderr)
        return 2
    if bad := [x for x in fractions if x not in FRACTIONS]:
        print(f"bench_sprint.py: error: --fractions {bad[0]:g} is not calibrated; the calibration holds "
              f"{', '.join(f'{x:g}' for x in FRACTIONS)}.", file=sys.stderr)
        return 2
    if bad := [x for x in leaves if x not in ORACLE_LEAVES]:
        print(f"bench_sprint.py: error: --oracle {bad[0]:g} is not one of {', '.join(f'{x:g}' for x in ORACLE_LEAVES)}"
              " (golden/sprint/hf.py: ORACLE_LEAVES).", file=sys.stderr)
        return 2
    precision = {k: v for k, v in (("msb_bits", args.msb_bits), ("q_bits", args.q_bits)) if v is not None}
    try:
        cfg = HF_CONFIG.replace(**precision, **({} if args.axi_bits is None else {"axi_data_width": args.axi_bits}))
    except ConfigError as e:
        print(f"bench_sprint.py: error: {e}", file=sys.stderr)
        return 2
    hf.discover()
    sentences = [s.strip() for s in SENTENCES.read_text().splitlines() if s.strip()][:args.limit]
    tokenizer, _ = hf.load_minilm("exact")
    lengths = [len(tokenizer(s)["input_ids"]) for s in sentences]
    long_all = [i for i, n in enumerate(lengths) if n >= args.min_tokens]
    long_idx = long_all[:args.cost_sentences]
    long_sentences = [sentences[i] for i in long_idx]
    long_lengths = [lengths[i] for i in long_idx]
    if not long_sentences:
        print(f"bench_sprint.py: error: no sentence has {args.min_tokens} tokens or more.", file=sys.stderr)
        return 2
    t0 = time.time()
    ref = embed_with("exact", sentences)
    dense_cfg = DenseConfig(head_dim=cfg.head_dim, max_tokens=cfg.max_tokens)
    pair_axi_bytes = cfg.pair_stride
    results = {"sentences": len(sentences), "long_sentences": len(long_all), "cost_sentences": len(long_idx),
               "cost_lengths": long_lengths, "min_tokens": args.min_tokens,
               "latency": args.latency, "config": cfg.to_dict(), "fractions": [], "sigmas": []}

    dense_cycles_total = dense_bytes_total = 0
    for i in long_idx:
        n = lengths[i]
        dense_cycles_total += dense_cycles(dense_cfg, n, n).cycles
        dense_bytes_total += 2 * n * cfg.head_dim * cfg.data_width // 8
    heads = 72  # 6 layers x 12 heads
    dense_cycles_total *= heads
    dense_bytes_total *= heads
    rtl_packets = []

    def measure(name, f=None):
        """Fidelity of implementation ``name`` and the cost of its keep masks on the long sentences."""
        emb = embed_with(name, sentences)
        cos = cosines(ref, emb)
        costs = []

        def tap(ctx, tensors, costs=costs):
            ints = ctx.record["ints"]
            n = ints["keep"].shape[-1]
            costs.extend(head_costs(cfg, ints, n, args.latency))
            if args.rtl and len(rtl_packets) < args.rtl and n <= 128 and f == 0.5 and not precision:
                for h in range(min(2, ints["q"].shape[1])):
                    rtl_packets.append({"name": f"l{ctx.layer_idx}h{h}", "q": ints["q"][0, h].tolist(),
                                        "k": ints["k"][0, h].tolist(), "v": ints["v"][0, h].tolist(),
                                        "scale": [int(ints["scale"][0, h, 0])] * n,
                                        "theta": int(ints["theta"][0, h])})
        embed_with(name, long_sentences, tap=tap, batch_size=1)  # one sentence per call: no padding
        cos_long = cos[long_all]  # every sentence with n >= min_tokens (batched embeddings)
        row = {"impl": name, "fraction": f, "mean_cosine": cos.mean().item(), "min_cosine": cos.min().item(),
               "long_mean_cosine": cos_long.mean().item(), "long_min_cosine": cos_long.min().item()}
        total_pairs = sum(lengths[i] ** 2 for i in long_idx) * heads
        row["kept_fraction"] = sum(c["kept"] for c in costs) / total_pairs
        row["keys_kept_by_some_query"] = sum(c["covered"] for c in costs) / (sum(long_lengths) * heads)
        for policy in ("previous", "all"):
            fetched = sum(c[policy]["fetched"] for c in costs)
            cycles = sum(c[policy]["cycles"] for c in costs)
            row[policy] = {"fetched_bytes": fetched * pair_axi_bytes,
                           "bytes_vs_dense": fetched * pair_axi_bytes / dense_bytes_total,
                           "cycles": cycles, "speedup_vs_dense": dense_cycles_total / cycles}
        print(f"{name}: kept {row['kept_fraction']:.3f} (keys kept by some query "
              f"{row['keys_kept_by_some_query']:.3f})  cosine all {row['mean_cosine']:.5f} "
              f"(min {row['min_cosine']:.4f})  n>={args.min_tokens} {row['long_mean_cosine']:.5f} "
              f"(min {row['long_min_cosine']:.4f})  | previous: bytes {row['previous']['bytes_vs_dense']:.1%} "
              f"of dense, {row['previous']['speedup_vs_dense']:.2f}x fewer cycles | all: bytes "
              f"{row['all']['bytes_vs_dense']:.1%}, {row['all']['speedup_vs_dense']:.2f}x", flush=True)
        return row

    if precision:
        from benchlib.sprint import thetas
        from golden.sprint.hf import sprint_attention
    for f in fractions:
        name = impl_name(f)
        if precision:  # theta calibrated for this precision, under a name of its own
            name += f"-m{cfg.msb_bits}q{cfg.q_bits}"
            if name not in hf.implementations():
                hf.register_attention(name, partial(sprint_attention, cfg=HF_CONFIG.replace(**precision), fraction=f,
                                                    thetas=thetas(f, cfg.msb_bits, cfg.q_bits)))
        results["fractions"].append(measure(name, f))
    for leave in leaves:
        row = measure(oracle_name(leave))
        row["leave"] = leave
        results.setdefault("oracle", []).append(row)
    if precision and sigmas:
        print("bench_sprint.py: --sigmas uses the committed B_msb = B_q = 4 calibration only; skipped.")
        sigmas = []
    for s in sigmas:
        name = impl_name(sigma=s)
        cos = cosines(ref, embed_with(name, sentences))
        results["sigmas"].append({"impl": name, "sigma": s, "mean_cosine": cos.mean().item(),
                                  "min_cosine": cos.min().item(), "long_mean_cosine": cos[long_all].mean().item()})
        print(f"sigma {s}: cosine {cos.mean().item():.5f} (min {cos.min().item():.4f}), n>={args.min_tokens} "
              f"{cos[long_all].mean().item():.5f}", flush=True)
    results["dense"] = {"cycles": dense_cycles_total, "bytes": dense_bytes_total}
    print(f"dense unit on the {len(long_idx)} cost sentences with n >= {args.min_tokens} (x72 heads): "
          f"{dense_cycles_total} cycles, {dense_bytes_total} K/V bytes; {time.time() - t0:.0f} s")

    if rtl_packets:
        from golden.sprint import SprintConfig
        try:
            rows = replay_rtl(SprintConfig(), rtl_packets, args.latency, "bench-workload")  # default config: d=32, N=128
        except AssertionError as e:
            print(f"RTL replay failed: {e}")
            return 1
        for got in rows:
            print(f"RTL {got['name']} n={got['n']}: {got['cycles']} cycles (model {got['model_cycles']}), dense "
                  f"{got['dense_cycles']} ({got['dense_cycles'] / got['cycles']:.2f}x), fetched {got['fetched']} "
                  f"reused {got['reused']}")
        results["rtl"] = rows
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
