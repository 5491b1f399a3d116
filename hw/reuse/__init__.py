"""Attention-map reuse unit: map buffer and a reuse mode of the attention datapath."""

from golden.reuse import ReuseConfig

from ..units import Unit
from .map_buffer import MapBuffer
from .reuse import Mode, Reuse, command_layout

__all__ = ["MapBuffer", "Mode", "Reuse", "command_layout", "UNITS"]

UNITS = [Unit(name="reuse", config=ReuseConfig, component=Reuse,
              summary="attention-map reuse: dense datapath, map buffer, per-packet compute/reuse mode")]
