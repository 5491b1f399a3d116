"""Reuse-unit packets and the golden expectations for them; shared by the cocotb testbench,
the vector generator and the pytest regression.

A compute packet is a dense :class:`verif.dense.packets.Packet` plus the head whose map it
stores; a reuse packet is a head and new values. :class:`MapModel` is the map buffer as the
golden model sees it."""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from golden.reuse import ReuseConfig, map_int, reuse_int
from golden.reuse.cycles import compute_cycles, reuse_cycles
from verif.dense.packets import Packet

__all__ = ["ReusePacket", "MapModel", "random_values", "tensor"]


def tensor(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.int64)


@dataclass
class ReusePacket:
    """Values for the stored map of ``head``. Members: ``head``, ``v``, ``name``."""

    head: int
    v: list[list[int]]
    name: str = ""

    @property
    def n_keys(self) -> int:
        return len(self.v)


class MapModel:
    """Golden model of the unit across packets: the map each head holds (None after reset,
    or after a compute packet of more than N rows) and the outputs and cycles of a packet.

    Members: ``cfg``, ``maps``, :meth:`compute`, :meth:`reuse`, :meth:`error`, :meth:`clear`."""

    def __init__(self, cfg: ReuseConfig):
        self.cfg = cfg
        self.maps: list[torch.Tensor | None] = [None] * cfg.heads

    def clear(self):
        self.maps = [None] * self.cfg.heads

    def compute(self, head: int, packet: Packet):
        """Store the packet's map; return ``(outputs, PacketCycles)``."""
        p = map_int(tensor(packet.q), tensor(packet.k[:self.cfg.max_tokens]), tensor(packet.scale), self.cfg)
        self.maps[head] = p if packet.n_queries <= self.cfg.max_tokens else None
        out = reuse_int(p, tensor(packet.v[:self.cfg.max_tokens]), self.cfg).tolist()
        return out, compute_cycles(self.cfg, min(packet.n_keys, self.cfg.max_tokens), packet.n_queries)

    def error(self, packet: ReusePacket) -> str | None:
        """The error flag a reuse packet raises (``no_map``, ``length_mismatch``) or None."""
        p = self.maps[packet.head]
        if p is None:
            return "no_map"
        return "length_mismatch" if packet.n_keys != p.shape[-1] else None

    def reuse(self, packet: ReusePacket):
        """``(outputs, PacketCycles)`` of a reuse packet, or ``([], None)`` when it is dropped."""
        if self.error(packet):
            return [], None
        p = self.maps[packet.head]
        return reuse_int(p, tensor(packet.v), self.cfg).tolist(), reuse_cycles(self.cfg, p.shape[-1], p.shape[-2])


def random_values(cfg: ReuseConfig, rng: random.Random, n: int) -> list[list[int]]:
    fmt = cfg.formats
    return [[rng.randint(fmt.data_min, fmt.data_max) for _ in range(cfg.head_dim)] for _ in range(n)]
