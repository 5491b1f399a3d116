"""A memory whose read data is registered once more, on the ECP5 inside its block RAMs.

The generic form is an Amaranth ``Memory`` with a write port and a read port, and the read port's
data loaded into a fabric register (:func:`hw.common.pipeline.register`). Yosys's ``synth_ecp5``
maps the memory to DP16KD blocks without their output register, so the route from the block's
clock-to-out (4.26 ns on LFE5U-85F-8) to that fabric register is one cycle of its own. With the
ECP5 target (:func:`hw.common.dsp.dsp_target`) the memory is built from DP16KD instances with
``REGMODE_B = "OUTREG"``: their output register is that register, cycle for cycle: the read
stage loads on ``read.en`` (CEB), the output register on its own enable (OCEB) and resets to 0
on the synchronous reset (RSTB, ``RESETMODE = "SYNC"``).

verif/common/test_bram_ecp5.py checks the instances against the generic form with a behavioural
model of the DP16KD subset used here (verif/common/ecp5_dp16kd.v).
"""

from amaranth import ClockSignal, Const, Instance, ResetSignal, Signal
from amaranth.lib.memory import Memory

from .dsp import dsp_target
from .pipeline import register

__all__ = ["DP16KD_MODES", "RegisteredReadMemory", "dp16kd_mode"]

# DP16KD configurations as (data width, depth, low address bits unused by the address): the
# address occupies AD[13:low] of each port. 36 bits is the pseudo-dual-port mode (port A
# writes DIA:DIB, port B reads DOA:DOB), as Yosys maps its PDPW16KD.
DP16KD_MODES = ((36, 512, 5), (18, 1024, 4), (9, 2048, 3), (4, 4096, 2), (2, 8192, 1), (1, 16384, 0))
DP16KD_ADDR_BITS = 14


def dp16kd_mode(width: int, depth: int) -> tuple[int, int, int]:
    """The DP16KD configuration (an entry of ``DP16KD_MODES``) that a memory of ``depth`` words
    of ``width`` bits is built from: the fewest blocks, and on a tie the true-dual-port modes
    (widest first) before the 36-bit one."""
    fitting = [mode for mode in DP16KD_MODES if depth <= mode[1]]
    return min(fitting, key=lambda mode: (-(-width // mode[0]), mode[0] == 36))


class _Port:
    """The signals of one side of an ECP5 memory. Members: ``addr``, ``en`` and, for the
    write side, ``data``."""

    def __init__(self, name, depth, width=None):
        self.addr = Signal(range(depth), name=f"{name}_addr")
        self.en = Signal(name=f"{name}_en")
        if width is not None:
            self.data = Signal(width, name=f"{name}_data")


class RegisteredReadMemory:
    """``depth`` words of ``width`` bits (all zero at start), added to module ``m`` as
    ``name``, with one write port and one read port whose data is registered twice: by the read
    port (on ``read.en``) and by :meth:`registered` (on its own enable, reset to 0).

    On the ECP5 target the memory is ``ceil(width / w)`` DP16KD blocks side by side (port A
    writes, port B reads), ``w`` the configuration with the fewest blocks whose depth holds
    ``depth`` words: 36 bits (pseudo dual port) for wider words up to 512 deep, else the widest
    of 18 ... 1 bits; deeper memories (more than 16384 words: no cascading in depth here) stay
    generic. In the 36-bit mode the low half of the word leaves on port A's pins, so both ports'
    output registers are configured and driven alike. As the
    generic read port, a read is not transparent to a write in the same cycle; but the word read
    from an address written in the same cycle is undefined on the block RAM (the test leaves such
    reads out), so a user must discard it (the MEMO lookup engine replaces it with the write). The sync reset clears the output register only, as
    :func:`~hw.common.pipeline.register` (the read stage keeps its word, as the generic one).

    Members:
        write: ``addr``, ``data``, ``en`` to drive (an Amaranth write port in the generic form).
            With ``write_registered`` they are registered before the memory: a write takes effect
            a cycle later (readable by a read two cycles after it is driven, not one), and the
            memory's write enable, address and data come from registers placed beside it.
        read: ``addr``, ``en`` to drive (the read stage's address and enable).
        ecp5: whether the memory is DP16KD instances.
    """

    def __init__(self, m, *, width, depth, name, platform=None, write_registered=False):
        self._m, self._width, self._depth, self._name = m, width, depth, name
        self._registered = False
        self.ecp5 = dsp_target(platform) == "ecp5" and depth <= DP16KD_MODES[-1][1]
        if not self.ecp5:
            m.submodules[name] = memory = Memory(shape=width, depth=depth, init=[])
            # Created in one tuple assignment: the ports' signals keep the names Amaranth gives
            # unnamed ports, so the generic Verilog stays as it was.
            self.write, self.read = memory.write_port(), memory.read_port()
        else:
            self.write = _Port(f"{name}_w", depth, width)
            self.read = _Port(f"{name}_r", depth)
        # The memory's own write port; with ``write_registered`` the user drives registers in
        # front of it instead.
        self._write_port = self.write
        if write_registered:
            self.write = _Port(f"{name}_wq", depth, width)
            m.d.sync += [self._write_port.addr.eq(self.write.addr), self._write_port.data.eq(self.write.data),
                         self._write_port.en.eq(self.write.en)]

    def registered(self, en, name):
        """The read data registered on ``en`` (``None``: every cycle) in a register named
        ``name`` that the sync reset clears; call it once."""
        assert not self._registered, "one output register per memory"
        self._registered = True
        if not self.ecp5:
            return register(self._m, en, self.read.data, name)
        return self._dp16kd(Const(1) if en is None else en, name)

    def _dp16kd(self, oce, name):
        m, width, depth = self._m, self._width, self._depth
        block_width, _, low = dp16kd_mode(width, depth)
        wide = block_width == 36
        data = Signal(width, name=name)

        def address(prefix, addr, byte_enables):
            # Below the address: the write port's byte enables (AD[1:0] for 18-bit words, AD[3:0]
            # for 36-bit ones); the other unused bits are 0, as Yosys's own mapping does.
            pins = {f"i_{prefix}{i}": byte_enables[i] if i < len(byte_enables) else Const(0) for i in range(low)}
            pins |= {f"i_{prefix}{low + i}": addr[i] if i < len(addr) else Const(0)
                     for i in range(DP16KD_ADDR_BITS - low)}
            return pins

        # Whole-word writes: in the 36-bit mode the write enable is the four byte enables, with
        # CEA and WEA high (as Yosys maps PDPW16KD), so port A's output register, which holds the
        # low half of the read word there, is not gated by the write.
        byte_enables = [self._write_port.en] * 4 if wide else [Const(1)] * 2 if block_width == 18 else []
        for b, lo in enumerate(range(0, width, block_width)):
            bits = min(block_width, width - lo)
            ports = address("ADA", self._write_port.addr, byte_enables) | address("ADB", self.read.addr, [])
            din = [self._write_port.data[lo + i] if i < bits else Const(0) for i in range(36 if wide else 18)]
            ports |= {f"i_DIA{i}": din[i] for i in range(18)}
            ports |= {f"i_DIB{i}": din[18 + i] if wide else Const(0) for i in range(18)}
            if wide:
                ports |= {f"o_DOA{i}": data[lo + i] for i in range(min(bits, 18))}
                ports |= {f"o_DOB{i}": data[lo + 18 + i] for i in range(bits - 18)}
            else:
                ports |= {f"o_DOB{i}": data[lo + i] for i in range(bits)}
            ports |= {f"i_CS{p}{i}": Const(0) for p in "AB" for i in range(3)}
            # Unused outputs (DOA outside the 36-bit mode, pins above the word) stay unconnected.
            m.submodules[f"{self._name}_{b}"] = Instance(
                "DP16KD",
                p_DATA_WIDTH_A=block_width, p_DATA_WIDTH_B=block_width,
                p_REGMODE_A="OUTREG" if wide else "NOREG", p_REGMODE_B="OUTREG",
                p_RESETMODE="SYNC", p_ASYNC_RESET_RELEASE="SYNC",
                p_CSDECODE_A="0b000", p_CSDECODE_B="0b000",
                p_WRITEMODE_A="NORMAL", p_WRITEMODE_B="NORMAL", p_GSR="DISABLED",
                i_CLKA=ClockSignal("sync"), i_CEA=Const(1) if wide else self._write_port.en,
                i_WEA=Const(1) if wide else self._write_port.en,
                i_OCEA=oce if wide else Const(1), i_RSTA=ResetSignal("sync") if wide else Const(0),
                i_CLKB=ClockSignal("sync"), i_CEB=self.read.en, i_OCEB=oce, i_WEB=Const(0),
                i_RSTB=ResetSignal("sync"),
                **ports)
        return data
