#!/usr/bin/env python3
"""MEMO on MiniLM: hit rate, embedding fidelity and attention cycles saved against the dense
unit, on a workload of recurring requests (scripts/data/memo_requests.txt).

Requests run one per forward pass, in file order, through all-MiniLM-L6-v2 with the ``memo``
implementation (bit-exact int8 unit; the attention database persists across requests). Each
layer of each request is one lookup (context = layer, signature = hash of the layer input's
int8 token mean). Fidelity: cosine of each request's sentence embedding with the exact
float model's (and dense-int8's, for reference). Cycles (golden cycle models): dense = 12
heads x the dense unit's packet count per layer; memo = per layer the signature and lookup
(token sum, hasher, 3-cycle lookup) plus per head a hit packet (map over AXI into the
weighted sum) when the head took a stored map, else a miss packet (dense pipeline, map
written back). ``--calibrate`` first runs the selective-memoization policy
(golden/memo/policy.py) on scripts/data/memo_calibration.txt (held out: other fill words of
the same templates) and writes golden/memo/minilm_policy.json; without it the committed
policy file is used.

Bad input exits with status 2 and one sentence on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REQUESTS = ROOT / "scripts" / "data" / "memo_requests.txt"
CALIBRATION = ROOT / "scripts" / "data" / "memo_calibration.txt"
HIDDEN = 384


class UsageError(Exception):
    """Bad input: one sentence, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message if message.endswith(".") else message + ".")


def parse_args(argv):
    p = _Parser(prog="bench_memo.py", description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=Path, default=REQUESTS, help="request stream, one per line (default: %(default)s)")
    p.add_argument("--limit", type=int, help="first N requests only")
    p.add_argument("--tau", type=int, default=None, help="tau register (default: the config's, 12)")
    p.add_argument("--entries", type=int, default=None, help="table entries E (default 1024)")
    p.add_argument("--ways", type=int, default=None, help="ways W (default 8)")
    p.add_argument("--sig-bits", type=int, default=None, help="signature bits S (default 64)")
    p.add_argument("--all-heads", action="store_true", help="memoize every head (no selective mask)")
    p.add_argument("--calibrate", action="store_true", help="run the selective-memoization policy first and write "
                                                            "golden/memo/minilm_policy.json")
    p.add_argument("--target", type=float, default=0.9, help="policy: least mean map overlap of an enabled head "
                                                             "(default %(default)s)")
    p.add_argument("--layer-target", type=float, default=0.9975,
                   help="policy: least calibration embedding cosine with only that layer memoized (default %(default)s)")
    p.add_argument("--axi-latency", type=int, default=16, help="extra memory latency per AXI burst in cycles "
                                                               "(default %(default)s)")
    p.add_argument("--json", type=Path, help="write every number here")
    args = p.parse_args(argv)
    if not args.requests.is_file():
        raise UsageError(f"requests file {args.requests} does not exist.")
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}.")
    if args.axi_latency < 0:
        raise UsageError(f"--axi-latency must be >= 0, got {args.axi_latency}.")
    return args


def embed_each(model, tokenizer, texts):
    import torch

    from golden import hf
    return torch.cat([hf.embed(model, tokenizer, [t], batch_size=1) for t in texts])


def policy_config(cfg, all_heads: bool = False):
    """``(cfg with the engine's selective mask, head_mask [layer][head])``: the committed policy
    (golden/memo/minilm_policy.json), or every head."""
    from golden.memo.policy import layer_mask_of, load_policy
    head_mask = [[1] * 12] * 6 if all_heads else load_policy()["head_mask"]
    return cfg.replace(mask=layer_mask_of(head_mask)), head_mask


def run_memo(texts, cfg, head_mask, name: str = "memo-bench", tap=None):
    """The bit-exact MEMO unit in MiniLM over ``texts``, one request per forward pass in order
    (the attention database persists): ``(embeddings, database)``. ``tap(ctx, q, k, v,
    softmax_scale, db)`` runs after each layer's memoized attention (``db.events[-1]`` is its
    lookup)."""
    from functools import partial

    from golden import hf
    from golden.memo import hf as memo_hf
    fn = partial(memo_hf.memo_attention, cfg=cfg, head_mask=head_mask)
    if tap is not None:
        memo = fn

        def fn(q, k, v, key_mask, softmax_scale, ctx):
            out = memo(q, k, v, key_mask, softmax_scale, ctx)
            tap(ctx, q, k, v, softmax_scale, memo_hf.database_of(ctx.session, ctx.impl, cfg))
            return out
    if name not in hf.implementations():
        hf.register_attention(name, fn)
    tokenizer, model = hf.load_minilm(name)
    emb = embed_each(model, tokenizer, texts)
    return emb, memo_hf.database_of(hf.session_of(model), name, cfg)


def main(argv=None) -> int:
    try:
        args = parse_args(argv)
        from golden.config import ConfigError
        from golden.memo import hf as memo_hf
        changes = {k: v for k, v in (("tau", args.tau), ("entries", args.entries), ("ways", args.ways),
                                      ("sig_bits", args.sig_bits)) if v is not None}
        try:
            cfg = memo_hf.HF_CONFIG.replace(**changes)
        except ConfigError as e:
            raise UsageError(str(e)) from None
        texts = [l.strip() for l in args.requests.read_text().splitlines() if l.strip()][:args.limit]
        if not texts:
            raise UsageError(f"requests file {args.requests} has no requests.")
    except UsageError as e:
        print(f"bench_memo.py: error: {e}", file=sys.stderr)
        return 2

    from golden import hf
    from golden.dense import DenseConfig
    from golden.dense.cycles import dense_cycles
    from golden.memo.cycles import hit_cycles, miss_cycles, signature_cycles
    from golden.memo.policy import FORMAT, POLICY_FILE, calibrate, calibrate_layers, head_mask_for, layer_mask_of

    hf.discover()
    if args.calibrate:
        cal = [l.strip() for l in CALIBRATION.read_text().splitlines() if l.strip()]
        overlap, hits = calibrate(cal, cfg)
        layer_cos = calibrate_layers(cal, cfg)
        head_mask = head_mask_for(overlap, hits, args.target, layer_cos, args.layer_target)
        POLICY_FILE.write_text(json.dumps({
            "format": FORMAT, "calibration": str(CALIBRATION.relative_to(ROOT)), "requests": len(cal),
            "target": args.target, "layer_target": args.layer_target,
            "layer_cosine": [round(x, 6) for x in layer_cos], "config": {"tau": cfg.tau, "entries": cfg.entries, "ways": cfg.ways,
                                             "sig_bits": cfg.sig_bits},
            "hits": hits, "overlap": [[round(x, 4) for x in row] for row in overlap],
            "head_mask": head_mask, "layer_mask": list(layer_mask_of(head_mask))}, indent=1) + "\n")
        print(f"policy: {sum(map(sum, head_mask))}/72 heads enabled (head overlap >= {args.target}, layer cosine "
              f">= {args.layer_target}); calibration hits per layer {hits}, cosine with one layer memoized "
              f"{[round(x, 5) for x in layer_cos]}; wrote {POLICY_FILE.relative_to(ROOT)}")
    cfg, head_mask = policy_config(cfg, args.all_heads)
    tokenizer, exact = hf.load_minilm("exact")
    ref = embed_each(exact, tokenizer, texts)
    _, dense = hf.load_minilm("dense-int8")
    dense_emb = embed_each(dense, tokenizer, texts)
    memo_emb, db = run_memo(texts, cfg, head_mask)

    dcfg = DenseConfig(head_dim=cfg.head_dim, max_tokens=cfg.max_tokens, lanes=cfg.lanes)
    dense_total = memo_total = 0
    cache = {}

    def cyc(kind, n):
        if (kind, n) not in cache:
            cache[kind, n] = {"dense": lambda: dense_cycles(dcfg, n, n).cycles,
                              "hit": lambda: hit_cycles(cfg, n, n, latency=args.axi_latency),
                              "miss": lambda: miss_cycles(cfg, n, n),
                              "sig": lambda: signature_cycles(cfg, n, HIDDEN)}[kind]()
        return cache[kind, n]

    lookups = hits = heads_memo = allocs = evictions = 0
    for e in db.events:
        lookups += 1
        hits += e.lookup.hit
        allocs += e.lookup.alloc
        evictions += e.lookup.evict
        heads_memo += len(e.memo_heads)
        dense_total += e.heads * cyc("dense", e.n)
        memo_total += cyc("sig", e.n) + len(e.memo_heads) * cyc("hit", e.n) + (e.heads - len(e.memo_heads)) * cyc("miss", e.n)
    cos = (ref * memo_emb).sum(1)
    cos_dense = (ref * dense_emb).sum(1)
    result = {
        "requests": len(texts), "distinct": len(set(texts)), "config": cfg.to_dict(),
        "heads_enabled": sum(map(sum, head_mask)), "layer_lookups": lookups, "hits": hits,
        "hit_rate": hits / lookups, "allocs": allocs, "evictions": evictions,
        "head_packets_memoized": heads_memo, "head_packets": lookups * 12,
        "mean_cosine": cos.mean().item(), "min_cosine": cos.min().item(),
        "dense_int8_mean_cosine": cos_dense.mean().item(),
        "dense_cycles": dense_total, "memo_cycles": memo_total, "saved": 1 - memo_total / dense_total,
        "axi_latency": args.axi_latency,
    }
    print(f"{len(texts)} requests ({result['distinct']} distinct), S={cfg.sig_bits} E={cfg.entries} W={cfg.ways} "
          f"tau={cfg.tau}, {result['heads_enabled']}/72 heads enabled, layer mask {list(cfg.mask)}")
    print(f"hit rate            {result['hit_rate']:.4f} ({hits}/{lookups} layer lookups; {allocs} allocations, "
          f"{evictions} evictions)")
    print(f"memoized head maps  {heads_memo}/{lookups * 12} ({heads_memo / (lookups * 12):.4f})")
    print(f"mean cosine         {result['mean_cosine']:.6f} (min {result['min_cosine']:.6f}; dense-int8 "
          f"{result['dense_int8_mean_cosine']:.6f})")
    print(f"attention cycles    dense {dense_total}, memo {memo_total}: {100 * result['saved']:.2f}% saved "
          f"(AXI latency {args.axi_latency})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
