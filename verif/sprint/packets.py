"""SPRINT packets (Q, K, V, scale, theta) and their golden expectations; shared by the cocotb
testbench, the vector generator and the pytest regression."""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from golden.sprint import SprintConfig
from golden.sprint.model import analog_scores, sprint_int

__all__ = ["Packet", "expected", "memory_image", "random_packet", "theta_for", "special_packets"]


@dataclass
class Packet:
    """One head's job. Members: ``q``, ``k``, ``v`` (int rows), ``scale`` (per query row),
    ``theta`` (threshold register), ``base`` (byte address of the K/V pairs), ``name``."""

    q: list[list[int]]
    k: list[list[int]]
    v: list[list[int]]
    scale: list[int]
    theta: int
    base: int = 0
    name: str = ""

    @property
    def n_keys(self) -> int:
        return len(self.k)

    @property
    def n_queries(self) -> int:
        return len(self.q)


def expected(cfg: SprintConfig, p: Packet) -> dict:
    """Golden integer model: ``out`` rows, ``keep`` mask rows, ``fetched``, ``reused``."""
    res = sprint_int(p.q, p.k, p.v, p.scale, p.theta, cfg, return_all=True)
    return {"out": res["out"].tolist(), "keep": res["keep"].int().tolist(), "fetched": res["book"].fetched,
            "reused": res["book"].reused, "book": res["book"]}


def memory_image(cfg: SprintConfig, p: Packet) -> bytes:
    """The K/V pairs as the unit reads them from ``p.base``: pair j at j * pair_stride, K_j's
    row then V_j's, each row d elements of W bits (element 0 lowest), zero-padded to whole
    AXI words, little-endian."""
    w, row_bytes = cfg.data_width, cfg.row_words * cfg.word_bytes
    mask = (1 << w) - 1

    def row(values):
        bits = sum((x & mask) << (i * w) for i, x in enumerate(values))
        return bits.to_bytes(row_bytes, "little")
    return b"".join(row(kj) + row(vj) for kj, vj in zip(p.k, p.v))


def theta_for(cfg: SprintConfig, q, k, fraction: float) -> int:
    """A theta that keeps about ``fraction`` of the keys (noise-free crossbar scores)."""
    a = analog_scores(torch.tensor(q), torch.tensor(k), cfg).flatten().sort().values
    if fraction >= 1:
        return cfg.theta_min
    idx = min(len(a) - 1, max(0, int(round((1 - fraction) * len(a)))))
    return int(a[idx])


def _rows(rng, n, d, lo, hi):
    return [[rng.randint(lo, hi) for _ in range(d)] for _ in range(n)]


def random_packet(cfg: SprintConfig, rng: random.Random, n: int | None = None, n_queries: int | None = None,
                  fraction: float | None = None, name: str = "random", base: int | None = None) -> Packet:
    fmt = cfg.formats
    n = n or rng.randint(1, cfg.max_tokens)
    nq = n_queries or n
    lo, hi = fmt.data_min, fmt.data_max
    q, k, v = (_rows(rng, c, cfg.head_dim, lo, hi) for c in (nq, n, n))
    fraction = rng.uniform(0.1, 0.9) if fraction is None else fraction
    base = rng.randrange(0, 1 << 12) * cfg.word_bytes if base is None else base
    return Packet(q=q, k=k, v=v, scale=[int(2 ** rng.uniform(10, 26)) for _ in range(nq)],
                  theta=theta_for(cfg, q, k, fraction), base=base, name=name)


def special_packets(cfg: SprintConfig, rng: random.Random) -> list[Packet]:
    """Nothing survives (theta at its maximum: every query keeps its best key), everything
    survives (theta at its minimum), n = 1, n = N, survivors beyond the buffer's slots."""
    n = min(cfg.max_tokens, 12)
    out = []
    p = random_packet(cfg, rng, n=n, name="none_survive")
    p.theta = cfg.theta_max
    out.append(p)
    p = random_packet(cfg, rng, n=n, name="all_survive")
    p.theta = cfg.theta_min
    out.append(p)
    out.append(random_packet(cfg, rng, n=1, n_queries=3, name="n1"))
    out.append(random_packet(cfg, rng, n=cfg.max_tokens, n_queries=min(cfg.max_tokens, 6), fraction=0.6, name="nN"))
    p = random_packet(cfg, rng, n=cfg.max_tokens, n_queries=4, name="beyond_buffer")
    p.theta = cfg.theta_min  # N survivors per query: more than the slots whenever slots < N
    out.append(p)
    return out
