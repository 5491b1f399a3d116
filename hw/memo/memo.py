"""MEMO unit: the memo-lookup engine and the memoized-attention path."""

import enum

from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.config import clog2
from golden.memo.cycles import map_words

from ..common import (AttentionUnit, Fork, PerfCounters, Score, Select, Softmax, WeightedSum, output_layout,
                      prob_layout, query_layout, token_layout)
from ..common.axi import AxiReader
from ..common.axi_write import AxiWriter
from ..common.perf import COUNTER_BITS
from ..common.pipeline import counter
from .lookup import MemoLookup, registers_layout, request_layout, response_layout

__all__ = ["Memo", "Mode", "command_layout"]


class Mode(enum.IntEnum):
    """Packet mode (``cmd.mode``)."""
    COMPUTE = 0  #: score, softmax, weighted sum (a miss); ``cmd.store`` writes the map back
    HIT = 1      #: the stored map over AXI into the weighted sum; score and softmax idle


def command_layout(cfg) -> data.StructLayout:
    """``mode`` (:class:`Mode`), ``store`` (compute: write the map to the record), ``ptr`` (the
    entry the lookup returned), ``head``, ``n`` (the packet's tokens: keys = values = queries)."""
    return data.StructLayout({"mode": unsigned(1), "store": 1, "ptr": cfg.ptr_bits,
                              "head": max(1, clog2(cfg.heads)), "n": cfg.length_bits})


# Weighted-sum sources.
_SOFTMAX, _MAP = 0, 1


class Memo(AttentionUnit):
    """Memoized attention for one head per packet, with the lookup engine beside it.

    The host looks a layer's signature up on ``lookup`` / ``answer`` (:class:`MemoLookup`), then
    sends each head's packet with one ``cmd`` beat. A HIT packet is n values on ``v``: the
    map of ``cmd.head`` in record ``cmd.ptr`` (``config.map_address``; n x n probabilities,
    rows back to back, ``probs_per_word`` per AXI word) is read by the AXI read manager from
    the cycle of the ``cmd`` beat and unpacked, one probability per cycle, into the weighted
    sum. A COMPUTE packet is a dense packet (n keys, n values, n queries): P goes to the
    weighted sum and, when ``cmd.store``, packed into words through the AXI write manager to
    that record. One output token per row leaves on ``o`` either way.

    The next ``cmd`` is taken once both AXI managers are idle (a write-back may still await
    its B responses: ``busy``). A HIT whose value count differs from ``cmd.n`` sets
    ``length_mismatch`` (its outputs are the stored map times the values that came).

    Members:
        lookup, answer, regs: the :class:`MemoLookup` ports ``i``, ``o``, ``regs``.
        cmd: ``In(stream.Signature(command_layout))``.
        k, v: ``In(stream.Signature(token_layout))``; q: ``In(stream.Signature(query_layout))``.
        o: ``Out(stream.Signature(output_layout))``.
        axi_r: AXI4 read channels (AR/R); axi_w: AXI4 write channels (AW/W/B).
        busy: ``Out(1)`` a write-back is in progress.
        errors: ``Out(error_layout)`` sticky: ``key_overflow``, ``value_overflow``,
            ``missing_value`` (as the dense unit), ``length_mismatch``, ``axi_read``, ``axi_write``
            (a response other than OKAY).
        perf: ``Out(perf_layout)`` ``cycles``, ``mac_cycles`` (L-lane arrays), ``packets``,
            ``hits`` (HIT packets), ``stores`` (maps written back).
    """

    ERRORS = ("key_overflow", "value_overflow", "missing_value", "length_mismatch", "axi_read", "axi_write")
    COUNTERS = ("hits", "stores")

    def __init__(self, *, config):
        cfg = config
        self._reader = AxiReader(addr_width=cfg.addr_width, data_width=cfg.axi_data_width,
                                 max_burst=cfg.max_burst, outstanding=2)
        self._writer = AxiWriter(addr_width=cfg.addr_width, data_width=cfg.axi_data_width, max_burst=cfg.max_burst)
        super().__init__({
            "lookup": In(stream.Signature(request_layout(cfg))),
            "answer": Out(stream.Signature(response_layout(cfg))),
            "regs": In(stream.Signature(registers_layout(cfg))),
            "cmd": In(stream.Signature(command_layout(cfg))),
            "k": In(stream.Signature(token_layout(cfg))),
            "v": In(stream.Signature(token_layout(cfg))),
            "q": In(stream.Signature(query_layout(cfg))),
            "o": Out(stream.Signature(output_layout(cfg))),
            "axi_r": Out(self._reader.signature.members["axi"].signature),
            "axi_w": Out(self._writer.signature.members["axi"].signature),
            "busy": Out(1),
        }, config=config)

    @property
    def mac_arrays(self):
        """Multiplier arrays of L lanes: score, and ws_factor for the weighted sum."""
        return 1 + self._config.ws_factor

    def elaborate(self, platform):
        m = Module()
        cfg = self._config
        fmt = cfg.formats
        layout = prob_layout(cfg)
        ppw, slot = cfg.probs_per_word, cfg.prob_slot_bits
        word_bytes = cfg.axi_data_width // 8

        m.submodules.engine = table = MemoLookup(config=cfg)
        wiring.connect(m, wiring.flipped(self.lookup), table.i)
        wiring.connect(m, table.o, wiring.flipped(self.answer))
        wiring.connect(m, wiring.flipped(self.regs), table.regs)

        m.submodules.score = score = Score(config=cfg)
        m.submodules.softmax = softmax = Softmax(config=cfg)
        m.submodules.fork = fork = Fork(layout, outputs=2)
        m.submodules.select = select = Select(layout, inputs=2)
        m.submodules.weighted_sum = weighted_sum = WeightedSum(config=cfg.ws_config)
        m.submodules.reader = reader = self._reader
        m.submodules.writer = writer = self._writer
        m.submodules.perf = perf = PerfCounters(arrays=self.mac_arrays)
        wiring.connect(m, reader.axi, wiring.flipped(self.axi_r))
        wiring.connect(m, writer.axi, wiring.flipped(self.axi_w))

        m.d.comb += [
            score.k.payload.data.eq(self.k.payload.data), score.k.payload.last.eq(self.k.payload.last),
            score.k.valid.eq(self.k.valid), self.k.ready.eq(score.k.ready),
        ]
        wiring.connect(m, wiring.flipped(self.q), score.q)
        wiring.connect(m, score.s, softmax.s)
        wiring.connect(m, softmax.p, fork.i)
        wiring.connect(m, fork.o[0], select.i[_SOFTMAX])
        wiring.connect(m, select.o, weighted_sum.p)
        wiring.connect(m, wiring.flipped(self.v), weighted_sum.v)
        handshake = lambda s: s.valid & s.ready

        # --- packet control ------------------------------------------------------------------
        mode = Signal()
        store = Signal()
        # The packet's last index, n - 1, is a register loaded with the command: compared with
        # the unpacker's key and row, its subtract sat in front of the end-of-packet decision
        # (the memo unit's critical path once the multipliers kept their registers in the DSPs).
        n_last = Signal(signed(cfg.length_bits + 1))
        idle = Signal(init=1)
        p_end = handshake(select.o) & select.o.payload.last & select.o.payload.last_row
        addr = Signal(cfg.addr_width)
        record_bytes = cfg.record_words * word_bytes
        m.d.comb += addr.eq((self.cmd.payload.ptr * cfg.heads + self.cmd.payload.head) * record_bytes)
        beats = Signal(16)
        n_in = self.cmd.payload.n
        m.d.comb += beats.eq((n_in * n_in + ppw - 1) >> clog2(ppw))
        m.d.comb += [reader.cmd.payload.addr.eq(addr), reader.cmd.payload.beats.eq(beats),
                     writer.cmd.payload.addr.eq(addr), writer.cmd.payload.beats.eq(beats)]
        m.d.comb += self.cmd.ready.eq(idle & reader.cmd.ready & ~reader.busy & writer.cmd.ready)
        take_cmd = handshake(self.cmd)
        with m.If(take_cmd):
            m.d.sync += [mode.eq(self.cmd.payload.mode), store.eq(self.cmd.payload.store), n_last.eq(n_in - 1),
                         idle.eq(0)]
            with m.If(self.cmd.payload.mode == Mode.HIT):
                m.d.comb += reader.cmd.valid.eq(1)
            with m.Elif(self.cmd.payload.store):
                m.d.comb += writer.cmd.valid.eq(1)
        with m.If(p_end):
            m.d.sync += idle.eq(1)
        m.d.comb += select.sel.eq(Mux(~idle & (mode == Mode.HIT), _MAP, _SOFTMAX))

        # --- hit: unpack words into probabilities --------------------------------------------
        word = Signal(cfg.axi_data_width)
        word_valid = Signal()
        slot_i = counter(ppw, "slot")
        key = Signal(range(cfg.max_tokens + 1))
        row = Signal(range(cfg.max_tokens + 1))
        unpack = select.i[_MAP]
        # ``key == n_last`` and ``row == n_last`` as registers set one step ahead (their values
        # after a reset included: n_last resets to 0): the compares no longer sit in front of
        # ``word_done`` and the AXI reader's ``ready``.
        last_key, last_row, single = Signal(init=1), Signal(init=1), Signal(init=1)   # single: n == 1
        m.d.comb += [unpack.valid.eq(word_valid),
                     unpack.payload.p.eq(word.word_select(slot_i, slot)[:fmt.prob_bits]),
                     unpack.payload.index.eq(key), unpack.payload.last.eq(last_key),
                     unpack.payload.last_row.eq(last_row)]
        took = handshake(unpack)
        word_done = took & ((slot_i == ppw - 1) | (last_key & last_row))
        m.d.comb += reader.data.ready.eq(~word_valid | word_done)
        with m.If(handshake(reader.data)):
            m.d.sync += [word.eq(reader.data.payload.data), word_valid.eq(1), slot_i.eq(0)]
        with m.Elif(word_done):
            m.d.sync += word_valid.eq(0)
        with m.If(took & ~word_done):
            m.d.sync += slot_i.eq(slot_i + 1)
        with m.If(take_cmd):
            m.d.sync += [single.eq(n_in == 1), last_key.eq(n_in == 1), last_row.eq(n_in == 1)]
        with m.Elif(took):
            with m.If(last_key):
                m.d.sync += [key.eq(0), row.eq(Mux(last_row, 0, row + 1)), last_key.eq(single),
                             last_row.eq(Mux(last_row, single, row + 1 == n_last))]
            with m.Else():
                m.d.sync += [key.eq(key + 1), last_key.eq(key + 1 == n_last)]

        # --- compute: pack P into words for the write-back -----------------------------------
        packer = fork.o[1]
        acc = Signal(cfg.axi_data_width)
        fill = counter(ppw, "fill")
        out_word = Signal(cfg.axi_data_width)
        out_valid = Signal()
        storing = ~idle & (mode == Mode.COMPUTE) & store
        m.d.comb += [writer.data.valid.eq(out_valid), writer.data.payload.data.eq(out_word)]
        out_free = ~out_valid | writer.data.ready
        m.d.comb += packer.ready.eq(~storing | out_free)
        with m.If(handshake(writer.data)):
            m.d.sync += out_valid.eq(0)
        with m.If(packer.valid & packer.ready & storing):
            final = packer.payload.last & packer.payload.last_row
            slot_value = packer.payload.p
            merged = Signal(cfg.axi_data_width)
            m.d.comb += merged.eq(acc | (slot_value << (fill * slot)))
            with m.If((fill == ppw - 1) | final):
                m.d.sync += [out_word.eq(merged), out_valid.eq(1), acc.eq(0), fill.eq(0)]
            with m.Else():
                m.d.sync += [acc.eq(merged), fill.eq(fill + 1)]

        # --- length check ---------------------------------------------------------------------
        v_count = Signal(range(cfg.max_tokens + 2))
        with m.If(handshake(self.v)):
            with m.If(self.v.payload.last):
                m.d.sync += v_count.eq(0)
                with m.If((mode == Mode.HIT) & ~idle & (v_count != n_last)):
                    m.d.sync += self.errors.length_mismatch.eq(1)
            with m.Else():
                m.d.sync += v_count.eq(v_count + 1)

        with m.If(score.overflow):
            m.d.sync += self.errors.key_overflow.eq(1)
        with m.If(weighted_sum.overflow):
            m.d.sync += self.errors.value_overflow.eq(1)
        with m.If(weighted_sum.missing):
            m.d.sync += self.errors.missing_value.eq(1)
        with m.If(reader.error):
            m.d.sync += self.errors.axi_read.eq(1)
        with m.If(writer.error):
            m.d.sync += self.errors.axi_write.eq(1)

        hits, stores = Signal(COUNTER_BITS), Signal(COUNTER_BITS)
        with m.If(take_cmd & (self.cmd.payload.mode == Mode.HIT)):
            m.d.sync += hits.eq(hits + 1)
        with m.If(take_cmd & (self.cmd.payload.mode == Mode.COMPUTE) & self.cmd.payload.store):
            m.d.sync += stores.eq(stores + 1)
        m.d.comb += [
            self.busy.eq(writer.busy),
            perf.start.eq(take_cmd | handshake(self.k) | handshake(self.v) | handshake(self.q)),
            perf.finish.eq(handshake(self.o) & self.o.payload.last),
            perf.mac.eq(Cat(score.mac, *([weighted_sum.mac] * cfg.ws_factor))),
            self.perf.cycles.eq(perf.cycles), self.perf.mac_cycles.eq(perf.mac_cycles),
            self.perf.packets.eq(perf.packets), self.perf.hits.eq(hits), self.perf.stores.eq(stores),
        ]
        wiring.connect(m, weighted_sum.o, wiring.flipped(self.o))
        return m
