"""Sign-random-projection hasher (golden/hashing.py): H hash bits per vector, adders only."""

from amaranth import Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.hashing import projections
from golden.timing import tree_register_levels

from .pipeline import adder_tree, counter, register

__all__ = ["Hasher", "hasher_input_layout", "hasher_output_layout"]


def hasher_input_layout(dim: int, data_width: int) -> data.StructLayout:
    """``data`` (dim signed elements), ``last``."""
    return data.StructLayout({"data": data.ArrayLayout(signed(data_width), dim), "last": 1})


def hasher_output_layout(dim: int, data_width: int, bits: int) -> data.StructLayout:
    """``hash`` (bit b = projection b) and the input ``token`` it belongs to."""
    return data.StructLayout({"hash": bits, "token": hasher_input_layout(dim, data_width)})


class Hasher(wiring.Component):
    """``h_b = [r_b . x >= 0]`` for H fixed +1/-1 projections drawn from ``seed``.

    Each vector takes dim/L cycles: L elements per cycle go through H adder trees (signs are
    wiring, so no multipliers) and accumulate; the hash leaves with the vector it belongs to.
    The pipeline stalls as a unit while the output is full and not taken.

    Members:
        i: ``In(stream.Signature(hasher_input_layout))`` vectors.
        o: ``Out(stream.Signature(hasher_output_layout))`` ``hash`` and the input ``token``.
    """

    def __init__(self, *, dim: int, data_width: int, lanes: int, bits: int, seed: int):
        if dim % lanes:
            raise ValueError(f"lanes={lanes} must divide dim={dim}.")
        self.dim, self.data_width, self.lanes, self.bits, self.seed = dim, data_width, lanes, bits, seed
        super().__init__({
            "i": In(stream.Signature(hasher_input_layout(dim, data_width))),
            "o": Out(stream.Signature(hasher_output_layout(dim, data_width, bits))),
        })

    @property
    def chunks(self) -> int:
        return self.dim // self.lanes

    def elaborate(self, platform):
        m = Module()
        w, lanes, chunks = self.data_width, self.lanes, self.chunks
        signs = projections(self.dim, self.bits, self.seed).tolist()

        en = Signal()
        m.d.comb += en.eq(~self.o.valid | self.o.ready)
        active = Signal()
        chunk = counter(chunks, "chunk")
        token = Signal(hasher_input_layout(self.dim, w))
        last_chunk = chunk == chunks - 1
        m.d.comb += self.i.ready.eq(en & (~active | last_chunk))
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [active.eq(1), chunk.eq(0), token.eq(self.i.payload)]
        with m.Elif(active & en):
            with m.If(last_chunk):
                m.d.sync += active.eq(0)
            with m.Else():
                m.d.sync += chunk.eq(chunk + 1)

        # Stage B: the chunk's L elements and, per lane, which projection sign applies.
        b = {"valid": active, "emit": last_chunk, "chunk": chunk, "token": token}
        b = {k: register(m, en, v, f"b_{k}") for k, v in b.items()}
        selected = token.data.as_value().word_select(chunk, lanes * w)
        elements = register(m, en, selected, "b_elements")
        lane = [elements[l * w:(l + 1) * w].as_signed() for l in range(lanes)]
        # The negated elements are registered too, so a term is a mux of two registers and the
        # negation's carry chain sits before stage B, not in front of the adder tree (Fmax).
        # Yosys drops the ones no projection uses.
        negated = [register(m, en, -selected[l * w:(l + 1) * w].as_signed(), f"b_negated{l}") for l in range(lanes)]
        carry = {k: b[k] for k in ("valid", "emit", "token")}
        sums = []
        for bit in range(self.bits):
            # Per chunk, the sign of lane l is signs[bit][chunk * L + l]: a chunk-indexed mux
            # of constants, then +x or -x.
            terms = []
            for l in range(lanes):
                if chunks == 1:  # one chunk: the signs are constants (no mux on the chunk register)
                    terms.append(lane[l] if signs[bit][l] > 0 else negated[l])
                    continue
                plus = Signal(name=f"plus{bit}_{l}")
                with m.Switch(b["chunk"]):
                    for c in range(chunks):
                        with m.Case(c):
                            m.d.comb += plus.eq(signs[bit][c * lanes + l] > 0)
                terms.append(Mux(plus, lane[l], negated[l]))
            total, carried = adder_tree(m, en, terms, carry if bit == 0 else {}, tree_register_levels(lanes),
                                        f"tree{bit}_")
            if bit == 0:
                t = carried
            sums.append(total)

        if chunks == 1:
            totals = sums  # one chunk per vector: nothing to accumulate (and a shorter path)
        else:
            acc_bits = w + 1 + (self.dim - 1).bit_length()
            # The accumulators are cleared by a token's last chunk (and by reset), so a token's
            # first chunk adds to zero without a "first chunk" multiplexer in front of the add:
            # that mux sat on the cta and cta_cluster critical path (tree -> add -> sign).
            accs = [Signal(signed(acc_bits), name=f"acc{bit}") for bit in range(self.bits)]
            totals = [accs[bit] + sums[bit] for bit in range(self.bits)]
            with m.If(en & t["valid"]):
                m.d.sync += [accs[bit].eq(Mux(t["emit"], 0, totals[bit])) for bit in range(self.bits)]
        with m.If(en):
            m.d.sync += self.o.valid.eq(t["valid"] & t["emit"])
            with m.If(t["valid"] & t["emit"]):
                # The sign bit of the (exact-width) sum: ``>= 0`` became a second carry chain
                # behind the accumulator's add, the cta and cta_cluster critical path.
                m.d.sync += [self.o.payload.hash[bit].eq(~totals[bit][-1]) for bit in range(self.bits)]
                m.d.sync += self.o.payload.token.eq(t["token"])
        return m
