"""Registry of emittable units. Each ``hw/<technique>/__init__.py`` lists its units in ``UNITS``;
:func:`all_units` discovers them, so adding a technique touches no shared file."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

__all__ = ["Unit", "all_units", "get_unit"]


@dataclass(frozen=True)
class Unit:
    """An emittable top-level component.

    Members: ``name`` (CLI and file name), ``config`` (its frozen config dataclass),
    ``component`` (``component(config=cfg)`` builds it), ``summary`` (one line for --help),
    ``blackbox`` (optional: ``blackbox(cfg)`` returns Verilog of the same ports with no body)."""

    name: str
    config: type
    component: Callable
    summary: str
    blackbox: Callable | None = None

    def build(self, cfg):
        return self.component(config=cfg)


def all_units() -> dict[str, Unit]:
    import hw
    units = {}
    for info in sorted(pkgutil.iter_modules(hw.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"hw.{info.name}")
        for unit in getattr(module, "UNITS", []):
            units[unit.name] = unit
    return units


def get_unit(name: str) -> Unit:
    units = all_units()
    if name not in units:
        raise KeyError(name)
    return units[name]
