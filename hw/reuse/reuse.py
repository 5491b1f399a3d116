"""Attention-map reuse unit: the dense datapath plus a map buffer and a reuse mode."""

import enum

from amaranth import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.config import clog2

from ..common import (AttentionUnit, Fork, PerfCounters, Score, Select, Softmax, WeightedSum, output_layout,
                      prob_layout, query_layout, token_layout)
from ..common.perf import COUNTER_BITS
from .map_buffer import MapBuffer

__all__ = ["Mode", "Reuse", "command_layout"]


class Mode(enum.IntEnum):
    """Packet mode (``cmd.mode``)."""
    COMPUTE = 0  #: score, softmax, weighted sum; P is stored as the head's map on the way
    REUSE = 1    #: the head's stored map times new values; score and softmax idle


def command_layout(cfg) -> data.StructLayout:
    """``mode`` (:class:`Mode`), ``head`` (the map buffer region the packet stores or reads)."""
    return data.StructLayout({"mode": unsigned(1), "head": unsigned(max(1, clog2(cfg.heads)))})


# Sources of the weighted sum's probabilities (Select inputs).
_SOFTMAX, _MAP, _FLUSH = 0, 1, 2


class Reuse(AttentionUnit):
    """softmax(Q K^T * c) V for one head per packet, with the map kept for later packets.

    Every packet starts with one beat on ``cmd``. A compute packet then is a dense packet (n
    keys on ``k``, n values on ``v``, query rows on ``q``): the softmax stage's P goes to the
    weighted sum and, through a fork, into the map buffer region of ``cmd.head``. A reuse
    packet is values only (n on ``v``): the stored map of ``cmd.head`` streams from the map
    buffer into the same weighted-sum stage; score and softmax stay idle. Either way one
    output token per map row leaves on ``o``.

    A reuse packet whose head holds no map (nothing computed since reset, or its compute was
    cut short) sets ``no_map``; one whose value count differs from the map's key count sets
    ``length_mismatch``. Such a packet is dropped: its values are taken, nothing leaves on
    ``o`` (the weighted sum is closed with one zero probability whose output row is
    discarded), ``perf.dropped`` counts it, and the next packet proceeds normally.

    Members:
        cmd: ``In(stream.Signature(command_layout))`` one beat per packet: ``mode``, ``head``.
        k, v: ``In(stream.Signature(token_layout))``.
        q: ``In(stream.Signature(query_layout))``.
        o: ``Out(stream.Signature(output_layout))``.
        errors: ``Out(error_layout)`` sticky: ``key_overflow``, ``value_overflow``, ``missing_value``
            (as the dense unit), ``no_map``, ``length_mismatch`` (reuse packet dropped),
            ``map_overflow`` (a compute packet of more than N rows: outputs exact, map not kept).
        perf: ``Out(perf_layout)`` ``cycles``, ``mac_cycles`` (in L-lane array cycles), ``packets``
            (dropped ones included), ``reuses`` (reuse packets served from the map), ``dropped``.
    """

    ERRORS = ("key_overflow", "value_overflow", "missing_value", "no_map", "length_mismatch", "map_overflow")
    COUNTERS = ("reuses", "dropped")

    def __init__(self, *, config):
        super().__init__({
            "cmd": In(stream.Signature(command_layout(config))),
            "k": In(stream.Signature(token_layout(config))),
            "v": In(stream.Signature(token_layout(config))),
            "q": In(stream.Signature(query_layout(config))),
            "o": Out(stream.Signature(output_layout(config))),
        }, config=config)

    @property
    def mac_arrays(self):
        """Multiplier arrays of L lanes: score, and ws_factor for the weighted sum."""
        return 1 + self._config.ws_factor

    def elaborate(self, platform):
        m = Module()
        cfg = self._config
        n_max = cfg.max_tokens
        layout = prob_layout(cfg)
        m.submodules.score = score = Score(config=cfg)
        m.submodules.softmax = softmax = Softmax(config=cfg)
        m.submodules.fork = fork = Fork(layout, outputs=2)
        m.submodules.maps = maps = MapBuffer(config=cfg)
        m.submodules.select = select = Select(layout, inputs=3)
        m.submodules.weighted_sum = weighted_sum = WeightedSum(config=cfg.ws_config)
        m.submodules.perf = perf = PerfCounters(arrays=self.mac_arrays)

        # Datapath: keys and queries to the score stage as in the dense unit; P forks to the
        # weighted sum (through the selector) and to the map buffer; values go straight in.
        m.d.comb += [
            score.k.payload.data.eq(self.k.payload.data), score.k.payload.last.eq(self.k.payload.last),
            score.k.valid.eq(self.k.valid), self.k.ready.eq(score.k.ready),
        ]
        wiring.connect(m, wiring.flipped(self.q), score.q)
        wiring.connect(m, score.s, softmax.s)
        wiring.connect(m, softmax.p, fork.i)
        wiring.connect(m, fork.o[0], select.i[_SOFTMAX])
        wiring.connect(m, fork.o[1], maps.w)
        wiring.connect(m, maps.r, select.i[_MAP])
        wiring.connect(m, select.o, weighted_sum.p)
        wiring.connect(m, wiring.flipped(self.v), weighted_sum.v)

        handshake = lambda s: s.valid & s.ready
        # Probability packets end in the weighted sum in packet order; one ends here.
        p_end = handshake(select.o) & select.o.payload.last & select.o.payload.last_row

        # Values: the length of the packet whose values are loaded and whose P has not yet
        # started (the weighted sum takes no values between its last value and its last P).
        v_count = Signal(range(n_max + 2))
        n_values = Signal(range(n_max + 2))
        v_loaded = Signal()
        n_values_next = Signal.like(n_values)
        m.d.comb += n_values_next.eq(n_values)
        with m.If(p_end):
            m.d.sync += v_loaded.eq(0)
        with m.If(handshake(self.v)):
            # Counts saturate at N + 1: any longer packet is just "too long".
            bumped = Mux(v_count == n_max + 1, n_max + 1, v_count + 1)
            with m.If(self.v.payload.last):
                m.d.sync += [v_count.eq(0), v_loaded.eq(1)]
                m.d.comb += n_values_next.eq(bumped)
            with m.Else():
                m.d.sync += v_count.eq(bumped)
        m.d.sync += n_values.eq(n_values_next)
        # ``n_values == n_keys`` of every head, as registers: the load decision then selects one
        # bit by the head instead of a count and a comparison (its path ends at every register
        # of the map buffer's read side). A head's n_keys changes only when its map closes,
        # which is no later than the end of that compute packet's P (the map buffer is always
        # ready while storing), at least two cycles before a later reuse packet's decision.
        lengths_match = Signal(cfg.heads)
        m.d.sync += [lengths_match[h].eq(n_values_next == maps.key_counts[h]) for h in range(cfg.heads)]

        # Outputs: a dropped packet's one flush row is discarded. It is sent only once every
        # earlier packet has left (ended P packets == ended output packets), so it is the next
        # output packet.
        swallow = Signal()
        ws_o = weighted_sum.o
        out_end = handshake(ws_o) & ws_o.payload.last
        p_ends, o_ends = Signal(2), Signal(2)
        with m.If(p_end):
            m.d.sync += p_ends.eq(p_ends + 1)
        with m.If(out_end):
            m.d.sync += o_ends.eq(o_ends + 1)
        m.d.comb += [self.o.payload.eq(ws_o.payload), self.o.valid.eq(ws_o.valid & ~swallow),
                     ws_o.ready.eq(self.o.ready | swallow)]
        dropped_done = out_end & swallow
        with m.If(dropped_done):
            m.d.sync += swallow.eq(0)

        # Packet control: which source feeds the weighted sum, one packet at a time.
        flush = select.i[_FLUSH]
        m.d.comb += [flush.payload.p.eq(0), flush.payload.index.eq(0), flush.payload.last.eq(1),
                     flush.payload.last_row.eq(1)]
        head = Signal.like(self.cmd.payload.head)
        # The map buffer's status lookup (present, n_keys) and load use the head register; a
        # store takes the command's head directly, so the FSM is not in front of that lookup.
        m.d.comb += [maps.head.eq(head), maps.store_head.eq(self.cmd.payload.head)]
        reuses, dropped = Signal(COUNTER_BITS), Signal(COUNTER_BITS)
        m.d.comb += select.sel.eq(_FLUSH)  # an idle source: nothing reaches the weighted sum
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.cmd.ready.eq(1)
                with m.If(self.cmd.valid):
                    m.d.sync += head.eq(self.cmd.payload.head)
                    with m.If(self.cmd.payload.mode == Mode.COMPUTE):
                        m.d.comb += maps.store.eq(1)
                        m.next = "COMPUTE"
                    with m.Else():
                        m.next = "WAIT_VALUES"
            with m.State("COMPUTE"):
                m.d.comb += select.sel.eq(_SOFTMAX)
                with m.If(p_end):
                    m.next = "IDLE"
            with m.State("WAIT_VALUES"):
                with m.If(v_loaded):
                    with m.If(~maps.present):
                        m.d.sync += self.errors.no_map.eq(1)
                        m.next = "FLUSH_WAIT"
                    with m.Elif(~lengths_match.bit_select(head, 1)):
                        m.d.sync += self.errors.length_mismatch.eq(1)
                        m.next = "FLUSH_WAIT"
                    with m.Else():
                        m.d.comb += maps.load.eq(1)
                        m.next = "REUSE"
            with m.State("REUSE"):
                m.d.comb += select.sel.eq(_MAP)
                with m.If(p_end):
                    m.d.sync += reuses.eq(reuses + 1)
                    m.next = "IDLE"
            with m.State("FLUSH_WAIT"):
                with m.If(p_ends == o_ends):
                    m.next = "FLUSH"
            with m.State("FLUSH"):
                m.d.comb += flush.valid.eq(1)
                with m.If(p_end):
                    m.d.sync += [swallow.eq(1), dropped.eq(dropped + 1)]
                    m.next = "IDLE"

        with m.If(score.overflow):
            m.d.sync += self.errors.key_overflow.eq(1)
        with m.If(weighted_sum.overflow):
            m.d.sync += self.errors.value_overflow.eq(1)
        with m.If(weighted_sum.missing):
            m.d.sync += self.errors.missing_value.eq(1)
        with m.If(maps.overflow):
            m.d.sync += self.errors.map_overflow.eq(1)

        m.d.comb += [
            perf.start.eq(handshake(self.cmd) | handshake(self.k) | handshake(self.v) | handshake(self.q)),
            perf.finish.eq((handshake(self.o) & self.o.payload.last) | dropped_done),
            perf.mac.eq(Cat(score.mac, *([weighted_sum.mac] * cfg.ws_factor))),
            self.perf.cycles.eq(perf.cycles), self.perf.mac_cycles.eq(perf.mac_cycles),
            self.perf.packets.eq(perf.packets), self.perf.reuses.eq(reuses), self.perf.dropped.eq(dropped),
        ]
        return m
