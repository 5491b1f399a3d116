"""Small pipeline-building helpers shared by the stages."""

from amaranth import Shape, Signal, Value

__all__ = ["register", "adder_tree", "round_saturate", "counter"]


def counter(count: int, name=None):
    """A Signal that counts 0 .. count-1. At least one bit wide even for count 1: Verilog has
    no zero-width vectors (Yosys would write ``[-1:0]``)."""
    return Signal(range(max(count, 2)), name=name)


def register(m, en, value, name):
    """A register that loads ``value`` in every cycle ``en`` is high (``en=None``: every cycle)."""
    value = Value.cast(value)
    reg = Signal(value.shape(), name=name)
    if en is None:
        m.d.sync += reg.eq(value)
    else:
        with m.If(en):
            m.d.sync += reg.eq(value)
    return reg


def adder_tree(m, en, values, carry, register_levels, name):
    """Sum ``values`` with a balanced tree of 2-input adders, with a register after each level
    in ``register_levels`` (1-based from the leaves). ``carry`` (name -> value) travels through
    the same registers so it stays aligned with the sum. Returns ``(sum, carried)``."""
    level = 0
    values = list(values)
    carry = dict(carry)
    while len(values) > 1:
        level += 1
        values = [values[i] + values[i + 1] if i + 1 < len(values) else values[i]
                  for i in range(0, len(values), 2)]
        if level in register_levels:
            values = [register(m, en, v, f"{name}{level}_sum{i}") for i, v in enumerate(values)]
            carry = {k: register(m, en, v, f"{name}{level}_{k}") for k, v in carry.items()}
    return values[0], carry


def round_saturate(value, shift, lo, hi):
    """``clamp((value + 2^(shift-1)) >> shift, lo, hi)``: round half up, then saturate
    (golden.numerics defines the same rounding)."""
    from amaranth import Mux
    value = Value.cast(value)
    if shift:
        value = (value + (1 << (shift - 1))) >> shift
    return Mux(value > hi, hi, Mux(value < lo, lo, value))
