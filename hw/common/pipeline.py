"""Small pipeline-building helpers shared by the stages."""

from amaranth import Array, Mux, Signal, Value

__all__ = ["register", "adder_tree", "round_saturate", "counter", "load_packet", "PacketBanks", "load_banks"]


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


class PacketBanks:
    """A token buffer's packets as the stage that works on them sees them (see :func:`load_banks`).

    Members: ``ready`` (a loaded packet waits in the work bank), ``count`` (its tokens),
    ``offset`` (add to a token index to address the work bank), ``release`` (drive high for
    the cycle that finishes the packet: its bank loads again), ``dropped`` (a beat beyond the
    depth was dropped this cycle)."""

    def __init__(self, ready, count, offset, release, dropped):
        self.ready, self.count, self.offset, self.release, self.dropped = ready, count, offset, release, dropped


def load_banks(m, sink, write, *, depth: int, value, count_out, banks: int = 1) -> PacketBanks:
    """LOAD state of a token buffer of ``banks`` packets of up to ``depth`` tokens each.

    One bank is :func:`load_packet` (load, then work, then load again). With two, the next
    packet loads into one bank while the stage works on the other, so a stage that gets many
    short packets does not wait for each one's tokens; the memory behind ``write`` must then be
    ``2 * depth`` deep (bank b at ``b * depth``). ``count_out`` gets the last loaded packet's
    token count either way."""
    release = Signal(name="release")
    if banks == 1:
        loading, dropped = load_packet(m, sink, write, depth=depth, value=value, count_out=count_out)
        with m.If(release):
            m.d.sync += loading.eq(1)
        return PacketBanks(~loading, count_out, 0, release, dropped)
    if banks != 2:
        raise ValueError(f"a token buffer has 1 or 2 banks, got {banks}.")
    load_bank, work_bank = Signal(name="load_bank"), Signal(name="work_bank")
    full = Array(Signal(name=f"full{b}") for b in range(2))
    counts = Array(Signal(range(depth + 1), name=f"count{b}") for b in range(2))
    count = Signal(range(depth + 1), name="load_count")
    dropped = Signal(name="dropped")
    m.d.comb += sink.ready.eq(~full[load_bank])
    with m.If(sink.valid & sink.ready):
        m.d.comb += [write.addr.eq(count + Mux(load_bank, depth, 0)), write.data.eq(value),
                     write.en.eq(count < depth), dropped.eq(count == depth)]
        bumped = Mux(count == depth, depth, count + 1)
        with m.If(sink.payload.last):
            m.d.sync += [full[load_bank].eq(1), counts[load_bank].eq(bumped), count_out.eq(bumped),
                         load_bank.eq(~load_bank), count.eq(0)]
        with m.Else():
            m.d.sync += count.eq(bumped)
    with m.If(release):
        m.d.sync += [full[work_bank].eq(0), work_bank.eq(~work_bank)]
    return PacketBanks(full[work_bank], counts[work_bank], Mux(work_bank, depth, 0), release, dropped)
