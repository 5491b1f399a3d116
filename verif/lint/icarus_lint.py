"""Icarus Verilog (``iverilog -g2012 -Wall``) as a second, independent parser of generated
Verilog. Icarus comes from Debian's packages: ``scripts/need_deb.sh iverilog`` (which the
Makefile's lint and test targets run) installs it when it is missing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

__all__ = ["iverilog", "MISSING", "compile_file"]

#: Why the Icarus checks are skipped when ``iverilog`` is not on PATH.
MISSING = ("iverilog is not installed and could not be installed here "
           "(scripts/need_deb.sh iverilog needs root and Debian's package lists)")


def iverilog() -> str | None:
    """Path of ``iverilog``, or None when it is not installed."""
    return shutil.which("iverilog")


def compile_file(path: Path, top: str) -> list[str]:
    """Errors and warnings ``iverilog -g2012 -Wall`` prints for ``path`` elaborated at ``top``
    (empty when clean). Raises FileNotFoundError when Icarus is not installed."""
    exe = iverilog()
    if exe is None:
        raise FileNotFoundError(MISSING)
    proc = subprocess.run([exe, "-g2012", "-Wall", "-s", top, "-o", "/dev/null", str(path)],
                          capture_output=True, text=True)
    problems = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    if proc.returncode and not problems:
        problems = [f"iverilog exited with {proc.returncode}"]
    return problems
