#!/usr/bin/env python3
"""Lint generated Verilog: ``python scripts/lint.py DIR`` runs ``verilator --lint-only -Wall``
(with verif/lint/waivers.vlt) and Icarus Verilog (``iverilog -g2012 -Wall``, a second,
independent parser) on every ``DIR/*.v``; exit status 1 if any file has findings. When Icarus
is not installed (``make lint`` installs it from Debian's packages) its check is skipped and
the reason printed."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from verif.lint.icarus_lint import MISSING, compile_file, iverilog  # noqa: E402
from verif.lint.verilator_lint import lint_file  # noqa: E402


def _show(path, tool, problems):
    print(f"{path}: {tool}: {'clean' if not problems else f'{len(problems)} findings'}")
    for line in problems[:20]:
        print(f"  {line}")
    return bool(problems)


def main(argv) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("lint: error: give one directory of generated Verilog (e.g. build/verilog).", file=sys.stderr)
        return 2
    files = sorted(Path(argv[0]).glob("*.v"))
    if not files:
        print(f"lint: error: {argv[0]} holds no .v files; run 'make verilog' first.", file=sys.stderr)
        return 2
    icarus = iverilog() is not None
    if not icarus:
        print(f"lint: skipping Icarus: {MISSING}.")
    bad = 0
    for path in files:
        bad += _show(path, "verilator", lint_file(path))
        if icarus:
            bad += _show(path, "iverilog", compile_file(path, path.stem))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
