"""Scoreboard: compares each output beat with the model's expectation as it arrives."""

from __future__ import annotations

from collections import deque

__all__ = ["Scoreboard", "Mismatch"]


class Mismatch(AssertionError):
    """An output beat differs from the golden model."""


class Scoreboard:
    """Expected beats per stream, in order; :meth:`check` raises :class:`Mismatch` at the first
    difference, with ``context`` (seed, config) in the message so the run can be replayed.

    Members: ``context``, ``matched`` (beats checked per stream), :meth:`expect`,
    :meth:`check`, :meth:`pending`, :meth:`clear`."""

    def __init__(self, context: str = ""):
        self.context = context
        self.expected: dict[str, deque] = {}
        self.matched: dict[str, int] = {}

    def expect(self, stream: str, beats):
        self.expected.setdefault(stream, deque()).extend(beats)
        self.matched.setdefault(stream, 0)

    def check(self, stream: str, beat: dict, cycle: int, fields=None):
        queue = self.expected.get(stream)
        if not queue:
            raise Mismatch(f"{stream}: unexpected beat at cycle {cycle}: {beat} ({self.context})")
        want = queue.popleft()
        keys = fields or want.keys()
        got = {k: beat[k] for k in keys}
        want = {k: want[k] for k in keys}
        if got != want:
            diff = {k: (want[k], got[k]) for k in keys if want[k] != got[k]}
            raise Mismatch(f"{stream} beat {self.matched[stream]} at cycle {cycle} differs from the golden "
                           f"model (field: (expected, got)): {diff} ({self.context})")
        self.matched[stream] += 1

    def pending(self) -> int:
        return sum(len(q) for q in self.expected.values())

    def clear(self):
        for q in self.expected.values():
            q.clear()
