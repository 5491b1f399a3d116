#!/usr/bin/env python3
"""Summary table of a ``make sim`` run: one line per (unit, config) from the testbench reports
in build/sim/results. Exit status 1 if any case failed or nothing ran."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path


def main(argv) -> int:
    folder = Path(argv[0] if argv else "build/sim/results")
    entries = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    if not entries:
        print(f"sim_summary: error: no testbench results in {folder}.", file=sys.stderr)
        return 1
    groups = defaultdict(list)
    for e in entries:
        groups[(e["unit"], e["config"])].append(e)
    header = ("unit", "config", "cases", "vectors", "n", "cycles", "MAC util", "result")
    rows = []
    for (unit, config), items in sorted(groups.items()):
        timed = [e for e in items if e.get("cycles")]
        point = max(timed, key=lambda e: e.get("n") or 0) if timed else {}
        failed = [e["case"] for e in items if e["result"] != "PASS"]
        util = point.get("mac_utilization")
        rows.append((unit, config, str(len(items)), str(sum(e.get("vectors") or 0 for e in items)),
                     str(point.get("n") or "-"), str(point.get("cycles") or "-"),
                     f"{util:.1%}" if util is not None else "-",
                     "PASS" if not failed else "FAIL: " + ", ".join(failed)))
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths))
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    print("\n(cycles and MAC utilization: the n = N packet with no stalls, from the unit's own counters;"
          " configs are listed in verif/<unit>/test_rtl.py)")
    return 1 if any(r[-1] != "PASS" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
