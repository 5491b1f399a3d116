"""Golden vector files: ``verif/vectors/<unit>/<name>.json``.

One file is one packet of one unit, self-contained::

    {"format": "attnforge-vector/1", "unit": "dense", "name": "...", "seed": 1,
     "config": {<config fields>},
     "inputs": {<named integer arrays>},
     "expected": {"out": [[...]], "cycles": <int>, ...}}

``expected`` holds the golden integer model's outputs and the cycle model's count. The files
are written by ``make golden`` (scripts/gen_vectors.py) and never by hand; CI re-runs the RTL
on each and checks that regenerating them changes nothing.

Each unit provides ``verif/<unit>/vectors.py`` with ``generate() -> list[dict]`` (vectors) and
``check(vector, cfg)`` (unit-specific validation raising :class:`VectorError`).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from golden.config import ConfigError

FORMAT = "attnforge-vector/1"
VECTOR_ROOT = Path(__file__).resolve().parent / "vectors"

__all__ = ["FORMAT", "VECTOR_ROOT", "VectorError", "load_vector", "dump_vector", "vector_files",
           "unit_vectors_module", "check_matrix"]


class VectorError(ValueError):
    """A malformed vector file; the message is one sentence naming the file and the problem."""


def unit_vectors_module(unit: str):
    return importlib.import_module(f"verif.{unit}.vectors")


def vector_files(unit: str | None = None) -> list[Path]:
    root = VECTOR_ROOT / unit if unit else VECTOR_ROOT
    return sorted(root.rglob("*.json"))


def check_matrix(path, name, rows, width: int | None, lo: int, hi: int, length: int | None = None):
    """Raise VectorError unless ``rows`` is a list of ``width``-long integer rows in [lo, hi]."""
    if not isinstance(rows, list) or not rows:
        raise VectorError(f"{path}: inputs.{name} must be a non-empty list of rows.")
    if length is not None and len(rows) != length:
        raise VectorError(f"{path}: inputs.{name} has {len(rows)} rows, expected {length}.")
    for i, row in enumerate(rows):
        items = row if isinstance(row, list) else [row]
        if width is not None and (not isinstance(row, list) or len(row) != width):
            raise VectorError(f"{path}: inputs.{name} row {i} must hold {width} integers.")
        for x in items:
            if isinstance(x, bool) or not isinstance(x, int) or not lo <= x <= hi:
                raise VectorError(f"{path}: inputs.{name} row {i} holds {x!r}, outside the integers {lo} to {hi}.")


def load_vector(path) -> dict:
    """Read and validate a vector file; returns the dict with ``cfg`` (the config object) added."""
    from hw.units import all_units
    path = Path(path)
    try:
        vector = json.loads(path.read_text())
    except FileNotFoundError:
        raise VectorError(f"{path}: no such vector file.")
    except json.JSONDecodeError as exc:
        raise VectorError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}).")
    if not isinstance(vector, dict):
        raise VectorError(f"{path}: a vector file must hold a JSON object.")
    if vector.get("format") != FORMAT:
        raise VectorError(f"{path}: format is {vector.get('format')!r}, expected {FORMAT!r}.")
    for key, kind in (("unit", str), ("config", dict), ("inputs", dict), ("expected", dict)):
        if not isinstance(vector.get(key), kind):
            raise VectorError(f"{path}: field {key!r} is missing or not a {kind.__name__}.")
    units = all_units()
    if vector["unit"] not in units:
        raise VectorError(f"{path}: unknown unit {vector['unit']!r} (known: {', '.join(units)}).")
    try:
        cfg = units[vector["unit"]].config.from_dict(vector["config"])
    except (ConfigError, TypeError) as exc:
        raise VectorError(f"{path}: invalid config: {exc}")
    cycles = vector["expected"].get("cycles")
    if isinstance(cycles, bool) or not isinstance(cycles, int) or cycles < 1:
        raise VectorError(f"{path}: expected.cycles must be a positive integer.")
    unit_vectors_module(vector["unit"]).check(vector, cfg, path)
    vector["cfg"] = cfg
    return vector


def dump_vector(vector: dict) -> str:
    """Canonical text of a vector: stable key order, one matrix row per line (small diffs)."""
    def encode(value, indent):
        pad = " " * indent
        if isinstance(value, dict):
            items = [f'{pad} {json.dumps(k)}: {encode(v, indent + 1)}' for k, v in value.items()]
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(value, list) and value and isinstance(value[0], list):
            rows = [pad + "  " + json.dumps(row, separators=(",", ":")) for row in value]
            return "[\n" + ",\n".join(rows) + "\n" + pad + " ]"
        return json.dumps(value, separators=(",", ":"))
    body = {k: vector[k] for k in ("format", "unit", "name", "seed", "config", "inputs", "expected") if k in vector}
    return encode(body, 0) + "\n"
