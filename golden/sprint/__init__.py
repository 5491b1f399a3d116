"""SPRINT: behavioural ReRAM pruning macro, exact recompute over survivors, K/V reuse."""

from .config import REUSE_POLICIES, SprintConfig
from .model import (Bookkeeping, analog_scores, keep_masks, noise, sprint_float, sprint_int, sprint_quantized)

__all__ = ["SprintConfig", "REUSE_POLICIES", "Bookkeeping", "analog_scores", "keep_masks", "noise",
           "sprint_float", "sprint_int", "sprint_quantized"]
