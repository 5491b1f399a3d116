"""AXI4 write manager: how units write to memory that is not on chip (MEMO's attention
database records)."""

from amaranth import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.config import clog2

from .axi import AXI_BOUNDARY, OKAY, burst_length, reader_cmd_layout

__all__ = ["AxiWriteSignature", "AxiWriter", "writer_cmd_layout", "writer_data_layout"]


class AxiWriteSignature(wiring.Signature):
    """AW, W and B channels of an AXI4 write manager (AXI's names; ``Out`` = driven by the
    manager). One transaction ID (``awid`` 0). As a member ``axi`` the Verilog ports are
    ``axi__awaddr``, ``axi__wdata``, ...; cocotbext-axi finds them with
    ``AxiWriteBus.from_prefix(dut, "axi_")``."""

    def __init__(self, *, addr_width: int, data_width: int, id_width: int = 1):
        super().__init__({
            "awid": Out(id_width), "awaddr": Out(addr_width), "awlen": Out(8), "awsize": Out(3),
            "awburst": Out(2), "awvalid": Out(1), "awready": In(1),
            "wdata": Out(data_width), "wstrb": Out(data_width // 8), "wlast": Out(1), "wvalid": Out(1),
            "wready": In(1),
            "bid": In(id_width), "bresp": In(2), "bvalid": In(1), "bready": Out(1),
        })


def writer_cmd_layout(addr_width: int) -> data.StructLayout:
    """``addr`` (byte address, aligned to the data width), ``beats`` (words to write, >= 1)."""
    return reader_cmd_layout(addr_width)


def writer_data_layout(data_width: int) -> data.StructLayout:
    """``data`` (one word)."""
    return data.StructLayout({"data": data_width})


class AxiWriter(wiring.Component):
    """Writes runs of consecutive words: one command, then its words on ``data``, in order.

    A command becomes INCR bursts of at most ``max_burst`` beats that never cross 4 KiB. A
    burst starts at the earliest two cycles after the command is taken or the previous burst
    started (the burst length is registered); its AW beat is offered when the burst starts; its W beats pass straight from ``data``
    (``wvalid = data.valid``, ``data.ready = wready``) without waiting for AW; the next burst
    starts once the current one's AW and last W beat are both done. B responses are always
    taken (``bready`` = 1).

    Members:
        cmd: ``In(stream.Signature(writer_cmd_layout))``; ready while no command is in progress.
        data: ``In(stream.Signature(writer_data_layout))`` the command's words.
        axi: ``Out(AxiWriteSignature)``.
        error: ``Out(1)`` sticky: a B response with bresp != OKAY, or a command of 0 beats (dropped).
        busy: ``Out(1)`` a command is in progress or B responses are outstanding.
    """

    def __init__(self, *, addr_width: int = 32, data_width: int = 64, max_burst: int = 16):
        if data_width % 8 or data_width & (data_width - 1) or not 8 <= data_width <= 1024:
            raise ValueError(f"data_width={data_width} must be a power of two from 8 to 1024.")
        if not 1 <= max_burst <= 256:
            raise ValueError(f"max_burst={max_burst} must be 1 to 256.")
        self.addr_width, self.data_width, self.max_burst = addr_width, data_width, max_burst
        super().__init__({
            "cmd": In(stream.Signature(writer_cmd_layout(addr_width))),
            "data": In(stream.Signature(writer_data_layout(data_width))),
            "axi": Out(AxiWriteSignature(addr_width=addr_width, data_width=data_width)),
            "error": Out(1),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        axi = self.axi
        word_bytes = self.data_width // 8
        size = clog2(word_bytes)
        page_words = AXI_BOUNDARY // word_bytes

        active = Signal()
        addr = Signal(self.addr_width)
        left = Signal(16)  # words of the command not yet in a burst
        # The length is registered, as in AxiReader (Fmax: the min of three and the address and
        # count updates formed one long path): a burst starts at the earliest two cycles after
        # the command or the previous burst's start.
        burst = Signal(range(max(self.max_burst, page_words) + 1))
        burst_ok = Signal()  # ``burst`` holds the length for the current addr/left
        m.d.sync += [burst.eq(burst_length(m, left, addr[size:clog2(AXI_BOUNDARY)], max_burst=self.max_burst,
                                           page_words=page_words)), burst_ok.eq(active)]

        aw_pending = Signal()
        w_left = Signal(range(max(self.max_burst, page_words) + 1))  # beats of the current burst to send
        outstanding = Signal(16)  # bursts whose B response has not come

        m.d.comb += self.cmd.ready.eq(~active)
        with m.If(self.cmd.valid & self.cmd.ready):
            with m.If(self.cmd.payload.beats == 0):
                m.d.sync += self.error.eq(1)
            with m.Else():
                m.d.sync += [active.eq(1), addr.eq(self.cmd.payload.addr), left.eq(self.cmd.payload.beats)]

        m.d.comb += [axi.awvalid.eq(aw_pending), axi.awsize.eq(size), axi.awburst.eq(1),
                     axi.wstrb.eq((1 << word_bytes) - 1)]
        aw_done = axi.awvalid & axi.awready
        w_done = axi.wvalid & axi.wready
        with m.If(aw_done):
            m.d.sync += aw_pending.eq(0)
        start = Signal()
        m.d.comb += start.eq(active & burst_ok & (left != 0) & (~aw_pending | aw_done) & ((w_left == 0) | (w_done & (w_left == 1))))
        with m.If(start):
            m.d.sync += [aw_pending.eq(1), axi.awaddr.eq(addr), axi.awlen.eq(burst - 1),
                         addr.eq(addr + (burst << size)), left.eq(left - burst), burst_ok.eq(0)]

        # W: straight from data while the current burst has beats to send.
        m.d.comb += [axi.wvalid.eq(self.data.valid & (w_left != 0)), axi.wdata.eq(self.data.payload.data),
                     axi.wlast.eq(w_left == 1), self.data.ready.eq(axi.wready & (w_left != 0))]
        with m.If(start):
            m.d.sync += w_left.eq(burst)
        with m.Elif(w_done):
            m.d.sync += w_left.eq(w_left - 1)
        # The command is done once its last burst started and all its beats went out.
        with m.If(active & (left == 0) & ~aw_pending & (w_left == 0)):
            m.d.sync += active.eq(0)

        m.d.comb += axi.bready.eq(1)
        b_done = axi.bvalid & axi.bready
        with m.If(b_done & (axi.bresp != OKAY)):
            m.d.sync += self.error.eq(1)
        # +1 and -1 are formed beside ``start`` (which comes late: the W handshake of a burst's
        # last beat), so only a multiplexer follows it, not a carry chain.
        with m.If(start & ~b_done):
            m.d.sync += outstanding.eq(outstanding + 1)
        with m.Elif(b_done & ~start):
            m.d.sync += outstanding.eq(outstanding - 1)
        m.d.comb += self.busy.eq(active | (outstanding != 0))
        return m
