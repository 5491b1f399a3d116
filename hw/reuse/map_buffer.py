"""Map buffer: the attention maps of ``heads`` heads, kept between layers of a group."""

from amaranth import Array, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden.config import clog2

from ..common import prob_layout
from ..common.pipeline import counter

__all__ = ["MapBuffer"]


class MapBuffer(wiring.Component):
    """One memory of ``heads * N^2`` probabilities: a region of N^2 per head, each holding one
    map row after row (n_rows rows of n_keys, packed). Each head also has ``present`` (a
    complete map is stored), ``n_keys`` and ``n_rows``; reset clears ``present``.

    Storing: ``store`` (pulse) opens head ``head`` (its old map is gone at once); every beat on
    ``w`` is written; the beat with ``last`` and ``last_row`` closes the map. A map of more
    than N^2 probabilities (more than N rows) is not kept: ``overflow`` pulses when it closes.
    Loading: ``load`` (pulse) streams head ``head``'s map out on ``r``, framed as it was
    written (``index`` = key, ``last`` per row, ``last_row`` on the final row), one beat per
    cycle: a one-register pipeline that stalls as a unit.

    Members:
        store, load: ``In(1)`` pulses (not both in one cycle; neither while that side is busy).
        head: ``In(range(heads))`` the head a pulse (and ``present``/``n_keys``/``n_rows``) refers to.
        w: ``In(stream.Signature(prob_layout))`` probabilities to store; ready while a map is open.
        r: ``Out(stream.Signature(prob_layout))`` the loaded map.
        present: ``Out(1)`` head ``head`` holds a complete map.
        n_keys, n_rows: ``Out(range(N + 1))`` its row length and row count.
        storing, loading: ``Out(1)`` a map is open for writing / being read.
        overflow: ``Out(1)`` pulse: a closing map had more than N rows (it is not kept).
    """

    def __init__(self, *, config):
        self._config = config
        super().__init__({
            "store": In(1), "load": In(1), "head": In(range(config.heads)),
            "w": In(stream.Signature(prob_layout(config))),
            "r": Out(stream.Signature(prob_layout(config))),
            "present": Out(1),
            "n_keys": Out(range(config.max_tokens + 1)), "n_rows": Out(range(config.max_tokens + 1)),
            "storing": Out(1), "loading": Out(1), "overflow": Out(1),
        })

    @property
    def config(self):
        return self._config

    def elaborate(self, platform):
        cfg = self._config
        n_max, heads = cfg.max_tokens, cfg.heads
        region = n_max * n_max
        m = Module()

        m.submodules.words = words = Memory(shape=cfg.formats.prob_bits, depth=cfg.map_entries, init=[])
        write, read = words.write_port(), words.read_port()
        addr_bits = max(1, clog2(cfg.map_entries))

        present = Signal(heads)
        n_keys = Array(Signal(range(n_max + 1), name=f"n_keys{h}") for h in range(heads))
        n_rows = Array(Signal(range(n_max + 1), name=f"n_rows{h}") for h in range(heads))
        m.d.comb += [self.present.eq(present.bit_select(self.head, 1)), self.n_keys.eq(n_keys[self.head]),
                     self.n_rows.eq(n_rows[self.head])]

        def base(head):
            # A constant multiplier by N^2 (a shift when N is a power of two).
            return (head * region)[:addr_bits]

        # --- Store ----------------------------------------------------------------------
        w_head = Signal(range(heads))
        w_pos = Signal(range(region + 1))    # words written; region means "full"
        w_rows = Signal(range(n_max + 1))    # rows completed before the current one (saturates)
        w_over = Signal()                    # a word beyond N^2 arrived
        m.d.comb += self.w.ready.eq(self.storing)
        with m.If(self.store):
            m.d.sync += [self.storing.eq(1), w_head.eq(self.head), w_pos.eq(0), w_rows.eq(0), w_over.eq(0),
                         present.bit_select(self.head, 1).eq(0)]
        beat = self.w.payload
        with m.If(self.w.valid & self.w.ready):
            full = w_pos == region
            m.d.comb += [write.addr.eq(base(w_head) + w_pos), write.data.eq(beat.p), write.en.eq(~full)]
            with m.If(~full):
                m.d.sync += w_pos.eq(w_pos + 1)
            with m.Else():
                m.d.sync += w_over.eq(1)
            with m.If(beat.last):
                m.d.sync += w_rows.eq(Mux(w_rows == n_max, n_max, w_rows + 1))
            with m.If(beat.last & beat.last_row):
                # More than N rows (n_rows has no room) or, the same with n_keys <= N, more
                # than N^2 words.
                over = w_over | full | (w_rows == n_max)
                m.d.sync += [self.storing.eq(0), n_keys[w_head].eq(beat.index + 1), n_rows[w_head].eq(w_rows + 1),
                             present.bit_select(w_head, 1).eq(~over)]
                m.d.comb += self.overflow.eq(over)

        # --- Load: issue one address per cycle while the output register can move ------------
        en = Signal()
        m.d.comb += en.eq(~self.r.valid | self.r.ready)
        r_addr = Signal(addr_bits)
        r_keys = Signal(range(n_max + 1))
        r_rows = Signal(range(n_max + 1))
        r_col = counter(n_max, "r_col")
        r_row = counter(n_max, "r_row")
        last_col = r_col == r_keys - 1
        last_row = r_row == r_rows - 1
        issue = self.loading & en
        with m.If(self.load):
            m.d.sync += [self.loading.eq(1), r_addr.eq(base(self.head)), r_col.eq(0), r_row.eq(0),
                         r_keys.eq(n_keys[self.head]), r_rows.eq(n_rows[self.head])]
        with m.Elif(issue):
            m.d.sync += r_addr.eq(r_addr + 1)
            with m.If(last_col):
                m.d.sync += [r_col.eq(0), r_row.eq(r_row + 1)]
                with m.If(last_row):
                    m.d.sync += self.loading.eq(0)
            with m.Else():
                m.d.sync += r_col.eq(r_col + 1)
        m.d.comb += [read.addr.eq(r_addr), read.en.eq(en)]
        # The read port's data register is the output register's ``p``; the framing travels
        # beside it in registers loaded on the same enable.
        o_index, o_last, o_last_row = Signal.like(self.r.payload.index), Signal(), Signal()
        with m.If(en):
            m.d.sync += [self.r.valid.eq(issue), o_index.eq(r_col), o_last.eq(last_col),
                         o_last_row.eq(last_row)]
        m.d.comb += [self.r.payload.p.eq(read.data), self.r.payload.index.eq(o_index),
                     self.r.payload.last.eq(o_last), self.r.payload.last_row.eq(o_last_row)]
        return m
