"""CTA packets and their golden expectations; shared by the cocotb testbench, the vector
generator and the pytest regression. A packet is the dense unit's (verif/dense/packets.py)."""

from __future__ import annotations

import random

import torch

from golden.cta import CtaConfig
from golden.cta.cycles import cta_cycles, decide_latency
from golden.cta.model import cluster_ids, cta_int_head
from golden.hashing import hash_tokens
from verif.dense.packets import Packet, random_packet, random_scale

__all__ = ["Packet", "expected", "expected_outputs", "expected_cycles", "random_packet", "clustered_packet",
           "case_packets", "distinct_tokens", "forwarding_packets"]


def _t(rows):
    return torch.tensor(rows, dtype=torch.int64)


def expected(cfg: CtaConfig, packet: Packet):
    """``(outputs, info)`` of the golden integer model (info: the two clusterings)."""
    out, info = cta_int_head(_t(packet.q), _t(packet.k), _t(packet.v), _t(packet.scale), cfg, return_info=True)
    return out.tolist(), info


def expected_outputs(cfg: CtaConfig, packet: Packet) -> list[list[int]]:
    return expected(cfg, packet)[0]


def expected_cycles(cfg: CtaConfig, packet: Packet):
    _, info = expected(cfg, packet)
    return cta_cycles(cfg, packet.n_keys, packet.n_queries, info["keys"].n, info["queries"].n)


def _rows(rng, n, d, lo, hi):
    return [[rng.randint(lo, hi) for _ in range(d)] for _ in range(n)]


def clustered_packet(cfg: CtaConfig, rng: random.Random, n: int, prototypes: int, noise: int = 6,
                     name: str = "clustered") -> Packet:
    """Tokens near ``prototypes`` random centres (so hashes repeat), one scale per packet."""
    fmt, d = cfg.formats, cfg.head_dim
    lo, hi = fmt.data_min, fmt.data_max

    def side():
        centres = _rows(rng, prototypes, d, lo // 2, hi // 2)
        return [[max(lo, min(hi, x + rng.randint(-noise, noise))) for x in rng.choice(centres)] for _ in range(n)]

    s = random_scale(rng)
    return Packet(q=side(), k=side(), v=_rows(rng, n, d, lo, hi), scale=[s] * n, name=name)


def distinct_tokens(cfg: CtaConfig, rng: random.Random, n: int) -> list[list[int]]:
    """``n`` random tokens with pairwise distinct hashes (needs n <= 2^H)."""
    fmt, seen, rows = cfg.formats, set(), []
    while len(rows) < n:
        row = [rng.randint(fmt.data_min, fmt.data_max) for _ in range(cfg.head_dim)]
        h = int(hash_tokens(_t([row]), cfg.hash_bits, cfg.seed)[0])
        if h not in seen:
            seen.add(h)
            rows.append(row)
    return rows


def forwarding_packets(cfg: CtaConfig, rng: random.Random, tail: int = 3) -> list[Packet]:
    """Directed cases for the clusterer's forwarding of clusters still in flight: for each
    ``s`` in 1..D (D: golden.cta.cycles.decide_latency), ``max_clusters`` tokens with distinct
    hashes open the table, and the next token (a new hash) is nearest to the cluster opened by
    the token ``s`` before it: at one token per cycle that cluster is not yet in the table when
    the new token's search starts, so only forwarding finds it. ``tail`` random tokens of the
    same hashes follow. Needs ``max_clusters < 2^H`` (a hash outside a full table)."""
    c, d = cfg.max_clusters, cfg.head_dim
    assert c < min(1 << cfg.hash_bits, cfg.max_tokens), "forwarding cases need a hash outside a full table"
    fmt, pool = cfg.formats, {}
    for _ in range(4000):      # one token per reachable hash
        row = [rng.randint(fmt.data_min, fmt.data_max) for _ in range(d)]
        pool.setdefault(int(hash_tokens(_t([row]), cfg.hash_bits, cfg.seed)[0]), row)
    hashes = sorted(pool)
    packets = []
    for s in range(1, min(decide_latency(cfg), c) + 1):
        for _ in range(10000):
            order = rng.sample(hashes, c + 1)
            table, q = order[:c], order[c]
            if cluster_ids(table + [q], c).ids[-1] == c - s:
                break
        else:
            raise AssertionError(f"no hash nearest to cluster {c - s} among {len(hashes)} reachable hashes")
        n = min(cfg.max_tokens, c + 1 + tail)
        keys = [pool[h] for h in order] + [pool[rng.choice(order)] for _ in range(n - c - 1)]
        packets.append(Packet(q=keys, k=[list(r) for r in keys], v=_rows(rng, n, d, fmt.data_min, fmt.data_max),
                              scale=[random_scale(rng)] * n, name=f"forward{s}"))
    return packets


def case_packets(cfg: CtaConfig, rng: random.Random) -> list[Packet]:
    """The issue's cases: one cluster, every token its own cluster, more distinct hashes than C,
    n=1, n=N, and random clustered packets."""
    fmt, d, n_max = cfg.formats, cfg.head_dim, cfg.max_tokens
    packets = []
    n = min(n_max, 8)
    token = [rng.randint(fmt.data_min, fmt.data_max) for _ in range(d)]
    same = [list(token) for _ in range(n)]
    packets.append(Packet(q=same, k=[list(token) for _ in range(n)], v=_rows(rng, n, d, fmt.data_min, fmt.data_max),
                          scale=[random_scale(rng)] * n, name="one_cluster"))
    own = min(cfg.max_clusters, n_max, 1 << cfg.hash_bits, 12)
    s = random_scale(rng)
    packets.append(Packet(q=distinct_tokens(cfg, rng, own), k=distinct_tokens(cfg, rng, own),
                          v=_rows(rng, own, d, fmt.data_min, fmt.data_max), scale=[s] * own, name="own_clusters"))
    if cfg.max_clusters < min(n_max, 1 << cfg.hash_bits):
        m = min(n_max, 1 << cfg.hash_bits, cfg.max_clusters + 8)
        packets.append(Packet(q=distinct_tokens(cfg, rng, m), k=distinct_tokens(cfg, rng, m),
                              v=_rows(rng, m, d, fmt.data_min, fmt.data_max), scale=[s] * m, name="over_c"))
    packets.append(random_packet(cfg, rng, n=1, name="n1"))
    packets.append(clustered_packet(cfg, rng, n_max, 4, name="nN"))
    packets.append(random_packet(cfg, rng, n=min(n_max, 10), name="random_scales"))
    return packets
