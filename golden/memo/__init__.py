"""MEMO: attention memoization (config, lookup table, memoized attention, cycle models)."""

from .config import MemoConfig
from .model import MemoDatabase, hidden_signature, memo_layer_float, memo_layer_int, signature
from .table import Lookup, MemoTable, context_salt

__all__ = ["MemoConfig", "MemoDatabase", "MemoTable", "Lookup", "context_salt", "signature", "hidden_signature",
           "memo_layer_int", "memo_layer_float"]
