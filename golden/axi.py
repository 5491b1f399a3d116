"""AXI4 read path: the reader's configuration and the timing contract the cycle models use."""

from __future__ import annotations

from dataclasses import dataclass

from .config import BaseConfig, ConfigError, param

__all__ = ["AxiReaderConfig", "AxiReadModel"]


@dataclass(frozen=True)
class AxiReaderConfig(BaseConfig):
    """The AXI4 read manager as a stand-alone unit (SPRINT and MEMO instantiate it)."""

    addr_width: int = param(32, min=12, max=64, help="AXI address bits")
    data_width: int = param(64, min=8, max=1024, help="AXI data bits (power of two)")
    max_burst: int = param(16, min=1, max=256, help="longest INCR burst in beats")
    outstanding: int = param(2, min=1, max=64, help="bursts in flight at once (the cycle model needs <= 2)")

    def check(self):
        super().check()
        if self.data_width & (self.data_width - 1):
            raise ConfigError(f"data_width={self.data_width} must be a power of two.")

    @property
    def word_bytes(self) -> int:
        return self.data_width // 8


class AxiReadModel:
    """Word arrival cycles of the AXI4 read manager in front of the test memory
    (cocotbext-axi AxiRam with ``latency`` extra cycles per burst, verif/kit/axi.py), with the
    word consumer always ready. Exact when ``outstanding <= 2``: the memory queues two AR
    beats, so it then never lowers ``arready``.

    Rules (cycles; "at t" = handshake in cycle t):

    * command taken at t -> its first burst is issued at t + 2 (the burst length is
      registered); a burst is issued 2 cycles after the previous one at the earliest, once the
      previous one was (AR handshake the cycle after issue) and fewer than ``outstanding``
      bursts are waiting for their last beat (a burst leaves the count the cycle after it);
    * the next command is taken the cycle after the current one issued its final burst;
    * the memory serves bursts in order, one at a time: the first beat comes ``2 + latency``
      after the AR handshake, and at the earliest ``gap`` after the previous burst's last
      beat; then one beat per cycle.
    """

    def __init__(self, cfg: AxiReaderConfig, *, latency: int = 0):
        if cfg.outstanding > 2:
            raise ValueError(f"the read model is exact for outstanding <= 2, got {cfg.outstanding}.")
        self.cfg, self.latency = cfg, latency
        self.cmd_ready = 0          # earliest cycle the next command is taken
        self.issue_ready = 0        # earliest cycle the next burst may issue
        self.last_beat = None       # (cycle, length) of the previous burst's last beat
        self.burst_done: list[int] = []  # cycle each burst's last beat was taken

    def bursts(self, addr: int, beats: int) -> list[int]:
        """Split of a command into INCR burst lengths (max_burst, 4 KiB boundaries)."""
        out, wb = [], self.cfg.word_bytes
        while beats:
            to_boundary = (4096 - addr % 4096) // wb
            n = min(beats, self.cfg.max_burst, to_boundary)
            out.append(n)
            addr, beats = addr + n * wb, beats - n
        return out

    def _gap(self, length: int) -> int:
        # After a one-beat burst the memory's process is one cycle later than after a longer
        # one (its R queue of two absorbs the last send of a longer burst).
        return max(1, self.latency if length == 1 else self.latency - 1)

    def command(self, offered: int, addr: int, beats: int) -> tuple[int, list[int]]:
        """The command is offered from cycle ``offered``; returns (taken, word cycles)."""
        taken = max(offered, self.cmd_ready)
        issue = max(taken + 2, self.issue_ready)
        words = []
        for length in self.bursts(addr, beats):
            k = len(self.burst_done)
            if k >= self.cfg.outstanding:
                issue = max(issue, self.burst_done[k - self.cfg.outstanding] + 1)
            first = issue + 1 + 2 + self.latency
            if self.last_beat is not None:
                first = max(first, self.last_beat[0] + self._gap(self.last_beat[1]))
            burst_words = list(range(first, first + length))
            words += burst_words
            self.last_beat = (burst_words[-1], length)
            self.burst_done.append(burst_words[-1])
            self.issue_ready = issue + 2
            self.cmd_ready = issue + 1  # the cycle after the final burst's issue
            issue += 2
        return taken, words
