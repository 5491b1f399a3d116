"""Which multiplier primitive :func:`hw.common.pipeline.pipelined_product` builds.

By default a product is Amaranth's ``*`` between registers, which any synthesis tool maps (the
Verilog that ``make verilog`` writes is portable). Yosys's ``synth_ecp5`` maps that ``*`` to a
MULT18X18D but leaves the operand and product registers in the fabric (it absorbs none into
the DSP block), so every product pays a route into the DSP and a route out of it in one cycle.
With the ECP5 target each partial product is a MULT18X18D instance whose own input and pipeline
registers are the generic product's operand and product registers, and the output register is
a fabric register behind it, cycle for cycle: the same latency, the same stage enables (CE0, CE1,
then the fabric register's) and the same synchronous reset to 0. The output register is not the
DSP's own: from inside the block, its clock-to-out and the route from the DSP column to the
adder tree that sums the products sat in one cycle with the tree's first adders (memo's and
reuse's critical path); a fabric register splits that route from the adders (docs/fpga.md).

The target travels as the elaboration platform: any object with ``attnforge_dsp = "ecp5"``
(for example :data:`ECP5`, or an Amaranth ``LatticeECP5Platform`` subclass with that
attribute) passed to ``verilog.convert(..., platform=...)``; ``python -m gen --dsp ecp5`` and
``scripts/synth.py`` do that. verif/common/test_dsp_ecp5.py checks the instances against the
generic product with a behavioural model of the MULT18X18D subset used here.
"""

from amaranth import ClockSignal, Const, Instance, ResetSignal, Signal, signed

from golden.timing import DSP_INPUT_REGISTERS, DSP_OPERAND_BITS, DSP_OUTPUT_REGISTERS

__all__ = ["DspTarget", "ECP5", "GENERIC", "TARGETS", "dsp_target", "ecp5_mult18x18d"]


class DspTarget:
    """An elaboration platform that only names the multiplier primitive.

    Members: ``attnforge_dsp`` (``"generic"`` or ``"ecp5"``).
    """

    def __init__(self, name: str):
        self.attnforge_dsp = name

    def __repr__(self):
        return f"DspTarget({self.attnforge_dsp!r})"


GENERIC, ECP5 = DspTarget("generic"), DspTarget("ecp5")
TARGETS = {"generic": GENERIC, "ecp5": ECP5}


def dsp_target(platform) -> str:
    """The multiplier target a platform asks for: ``"ecp5"`` or ``"generic"`` (the default,
    also for ``platform=None``)."""
    target = getattr(platform, "attnforge_dsp", "generic")
    if target not in TARGETS:
        raise ValueError(f"Unknown DSP target {target!r}: expected one of {', '.join(TARGETS)}.")
    return target


def ecp5_mult18x18d(m, ens, x, y, name):
    """``x * y`` (each fitting 18 signed bits) in one MULT18X18D with its operand (CE0) and
    pipeline (CE1) registers, and the output register in the fabric: the product ``ens``
    cycles later, as the generic operand register -> product register -> output register.
    ``ens`` holds the three stage enables (``None``: every cycle). Returns the product (the
    output register), shaped as ``x * y``."""
    assert DSP_INPUT_REGISTERS == 1 and DSP_OUTPUT_REGISTERS == 1, "the MULT18X18D has one register of each"
    shape = (x * y).shape()
    assert x.shape().width <= DSP_OPERAND_BITS and y.shape().width <= DSP_OPERAND_BITS and shape.width <= 36
    # Both operands as 18-bit signed values (an unsigned limb of up to 17 bits is zero-extended),
    # so SIGNEDA/SIGNEDB are constant 1 and the 36-bit product is exact.
    a, b = Signal(signed(DSP_OPERAND_BITS), name=f"{name}_a"), Signal(signed(DSP_OPERAND_BITS), name=f"{name}_b")
    p = Signal(2 * DSP_OPERAND_BITS, name=f"{name}_p")
    m.d.comb += [a.eq(x), b.eq(y)]
    ce = [Const(1) if en is None else en for en in ens]
    # Unused inputs stay unconnected, as in Yosys's own MULT18X18D mapping: nextpnr cannot route
    # a constant to the shift-chain inputs (SRIA/SRIB), and the unused clocks, enables and
    # resets need none.
    ports = {f"i_A{i}": a[i] for i in range(DSP_OPERAND_BITS)}
    ports |= {f"i_B{i}": b[i] for i in range(DSP_OPERAND_BITS)}
    ports |= {f"i_C{i}": Const(0) for i in range(DSP_OPERAND_BITS)}
    ports |= {f"o_P{i}": p[i] for i in range(2 * DSP_OPERAND_BITS)}
    m.submodules[name] = Instance(
        "MULT18X18D",
        p_REG_INPUTA_CLK="CLK0", p_REG_INPUTA_CE="CE0", p_REG_INPUTA_RST="RST0",
        p_REG_INPUTB_CLK="CLK0", p_REG_INPUTB_CE="CE0", p_REG_INPUTB_RST="RST0",
        p_REG_PIPELINE_CLK="CLK0", p_REG_PIPELINE_CE="CE1", p_REG_PIPELINE_RST="RST0",
        p_REG_OUTPUT_CLK="NONE",
        p_GSR="DISABLED", p_RESETMODE="SYNC",
        i_SIGNEDA=Const(1), i_SIGNEDB=Const(1), i_SOURCEA=Const(0), i_SOURCEB=Const(0),
        i_CLK0=ClockSignal("sync"), i_CE0=ce[0], i_CE1=ce[1], i_RST0=ResetSignal("sync"),
        **ports)
    product = Signal(shape, name=f"{name}_product")
    with m.If(ce[2]):
        m.d.sync += product.eq(p[:shape.width])
    return product
