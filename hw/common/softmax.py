"""Softmax stage: integer-only, base-2 exponent from a LUT, normalization by a reciprocal."""

from amaranth import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden.config import clog2
from golden.timing import SOFTMAX_SLOTS, product_latency

from .bram import RegisteredReadMemory
from .dsp import dsp_target
from .layouts import prob_layout, score_layout
from .pipeline import delay, exceeds, pipelined_product, register, sum_exceeds, wire
from .streams import SkidBuffer

__all__ = ["Softmax"]


class Softmax(wiring.Component):
    """Rows of scores in, rows of probabilities out (golden.attention.softmax_int, bit for bit).

    Four row slots let four rows overlap, each in one of four processes:

    * writer: ``y = (s * scale) >> Y_SHIFT + bias`` into the slot, tracking the row max;
    * exp pass: ``e = EXP_LUT[f] >> I`` of ``max - y`` into the exp buffer, summing ``e``;
    * divider: ``R = floor(2^RECIP_SHIFT / sum)``, one quotient bit per cycle;
    * reader: ``p = round(e * R)`` out on ``p`` through a bubble-collapsing pipeline and a
      :class:`SkidBuffer`, so the consumer's ``ready`` reaches no enable of the pipeline.

    A new row is accepted only into a free slot, so a row never stalls half-way in the writer.

    Members:
        s: ``In(stream.Signature(score_layout))`` scores, ``last`` per row.
        p: ``Out(stream.Signature(prob_layout))`` probabilities, same order, same framing.
    """

    def __init__(self, *, config, bias=False):
        self._config = config
        self._bias = bias
        super().__init__({
            "s": In(stream.Signature(score_layout(config, bias=bias))),
            "p": Out(stream.Signature(prob_layout(config))),
        })

    @property
    def config(self):
        return self._config

    def elaborate(self, platform):
        cfg, fmt = self._config, self._config.formats
        slots = SOFTMAX_SLOTS
        row_bits = clog2(cfg.max_tokens)
        m = Module()

        def address(slot, position):
            return Cat(position[:row_bits], slot) if row_bits else slot

        index = unsigned(fmt.index_bits)
        # The y buffer's read is registered once more (x1b; on the ECP5 in its block RAMs' output
        # registers): the exp pass reads it every cycle and never stalls.
        y_word = data.StructLayout({"y": signed(fmt.y_bits), "index": index})
        y_buf = RegisteredReadMemory(m, width=y_word.size, depth=slots << row_bits, name="y_buf", platform=platform)
        # So is the e buffer's (r2): the reader's read register, on the ECP5 the block RAMs' own
        # (a block RAM's 4.1 ns clock-to-out and the route to a fabric register became reuse's
        # critical path in one placement). The reader and the exp pass never share a slot: a
        # slot's next row is written only after this one is fully read, so no read meets a write
        # to its address.
        e_word = data.StructLayout({"e": unsigned(fmt.exp_bits), "index": index})
        e_buf = RegisteredReadMemory(m, width=e_word.size, depth=slots << row_bits, name="e_buf", platform=platform)
        # On the ECP5 the exp LUT is logic (``rom_style``), not a DP16KD: a block RAM sits in a
        # fixed column, and its 4.1 ns clock-to-out plus the route to its data register
        # (3.6 ns in one placement) was reuse's critical path. 2^X words of E + 1 bits are a few
        # hundred LUT4s; the read's address register and the data register keep their cycles.
        m.submodules.exp_lut = exp_lut = Memory(
            shape=unsigned(fmt.exp_bits), depth=len(fmt.exp_lut), init=fmt.exp_lut,
            attrs={"rom_style": "logic"} if dsp_target(platform) == "ecp5" else None)

        # Per-slot row metadata, written by one process and read by the next.
        row_max = Array(Signal(signed(fmt.y_bits), name=f"row_max{i}") for i in range(slots))
        row_len = Array(Signal(range(cfg.max_tokens + 1), name=f"row_len{i}") for i in range(slots))
        row_last = Array(Signal(name=f"row_last{i}") for i in range(slots))
        row_sum = Array(Signal(fmt.sum_bits, name=f"row_sum{i}") for i in range(slots))
        row_recip = Array(Signal(fmt.recip_bits, name=f"row_recip{i}") for i in range(slots))
        # Row counters (mod 2 * slots): rows started by the writer, written, exp'd, divided,
        # fully read. A row's slot is its number mod ``slots``.
        counter = unsigned(clog2(slots) + 1)
        started, written, exped, divided, read = (Signal(counter, name=n) for n in
                                                  ("started", "written", "exped", "divided", "read"))

        # --- Writer -------------------------------------------------------------------
        row_open = Signal()
        w_slot = Signal(range(slots))
        w_pos = Signal(range(cfg.max_tokens))
        # ``s.ready`` is "a row is open or a slot is free" (``started - read != slots``), made of
        # registers and one gate so that what it drives in the score stage (its output FIFO's
        # read; until the stage stopped stalling, the stall enable ``~s.valid | s.ready`` of its
        # every register) waits on no arithmetic and no route from the reader's counter
        # (docs/fpga.md). A row is never started while all slots are in use, so
        # ``started - read <= slots`` always and all slots are in use exactly when
        # ``started - (read as it was a cycle ago) == slots`` and the reader did not finish a
        # row in the previous cycle: ``started_full`` and ``row_read`` below.
        started_full, row_read = Signal(), Signal()
        m.d.comb += self.s.ready.eq(row_open | ~started_full | row_read)
        take = self.s.valid & self.s.ready
        row_started = take & ~row_open
        cur_slot = Mux(row_open, w_slot, started[:-1])
        cur_pos = Mux(row_open, w_pos, 0)
        with m.If(row_started):
            m.d.sync += [started.eq(started + 1), w_slot.eq(started[:-1])]
        with m.If(take):
            m.d.sync += [row_open.eq(~self.s.payload.last), w_pos.eq(Mux(self.s.payload.last, 0, cur_pos + 1))]
        payload = self.s.payload
        w1 = {"valid": take, "score": payload.score, "scale": payload.scale, "index": payload.index,
              "slot": cur_slot, "pos": cur_pos, "last": payload.last, "last_row": payload.last_row}
        if self._bias:
            w1["bias"] = payload.bias
        w1 = {k: register(m, None, v, f"w1_{k}") for k, v in w1.items()}
        product = pipelined_product(m, None, w1["score"], w1["scale"], "w_product", platform=platform)
        w2 = delay(m, None, {k: v for k, v in w1.items() if k not in ("score", "scale")},
                   product_latency(fmt.score_bits, True, fmt.scale_bits, False), "w2_")
        shifted = product >> fmt.y_shift
        scaled = shifted + w2["bias"] if self._bias else shifted
        w3 = {k: register(m, None, v, f"w3_{k}") for k, v in w2.items() if k != "bias"}
        y_next = scaled[:fmt.y_bits].as_signed()
        w3["y"] = register(m, None, y_next, "w3_y")
        w3_first = register(m, None, w2["pos"] == 0, "w3_first")
        run_max = Signal(signed(fmt.y_bits))
        # ``w3_y > run_max`` (``w3_above``) is compared a cycle ahead: the y entering w3 against
        # both values run_max can take next (w3's y, if it takes it, or its own), each compare
        # into a register of its own, and which of the two applies (``chose_y``) too, so
        # ``w3_above`` is one LUT of registers. Compared in the same cycle, the loop run_max ->
        # 30-bit compare -> multiplexer -> run_max was the critical path of dense and reuse;
        # with the selection in front of one register, the product register -> compare ->
        # multiplexer path was the critical path of memo and reuse (docs/fpga.md).
        above_y, above_max, chose_y = Signal(name="above_y"), Signal(name="above_max"), Signal(name="chose_y")
        w3_above = Mux(chose_y, above_y, above_max)
        takes_y = w3_first | w3_above
        if self._bias:
            # y_next is a sum (the bias add): compared as one three-input sum, with one carry
            # chain instead of the add's and the compare's (cta's critical path).
            # (|product >> y_shift| < 2^(y_bits - 2): golden.numerics, so its low y_bits hold it.)
            def y_next_exceeds(x, name):
                return sum_exceeds(m, shifted[:fmt.y_bits].as_signed(), w2["bias"], x, fmt.y_bits, name)
        else:
            def y_next_exceeds(x, name):
                return exceeds(y_next, x)
        m.d.sync += [above_y.eq(y_next_exceeds(w3["y"], "above_y")),
                     above_max.eq(y_next_exceeds(run_max, "above_max")),
                     chose_y.eq(w3["valid"] & takes_y)]
        row_top = Mux(takes_y, w3["y"], run_max)
        # The buffer write is registered once more (w4): w3's y then drives the running maximum
        # only (its compare and multiplexer), placed beside run_max, and w4's registers sit by
        # the block RAM. The
        # exp pass reads a row's first word two cycles after ``written`` moves at the earliest,
        # a cycle after its last word is written.
        w4 = {"addr": address(w3["slot"], w3["pos"]), "y": w3["y"], "index": w3["index"], "valid": w3["valid"]}
        w4 = {k: register(m, None, v, f"w4_{k}") for k, v in w4.items()}
        y_written = Signal(y_word)
        m.d.comb += [y_written.y.eq(w4["y"]), y_written.index.eq(w4["index"]),
                     y_buf.write.addr.eq(w4["addr"]), y_buf.write.data.eq(y_written), y_buf.write.en.eq(w4["valid"])]
        with m.If(w3["valid"]):
            m.d.sync += run_max.eq(row_top)
            with m.If(w3["last"]):
                m.d.sync += [row_len[w3["slot"]].eq(w3["pos"] + 1),
                             row_last[w3["slot"]].eq(w3["last_row"]), written.eq(written + 1)]
        # The row's maximum goes to its slot a cycle later, from run_max, so the compare and
        # mux above drive one register only. That is in time: the exp pass starts a cycle
        # after ``written`` moves at the earliest, and reads row_max a cycle after it starts.
        max_due = register(m, None, w3["valid"] & w3["last"], "max_due")
        max_slot = register(m, None, w3["slot"], "max_slot")
        with m.If(max_due):
            m.d.sync += row_max[max_slot].eq(run_max)

        # --- Exp pass ------------------------------------------------------------------
        x_active = Signal()
        x_slot = Signal(range(slots))
        x_pos = Signal(range(cfg.max_tokens))
        x_next = Signal(counter)
        # ``x_pos == row_len - 1`` as a register, set one position ahead (as the reader's
        # ``r_end``): the slot mux, subtraction and compare stay out of the start logic.
        x_last = Signal()
        x_start = (~x_active | x_last) & (written != x_next)
        with m.If(x_start):
            m.d.sync += [x_active.eq(1), x_pos.eq(0), x_slot.eq(x_next[:-1]), x_next.eq(x_next + 1),
                         x_last.eq(row_len[x_next[:-1]] == 1)]
        with m.Elif(x_active & x_last):
            m.d.sync += x_active.eq(0)
        with m.Elif(x_active):
            m.d.sync += [x_pos.eq(x_pos + 1), x_last.eq(x_pos + 2 == row_len[x_slot])]
        m.d.comb += [y_buf.read.addr.eq(address(x_slot, x_pos)), y_buf.read.en.eq(1)]
        x1 = {"valid": x_active, "slot": x_slot, "pos": x_pos, "last": x_last, "max": row_max[x_slot]}
        x1 = {k: register(m, None, v, f"x1_{k}") for k, v in x1.items()}
        # The buffer's read data is registered before the subtraction (block RAM clock-to-out).
        x1b = {k: register(m, None, v, f"x1b_{k}") for k, v in x1.items()}
        y_read = y_word(y_buf.registered(None, "x1b_yword"))
        x1b["y"], x1b["index"] = y_read.y, y_read.index
        distance = (x1b["max"] - x1b["y"]).as_unsigned()
        whole = distance >> fmt.x_frac
        x2 = {k: register(m, None, v, f"x2_{k}") for k, v in x1b.items() if k not in ("max", "y")}
        x2["frac"] = register(m, None, distance[:fmt.x_frac], "x2_frac")
        x2["whole"] = register(m, None, whole, "x2_whole")
        lut_read = exp_lut.read_port()
        m.d.comb += lut_read.addr.eq(x2["frac"])
        # Exponents beyond E give e = 0; clamp so the shifter stays small. The clamp is applied on
        # the way into x3, beside the LUT read, not behind x1b's subtraction (two carry chains in
        # one cycle were the stage's critical path).
        x2["whole"] = Mux(x2["whole"] > fmt.exp_zero_shift, fmt.exp_zero_shift + 1,
                          x2["whole"])[:clog2(fmt.exp_zero_shift + 2)]
        x3 = {k: register(m, None, v, f"x3_{k}") for k, v in x2.items() if k != "frac"}
        # The LUT's read data is registered before the shifter.
        x3b = {k: register(m, None, v, f"x3b_{k}") for k, v in x3.items()}
        x3b["lut"] = register(m, None, lut_read.data, "x3b_lut")
        x4 = {k: register(m, None, v, f"x4_{k}") for k, v in x3b.items() if k not in ("whole", "lut")}
        x4["e"] = register(m, None, (x3b["lut"] >> x3b["whole"])[:fmt.exp_bits], "x4_e")
        e_written = Signal(e_word)
        m.d.comb += [e_written.e.eq(x4["e"]), e_written.index.eq(x4["index"]),
                     e_buf.write.addr.eq(address(x4["slot"], x4["pos"])), e_buf.write.data.eq(e_written),
                     e_buf.write.en.eq(x4["valid"])]
        run_sum = Signal(fmt.sum_bits)
        row_total = Mux(x4["pos"] == 0, x4["e"], run_sum + x4["e"])
        with m.If(x4["valid"]):
            m.d.sync += run_sum.eq(row_total)
            with m.If(x4["last"]):
                m.d.sync += [row_sum[x4["slot"]].eq(row_total), exped.eq(exped + 1)]

        # --- Divider: R = floor(2^RECIP_SHIFT / sum), restoring, MSB first ------------------
        # Quotient bits above recip_bits are zero because sum >= 2^E, so the remainder starts
        # at 2^(E-1) (the dividend's leading 1) and each step shifts in a 0.
        d_active = Signal()
        d_slot = Signal(range(slots))
        d_rem = Signal(fmt.sum_bits + 1)
        d_div = Signal(fmt.sum_bits)
        d_quot = Signal(fmt.recip_bits)
        d_step = Signal(range(fmt.recip_bits))
        with m.If(~d_active & (exped != divided)):
            m.d.sync += [d_active.eq(1), d_slot.eq(divided[:-1]), d_div.eq(row_sum[divided[:-1]]),
                         d_rem.eq(1 << (fmt.exp_frac - 1)), d_quot.eq(0), d_step.eq(0)]
        with m.If(d_active):
            doubled = Cat(Const(0, 1), d_rem)
            fits = doubled >= d_div
            quot = Cat(fits, d_quot[:-1])
            m.d.sync += [d_rem.eq(Mux(fits, doubled - d_div, doubled)), d_quot.eq(quot), d_step.eq(d_step + 1)]
            with m.If(d_step == fmt.recip_bits - 1):
                m.d.sync += [row_recip[d_slot].eq(quot), divided.eq(divided + 1), d_active.eq(0)]

        # --- Reader: a bubble-collapsing pipeline ------------------------------------------
        # R1: slot metadata (the buffer read is in flight); R2: the buffer's read data,
        # registered; then the e x reciprocal product's stages; then the rounded output.
        # Register k loads whenever it is empty or its occupant moves on.
        product_stages = product_latency(fmt.exp_bits, False, fmt.recip_bits, False)
        depth = 2 + product_stages
        valid = [Signal(name=f"r{k + 1}_valid") for k in range(depth)]
        # The output register feeds a skid buffer, whose ready is a register: the consumer's
        # ready (combinational through the weighted sum and the fork, across the die) used to
        # reach every load enable below and the exp buffer's read enable (the critical path
        # of memo and reuse). While the consumer is ready the skid buffer is a wire; under
        # backpressure the reader runs one beat ahead into it.
        m.submodules.p_skid = skid = SkidBuffer(prob_layout(cfg))
        wiring.connect(m, skid.o, wiring.flipped(self.p))
        out = skid.i
        load_out = ~out.valid | out.ready
        # Register k loads when it or any register after it is empty, or the output moves on.
        # "Registers k.. all full" is itself a register (``full_from``, computed from the next
        # valid bits), so every load enable is one gate of registers: written as a function of
        # the valid bits, synthesis built it as a chain through all of them (ABC9 shares the
        # terms), and that chain ended at the exp buffer's read enable across the die.
        full_from = [Signal(name=f"full_from_r{k + 1}") for k in range(depth)]
        loads = [wire(m, ~full_from[k] | load_out, f"r{k + 1}_load") for k in range(depth)]
        load1 = loads[0]
        r_active = Signal()
        r_slot = Signal(range(slots))
        r_pos = Signal(range(cfg.max_tokens))
        r_next = Signal(counter)
        issue = r_active & load1
        r_end = Signal()    # r_pos is the row's last position (a register, set one position ahead)
        r_last = issue & r_end
        r_start = (~r_active | r_last) & (divided != r_next)
        with m.If(r_start):
            m.d.sync += [r_active.eq(1), r_pos.eq(0), r_slot.eq(r_next[:-1]), r_next.eq(r_next + 1),
                         r_end.eq(row_len[r_next[:-1]] == 1)]
        with m.Elif(r_last):
            m.d.sync += r_active.eq(0)
        with m.Elif(issue):
            m.d.sync += [r_pos.eq(r_pos + 1), r_end.eq(r_pos + 2 == row_len[r_slot])]
        with m.If(r_last):
            m.d.sync += read.eq(read + 1)
        m.d.sync += [started_full.eq((started + row_started - read)[:counter.width] == slots), row_read.eq(r_last)]
        valid_next = [Mux(loads[k], issue if k == 0 else valid[k - 1], valid[k]) for k in range(depth)]
        m.d.sync += [valid[k].eq(valid_next[k]) for k in range(depth)]
        m.d.sync += [full_from[k].eq(Cat(*valid_next[k:]).all()) for k in range(depth)]
        m.d.comb += [e_buf.read.addr.eq(address(r_slot, r_pos)), e_buf.read.en.eq(load1)]
        r1 = {"last": r_end, "last_row": row_last[r_slot], "recip": row_recip[r_slot]}
        r1 = {k: register(m, load1, v, f"r1_{k}") for k, v in r1.items()}
        r2 = {k: register(m, loads[1], v, f"r2_{k}") for k, v in r1.items()}
        e_read = e_word(e_buf.registered(loads[1], "r2_eword"))
        r2["e"], r2["index"] = e_read.e, e_read.index
        product = pipelined_product(m, loads[2:], r2["e"], r2["recip"], "r_product", platform=platform)
        meta = {k: v for k, v in r2.items() if k not in ("e", "recip")}
        for k in range(2, depth):
            meta = {name: register(m, loads[k], v, f"r{k + 1}_{name}") for name, v in meta.items()}
        shift = fmt.recip_shift - fmt.prob_frac
        with m.If(load_out):
            m.d.sync += [out.valid.eq(valid[-1]),
                         out.payload.p.eq((product + (1 << (shift - 1))) >> shift), out.payload.index.eq(meta["index"]),
                         out.payload.last.eq(meta["last"]), out.payload.last_row.eq(meta["last_row"])]
        return m
