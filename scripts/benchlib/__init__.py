"""Adapters of ``scripts/bench.py``: one module per technique, registered in :data:`TECHNIQUES`.

An adapter module ``scripts/benchlib/<technique>.py`` defines:

- ``NAME`` (str, the technique's name in the report), ``UNIT`` (the RTL unit it runs,
  ``hw/<unit>``), ``DESCRIPTION`` (one line);
- ``points(preset) -> list[Point]``: the configs to measure for a preset (``ci``: the default
  config only, seconds; ``default``: the default and the sweep of its main knobs; ``full``:
  more, and lanes); exactly one point has ``default=True``;
- ``measure(point, workload, run_name) -> Measured``: run the point's config on Verilator over
  the workload's captured MiniLM packets (:class:`benchlib.core.Workload`), every output checked
  exactly by the unit's ``workload`` cocotb test, and return the unit's own counters per packet;
- ``fidelity_impl(point) -> str | None``: the golden implementation (registered with
  :func:`golden.hf.register_attention`) whose MiniLM embeddings measure the point's fidelity
  against ``exact``; it may register one on the fly (idempotently, see
  :func:`benchlib.core.ensure_impl`). Points with the same implementation share one run.

Adding a technique is one adapter file plus its name in :data:`TECHNIQUES`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

__all__ = ["TECHNIQUES", "adapter", "available"]

#: Report order. ``dense`` is the baseline every ratio is taken against; keep it first.
TECHNIQUES = ["dense", "reuse", "cta", "sprint", "memo", "memo_cta"]

ROOT = Path(__file__).resolve().parents[2]


def adapter(name: str):
    """The adapter module of technique ``name``."""
    return importlib.import_module(f"benchlib.{name}")


def available() -> list[str]:
    """Registered techniques whose RTL unit exists in this checkout (``hw/<unit>``)."""
    out = []
    for name in TECHNIQUES:
        mod = adapter(name)
        if all((ROOT / "hw" / unit).is_dir() for unit in getattr(mod, "UNITS", (mod.UNIT,))):
            out.append(name)
    return out
