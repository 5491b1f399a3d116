"""Behavioural ReRAM pruning macro: K MSBs in crossbar columns, a query in, the keep mask out."""

from amaranth import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.prng import MASK32
from golden.sprint.model import NOISE_SHIFT, column_seed

from ..common.layouts import token_layout
from ..common.pipeline import tournament, wire

__all__ = ["ReramMacro", "macro_signature", "macro_query_layout", "mask_layout", "macro_blackbox"]


def macro_query_layout(cfg) -> data.StructLayout:
    """``data`` (d signed elements, the full query: the macro shifts it to B_q bits), ``last``
    (carried through to the mask: the packet's final query)."""
    return data.StructLayout({"data": data.ArrayLayout(signed(cfg.data_width), cfg.head_dim), "last": 1})


def mask_layout(cfg) -> data.StructLayout:
    """``keep`` (bit j: key j survives; bits >= n are 0), ``last`` (from the query)."""
    return data.StructLayout({"keep": unsigned(cfg.max_tokens), "last": 1})


def macro_signature(cfg) -> wiring.Signature:
    """The pruning macro's ports (members of :class:`ReramMacro`); the recompute engine's
    ``macro`` port is this signature flipped, so a real macro can take the behavioural one's place."""
    return wiring.Signature({
        "k": In(stream.Signature(token_layout(cfg))),
        "q": In(stream.Signature(macro_query_layout(cfg))),
        "mask": Out(stream.Signature(mask_layout(cfg))),
        "theta": In(signed(cfg.analog_bits)),
        "theta_we": In(1),
        "n_keys": Out(range(cfg.max_tokens + 1)),
        "overflow": Out(1),
    })


def _xorshift32(state):
    s1 = state ^ (state << 13)[:32]
    s2 = s1 ^ (s1 >> 17)
    return (s2 ^ (s2 << 5)[:32])[:32]


class ReramMacro(wiring.Component):
    """One crossbar column per key, N columns (golden/sprint/model.py is the contract).

    Keys arrive on ``k`` one per beat (the first beat after a packet's ``last`` starts a new
    packet: column 0, noise generators reseeded); column j keeps ``k_j >> (W - B_msb)``. A query
    taken on ``q`` at cycle t is shifted to ``q_hat = q >> (W - B_q)``; every column forms
    ``a_j = q_hat . k_msb_j + noise_j`` and compares it with the ``theta`` register; the mask
    (``a_j >= theta`` for j < n, or the first largest a_j if none) is offered on ``mask`` at
    cycle t + ``xbar_latency``. One query at a time: ``q`` and ``k`` are ready while no mask
    is pending.

    Members:
        k: ``In(stream.Signature(token_layout))`` keys to program (at most N; more set ``overflow``).
        q: ``In(stream.Signature(macro_query_layout))``.
        mask: ``Out(stream.Signature(mask_layout))``.
        theta: ``In(signed(analog_bits))``, theta_we: ``In(1)`` writes the theta register.
        n_keys: ``Out(range(N + 1))`` columns programmed in the current packet.
        overflow: ``Out(1)`` high in a cycle that drops a key beyond N.
    """

    def __init__(self, *, config):
        self._config = config
        super().__init__(macro_signature(config))

    @property
    def config(self):
        return self._config

    def elaborate(self, platform):
        cfg = self._config
        m = Module()
        n_max, d, w = cfg.max_tokens, cfg.head_dim, cfg.data_width
        ab = cfg.analog_bits

        theta = Signal(signed(ab))
        with m.If(self.theta_we):
            m.d.sync += theta.eq(self.theta)

        busy = Signal()
        fresh = Signal(init=1)  # no packet's keys half-loaded: the next key starts a packet
        count = Signal(range(n_max + 1))
        # Queries only between packets' keys (after a packet's last key).
        m.d.comb += [self.k.ready.eq(~busy), self.q.ready.eq(~busy & fresh)]

        # Columns: K MSBs, programmed one key per beat.
        cols = [[Signal(signed(cfg.msb_bits), name=f"col{j}_{t}") for t in range(d)] for j in range(n_max)]
        m.d.comb += self.n_keys.eq(count)
        seeds = [column_seed(cfg.seed, j) for j in range(n_max)]
        states = [Signal(32, name=f"lfsr{j}", init=seeds[j]) for j in range(n_max)] if cfg.sigma else []
        position = Mux(fresh, 0, count)
        key_msb = [wire(m, self.k.payload.data[t] >> (w - cfg.msb_bits), f"key_msb{t}") for t in range(d)]
        with m.If(self.k.valid & self.k.ready):
            m.d.sync += fresh.eq(self.k.payload.last)
            m.d.comb += self.overflow.eq(position == n_max)
            with m.If(position != n_max):
                m.d.sync += count.eq(position + 1)
            # One enable per column (a Switch would give every column register a case statement
            # over all N positions in the Verilog: quadratic in N).
            for j in range(n_max):
                with m.If(position == j):
                    m.d.sync += [cols[j][t].eq(key_msb[t]) for t in range(d)]
            with m.If(fresh):
                for j, s in enumerate(states):
                    m.d.sync += s.eq(seeds[j])

        # Query: shifted to B_q bits; every noise generator steps once per query.
        q_hat = [Signal(signed(cfg.q_bits), name=f"q_hat{t}") for t in range(d)]
        last = Signal()
        wait = Signal(range(cfg.xbar_latency + 1))
        with m.If(self.q.valid & self.q.ready):
            m.d.sync += [busy.eq(1), wait.eq(1), last.eq(self.q.payload.last)]
            m.d.sync += [q_hat[t].eq(self.q.payload.data[t] >> (w - cfg.q_bits)) for t in range(d)]
            for s in states:
                m.d.sync += s.eq(_xorshift32(s))

        # Crossbar: all columns at once (behavioural).
        scores = []
        for j in range(n_max):
            acc = sum(q_hat[t] * cols[j][t] for t in range(d))
            if cfg.sigma:
                r = states[j][:8].as_signed()
                acc = acc + ((r * cfg.sigma) >> NOISE_SHIFT)
            a = Signal(signed(ab), name=f"a{j}")
            m.d.comb += a.eq(acc)
            scores.append(a)
        real = [Signal(name=f"real{j}") for j in range(n_max)]
        m.d.comb += [real[j].eq(j < count) for j in range(n_max)]
        above = Cat(*[(scores[j] >= theta) & real[j] for j in range(n_max)])
        # Fallback: the first largest score (a tournament in which the lower index wins ties).
        # The right one wins if the left is no real key, or both are and the right is larger.
        _, best_index, _ = tournament([(scores[j], Const(j, range(max(n_max, 2))), real[j]) for j in range(n_max)],
                                      lambda a, b: ~a[2] | (b[2] & (b[0] > a[0])),
                                      lambda level, items: [tuple(wire(m, v, f"argmax{level}_{i}_{k}")
                                                                  for k, v in enumerate(item))
                                                            for i, item in enumerate(items)])
        best = Signal(range(max(n_max, 2)))
        m.d.comb += best.eq(best_index)
        keep = Signal(n_max)
        m.d.comb += keep.eq(Mux(above.any(), above, Const(1, n_max) << best))

        with m.If(self.mask.valid & self.mask.ready):
            m.d.sync += [self.mask.valid.eq(0), busy.eq(0)]
        with m.If(busy & ~self.mask.valid):
            m.d.sync += wait.eq(wait + 1)
            with m.If(wait == cfg.xbar_latency - 1):
                m.d.sync += [self.mask.valid.eq(1), self.mask.payload.keep.eq(keep),
                             self.mask.payload.last.eq(last)]
        return m


def macro_blackbox(cfg, name: str) -> str:
    """Verilog of the macro's ports with no body, for an ASIC flow where a real macro replaces it."""
    from gen.emit import port_list
    component = ReramMacro(config=cfg)
    component._MustUse__silence = True  # only its signature is needed
    ports = port_list(component)
    decls = []
    for p in ports:
        width = f"[{p['width'] - 1}:0] " if p["width"] > 1 else ""
        decls.append(f"  {p['direction']} {width}{p['name']}")
    return ("// Black box of the behavioural ReRAM pruning macro (attnforge hw/sprint/reram_macro.py):\n"
            "// same ports, no body; a real macro is linked in its place.\n"
            f"(* blackbox *)\nmodule {name} (\n" + ",\n".join(decls) + "\n);\nendmodule\n")
