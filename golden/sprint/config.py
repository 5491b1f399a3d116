"""Configuration of the SPRINT unit: the common datapath, the behavioural ReRAM pruning macro,
the on-chip K/V buffer and the AXI4 read path to the K/V memory."""

from __future__ import annotations

from dataclasses import dataclass

from ..axi import AxiReaderConfig
from ..config import AttentionConfig, ConfigError, clog2, param

__all__ = ["SprintConfig", "REUSE_POLICIES"]

#: ``previous``: a buffered vector is reused only if query t-1 kept it (ALGORITHMS.md);
#: ``all``: any vector still in the buffer is reused (it stays until another token's slot write).
REUSE_POLICIES = ("previous", "all")


@dataclass(frozen=True)
class SprintConfig(AttentionConfig):
    """SPRINT unit: macro (``msb_bits``, ``q_bits``, ``sigma``, ``xbar_latency``, ``seed``),
    on-chip K/V buffer (``buffer_bytes``, ``reuse``) and AXI read path (``axi_*``)."""

    msb_bits: int = param(4, min=1, max=16, help="B_msb: key bits the crossbar stores (arithmetic shift of K)")
    q_bits: int = param(4, min=1, max=16, help="B_q: query bits the crossbar takes (arithmetic shift of Q)")
    sigma: int = param(0, min=0, max=1 << 12,
                       help="analog noise amplitude in crossbar-score LSBs: noise in [-sigma, sigma) from a "
                            "per-column xorshift32 (0 = ideal)")
    xbar_latency: int = param(8, min=2, max=256, help="cycles from taking a query to offering its keep mask")
    buffer_bytes: int = param(16384, min=1, max=1 << 24,
                              help="on-chip K/V buffer bytes (direct-mapped, one slot per K/V pair)")
    reuse: str = param("previous", choices=REUSE_POLICIES,
                       help="which buffered vectors are reused: previous (kept by query t-1) or all (still buffered)")
    seed: int = param(1, min=0, max=(1 << 32) - 1, help="seed of the noise generators")
    axi_addr_width: int = param(32, min=12, max=64, help="AXI address bits")
    axi_data_width: int = param(64, min=8, max=1024, help="AXI data bits (power of two)")
    axi_max_burst: int = param(16, min=1, max=256, help="longest AXI INCR burst in beats")

    def check(self):
        super().check()
        w = self.data_width
        if self.msb_bits > w:
            raise ConfigError(f"msb_bits={self.msb_bits} exceeds data_width={w}: the crossbar keeps at most all key bits.")
        if self.q_bits > w:
            raise ConfigError(f"q_bits={self.q_bits} exceeds data_width={w}: the crossbar takes at most all query bits.")
        if self.axi_data_width & (self.axi_data_width - 1):
            raise ConfigError(f"axi_data_width={self.axi_data_width} must be a power of two.")
        if self.buffer_bytes < self.pair_bytes:
            raise ConfigError(f"buffer_bytes={self.buffer_bytes} is smaller than one K/V pair of {self.pair_bytes} "
                              f"bytes (2 * head_dim * data_width / 8): allowed >= {self.pair_bytes}.")
        if 2 * self.row_words > 0xFFFF:
            raise ConfigError(f"head_dim={self.head_dim} needs {2 * self.row_words} AXI words per K/V pair, "
                              f"above the reader's 65535.")

    # --- derived sizes -------------------------------------------------------------------
    @property
    def pair_bytes(self) -> int:
        """On-chip bytes of one K/V pair."""
        return -(-2 * self.head_dim * self.data_width // 8)

    @property
    def slots(self) -> int:
        """K/V pairs the on-chip buffer holds (slot of token j: j mod slots)."""
        return self.buffer_bytes // self.pair_bytes

    @property
    def word_bytes(self) -> int:
        return self.axi_data_width // 8

    @property
    def row_words(self) -> int:
        """AXI words of one K or V row in memory (zero-padded to whole words)."""
        return -(-self.head_dim * self.data_width // self.axi_data_width)

    @property
    def pair_stride(self) -> int:
        """Bytes between token j's pair and token j+1's in memory: K_j words, then V_j words."""
        return 2 * self.row_words * self.word_bytes

    @property
    def analog_bits(self) -> int:
        """Signed bits of the crossbar score a_j = q_hat . k_msb + noise (and of theta)."""
        return self.q_bits + self.msb_bits + clog2(self.head_dim) + 1 + (clog2(self.sigma + 1) + 1 if self.sigma else 0)

    @property
    def axi(self) -> AxiReaderConfig:
        """The AXI read manager inside the unit (two bursts in flight: the read model is exact)."""
        return AxiReaderConfig(addr_width=self.axi_addr_width, data_width=self.axi_data_width,
                               max_burst=self.axi_max_burst, outstanding=2)

    @property
    def theta_min(self) -> int:
        return -(1 << (self.analog_bits - 1))

    @property
    def theta_max(self) -> int:
        return (1 << (self.analog_bits - 1)) - 1
