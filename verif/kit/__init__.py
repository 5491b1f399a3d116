"""Reusable cocotb verification kit for Amaranth stream ports (``x__payload/valid/ready``)."""

from .clocking import Clocking
from .packing import Packer
from .scoreboard import Scoreboard
from .stream import StreamDriver, StreamMonitor

__all__ = ["Clocking", "Packer", "Scoreboard", "StreamDriver", "StreamMonitor"]
