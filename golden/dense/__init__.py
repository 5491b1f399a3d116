"""Dense attention baseline: config, float/integer models and cycle model."""

from .config import DenseConfig
from .model import dense_float, dense_int, dense_quantized

__all__ = ["DenseConfig", "dense_float", "dense_int", "dense_quantized"]
