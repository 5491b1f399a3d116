"""Stages shared by every attention unit: score, softmax, weighted sum, and their helpers."""

from .layouts import key_layout, output_layout, prob_layout, query_layout, score_layout, token_layout
from .perf import PerfCounters, perf_layout, error_layout
from .score import Score
from .softmax import Softmax
from .weighted_sum import WeightedSum

__all__ = ["Score", "Softmax", "WeightedSum", "PerfCounters", "perf_layout", "error_layout",
           "token_layout", "key_layout", "query_layout", "score_layout", "prob_layout", "output_layout"]
