"""Sign-random-projection hashing (CTA token clustering, MEMO signatures).

``h_b(x) = [r_b . x >= 0]`` for b in [0, H), with ``r_b`` in {-1, +1}^dim: adders only, no
multipliers. Bit b of the hash is projection b (bit 0 = LSB). The projections come from
``xorshift32`` seeded with ``seed``: element i of projection b is +1 when bit 0 of state
number ``b * dim + i`` is 0, else -1.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from .prng import xorshift32_stream

__all__ = ["projections", "hash_bits", "hash_tokens", "pack_bits", "hamming", "HasherConfig", "hasher_cycles"]


@lru_cache(maxsize=None)
def _projection_rows(dim: int, bits: int, seed: int) -> tuple[tuple[int, ...], ...]:
    states = xorshift32_stream(seed, dim * bits)
    return tuple(tuple(-1 if states[b * dim + i] & 1 else 1 for i in range(dim)) for b in range(bits))


def projections(dim: int, bits: int, seed: int) -> torch.Tensor:
    """The ``[bits, dim]`` matrix of +1/-1 projections (int64)."""
    return torch.tensor(_projection_rows(dim, bits, seed), dtype=torch.int64)


def hash_bits(x: torch.Tensor, bits: int, seed: int) -> torch.Tensor:
    """Hash bits of each row of integer ``x [..., dim]``: bool ``[..., bits]``, bit b at index b."""
    r = projections(x.shape[-1], bits, seed)
    return torch.matmul(x.to(torch.int64), r.T) >= 0


def pack_bits(bits: torch.Tensor) -> list[int]:
    """Bool ``[..., H]`` to Python ints (bit b = index b), flattened over the leading dims; any H."""
    flat = bits.reshape(-1, bits.shape[-1]).tolist()
    return [sum(1 << b for b, on in enumerate(row) if on) for row in flat]


def hash_tokens(x: torch.Tensor, bits: int, seed: int) -> torch.Tensor:
    """Packed hashes as int64 ``[...]``; ``bits`` <= 62 (use :func:`hash_bits` beyond)."""
    if bits > 62:
        raise ValueError(f"hash_tokens packs at most 62 bits into int64, got {bits}; use hash_bits.")
    weights = torch.tensor([1 << b for b in range(bits)], dtype=torch.int64)
    return (hash_bits(x, bits, seed).to(torch.int64) * weights).sum(-1)


def hamming(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamming distance of bool hash-bit tensors ``[..., H]`` (broadcasting)."""
    return (a != b).sum(-1)


from dataclasses import dataclass  # noqa: E402

from .config import BaseConfig, ConfigError, param  # noqa: E402
from .timing import hasher_latency  # noqa: E402


@dataclass(frozen=True)
class HasherConfig(BaseConfig):
    """The hasher as a stand-alone unit (CTA and MEMO instantiate it inside their engines)."""

    dim: int = param(32, min=1, max=4096, help="elements per hashed vector")
    data_width: int = param(8, min=2, max=16, help="bits per element (signed)")
    lanes: int = param(32, min=1, max=4096, help="elements summed per cycle (must divide dim)")
    bits: int = param(8, min=1, max=256, help="hash bits H")
    seed: int = param(1, min=0, max=0xFFFF_FFFF, help="projection seed (xorshift32)")

    def check(self):
        super().check()
        if self.dim % self.lanes:
            raise ConfigError(f"lanes={self.lanes} does not fit dim={self.dim}: lanes must divide dim.")

    @property
    def chunks(self) -> int:
        return self.dim // self.lanes


def hasher_cycles(cfg: HasherConfig, vectors: int) -> int:
    """Cycles from the first input handshake to the last hash, inclusive, unstalled: one
    vector every dim/L cycles, the last hash ``hasher_latency`` after its last chunk."""
    return (vectors - 1) * cfg.chunks + cfg.chunks + hasher_latency(cfg.lanes) + 1
