"""Score stage: exact integer dot products of each query with every key of a packet."""

from amaranth import Cat, Module, Mux, Shape, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.timing import product_latency, score_fifo_depth, tree_register_levels

from .bram import RegisteredReadMemory
from .fifo import Credits, HeadRegisterFIFO
from .layouts import key_layout, query_layout, score_layout
from .pipeline import adder_tree, counter, delay, load_banks, pipelined_product, register

__all__ = ["Score"]


class Score(wiring.Component):
    """Dot products ``s_ij = q_i . k_j`` on L MAC lanes, d/L cycles per score.

    A packet is a run of keys on ``k`` (one per beat, ``last`` on the final one), then query
    rows on ``q``; for each query the stage emits one score per key, in key order, on ``s``.
    The next packet's keys are accepted once the last query row has been issued; with
    ``banks=2`` (a key buffer twice as deep) they load while the current packet is scored.
    The pipeline never stalls; scores not yet taken wait in an output FIFO, and the issue
    waits for room in it (golden.timing.ScoreModel).

    ``query_load`` says when the query and scale registers load, with the same cycles and
    scores either way: ``"handshake"`` (on the query handshake) or ``"free"`` (in every cycle
    no issue needs them afterwards, from whatever is on ``q``; the handshake then enables two
    registers, not the query's bits). Which one places better depends on the unit
    (docs/fpga.md, stop 42).

    Members:
        k: ``In(stream.Signature(key_layout))`` keys of a packet (at most N; more set ``overflow``).
        q: ``In(stream.Signature(query_layout))`` query rows; ``last`` marks the packet's final row.
        s: ``Out(stream.Signature(score_layout))`` scores, ``last`` per row, ``last_row`` per packet.
        n_keys: ``Out(range(N + 1))`` keys in the current packet.
        overflow: ``Out(1)`` high in a cycle that drops a key beyond N.
        mac: ``Out(1)`` high in each cycle the L multipliers do useful work.
    """

    QUERY_LOADS = ("handshake", "free")

    def __init__(self, *, config, bias=False, banks=1, query_load="handshake"):
        if query_load not in self.QUERY_LOADS:
            self._MustUse__silence = True   # never elaborated: no "created but never used" warning
            raise ValueError(f"Score query_load={query_load!r} must be one of {', '.join(self.QUERY_LOADS)}.")
        self._query_load = query_load
        self._config = config
        self._bias = bias
        self._banks = banks
        super().__init__({
            "k": In(stream.Signature(key_layout(config, bias=bias))),
            "q": In(stream.Signature(query_layout(config))),
            "s": Out(stream.Signature(score_layout(config, bias=bias))),
            "n_keys": Out(range(config.max_tokens + 1)),
            "overflow": Out(1),
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

        vector = data.ArrayLayout(signed(fmt.data_bits), cfg.head_dim)
        word = data.StructLayout({"data": vector, "bias": signed(fmt.bias_bits)}) if self._bias else vector
        # The key buffer's read is registered once more (``o_key``): on the ECP5 in its block RAMs'
        # output registers, whose clock-to-out is far shorter than the array's.
        keys = RegisteredReadMemory(m, width=Shape.cast(word).width, depth=n_max * self._banks, name="keys",
                                    platform=platform)
        write, read = keys.write, keys.read

        # Load: one key per beat into the key buffer.
        key_word = Cat(self.k.payload.data.as_value(), self.k.payload.bias) if self._bias else self.k.payload.data
        buf = load_banks(m, self.k, write, depth=n_max, value=key_word, count_out=self.n_keys, banks=self._banks)
        m.d.comb += self.overflow.eq(buf.dropped)

        # Issue: (key j, chunk c) for the current query row, one chunk per cycle. The pipeline
        # never stalls: a stall enable (``~s.valid | s.ready``) was the clock enable of its every
        # register and gated ``q.ready``, and the route from the softmax's ready through it was
        # the critical path of several units (docs/fpga.md). Instead the scores queue in an
        # output FIFO, and a chunk issues only while the FIFO has room for its key's score and
        # every score in flight: ``credits`` counts the keys whose last chunk issued and whose
        # score has not left on ``s`` (golden.timing.ScoreModel). ``room`` depends on registers
        # only, never on ``s.ready``.
        depth = score_fifo_depth(lanes)
        m.submodules.credits = credits = Credits(depth=depth)
        room = credits.room
        active = Signal()
        key = Signal(range(n_max))
        chunk = counter(chunks, "chunk")
        query = Signal(cfg.head_dim * fmt.data_bits)
        scale = Signal(fmt.scale_bits)
        last_row = Signal()
        # ``key == n_keys - 1`` as a register, set one key ahead: the compare's carry chain no
        # longer sits in front of ``q.ready`` (and everything that watches the handshake).
        last_key = Signal()
        last_chunk = chunk == chunks - 1
        row_end = active & last_key & last_chunk
        m.d.comb += self.q.ready.eq(buf.ready & (~active | (row_end & room & ~last_row)))
        # ``key`` and ``chunk`` return to zero as a row ends and ``last_key`` is the next row's
        # from then on (the same packet's, or, while idle, the work bank's): none of them waits
        # on the query handshake, which comes late in the cycle.
        with m.If(~active):
            m.d.sync += last_key.eq(buf.count == 1)
        issue = active & room
        with m.If(issue):
            with m.If(last_chunk):
                m.d.sync += chunk.eq(0)
                with m.If(last_key):
                    m.d.sync += [active.eq(0), key.eq(0), last_key.eq(buf.count == 1)]
                    with m.If(last_row):
                        m.d.comb += buf.release.eq(1)
                with m.Else():
                    m.d.sync += [key.eq(key + 1), last_key.eq(key + 2 == buf.count)]
            with m.Else():
                m.d.sync += chunk.eq(chunk + 1)
        load_query = [query.eq(self.q.payload.data), scale.eq(self.q.payload.scale)]
        if self._query_load == "free":
            # The query registers load in every cycle no issue needs them afterwards (idle, or
            # the row's last chunk issuing now), so they hold the handshake's query whenever
            # ``active`` is high. With ~260 query bits as its enables, the handshake (from the
            # query FIFO's ``valid``, driving that FIFO's take) was placed among them, far from both.
            with m.If(~active | (row_end & room)):
                m.d.sync += load_query
            load_query = []
        with m.If(self.q.valid & self.q.ready):
            m.d.sync += [active.eq(1), *load_query, last_row.eq(self.q.payload.last)]

        m.d.comb += [read.addr.eq(key + buf.offset), read.en.eq(1)]
        # Stage B: the key arrives from the buffer; the query chunk travels with it. From here
        # on every register loads in every cycle.
        b = {
            "valid": register(m, None, issue, "b_valid"),
            "chunk": register(m, None, chunk, "b_chunk"),
            "first": register(m, None, chunk == 0, "b_first"),
            "emit": register(m, None, last_chunk, "b_emit"),
            "index": register(m, None, key, "b_index"),
            "last": register(m, None, last_key, "b_last"),
            "last_row": register(m, None, last_row, "b_last_row"),
            "scale": register(m, None, scale, "b_scale"),
            "query": register(m, None, query.word_select(chunk, chunk_bits), "b_query"),
        }
        # Stage O: the whole key word is registered straight out of the block RAM (``o_key``, the
        # key buffer's second read register); the chunk is selected between this register and
        # the multipliers' operand registers.
        flags = {name: b[name] for name in ("valid", "chunk", "first", "emit", "index", "last", "last_row", "scale",
                                            "query")}
        o = {name: register(m, None, value, f"o_{name}") for name, value in flags.items()}
        o_key = word(keys.registered(None, "o_key"))
        if self._bias:
            o["bias"] = o_key.bias
        key_chunk = (o_key.data if self._bias else o_key).as_value().word_select(o.pop("chunk"), chunk_bits)
        # The L lane products, pipelined around the DSP blocks; the flags travel alongside.
        lane = lambda v, l: v[l * fmt.data_bits:(l + 1) * fmt.data_bits].as_signed()
        products = [pipelined_product(m, None, lane(o["query"], l), lane(key_chunk, l), f"product{l}",
                                      platform=platform)
                    for l in range(lanes)]
        c = delay(m, None, {name: value for name, value in o.items() if name != "query"},
                  product_latency(fmt.data_bits, True, fmt.data_bits, True), "c")
        m.d.comb += self.mac.eq(o["valid"])
        # Adder tree, registered where golden.timing says.
        partial, t = adder_tree(m, None, products, c, tree_register_levels(lanes), "tree")
        # Accumulate chunks; the last chunk of a key writes its score into the output FIFO. The
        # FIFO's head is a register, the output register it replaces: an untaken score waits
        # there, and a score the softmax takes at once leaves in the same cycle as it did when
        # the pipeline stalled. The credits guarantee room for every write.
        acc = Signal(signed(fmt.score_bits))
        total = Signal(signed(fmt.score_bits))
        m.d.comb += total.eq(Mux(t["first"], 0, acc) + partial)
        with m.If(t["valid"]):
            m.d.sync += acc.eq(total)
        result = Signal(self.s.payload.shape(), name="result")
        m.d.comb += [result.score.eq(total), result.index.eq(t["index"]), result.scale.eq(t["scale"]),
                     result.last.eq(t["last"]), result.last_row.eq(t["last_row"])]
        if self._bias:
            m.d.comb += result.bias.eq(t["bias"])
        m.submodules.out_fifo = out_fifo = HeadRegisterFIFO(width=len(result.as_value()), depth=depth)
        m.d.comb += [out_fifo.w_data.eq(result), out_fifo.w_en.eq(t["valid"] & t["emit"]),
                     self.s.valid.eq(out_fifo.r_rdy), self.s.payload.eq(out_fifo.r_data),
                     out_fifo.r_en.eq(self.s.ready)]
        m.d.comb += [credits.issue.eq(issue & last_chunk), credits.take.eq(self.s.valid & self.s.ready)]
        return m
