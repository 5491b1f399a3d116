"""Base class of the top-level attention units."""

from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from .perf import error_layout, perf_layout

__all__ = ["AttentionUnit"]


class AttentionUnit(wiring.Component):
    """A top-level unit built from one frozen config: the subclass's streams, then ``errors``
    and ``perf``. A subclass names its sticky error flags in ``ERRORS`` and its counters beyond
    ``cycles``/``mac_cycles``/``packets`` in ``COUNTERS``.

    Members:
        errors: ``Out(error_layout(*ERRORS))``.
        perf: ``Out(perf_layout(*COUNTERS))``.
    """

    ERRORS: tuple[str, ...] = ()
    COUNTERS: tuple[str, ...] = ()

    def __init__(self, members: dict, *, config):
        self._config = config
        super().__init__({**members, "errors": Out(error_layout(*self.ERRORS)),
                          "perf": Out(perf_layout(*self.COUNTERS))})

    @property
    def config(self):
        """The frozen config dataclass the unit was built from."""
        return self._config

    @property
    def mac_arrays(self) -> int:
        """Multiplier arrays of L lanes that ``perf.mac_cycles`` sums over: score and weighted sum."""
        return 2
