"""Configuration of the dense attention unit."""

from dataclasses import dataclass

from ..config import AttentionConfig

__all__ = ["DenseConfig"]


@dataclass(frozen=True)
class DenseConfig(AttentionConfig):
    """Dense attention unit: the common datapath and nothing more (fields of AttentionConfig)."""
