"""Attention-map reuse: config, float/integer models of a layer group and cycle model."""

from .config import ReuseConfig
from .model import (compute_quantized, group_float, group_int, map_float, map_int, reuse_int,
                    reuse_quantized)

__all__ = ["ReuseConfig", "compute_quantized", "group_float", "group_int", "map_float", "map_int",
           "reuse_int", "reuse_quantized"]
