"""What the pytest runner hands a cocotb testbench: config, seed, and a report file."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

__all__ = ["load_config", "seed", "Report", "rng"]


def load_config():
    """The unit's config object, rebuilt from ``ATTNFORGE_CONFIG``."""
    from hw.units import get_unit
    values = json.loads(os.environ["ATTNFORGE_CONFIG"])
    values.pop("class", None)
    return get_unit(os.environ["ATTNFORGE_UNIT"]).config.from_dict(values)


def seed() -> int:
    return int(os.environ.get("ATTNFORGE_SEED", "1"))


def rng(salt: int = 0) -> random.Random:
    """A seeded generator; ``salt`` separates independent streams (one per agent)."""
    return random.Random(seed() * 1000003 + salt)


class Report:
    """Measurements a testbench hands back to pytest and ``make sim``'s summary (JSON).

    Members: :meth:`add` (merge keys), :meth:`count` (add to a counter), ``data``."""

    def __init__(self):
        self.path = Path(os.environ["ATTNFORGE_REPORT"]) if "ATTNFORGE_REPORT" in os.environ else None
        self.data = json.loads(self.path.read_text()) if self.path and self.path.exists() else {}

    def add(self, **values):
        self.data.update(values)
        self._write()

    def count(self, key: str, n: int = 1):
        self.data[key] = self.data.get(key, 0) + n
        self._write()

    def _write(self):
        if self.path:
            self.path.write_text(json.dumps(self.data, indent=1))
