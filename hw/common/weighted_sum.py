"""Weighted-sum stage: ``o_i = sum_j p_ij v_j``, rounded and saturated to the output format."""

from amaranth import Array, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.timing import product_latency

from .bram import RegisteredReadMemory
from .layouts import output_layout, prob_layout, token_layout
from .pipeline import counter, delay, load_banks, pipelined_product, register, round_half_up, saturate

__all__ = ["WeightedSum"]


class WeightedSum(wiring.Component):
    """Probabilities times values, accumulated per query row, on L MAC lanes.

    A packet is a run of value tokens on ``v`` (one per beat), then rows of probabilities on
    ``p``; each probability names its value row by ``index`` and occupies d/L cycles. Any
    source of probability rows can feed ``p``: the softmax stage, a memoized map (MEMO) or
    the map buffer (reuse). One output token per row leaves on ``o``. With ``banks=2`` (a value
    buffer twice as deep) the next packet's values load while the current packet is weighed.

    Members:
        v: ``In(stream.Signature(token_layout))`` values of a packet (at most N).
        p: ``In(stream.Signature(prob_layout))`` probability rows; ``last_row`` ends the packet.
        o: ``Out(stream.Signature(output_layout))`` one token per row, ``last`` on the final row.
        n_values: ``Out(range(N + 1))`` values in the current packet.
        overflow: ``Out(1)`` high in a cycle that drops a value beyond N.
        missing: ``Out(1)`` high in a cycle that takes a probability whose value was never loaded.
        mac: ``Out(1)`` high in each cycle the L multipliers do useful work.
    """

    def __init__(self, *, config, banks=1):
        self._config = config
        self._banks = banks
        super().__init__({
            "v": In(stream.Signature(token_layout(config))),
            "p": In(stream.Signature(prob_layout(config))),
            "o": Out(stream.Signature(output_layout(config))),
            "n_values": Out(range(config.max_tokens + 1)),
            "overflow": Out(1),
            "missing": Out(1),
            "mac": Out(1),
        })

    @property
    def config(self):
        return self._config

    def elaborate(self, platform):
        cfg, fmt = self._config, self._config.formats
        n_max, lanes, chunks = cfg.max_tokens, cfg.lanes, cfg.chunks
        chunk_bits = lanes * fmt.data_bits
        m = Module()

        # The value buffer's read is registered once more (``o_value``): on the ECP5 in its block
        # RAMs' output registers. Its writes are registered too, so the block RAMs' write enable
        # is a register beside them, not the ``v`` handshake (reuse's critical path crossed the die
        # there). A bank's first read is addressed two cycles after its last value's handshake
        # (the bank is full a cycle after it, ``p`` is taken then, and ``index`` is registered),
        # so the write landing a cycle later is still in time.
        values = RegisteredReadMemory(m, width=cfg.head_dim * fmt.data_bits, depth=n_max * self._banks,
                                      name="values", platform=platform, write_registered=True)
        write, read = values.write, values.read

        # Load: one value token per beat.
        buf = load_banks(m, self.v, write, depth=n_max, value=self.v.payload.data, count_out=self.n_values,
                         banks=self._banks)
        m.d.comb += self.overflow.eq(buf.dropped)

        # Issue: each probability for d/L chunk cycles; stall as a unit on a full output.
        en = Signal()
        m.d.comb += en.eq(~self.o.valid | self.o.ready)
        active = Signal()
        chunk = counter(chunks, "chunk")
        prob = Signal(fmt.prob_bits)
        index = Signal(fmt.index_bits)
        row_first = Signal()        # the probability being issued opens its row
        opening = Signal(init=1)    # the next probability taken opens a row
        last, last_row = Signal(), Signal()
        last_chunk = chunk == chunks - 1
        ends_packet = last & last_row
        m.d.comb += self.p.ready.eq(buf.ready & en & (~active | (last_chunk & ~ends_packet)))
        take = self.p.valid & self.p.ready
        m.d.comb += self.missing.eq(take & (self.p.payload.index >= buf.count))
        with m.If(take):
            m.d.sync += [active.eq(1), chunk.eq(0), prob.eq(self.p.payload.p), index.eq(self.p.payload.index),
                         last.eq(self.p.payload.last), last_row.eq(self.p.payload.last_row)]
            m.d.sync += [row_first.eq(opening), opening.eq(self.p.payload.last)]
        with m.Elif(active & en):
            with m.If(last_chunk):
                m.d.sync += active.eq(0)
                with m.If(ends_packet):
                    m.d.comb += buf.release.eq(1)
            with m.Else():
                m.d.sync += chunk.eq(chunk + 1)

        m.d.comb += [read.addr.eq(index + buf.offset), read.en.eq(en)]
        b = {"valid": active, "chunk": chunk, "prob": prob, "first": row_first, "last": last,
             "emit": last_chunk, "last_row": last_row}
        b = {k: register(m, en, v, f"b_{k}") for k, v in b.items()}
        # Stage O: the whole value word is registered straight out of the block RAM; the chunk
        # is selected between this register and the multipliers' operand registers.
        o = {k: register(m, en, v, f"o_{k}") for k, v in b.items()}
        value_chunk = values.registered(en, "o_value").word_select(o["chunk"], chunk_bits)
        m.d.comb += self.mac.eq(o["valid"] & en)
        lane = lambda l: value_chunk[l * fmt.data_bits:(l + 1) * fmt.data_bits].as_signed()
        products = [pipelined_product(m, en, o["prob"], lane(l), f"product{l}", platform=platform)
                    for l in range(lanes)]
        c = delay(m, en, {k: v for k, v in o.items() if k != "prob"},
                  product_latency(fmt.prob_bits, False, fmt.data_bits, True), "c")
        # Accumulators: ``chunks`` groups of L lanes; the row's first probability restarts them.
        acc = [Array(Signal(signed(fmt.acc_bits), name=f"acc{g}_{l}") for g in range(chunks))
               for l in range(lanes)]
        sums = [Mux(c["first"], 0, acc[l][c["chunk"]]) + products[l] for l in range(lanes)]
        with m.If(en & c["valid"]):
            for l in range(lanes):
                m.d.sync += acc[l][c["chunk"]].eq(sums[l])
        final = c["valid"] & c["last"]  # the row's last probability: these sums are final
        d = {"valid": final, "chunk": c["chunk"], "emit": c["emit"], "last_row": c["last_row"]}
        d = {k: register(m, en, v, f"d_{k}") for k, v in d.items()}
        d_sums = [register(m, en, sums[l][:fmt.acc_bits].as_signed(), f"d_sum{l}") for l in range(lanes)]
        # Round (one carry chain) into stage E, then saturate one chunk per cycle into the
        # output register (two comparisons): each in a cycle of its own.
        e = {k: register(m, en, v, f"e_{k}") for k, v in d.items()}
        e_rounded = [register(m, en, round_half_up(d_sums[l], fmt.out_shift), f"e_rounded{l}") for l in range(lanes)]
        with m.If(en):
            m.d.sync += self.o.valid.eq(e["valid"] & e["emit"])
            with m.If(e["valid"]):
                with m.Switch(e["chunk"]):
                    for g in range(chunks):
                        with m.Case(g):
                            for l in range(lanes):
                                m.d.sync += self.o.payload.data[g * lanes + l].eq(
                                    saturate(e_rounded[l], fmt.out_min, fmt.out_max))
                m.d.sync += self.o.payload.last.eq(e["last_row"])
        return m
