"""``verilator --lint-only -Wall`` over generated Verilog, with the waivers in waivers.vlt."""

from __future__ import annotations

import subprocess
from pathlib import Path

from verif.runner import WAIVERS, verilator_env

__all__ = ["lint_file"]


def lint_file(path: Path) -> list[str]:
    """Warnings and errors Verilator reports for ``path`` (empty when clean)."""
    verilator_env()
    proc = subprocess.run(["verilator", "--lint-only", "-Wall", str(WAIVERS), str(path)],
                          capture_output=True, text=True)
    problems = [line for line in proc.stderr.splitlines() if line.startswith(("%Warning", "%Error"))]
    if proc.returncode and not problems:
        problems = [proc.stderr.strip() or f"verilator exited with {proc.returncode}"]
    return problems
