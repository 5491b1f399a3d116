"""Small pipeline-building helpers shared by the stages."""

from amaranth import Array, Mux, Signal, Value, signed

from golden.timing import DSP_INPUT_REGISTERS, DSP_OUTPUT_REGISTERS, operand_limbs, product_latency

from .dsp import dsp_target, ecp5_mult18x18d

__all__ = ["register", "replicated_register", "wire", "adder_tree", "tournament", "pipelined_product", "exceeds", "delay", "round_half_up", "saturate", "counter", "load_packet",
           "PacketBanks", "load_banks"]


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


def replicated_register(m, value, name, copies):
    """``copies`` registers that all load ``value`` every cycle, for a select that drives
    thousands of multiplexer bits: from one flip-flop that net is routed across the die, while
    each copy drives a share of it. The copies carry the ``keep`` attribute so that synthesis
    does not merge them back into one (scripts/synth.py hands it on to the flip-flops for Yosys,
    whose ``opt_merge`` looks only at cell attributes)."""
    value = Value.cast(value)
    copies = [Signal(value.shape(), name=f"{name}_copy{i}", attrs={"keep": 1}) for i in range(copies)]
    m.d.sync += [copy.eq(value) for copy in copies]
    return copies


def wire(m, value, name):
    """``value`` as a named combinational Signal. Naming the intermediate values of a tree makes
    each one a single net in the Verilog: left as expressions, every level would repeat the
    levels below it once per use."""
    value = Value.cast(value)
    net = Signal(value.shape(), name=name)
    m.d.comb += net.eq(value)
    return net


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


def tournament(items, right_wins, after_level=None):
    """Reduce ``items`` (equal-length tuples of values, e.g. ``(score, index)``) pairwise, level
    by level, to one tuple: of each pair the right one goes on where ``right_wins(left, right)``
    holds, else the left (with a strict comparison, ties go to the lower index); an odd item out
    goes on unopposed. ``after_level(level, items)`` (1-based) may return the level's items
    registered, or named with :func:`wire`: a level left as expressions is written out again in
    the Verilog at every use, which grows exponentially with the depth of a large tree.
    Returns the winning tuple."""
    items, level = [tuple(item) for item in items], 0
    while len(items) > 1:
        nxt = []
        for i in range(0, len(items), 2):
            if i + 1 == len(items):
                nxt.append(items[i])
                continue
            left, right = items[i], items[i + 1]
            take_right = right_wins(left, right)
            nxt.append(tuple(Mux(take_right, r, l) for l, r in zip(left, right)))
        items, level = nxt, level + 1
        if after_level is not None:
            items = after_level(level, items)
    return items[0]


def _limbs(value):
    """``value`` cut as golden.timing.operand_limbs says: (limb, shift) pairs, low limb first."""
    shape = value.shape()
    limbs, start = [], 0
    widths = operand_limbs(shape.width, shape.signed)
    for i, width in enumerate(widths):
        limb = value[start:start + width]
        limbs.append((limb.as_signed() if shape.signed and i == len(widths) - 1 else limb, start))
        start += width
    return limbs


def pipelined_product(m, en, a, b, name, *, platform=None):
    """``a * b`` in :func:`golden.timing.product_latency` register stages: operand registers
    (``DSP_INPUT_REGISTERS``), one register per partial product, product registers
    (``DSP_OUTPUT_REGISTERS``), then, when an operand is wider than one DSP multiplier takes,
    a tree summing the shifted partial products with a register after every adder level. The
    operands are cut into limbs (unsigned low limbs, a signed top limb), one DSP each; no stage
    holds more than one multiplier or one adder.

    ``en`` is one load enable for every stage (``None``: every cycle) or a list with one per
    stage, first to last (a bubble-collapsing pipeline). ``platform`` picks the multiplier
    primitive (:mod:`hw.common.dsp`): with the ECP5 target each partial product is a
    MULT18X18D holding the operand, product and output registers itself. Returns the product."""
    a, b = Value.cast(a), Value.cast(b)
    shape = (a * b).shape()
    stages = product_latency(a.shape().width, a.shape().signed, b.shape().width, b.shape().signed)
    ens = list(en) if isinstance(en, (list, tuple)) else [en] * stages
    if len(ens) != stages:
        raise ValueError(f"{name}: {stages} stage enables needed, got {len(ens)}.")
    if dsp_target(platform) == "ecp5":
        dsp = DSP_INPUT_REGISTERS + 1 + DSP_OUTPUT_REGISTERS
        terms = [(ecp5_mult18x18d(m, ens[:dsp], x, y, f"{name}_dsp{i}_{j}"), sx + sy)
                 for i, (x, sx) in enumerate(_limbs(a)) for j, (y, sy) in enumerate(_limbs(b))]
        return _sum_partials(m, ens[dsp:], terms, shape, name)
    ens = iter(ens)
    for i in range(DSP_INPUT_REGISTERS):
        stage_en = next(ens)
        a, b = register(m, stage_en, a, f"{name}_a{i}"), register(m, stage_en, b, f"{name}_b{i}")
    stage_en = next(ens)
    terms = [(register(m, stage_en, x * y, f"{name}_p{i}_{j}"), sx + sy)
             for i, (x, sx) in enumerate(_limbs(a)) for j, (y, sy) in enumerate(_limbs(b))]
    for k in range(DSP_OUTPUT_REGISTERS):
        stage_en = next(ens)
        terms = [(register(m, stage_en, t, f"{t.name}_r{k}"), shift) for t, shift in terms]
    return _sum_partials(m, list(ens), terms, shape, name)


def _sum_partials(m, ens, terms, shape, name):
    """The shifted partial products ``terms`` ((value, shift) pairs) summed by a tree with a
    register after every adder level (``ens``: one enable per level)."""
    terms = [t << shift for t, shift in terms]
    for level, stage_en in enumerate(ens, start=1):
        terms = [register(m, stage_en, terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i],
                          f"{name}_s{level}_{i // 2}")
                 for i in range(0, len(terms), 2)]
    assert len(terms) == 1
    product = Signal(shape, name=name)  # the sum's true value fits a * b's shape
    m.d.comb += product.eq(terms[0])
    return product


def sum_exceeds(m, a, b, x, width, name):
    """``a + b > x`` for signed ``a``, ``b``, ``x`` of at most ``width`` bits, with one carry
    chain instead of two (an adder, then a comparator): ``a + b > x`` exactly when
    ``a + b + ~x >= 0`` (``~x = -x - 1``), and that three-input sum is a carry-save stage (one
    LUT level: the bitwise sum and the majority) and one adder whose sign is the answer. Three
    terms of ``width`` bits sum within ``width + 2`` bits, so no wrap changes the sign."""
    w = width + 2
    terms = []
    for k, v in (("a", Value.cast(a)), ("b", Value.cast(b)), ("nx", ~Value.cast(x))):
        assert v.shape().signed and v.shape().width <= width, (k, v.shape())
        t = Signal(signed(w), name=f"{name}_{k}")   # sign-extended
        m.d.comb += t.eq(v)
        terms.append(t)
    p, q, r = terms
    total = Signal(signed(w), name=f"{name}_sum")
    m.d.comb += total.eq((p ^ q ^ r) + (((p & q) | (p & r) | (q & r)) << 1))
    return ~total[w - 1]


def exceeds(a, x):
    """``a > x`` for signed ``a`` and ``x``: the sign of ``x - a`` (one bit wider than either,
    so it cannot wrap), which is the last carry-chain cell's sum. Yosys builds ``a > x`` as the
    subtract and then a function of its carry, both signs and the overflow, a LUT and a mux
    behind the chain (the softmax's look-ahead compare, sprint_engine's critical path)."""
    a, x = Value.cast(a), Value.cast(x)
    assert a.shape().signed and x.shape().signed, (a.shape(), x.shape())
    return (x - a)[-1]


def delay(m, en, values: dict, stages: int, name: str) -> dict:
    """``values`` (name -> value) through ``stages`` registers loaded by ``en``, to stay
    aligned with a pipelined result of that latency."""
    for stage in range(stages):
        values = {k: register(m, en, v, f"{name}{stage}_{k}") for k, v in values.items()}
    return values


def round_half_up(value, shift):
    """``(value + 2^(shift-1)) >> shift``: round half up (golden.numerics defines the same)."""
    value = Value.cast(value)
    return (value + (1 << (shift - 1))) >> shift if shift else value


def saturate(value, lo, hi):
    """``clamp(value, lo, hi)`` (after :func:`round_half_up`, in a stage of its own where timing
    matters). When ``[lo, hi]`` is the range of a narrower signed integer, as the output format's
    is, the clamp checks whether ``value``'s bits above that width all equal its sign: LUTs
    only. Two comparisons with the constants were two carry chains in series with the output
    register's multiplexer (the weighted sum's critical path in dense)."""
    value = Value.cast(value)
    bits = hi.bit_length() + 1 if hi >= 0 else 0
    if value.shape().signed and bits and lo == -(1 << (bits - 1)) and hi == (1 << (bits - 1)) - 1 \
            and len(value) > bits:
        sign, upper = value[-1], value[bits - 1:-1]
        return Mux(~sign & upper.any(), hi, Mux(sign & ~upper.all(), lo, value))
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
    # Address and data go to the memory unconditionally (the enable alone says whether it
    # writes), so the handshake drives the enable and not every data bit of a row.
    m.d.comb += [write.addr.eq(count), write.data.eq(value)]
    with m.If(sink.valid & sink.ready):
        m.d.comb += [write.en.eq(count < depth), dropped.eq(count == depth)]
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
    m.d.comb += [write.addr.eq(count + Mux(load_bank, depth, 0)), write.data.eq(value)]   # as in load_packet
    with m.If(sink.valid & sink.ready):
        m.d.comb += [write.en.eq(count < depth), dropped.eq(count == depth)]
        bumped = Mux(count == depth, depth, count + 1)
        with m.If(sink.payload.last):
            m.d.sync += [full[load_bank].eq(1), counts[load_bank].eq(bumped), count_out.eq(bumped),
                         load_bank.eq(~load_bank), count.eq(0)]
        with m.Else():
            m.d.sync += count.eq(bumped)
    with m.If(release):
        m.d.sync += [full[work_bank].eq(0), work_bank.eq(~work_bank)]
    return PacketBanks(full[work_bank], counts[work_bank], Mux(work_bank, depth, 0), release, dropped)
