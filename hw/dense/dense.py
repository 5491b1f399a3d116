"""Dense attention unit: score, softmax and weighted sum in a row."""

from amaranth import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..common import (AttentionUnit, PerfCounters, Score, Softmax, WeightedSum, output_layout, query_layout,
                      token_layout)

__all__ = ["Dense"]


class Dense(AttentionUnit):
    """Exact (integer) softmax(Q K^T * c) V for one head, one packet at a time.

    A packet: n keys on ``k`` and n values on ``v`` (one token per beat, ``last`` on the
    n-th, n <= N), and query rows on ``q`` (each with its softmax scale register). One output
    token per query leaves on ``o``. Keys, values and queries may arrive concurrently.

    Members:
        k, v: ``In(stream.Signature(token_layout))``.
        q: ``In(stream.Signature(query_layout))``.
        o: ``Out(stream.Signature(output_layout))``.
        errors: ``Out(error_layout)`` sticky: ``key_overflow``, ``value_overflow`` (a packet longer
            than N; the excess is dropped), ``missing_value`` (fewer values than keys).
        perf: ``Out(perf_layout)`` ``cycles``, ``mac_cycles`` (two L-lane arrays), ``packets``.
    """

    ERRORS = ("key_overflow", "value_overflow", "missing_value")

    def __init__(self, *, config):
        super().__init__({
            "k": In(stream.Signature(token_layout(config))),
            "v": In(stream.Signature(token_layout(config))),
            "q": In(stream.Signature(query_layout(config))),
            "o": Out(stream.Signature(output_layout(config))),
        }, config=config)

    def elaborate(self, platform):
        m = Module()
        cfg = self._config
        m.submodules.score = score = Score(config=cfg)
        m.submodules.softmax = softmax = Softmax(config=cfg)
        m.submodules.weighted_sum = weighted_sum = WeightedSum(config=cfg)
        m.submodules.perf = perf = PerfCounters(arrays=self.mac_arrays)

        m.d.comb += [
            score.k.payload.data.eq(self.k.payload.data), score.k.payload.last.eq(self.k.payload.last),
            score.k.valid.eq(self.k.valid), self.k.ready.eq(score.k.ready),
        ]
        wiring.connect(m, wiring.flipped(self.q), score.q)
        wiring.connect(m, score.s, softmax.s)
        wiring.connect(m, softmax.p, weighted_sum.p)
        wiring.connect(m, wiring.flipped(self.v), weighted_sum.v)
        wiring.connect(m, weighted_sum.o, wiring.flipped(self.o))

        with m.If(score.overflow):
            m.d.sync += self.errors.key_overflow.eq(1)
        with m.If(weighted_sum.overflow):
            m.d.sync += self.errors.value_overflow.eq(1)
        with m.If(weighted_sum.missing):
            m.d.sync += self.errors.missing_value.eq(1)

        handshake = lambda s: s.valid & s.ready
        m.d.comb += [
            perf.start.eq(handshake(self.k) | handshake(self.v) | handshake(self.q)),
            perf.finish.eq(handshake(self.o) & self.o.payload.last),
            perf.mac.eq(score.mac | (weighted_sum.mac << 1)),
            self.perf.cycles.eq(perf.cycles), self.perf.mac_cycles.eq(perf.mac_cycles),
            self.perf.packets.eq(perf.packets),
        ]
        return m
