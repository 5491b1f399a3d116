"""Configuration of the MEMO units: the memo-lookup engine and the memoized-attention path."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..config import AttentionConfig, ConfigError, clog2, param

__all__ = ["MemoConfig"]


@dataclass(frozen=True)
class MemoConfig(AttentionConfig):
    """MEMO: a set-associative table of ``entries`` signatures in ``ways``-way sets (the set
    index is the low bits of the salted signature), and the common datapath whose weighted
    sum takes stored probability maps on a hit.

    ``tau`` and ``mask`` are the reset values of runtime registers. ``mask`` is one 0/1 per
    context (the ``ctx`` of a lookup: in the MiniLM evaluation, the layer); ``()`` means every
    context may allocate. Lists given for it (JSON) become tuples."""

    sig_bits: int = param(64, min=2, max=256, help="signature bits S")
    entries: int = param(1024, min=2, max=1 << 16, help="table entries E (E / W sets, a power of two, >= 2)")
    ways: int = param(8, min=1, max=64, help="ways W per set")
    tau: int = param(12, min=0, max=256, help="reset value of the tau register: largest Hamming distance that hits")
    contexts: int = param(6, min=1, max=1024, help="lookup contexts (selective-mask bits), e.g. one per layer")
    mask: tuple[int, ...] = param((), help="reset value of the selective mask as JSON, one 0/1 per context; [] = all 1")
    seed: int = param(1, min=0, max=0xFFFF_FFFF, help="seed of the signature hasher and the context salts")
    heads: int = param(12, min=1, max=256, help="heads per record: a record holds one map per head")
    max_burst: int = param(16, min=1, max=256, help="longest AXI burst in beats (reads and write-backs)")
    ws_factor: int = param(2, min=1, max=64, help="weighted-sum lanes as a multiple of lanes (a hit is paced "
                                                  "by the weighted sum alone)")
    axi_data_width: int = param(64, min=32, max=1024, help="AXI data bits of the attention database (power of two)")
    addr_width: int = param(32, min=12, max=64, help="AXI address bits")

    def __post_init__(self):
        mask = self.mask
        if not isinstance(mask, (list, tuple)) or any(b not in (0, 1) or isinstance(b, bool) for b in mask):
            raise ConfigError(f"mask={mask!r} must be a list of 0/1 bits, one per context.")
        object.__setattr__(self, "mask", tuple(mask))
        super().__post_init__()

    def check(self):
        super().check()
        if self.entries % self.ways:
            raise ConfigError(f"entries={self.entries} is not a multiple of ways={self.ways}.")
        sets = self.entries // self.ways
        if sets < 2 or sets & (sets - 1):
            raise ConfigError(f"entries={self.entries} / ways={self.ways} = {sets} sets: the set count must be a "
                              f"power of two, at least 2.")
        if clog2(sets) > self.sig_bits:
            raise ConfigError(f"sig_bits={self.sig_bits} is too few to index {sets} sets.")
        if self.tau > self.sig_bits:
            raise ConfigError(f"tau={self.tau} is above sig_bits={self.sig_bits}: tau must be 0 to {self.sig_bits}.")
        if self.mask and len(self.mask) != self.contexts:
            raise ConfigError(f"mask has {len(self.mask)} bits, contexts={self.contexts} needs one per context.")
        if self.head_dim % self.ws_lanes:
            raise ConfigError(f"ws_factor={self.ws_factor} gives {self.ws_lanes} weighted-sum lanes, which do not "
                              f"divide head_dim={self.head_dim}.")
        if self.axi_data_width & (self.axi_data_width - 1):
            raise ConfigError(f"axi_data_width={self.axi_data_width} must be a power of two.")
        if self.axi_data_width < self.prob_slot_bits:
            raise ConfigError(f"axi_data_width={self.axi_data_width} is narrower than one stored probability "
                              f"({self.prob_slot_bits} bits).")
        top = self.map_address(self.entries - 1, self.heads - 1) + self.record_words * (self.axi_data_width // 8)
        if top > 1 << self.addr_width:
            raise ConfigError(f"the attention database needs {top} bytes, more than addr_width={self.addr_width} "
                              f"bits address.")
        if self.record_words >= 1 << 16:
            raise ConfigError(f"a map of max_tokens={self.max_tokens}^2 probabilities is {self.record_words} AXI "
                              f"words, above the 65535 words one AXI command moves.")

    def to_dict(self):
        return {**super().to_dict(), "mask": list(self.mask)}

    # --- table geometry -----------------------------------------------------------------
    @property
    def sets(self) -> int:
        return self.entries // self.ways

    @property
    def set_bits(self) -> int:
        return clog2(self.sets)

    @property
    def way_bits(self) -> int:
        """Bits of a way number and of an LRU age (at least 1)."""
        return max(1, clog2(self.ways))

    @property
    def ptr_bits(self) -> int:
        return max(1, clog2(self.entries))

    @property
    def length_bits(self) -> int:
        return clog2(self.max_tokens + 1)

    @property
    def dist_bits(self) -> int:
        """Bits of a distance, 0 to S + 1 (S + 1: no entry of that length in the set)."""
        return clog2(self.sig_bits + 2)

    @property
    def ctx_bits(self) -> int:
        return max(1, clog2(self.contexts))

    @property
    def mask_value(self) -> int:
        """The mask reset value as an integer (bit c = context c)."""
        bits = self.mask or (1,) * self.contexts
        return sum(b << c for c, b in enumerate(bits))

    # --- datapath ----------------------------------------------------------------------
    @property
    def ws_lanes(self) -> int:
        return self.lanes * self.ws_factor

    @property
    def ws_chunks(self) -> int:
        return self.head_dim // self.ws_lanes

    @property
    def ws_config(self) -> AttentionConfig:
        common = {f.name: getattr(self, f.name) for f in fields(AttentionConfig)}
        return AttentionConfig(**{**common, "lanes": self.ws_lanes})

    @property
    def prob_slot_bits(self) -> int:
        """Bits a stored probability occupies in an AXI word (a power of two)."""
        return 1 << clog2(self.formats.prob_bits)

    @property
    def record_words(self) -> int:
        """AXI words reserved per map (an N x N map, packed)."""
        return -(-(self.max_tokens ** 2) // self.probs_per_word)

    def map_address(self, ptr: int, head: int) -> int:
        """Byte address of head ``head``'s map in the record of entry ``ptr`` (the database
        starts at address 0: record ``ptr`` holds ``heads`` maps of ``record_words`` words)."""
        return (ptr * self.heads + head) * self.record_words * (self.axi_data_width // 8)

    @property
    def probs_per_word(self) -> int:
        """Probabilities per AXI word of a stored map (each in a 2^k-bit slot)."""
        slot = 1 << clog2(self.formats.prob_bits)
        return max(1, self.axi_data_width // slot)
