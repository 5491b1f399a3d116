"""AXI4 read manager: how units fetch from memory that is not on chip (SPRINT's K/V, MEMO's
attention database)."""

from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from golden.config import clog2

from .pipeline import sum_exceeds

__all__ = ["AxiReadSignature", "AxiReader", "reader_cmd_layout", "reader_data_layout", "AXI_BOUNDARY",
           "burst_length"]

#: INCR bursts may not cross a 4 KiB boundary (AXI4).
AXI_BOUNDARY = 4096
OKAY = 0


def burst_length(m, left, offset, *, max_burst: int, page_words: int):
    """``min(left, max_burst, page_words - offset)``: the next burst of a command with ``left``
    words to go whose next word is word ``offset`` of its 4 KiB page (both unsigned). The three
    compares are made side by side and select after them: as ``min(min(left, max_burst),
    to_boundary)`` the second compare waited on the first's multiplexer, two carry chains in
    series from ``left`` (the AXI reader's critical path in sprint_engine and memo).
    ``left > page_words - offset`` is ``left + offset > page_words``, one adder's carry chain
    (:func:`hw.common.pipeline.sum_exceeds`), not a subtract and then a compare."""
    width = max(len(left), len(offset), page_words.bit_length()) + 1
    to_boundary = page_words - offset
    left_over_max = left > max_burst
    max_over_boundary = offset > page_words - max_burst     # max_burst > page_words - offset
    left_over_boundary = sum_exceeds(m, Cat(left, Const(0, 1)).as_signed(), Cat(offset, Const(0, 1)).as_signed(),
                                     Const(page_words, signed(width)), width, "left_over_boundary")
    capped_over_boundary = Mux(left_over_max, max_over_boundary, left_over_boundary)
    return Mux(capped_over_boundary, to_boundary, Mux(left_over_max, max_burst, left))


class AxiReadSignature(wiring.Signature):
    """AR and R channels of an AXI4 read manager (AXI's names; ``Out`` = driven by the
    manager). One transaction ID: ``arid`` is 0 and ``rid`` is not checked. As a member ``axi``
    the Verilog ports are ``axi__araddr``, ``axi__rdata``, ...; cocotbext-axi finds them with
    ``AxiReadBus.from_prefix(dut, "axi_")`` (``AxiRamRead`` for a read-only bus)."""

    def __init__(self, *, addr_width: int, data_width: int, id_width: int = 1):
        self.addr_width, self.data_width, self.id_width = addr_width, data_width, id_width
        super().__init__({
            "arid": Out(id_width), "araddr": Out(addr_width), "arlen": Out(8), "arsize": Out(3),
            "arburst": Out(2), "arvalid": Out(1), "arready": In(1),
            "rid": In(id_width), "rdata": In(data_width), "rresp": In(2), "rlast": In(1), "rvalid": In(1),
            "rready": Out(1),
        })


def reader_cmd_layout(addr_width: int) -> data.StructLayout:
    """``addr`` (byte address, aligned to the data width), ``beats`` (data-width words, >= 1)."""
    return data.StructLayout({"addr": addr_width, "beats": 16})


def reader_data_layout(data_width: int) -> data.StructLayout:
    """``data`` (one word), ``last`` (the command's final word)."""
    return data.StructLayout({"data": data_width, "last": 1})


class AxiReader(wiring.Component):
    """Reads runs of consecutive words: one command in, its words out in order.

    A command becomes INCR bursts of at most ``max_burst`` beats that never cross 4 KiB; up to
    ``outstanding`` bursts may be in flight; a command's first burst issues two cycles after the
    command is taken and each next one two cycles after the previous one (the burst length is
    registered). R beats pass straight through to ``data`` (rready is ``data.ready``), so the
    reader adds no latency on the data path.

    Members:
        cmd: ``In(stream.Signature(reader_cmd_layout))``.
        data: ``Out(stream.Signature(reader_data_layout))``.
        axi: ``Out(AxiReadSignature)``.
        error: ``Out(1)`` sticky: a beat came back with rresp != OKAY (its data is still passed
            on, marked only by this flag), or a command asked for 0 beats (it is dropped).
        busy: ``Out(1)`` a command is being issued or bursts are in flight.
    """

    def __init__(self, *, addr_width: int = 32, data_width: int = 64, max_burst: int = 16, outstanding: int = 4):
        if data_width % 8 or data_width & (data_width - 1) or not 8 <= data_width <= 1024:
            raise ValueError(f"data_width={data_width} must be a power of two from 8 to 1024.")
        if not 1 <= max_burst <= 256:
            raise ValueError(f"max_burst={max_burst} must be 1 to 256.")
        self.addr_width, self.data_width = addr_width, data_width
        self.max_burst, self.outstanding = max_burst, outstanding
        super().__init__({
            "cmd": In(stream.Signature(reader_cmd_layout(addr_width))),
            "data": Out(stream.Signature(reader_data_layout(data_width))),
            "axi": Out(AxiReadSignature(addr_width=addr_width, data_width=data_width)),
            "error": Out(1),
            "busy": Out(1),
        })

    @property
    def word_bytes(self) -> int:
        return self.data_width // 8

    def elaborate(self, platform):
        m = Module()
        axi = self.axi
        size = clog2(self.word_bytes)
        page_words = AXI_BOUNDARY // self.word_bytes

        # Command being split into bursts.
        active = Signal()
        addr = Signal(self.addr_width)
        left = Signal(16)  # words still to request
        # Words to the next 4 KiB boundary, capped by max_burst and by what is left.
        # The length is registered (Fmax: the min of three and the address and count updates
        # would otherwise form one long path), so a burst issues at most every other cycle.
        burst = Signal(range(max(self.max_burst, page_words) + 1))
        burst_ok = Signal()  # ``burst`` holds the length for the current addr/left
        m.d.sync += [burst.eq(burst_length(m, left, addr[size:clog2(AXI_BOUNDARY)], max_burst=self.max_burst,
                                           page_words=page_words)), burst_ok.eq(active)]

        # Per burst in flight: does it end its command? (in issue order)
        m.submodules.ends = ends = SyncFIFO(width=1, depth=self.outstanding)
        m.d.comb += self.cmd.ready.eq(~active)
        with m.If(self.cmd.valid & self.cmd.ready):
            with m.If(self.cmd.payload.beats == 0):
                m.d.sync += self.error.eq(1)  # nothing to read and no word to carry `last`
            with m.Else():
                m.d.sync += [active.eq(1), addr.eq(self.cmd.payload.addr), left.eq(self.cmd.payload.beats)]

        # AR: one burst per cycle while the in-flight FIFO has room.
        ar_pending = Signal()
        m.d.comb += [axi.arvalid.eq(ar_pending), axi.arsize.eq(size), axi.arburst.eq(1)]  # INCR
        with m.If(axi.arvalid & axi.arready):
            m.d.sync += ar_pending.eq(0)
        with m.If(active & burst_ok & ends.w_rdy & (~ar_pending | axi.arready)):
            final = burst == left
            m.d.sync += [ar_pending.eq(1), axi.araddr.eq(addr), axi.arlen.eq(burst - 1),
                         addr.eq(addr + (burst << size)), left.eq(left - burst), burst_ok.eq(0)]
            m.d.comb += [ends.w_en.eq(1), ends.w_data.eq(final)]
            with m.If(final):
                m.d.sync += active.eq(0)

        # R: straight through; the burst's flag says whether its rlast ends the command.
        m.d.comb += [
            self.data.valid.eq(axi.rvalid), self.data.payload.data.eq(axi.rdata),
            self.data.payload.last.eq(axi.rlast & ends.r_data), axi.rready.eq(self.data.ready),
            ends.r_en.eq(axi.rvalid & axi.rready & axi.rlast),
        ]
        with m.If(axi.rvalid & axi.rready & (axi.rresp != OKAY)):
            m.d.sync += self.error.eq(1)
        m.d.comb += self.busy.eq(active | ends.r_rdy)
        return m
