#!/usr/bin/env python3
"""MEMO in front of CTA on MiniLM (golden models only): hit rate, embedding fidelity and
attention cycles against the dense unit, on MEMO's workload (scripts/data/memo_requests.txt).

Each layer of each request is one MEMO lookup (MEMO's default config, committed selective
policy golden/memo/minilm_policy.json). A hit: the enabled heads take the stored map (AXI into
the weighted sum); the other heads, and every head on a miss, run CTA (bit-exact int8,
golden/memo/cta.py); a miss writes the CTA-expanded n x n maps to the allocated record.
Cycles, same accounting as scripts/bench_memo.py: dense = 12 heads x the dense unit's packet;
combined = per layer the signature and lookup, per head a hit packet (golden.memo.cycles) or a
CTA packet (golden.cta.cycles with that head's cluster counts). The map write-back is free
(AXI write assumed always ready, as in bench_memo.py); ``writeback bound`` also reports the
total if a CTA packet had to last at least one cycle per written AXI word.

Usage: python scripts/bench_memo_cta.py [--grid both:16:144,both:8:32] [--cta-alone] [--limit N] [--json OUT]
Bad input exits with status 2 and one sentence on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_memo import HIDDEN, REQUESTS, UsageError, _Parser, embed_each  # noqa: E402

GRID = "both:16:144,both:8:32"


def parse_grid(text):
    from golden.config import ConfigError
    from golden.cta import CtaConfig
    from golden.memo.hf import HF_CONFIG
    out = []
    for item in text.split(","):
        try:
            compress, h, c = item.split(":")
            out.append(CtaConfig(head_dim=HF_CONFIG.head_dim, max_tokens=HF_CONFIG.max_tokens,
                                 data_width=HF_CONFIG.data_width, lanes=HF_CONFIG.lanes, compress=compress,
                                 hash_bits=int(h), max_clusters=int(c)))
        except ValueError:
            raise UsageError(f"grid item {item!r} is not compress:H:C.") from None
        except ConfigError as e:
            raise UsageError(str(e)) from None
    return out


def parse_args(argv):
    p = _Parser(prog="bench_memo_cta.py", description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=Path, default=REQUESTS, help="request stream (default: %(default)s)")
    p.add_argument("--limit", type=int, help="first N requests only")
    p.add_argument("--grid", default=GRID, help="CTA configs compress:H:C, comma separated (default %(default)s)")
    p.add_argument("--axi-latency", type=int, default=16, help="extra memory latency per AXI burst (default %(default)s)")
    p.add_argument("--cta-alone", action="store_true", help="also run each CTA config alone (no MEMO: no "
                                                               "lookups, every head runs CTA) for reference")
    p.add_argument("--json", type=Path, help="write every number here")
    args = p.parse_args(argv)
    if not args.requests.is_file():
        raise UsageError(f"requests file {args.requests} does not exist.")
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}.")
    if args.axi_latency < 0:
        raise UsageError(f"--axi-latency must be >= 0, got {args.axi_latency}.")
    args.grid = parse_grid(args.grid)
    return args


def run(cta, texts, cfg, head_mask, tokenizer, ref, axi_latency, alone=False):
    """One CTA config through MiniLM; ``alone``: no head takes a stored map and no signature
    cycles are counted (CTA by itself, through the same code path). Returns the totals, the
    ``embeddings`` and ``packets``: per head of each layer lookup, in order, what it ran
    (``hit`` or ``cta``), its cycles (``packet_cycles``; the layer's signature and lookup as
    ``lookup_cycles`` on head 0), AXI bytes read, operand bytes streamed and the dense unit's
    cycles."""
    from functools import partial

    from golden import hf
    from golden.cta.cycles import cta_cycles
    from golden.dense import DenseConfig
    from golden.dense.cycles import dense_cycles
    from golden.memo import hf as memo_hf
    from golden.memo.cta import memo_cta_attention
    from golden.memo.cycles import hit_cycles, map_words, signature_cycles

    name = f"{'cta-alone' if alone else 'memo-cta'}-{cta.compress}-h{cta.hash_bits}-c{cta.max_clusters}"
    if alone:
        head_mask = [[0] * len(row) for row in head_mask]
    if name not in hf.implementations():
        hf.register_attention(name, partial(memo_cta_attention, cfg=cfg, cta=cta, head_mask=head_mask))
    _, model = hf.load_minilm(name)
    emb = embed_each(model, tokenizer, texts)
    db = memo_hf.database_of(hf.session_of(model), name, cfg)
    dcfg = DenseConfig(head_dim=cfg.head_dim, max_tokens=cfg.max_tokens, lanes=cfg.lanes)
    dense = total = bound = cta_only = lookups = hits = heads_memo = 0
    packets = []  # per head of each lookup: what it ran and its cycles (the signature on the layer's first head)
    word_bytes, elem_bytes = cfg.axi_data_width // 8, (cfg.data_width + 7) // 8
    for index, e in enumerate(db.events):
        lookups += 1
        hits += e.lookup.hit
        heads_memo += len(e.memo_heads)
        dense += e.heads * dense_cycles(dcfg, e.n, e.n).cycles
        sig = 0 if alone else signature_cycles(cfg, e.n, HIDDEN)
        hit = hit_cycles(cfg, e.n, e.n, latency=axi_latency)
        layer = sig + len(e.memo_heads) * hit
        words = map_words(cfg, e.n, e.n)
        cyc = [cta_cycles(cta, e.n, e.n, kc, qc).cycles for kc, qc in e.clusters]
        total += layer + sum(cyc)
        bound += layer + sum(max(c, words) for c in cyc)
        ran = iter(zip(cyc, e.clusters))
        for h in range(e.heads):
            row = {"request": index // model.config.num_hidden_layers, "layer": e.layer, "head": h, "n": e.n,
                   "lookup_hit": int(e.lookup.hit), "lookup_cycles": sig if h == 0 else 0}
            if h in e.memo_heads:
                row.update(mode="hit", packet_cycles=hit, axi_read_bytes=words * word_bytes,
                           stream_bytes=e.n * cfg.head_dim * elem_bytes)
            else:
                c, (kc, qc) = next(ran)
                row.update(mode="cta", packet_cycles=c, key_clusters=kc, query_clusters=qc, axi_read_bytes=0,
                           stream_bytes=3 * e.n * cfg.head_dim * elem_bytes)
            row["dense_cycles"] = dense_cycles(dcfg, e.n, e.n).cycles
            packets.append(row)
    cos = (ref * emb).sum(1)
    if alone:
        hits = heads_memo = 0
    return {"pipeline": "CTA alone" if alone else "MEMO+CTA", "cta": {"compress": cta.compress, "hash_bits": cta.hash_bits, "max_clusters": cta.max_clusters},
            "layer_lookups": lookups, "hits": hits, "hit_rate": hits / lookups,
            "head_packets_memoized": heads_memo, "head_packets": lookups * 12,
            "mean_cosine": cos.mean().item(), "min_cosine": cos.min().item(),
            "dense_cycles": dense, "cycles": total, "ratio": dense / total, "saved": 1 - total / dense,
            "cycles_writeback_bound": bound, "ratio_writeback_bound": dense / bound, "packets": packets,
            "embeddings": emb}


def main(argv=None) -> int:
    try:
        args = parse_args(argv)
        texts = [l.strip() for l in args.requests.read_text().splitlines() if l.strip()][:args.limit]
        if not texts:
            raise UsageError(f"requests file {args.requests} has no requests.")
    except UsageError as e:
        print(f"bench_memo_cta.py: error: {e}", file=sys.stderr)
        return 2

    from golden import hf
    from golden.memo import hf as memo_hf
    from golden.memo.policy import layer_mask_of, load_policy

    hf.discover()
    head_mask = load_policy()["head_mask"]
    cfg = memo_hf.HF_CONFIG.replace(mask=layer_mask_of(head_mask))
    tokenizer, exact = hf.load_minilm("exact")
    ref = embed_each(exact, tokenizer, texts)
    rows = [run(cta, texts, cfg, head_mask, tokenizer, ref, args.axi_latency, alone)
            for cta in args.grid for alone in ((False, True) if args.cta_alone else (False,))]
    print(f"{len(texts)} requests ({len(set(texts))} distinct), MEMO S={cfg.sig_bits} E={cfg.entries} W={cfg.ways} "
          f"tau={cfg.tau}, {sum(map(sum, head_mask))}/72 heads enabled, AXI latency {args.axi_latency}")
    print(f"{'pipeline':<10} {'CTA config':<16} {'hit rate':>8} {'memo heads':>10} {'mean cos':>9} {'min cos':>9} {'dense cyc':>10} "
          f"{'cycles':>10} {'ratio':>6} {'wb-bound':>10} {'ratio':>6}")
    for r in rows:
        c = r["cta"]
        hit = "-" if r["pipeline"] == "CTA alone" else f"{r['hit_rate']:.4f}"
        print(f"{r['pipeline']:<10} {c['compress']} H={c['hash_bits']} C={c['max_clusters']:<4} {hit:>8} "
              f"{r['head_packets_memoized'] / r['head_packets']:>10.4f} {r['mean_cosine']:>9.6f} {r['min_cosine']:>9.6f} "
              f"{r['dense_cycles']:>10} {r['cycles']:>10} {r['ratio']:>5.2f}x {r['cycles_writeback_bound']:>10} "
              f"{r['ratio_writeback_bound']:>5.2f}x")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"requests": len(texts), "config": cfg.to_dict(),
                                         "axi_latency": args.axi_latency,
                                         "points": [{k: v for k, v in r.items() if k not in ("packets", "embeddings")}
                                                    for r in rows]}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
