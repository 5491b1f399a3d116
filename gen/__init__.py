"""``python -m gen``: elaborate attnforge units and write Verilog, file lists and port maps."""

from .emit import Artifacts, emit_unit

__all__ = ["Artifacts", "emit_unit"]
