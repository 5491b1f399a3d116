"""MEMO units: the memo-lookup engine (``memo_lookup``) and the memoized-attention path with
the engine beside it (``memo``)."""

from golden.memo import MemoConfig

from ..units import Unit
from .lookup import MemoLookup, entry_layout, registers_layout, request_layout, response_layout
from .memo import Memo, Mode, command_layout

__all__ = ["Memo", "Mode", "command_layout", "MemoLookup", "request_layout", "response_layout",
           "registers_layout", "entry_layout", "UNITS"]

UNITS = [
    Unit(name="memo_lookup", config=MemoConfig, component=MemoLookup,
         summary="MEMO lookup engine: signature table, W Hamming comparators, tau, selective mask, LRU"),
    Unit(name="memo", config=MemoConfig, component=Memo,
         summary="MEMO: lookup engine + memoized path (stored map over AXI into the weighted sum, write-back on a miss)"),
]
