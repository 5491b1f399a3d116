#!/usr/bin/env python3
"""Lint generated Verilog: ``python scripts/lint.py DIR`` runs ``verilator --lint-only -Wall``
(with verif/lint/waivers.vlt) on every ``DIR/*.v``; exit status 1 if any file has findings."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from verif.lint.verilator_lint import lint_file  # noqa: E402


def main(argv) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("lint: error: give one directory of generated Verilog (e.g. build/verilog).", file=sys.stderr)
        return 2
    files = sorted(Path(argv[0]).glob("*.v"))
    if not files:
        print(f"lint: error: {argv[0]} holds no .v files; run 'make verilog' first.", file=sys.stderr)
        return 2
    bad = 0
    for path in files:
        problems = lint_file(path)
        print(f"{path}: {'clean' if not problems else f'{len(problems)} findings'}")
        for line in problems[:20]:
            print(f"  {line}")
        bad += bool(problems)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
