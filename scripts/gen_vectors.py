#!/usr/bin/env python3
"""Regenerate verif/vectors/<unit>/*.json from the golden models (``make golden``).

Usage: python scripts/gen_vectors.py [UNIT ...]   (default: every unit with vectors)
Writes only files whose content changed and deletes vectors no generator produces."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from verif.vectors import VECTOR_ROOT, dump_vector, unit_vectors_module  # noqa: E402


def units_with_vectors() -> list[str]:
    root = Path(__file__).resolve().parent.parent / "verif"
    return sorted(p.parent.name for p in root.glob("*/vectors.py"))


def expected_files(unit: str) -> dict[Path, str]:
    return {VECTOR_ROOT / unit / f"{v['name']}.json": dump_vector(v) for v in unit_vectors_module(unit).generate()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("units", nargs="*", help="units to regenerate (default: all)")
    args = parser.parse_args(argv)
    known = units_with_vectors()
    for unit in args.units:
        if unit not in known:
            print(f"gen_vectors: error: unit {unit!r} has no vector generator (known: {', '.join(known)}).",
                  file=sys.stderr)
            return 2
    for unit in args.units or known:
        files = expected_files(unit)
        (VECTOR_ROOT / unit).mkdir(parents=True, exist_ok=True)
        changed = 0
        for path, text in files.items():
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
                changed += 1
        stale = [p for p in (VECTOR_ROOT / unit).glob("*.json") if p not in files]
        for path in stale:
            path.unlink()
        print(f"{unit}: {len(files)} vectors, {changed} written, {len(stale)} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
