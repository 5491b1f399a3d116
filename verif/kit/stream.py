"""Driver and monitor for Amaranth ``stream`` ports, with seeded random stalls."""

from __future__ import annotations

import random
from collections import deque
from typing import Callable

from .packing import Packer

__all__ = ["StreamDriver", "StreamMonitor"]


class _Port:
    def __init__(self, dut, name: str):
        self.payload = getattr(dut, f"{name}__payload")
        self.valid = getattr(dut, f"{name}__valid")
        self.ready = getattr(dut, f"{name}__ready")


class StreamDriver:
    """Feeds beats into a stream sink port of the DUT.

    ``stall`` is the probability that valid stays low in a cycle where a beat is waiting
    (0: valid is high whenever there is data). Valid never waits for ready.
    Members: ``name``, ``handshakes`` (cycle of each accepted beat), :meth:`send`,
    :meth:`clear`, ``idle``."""

    def __init__(self, dut, name: str, packer: Packer, *, stall: float = 0.0, rng: random.Random | None = None):
        self.name = name
        self.port = _Port(dut, name)
        self.packer = packer
        self.stall = stall
        self.rng = rng or random.Random(0)
        self.queue: deque[int] = deque()
        self.handshakes: list[int] = []
        self._presenting = False
        self.port.valid.value = 0

    def send(self, beats):
        """Queue beats (dicts in the port's payload layout)."""
        self.queue.extend(self.packer.pack(b) for b in beats)

    def clear(self):
        """Drop queued beats (used across a reset)."""
        self.queue.clear()
        self._presenting = False
        self.port.valid.value = 0

    @property
    def idle(self) -> bool:
        return not self.queue

    def drive(self, cycle: int):
        present = bool(self.queue) and not (self.stall and self.rng.random() < self.stall)
        if present:
            self.port.payload.value = self.queue[0]
        if present != self._presenting:
            self.port.valid.value = int(present)
            self._presenting = present

    def sample(self, cycle: int):
        if self._presenting and self.port.ready.value:
            self.queue.popleft()
            self.handshakes.append(cycle)


class StreamMonitor:
    """Drives ready on a stream source port of the DUT and reports every handshake.

    ``stall`` is the probability that ready is low in a cycle. ``callback(beat, cycle)`` gets
    each beat as a dict. Members: ``name``, ``handshakes``, ``count``."""

    def __init__(self, dut, name: str, packer: Packer, callback: Callable[[dict, int], None], *,
                 stall: float = 0.0, rng: random.Random | None = None):
        self.name = name
        self.port = _Port(dut, name)
        self.packer = packer
        self.callback = callback
        self.stall = stall
        self.rng = rng or random.Random(0)
        self.handshakes: list[int] = []
        self._ready = True
        self.port.ready.value = 1

    @property
    def count(self) -> int:
        return len(self.handshakes)

    def drive(self, cycle: int):
        ready = not (self.stall and self.rng.random() < self.stall)
        if ready != self._ready:
            self.port.ready.value = int(ready)
            self._ready = ready

    def sample(self, cycle: int):
        if self._ready and self.port.valid.value:
            self.handshakes.append(cycle)
            self.callback(self.packer.unpack(self.port.payload.value.to_unsigned()), cycle)
