#!/usr/bin/env python3
"""Dense unit on MiniLM: RTL cycles and MAC utilization on captured Q/K/V, by sequence length.

Captures workloads first if needed (scripts/evaluate.py --dump-workloads build/workloads/minilm).
Every packet runs on Verilator (exact outputs checked); the cycle counts are the unit's own
``perf`` counters. Dense cycles depend only on n, so a few heads per sentence suffice.

Usage: python scripts/bench_dense.py [--sentences N] [--min-n N] [--heads 0,5] [--layers 0,3] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from golden.dense import DenseConfig  # noqa: E402
from verif.workloads import DEFAULT_WORKLOADS, ensure_workloads, run_rtl, select_packets  # noqa: E402


def int_list(text):
    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=Path, default=DEFAULT_WORKLOADS)
    parser.add_argument("--sentences", type=int, default=12, help="sentences to replay (default 12)")
    parser.add_argument("--min-n", type=int, default=64, help="shortest sequence (default 64)")
    parser.add_argument("--layers", type=int_list, default=[0], help="layers (default 0)")
    parser.add_argument("--heads", type=int_list, default=[0], help="heads (default 0)")
    parser.add_argument("--lanes", type=int, default=16)
    parser.add_argument("--json", type=Path, help="write the per-packet results here")
    args = parser.parse_args(argv)
    if args.sentences < 1 or args.min_n < 1:
        parser.error("--sentences and --min-n must be at least 1")
    cfg = DenseConfig(max_tokens=256, lanes=args.lanes)
    packets = select_packets(ensure_workloads(args.workloads), min_n=args.min_n, sentences=args.sentences,
                             layers=args.layers, heads=args.heads)
    if not packets:
        print(f"bench_dense: error: no captured sequence has >= {args.min_n} tokens.", file=sys.stderr)
        return 2
    results = run_rtl("dense", cfg, packets, "verif.dense.tb_dense", name="bench")
    print(f"dense unit, {cfg.label}; {len(results)} MiniLM heads on Verilator\n")
    print(f"{'n':>5} {'cycles':>8} {'ideal n^2 d/L':>14} {'MAC util':>9}")
    for r in sorted(results, key=lambda r: r["n"]):
        ideal = r["n"] * r["n"] * cfg.chunks
        print(f"{r['n']:>5} {r['cycles']:>8} {ideal:>14} {r['mac_cycles'] / (2 * r['cycles']):>9.1%}")
    total = sum(r["cycles"] for r in results)
    macs = sum(r["mac_cycles"] for r in results)
    print(f"\nall: {total} cycles, MAC utilization {macs / (2 * total):.1%}")
    if args.json:
        args.json.write_text(json.dumps({"config": cfg.to_dict(), "packets": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
