"""Dense attention baseline unit."""

from golden.dense import DenseConfig

from ..units import Unit
from .dense import Dense

__all__ = ["Dense", "UNITS"]

UNITS = [Unit(name="dense", config=DenseConfig, component=Dense,
              summary="dense attention baseline: score, softmax, weighted sum")]
