"""Small pipeline-building helpers shared by the stages."""

from amaranth import Mux, Signal, Value

__all__ = ["register", "adder_tree", "round_saturate", "counter", "load_packet"]


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
    value = Value.cast(value)
    if shift:
        value = (value + (1 << (shift - 1))) >> shift
    return Mux(value > hi, hi, Mux(value < lo, lo, value))


def load_packet(m, sink, write, *, depth: int, value, count_out):
    """The LOAD state of a token buffer (keys in the score stage, values in the weighted sum):
    ``sink`` is ready while loading; each beat's ``value`` goes to ``write`` at the next
    address; beats beyond ``depth`` are dropped. On ``last``, ``count_out`` gets the number of
    tokens kept and loading ends.

    Returns ``(loading, dropped)``: the state register (the caller sets it to 1 to load the
    next packet) and a signal high in each cycle that drops a beat."""
    loading = Signal(init=1, name="loading")
    count = Signal(range(depth + 1), name="load_count")
    dropped = Signal(name="dropped")
    m.d.comb += sink.ready.eq(loading)
    with m.If(sink.valid & sink.ready):
        m.d.comb += [write.addr.eq(count), write.data.eq(value), write.en.eq(count < depth),
                     dropped.eq(count == depth)]
        bumped = Mux(count == depth, depth, count + 1)
        with m.If(sink.payload.last):
            m.d.sync += [loading.eq(0), count.eq(0), count_out.eq(bumped)]
        with m.Else():
            m.d.sync += count.eq(bumped)
    return loading, dropped
