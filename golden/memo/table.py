"""Bit-exact model of the memo-lookup engine's table (hw/memo/lookup.py).

Every answer (hit, distance, pointer, allocation, eviction) and every table state equals the
hardware's for any sequence of lookups and register writes.

Lookup of signature ``sig``, sequence length ``length``, context ``ctx``:

1. ``key = sig XOR salt(ctx)`` (``salt``: S bits per context from xorshift32, so contexts never
   share entries); the set is ``key mod sets`` (the low bits).
2. Candidates: valid ways of the set with ``entry.length == length``. ``dist`` = the smallest
   ``popcount(key XOR entry.key)`` over candidates (ties: the lowest way); ``S + 1`` if none.
3. Hit iff ``dist <= tau``: ``ptr = set * W + way`` and the way becomes most recently used.
4. Miss: if ``mask`` bit ``ctx`` is 1 (a ``ctx`` >= contexts has no bit: 0), allocate the
   victim (the lowest invalid way, else the least recently used), write key and length
   there, make it most recently used, return its ``ptr``; ``evict`` says a valid entry was
   replaced. Else miss only (``ptr = 0``, nothing changes).

LRU: each set keeps an age per way, a permutation of 0..W-1 (0 = most recent); after reset
way w has age w. Using way w: ways younger than it age by one, w gets age 0.

``tau`` and ``mask`` are registers: a write applies to lookups after it (in the hardware, to
lookups accepted in later cycles).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..prng import xorshift32_stream
from .config import MemoConfig

__all__ = ["Lookup", "MemoTable", "context_salt"]


@lru_cache(maxsize=None)
def _salts(contexts: int, bits: int, seed: int) -> tuple[int, ...]:
    words = (bits + 31) // 32
    stream = xorshift32_stream((seed ^ 0x5EED_5A17) or 1, contexts * words)
    out = []
    for c in range(contexts):
        value = sum(stream[c * words + i] << (32 * i) for i in range(words))
        out.append(value & ((1 << bits) - 1))
    return tuple(out)


def context_salt(cfg: MemoConfig, ctx: int) -> int:
    """The S-bit salt XORed into signatures of context ``ctx`` (0 beyond ``contexts``)."""
    return _salts(cfg.contexts, cfg.sig_bits, cfg.seed)[ctx] if 0 <= ctx < cfg.contexts else 0


@dataclass(frozen=True)
class Lookup:
    """One answer. Members: ``hit``, ``dist`` (0 to S + 1), ``ptr`` (entry number,
    set * W + way), ``alloc`` (a miss took an entry), ``evict`` (it replaced a valid one)."""

    hit: bool
    dist: int
    ptr: int
    alloc: bool
    evict: bool

    def as_dict(self) -> dict:
        return {"hit": int(self.hit), "dist": self.dist, "ptr": self.ptr, "alloc": int(self.alloc),
                "evict": int(self.evict)}


class MemoTable:
    """The table and its registers. Members: ``cfg``, ``tau``, ``mask`` (int, bit c = context
    c), ``valid``, ``key``, ``length``, ``age`` (lists of E, indexed by entry number),
    :meth:`lookup`, :meth:`reset`, :meth:`write_registers`, ``stats``."""

    def __init__(self, cfg: MemoConfig):
        self.cfg = cfg
        self.reset()

    def reset(self) -> None:
        c = self.cfg
        self.tau, self.mask = c.tau, c.mask_value
        self.valid = [False] * c.entries
        self.key = [0] * c.entries
        self.length = [0] * c.entries
        self.age = [e % c.ways for e in range(c.entries)]
        self.stats = {"lookups": 0, "hits": 0, "allocs": 0, "evictions": 0}

    def write_registers(self, tau: int, mask: int) -> None:
        c = self.cfg
        if not 0 <= tau <= c.sig_bits:
            raise ValueError(f"tau={tau} must be 0 to sig_bits={c.sig_bits}.")
        self.tau, self.mask = tau, mask & ((1 << c.contexts) - 1)

    def set_of(self, sig: int, ctx: int) -> int:
        return ((sig ^ context_salt(self.cfg, ctx)) & ((1 << self.cfg.sig_bits) - 1)) % self.cfg.sets

    def _touch(self, base: int, way: int) -> None:
        w = self.cfg.ways
        mine = self.age[base + way]
        for i in range(w):
            if i == way:
                self.age[base + i] = 0
            elif self.age[base + i] < mine:
                self.age[base + i] += 1

    def lookup(self, sig: int, length: int, ctx: int) -> Lookup:
        c = self.cfg
        s_mask = (1 << c.sig_bits) - 1
        key = (sig ^ context_salt(c, ctx)) & s_mask
        length &= (1 << c.length_bits) - 1
        base = (key % c.sets) * c.ways
        dist, best = c.sig_bits + 1, None
        for way in range(c.ways):
            e = base + way
            if self.valid[e] and self.length[e] == length:
                d = bin(key ^ self.key[e]).count("1")
                if d < dist:
                    dist, best = d, way
        self.stats["lookups"] += 1
        if best is not None and dist <= self.tau:
            self._touch(base, best)
            self.stats["hits"] += 1
            return Lookup(True, dist, base + best, False, False)
        allowed = 0 <= ctx < c.contexts and (self.mask >> ctx) & 1
        if not allowed:
            return Lookup(False, dist, 0, False, False)
        invalid = [w for w in range(c.ways) if not self.valid[base + w]]
        victim = invalid[0] if invalid else next(w for w in range(c.ways) if self.age[base + w] == c.ways - 1)
        evict = self.valid[base + victim]
        e = base + victim
        self.valid[e], self.key[e], self.length[e] = True, key, length
        self._touch(base, victim)
        self.stats["allocs"] += 1
        self.stats["evictions"] += int(evict)
        return Lookup(False, dist, e, True, evict)
