"""Map buffer: the attention maps of ``heads`` heads, kept between layers of a group."""

from amaranth import Array, Module, Mux, Shape, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.reuse.cycles import MAP_READ_LATENCY

from ..common import prob_layout
from ..common.bram import RegisteredReadMemory
from ..common.fifo import CreditFIFO
from ..common.pipeline import counter, register

__all__ = ["MapBuffer"]

#: Entries of the load side's output FIFO: one per cycle of its credit loop (a word taken ->
#: its credit back -> the next word issued -> offered), so a word per cycle can flow.
READ_FIFO = MAP_READ_LATENCY + 1


class MapBuffer(wiring.Component):
    """``heads`` memories (banks) of N^2 probabilities, one per head, each holding one
    map row after row (n_rows rows of n_keys, packed). Each head also has ``present`` (a
    complete map is stored), ``n_keys`` and ``n_rows``; reset clears ``present``.

    Storing: ``store`` (pulse) opens head ``store_head`` (its old map is gone at once); every beat on
    ``w`` is written; the beat with ``last`` and ``last_row`` closes the map. A map of more
    than N^2 probabilities (more than N rows) is not kept: ``overflow`` pulses when it closes.
    Loading: ``load`` (pulse) streams head ``head``'s map out on ``r``, framed as it was
    written (``index`` = key, ``last`` per row, ``last_row`` on the final row), one beat per
    cycle at most: a four-stage pipeline that never stalls, issued on credits into a
    :class:`~hw.common.fifo.CreditFIFO` of ``READ_FIFO`` entries.

    Members:
        store, load: ``In(1)`` pulses (not both in one cycle; neither while that side is busy).
        store_head: ``In(range(heads))`` the head a ``store`` pulse opens.
        head: ``In(range(heads))`` the head ``load`` (and ``present``/``n_keys``/``n_rows``) refers to:
            a port of its own, so that the store side's head (from the command) does not sit
            in front of the load side's status lookup.
        w: ``In(stream.Signature(prob_layout))`` probabilities to store; ready while a map is open.
        r: ``Out(stream.Signature(prob_layout))`` the loaded map.
        present: ``Out(1)`` head ``head`` holds a complete map.
        n_keys, n_rows: ``Out(range(N + 1))`` its row length and row count.
        key_counts: ``Out(ArrayLayout(range(N + 1), heads))`` the row length of every head (the
            reuse unit compares them all with its value count ahead of the load decision).
        storing, loading: ``Out(1)`` a map is open for writing / being read.
        overflow: ``Out(1)`` pulse: a closing map had more than N rows (it is not kept).
    """

    def __init__(self, *, config):
        self._config = config
        super().__init__({
            "store": In(1), "store_head": In(range(config.heads)), "load": In(1), "head": In(range(config.heads)),
            "w": In(stream.Signature(prob_layout(config))),
            "r": Out(stream.Signature(prob_layout(config))),
            "present": Out(1),
            "n_keys": Out(range(config.max_tokens + 1)), "n_rows": Out(range(config.max_tokens + 1)),
            "key_counts": Out(data.ArrayLayout(range(config.max_tokens + 1), config.heads)),
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

        # One bank (memory) per head: the read of a word is registered beside its bank before
        # the multiplexer across the banks, and that multiplexer's output is registered again.
        # On the ECP5 the register beside the bank is its block RAMs' output register.
        banks = [RegisteredReadMemory(m, width=cfg.formats.prob_bits, depth=region, name=f"bank{h}",
                                      platform=platform) for h in range(heads)]

        present = Signal(heads)
        n_keys = Array(Signal(range(n_max + 1), name=f"n_keys{h}") for h in range(heads))
        n_rows = Array(Signal(range(n_max + 1), name=f"n_rows{h}") for h in range(heads))
        m.d.comb += [self.present.eq(present.bit_select(self.head, 1)), self.n_keys.eq(n_keys[self.head]),
                     self.n_rows.eq(n_rows[self.head])]
        m.d.comb += [self.key_counts[h].eq(n_keys[h]) for h in range(heads)]

        # --- Store ----------------------------------------------------------------------
        w_head = Signal(range(heads))
        w_pos = Signal(range(region + 1))    # words written
        w_rows = Signal(range(n_max + 1))    # rows completed before the current one (saturates)
        w_over = Signal()                    # a word beyond N^2 arrived
        # ``w_pos == region`` and ``w_head == h`` as registers (``full``, one-hot ``w_sel``),
        # so each bank's write enable is one gate of registers and the handshake: it drives
        # the write enable of every block RAM of the bank, across the die.
        full = Signal()
        w_sel = Signal(heads)
        m.d.comb += self.w.ready.eq(self.storing)
        with m.If(self.store):
            m.d.sync += [self.storing.eq(1), w_head.eq(self.store_head), w_pos.eq(0), w_rows.eq(0), w_over.eq(0),
                         full.eq(0), w_sel.eq(1 << self.store_head), present.bit_select(self.store_head, 1).eq(0)]
        beat = self.w.payload
        # The write itself (address, data, enable per bank) is registered: the banks span the
        # die, and the handshake from the fork would otherwise route to every block RAM's
        # write enable in the cycle it is decided. A map is read only after it is complete
        # and a later command asks for it, so the one-cycle-late write is never missed.
        take = self.w.valid & self.w.ready
        w_addr, w_data = register(m, None, w_pos, "w_addr"), register(m, None, beat.p, "w_data")
        for h, bank in enumerate(banks):
            m.d.comb += [bank.write.addr.eq(w_addr), bank.write.data.eq(w_data),
                         bank.write.en.eq(register(m, None, take & ~full & w_sel[h], f"bank{h}_w_en"))]
        with m.If(take):
            with m.If(~full):
                m.d.sync += [w_pos.eq(w_pos + 1), full.eq(w_pos == region - 1)]
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

        # --- Load: issue one address per credit ------------------------------------------------
        # The read pipeline never stalls: an address is issued only while the output FIFO has an
        # entry for its word that no word in flight has taken (``CreditFIFO.room``), so no enable
        # depends on the weighted sum's ready, which crosses the die combinationally, and the banks' read
        # enables are constant. The FIFO's entry stands where the output register stood (a word
        # written at t is offered at t + 1); a credit comes back a cycle after its word is taken
        # and its next word is offered MAP_READ_LATENCY cycles after that, so READ_FIFO entries
        # keep one word per cycle flowing: the weighted sum never waits for a word it could take.
        m.submodules.r_fifo = r_fifo = CreditFIFO(width=Shape.cast(prob_layout(cfg)).width, depth=READ_FIFO)
        m.d.comb += [self.r.valid.eq(r_fifo.r_rdy), self.r.payload.eq(r_fifo.r_data), r_fifo.r_en.eq(self.r.ready)]
        r_head = Signal(range(heads))
        r_pos = Signal(range(max(region, 2)))
        r_keys = Signal(range(n_max + 1))
        r_rows = Signal(range(n_max + 1))
        r_col = counter(n_max, "r_col")
        r_row = counter(n_max, "r_row")
        # ``r_col == r_keys - 1`` and ``r_row == r_rows - 1`` as registers, set one issue ahead:
        # the compares no longer sit between the counters and the issue (framing, counters, end).
        last_col, last_row = Signal(), Signal()
        issue = Signal()
        m.d.comb += [issue.eq(self.loading & r_fifo.room), r_fifo.issue.eq(issue)]
        # ``load`` sets ``loading`` and nothing else: it is decided late in its cycle (the reuse
        # unit's head selects the length check), and it would otherwise reset the read counters
        # and load the map's shape across the die. The counters return to zero as a load ends
        # (they start at zero), and the head and shape follow ``head`` while no load runs, so
        # they hold the values of the cycle ``load`` was asserted in.
        with m.If(~self.loading):
            m.d.sync += [r_head.eq(self.head), r_keys.eq(n_keys[self.head]), r_rows.eq(n_rows[self.head]),
                         last_col.eq(n_keys[self.head] == 1), last_row.eq(n_rows[self.head] == 1)]
        with m.If(self.load):
            m.d.sync += self.loading.eq(1)
        with m.If(issue):   # never with ``load``: issue only while loading, load only while not
            m.d.sync += r_pos.eq(r_pos + 1)
            with m.If(last_col):
                m.d.sync += [r_col.eq(0), r_row.eq(r_row + 1), last_col.eq(r_keys == 1), last_row.eq(r_row + 2 == r_rows)]
                with m.If(last_row):
                    m.d.sync += [self.loading.eq(0), r_pos.eq(0), r_row.eq(0)]
            with m.Else():
                m.d.sync += [r_col.eq(r_col + 1), last_col.eq(r_col + 2 == r_keys)]
        for bank in banks:
            m.d.comb += [bank.read.addr.eq(r_pos), bank.read.en.eq(1)]
        # Stage 1: the banks' read registers (inside the block RAMs). Stage 2: each bank's word
        # registered beside it. Stage 3: each bank's word registered in the fabric, on its way
        # to the multiplexer: the banks span the die, and from the corner farthest from the
        # multiplexer the route alone took 5 ns. Stage 4: the word of the loading head, written
        # behind the multiplexer into the FIFO (golden.reuse.cycles: MAP_READ_LATENCY). The
        # framing and the head travel beside them in registers.
        frame = {"valid": issue, "index": r_col, "last": last_col, "last_row": last_row, "head": r_head}
        frame = {k: register(m, None, v, f"rd1_{k}") for k, v in frame.items()}
        words = [bank.registered(None, f"rd2_bank{h}") for h, bank in enumerate(banks)]
        frame = {k: register(m, None, v, f"rd2_{k}") for k, v in frame.items()}
        words = Array(register(m, None, word, f"rd3_bank{h}") for h, word in enumerate(words))
        frame = {k: register(m, None, v, f"rd3_{k}") for k, v in frame.items()}
        word = Signal(prob_layout(cfg))
        m.d.comb += [word.p.eq(words[frame["head"]]), word.index.eq(frame["index"]), word.last.eq(frame["last"]),
                     word.last_row.eq(frame["last_row"]),
                     r_fifo.w_data.eq(word), r_fifo.w_en.eq(frame["valid"])]
        return m
