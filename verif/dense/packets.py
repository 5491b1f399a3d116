"""Dense packets (Q, K, V, scale) and the golden expectations for them; shared by the
cocotb testbench, the vector generator and the pytest regression."""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from golden.dense import DenseConfig, dense_int
from golden.dense.cycles import dense_cycles

__all__ = ["Packet", "expected_outputs", "expected_cycles", "random_packet", "extreme_packets", "random_scale"]


@dataclass
class Packet:
    """One head's attention job. Members: ``q``, ``k``, ``v`` (lists of int rows),
    ``scale`` (softmax scale register per query row), ``name``."""

    q: list[list[int]]
    k: list[list[int]]
    v: list[list[int]]
    scale: list[int]
    name: str = ""

    @property
    def n_keys(self) -> int:
        return len(self.k)

    @property
    def n_queries(self) -> int:
        return len(self.q)

    def to_dict(self) -> dict:
        return {"name": self.name, "q": self.q, "k": self.k, "v": self.v, "scale": self.scale}


def expected_outputs(cfg: DenseConfig, packet: Packet) -> list[list[int]]:
    """Golden integer model: one output row per query."""
    t = lambda rows: torch.tensor(rows, dtype=torch.int64)
    return dense_int(t(packet.q), t(packet.k), t(packet.v), t(packet.scale), cfg).tolist()


def expected_cycles(cfg: DenseConfig, packet: Packet):
    return dense_cycles(cfg, packet.n_keys, packet.n_queries)


def random_scale(rng: random.Random) -> int:
    """Scale registers from nearly uniform attention to nearly one-hot, log-uniform."""
    return int(2 ** rng.uniform(10, 26))


def _rows(rng, n, d, lo, hi):
    return [[rng.randint(lo, hi) for _ in range(d)] for _ in range(n)]


def random_packet(cfg: DenseConfig, rng: random.Random, n: int | None = None, n_queries: int | None = None,
                  name: str = "random") -> Packet:
    fmt = cfg.formats
    n = n or rng.randint(1, cfg.max_tokens)
    nq = n_queries or n
    lo, hi = fmt.data_min, fmt.data_max
    return Packet(q=_rows(rng, nq, cfg.head_dim, lo, hi), k=_rows(rng, n, cfg.head_dim, lo, hi),
                  v=_rows(rng, n, cfg.head_dim, lo, hi), scale=[random_scale(rng) for _ in range(nq)], name=name)


def extreme_packets(cfg: DenseConfig, rng: random.Random) -> list[Packet]:
    """All -128, all 127, zeros, identical tokens, n=1, n=N, and the scale register's ends."""
    fmt, d, n_max = cfg.formats, cfg.head_dim, cfg.max_tokens
    n = min(n_max, 8)
    top = (1 << fmt.scale_bits) - 1

    def const(value, rows, scale):
        block = [[value] * d for _ in range(rows)]
        return block, [scale] * rows

    packets = []
    for value, label in ((fmt.data_min, "all_min"), (fmt.data_max, "all_max"), (0, "zeros")):
        block, scale = const(value, n, random_scale(rng))
        packets.append(Packet(q=block, k=block, v=block, scale=scale, name=label))
    # Most negative q against most negative k gives the largest positive score.
    block_min, _ = const(fmt.data_min, n, 0)
    packets.append(Packet(q=block_min, k=block_min, v=const(fmt.data_max, n, 0)[0], scale=[top] * n,
                          name="max_score_max_scale"))
    token = [rng.randint(fmt.data_min, fmt.data_max) for _ in range(d)]
    same = [list(token) for _ in range(n)]
    packets.append(Packet(q=same, k=same, v=_rows(rng, n, d, fmt.data_min, fmt.data_max),
                          scale=[random_scale(rng) for _ in range(n)], name="identical_tokens"))
    packets.append(random_packet(cfg, rng, n=1, name="n1"))
    packets.append(random_packet(cfg, rng, n=n_max, n_queries=min(n_max, 4), name="nN"))
    zero_scale = random_packet(cfg, rng, n=n, name="scale_zero")
    zero_scale.scale = [0] * n
    packets.append(zero_scale)
    full_scale = random_packet(cfg, rng, n=n, name="scale_max")
    full_scale.scale = [top] * n
    packets.append(full_scale)
    return packets
