"""Configuration of the CTA (compressed token attention) engine."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import AttentionConfig, ConfigError, param

__all__ = ["CtaConfig", "COMPRESS"]

COMPRESS = ("keys", "queries", "both")


@dataclass(frozen=True)
class CtaConfig(AttentionConfig):
    """CTA engine: the common datapath plus token clustering (ALGORITHMS.md, CTA).

    ``compress`` names the sides that are clustered; ``hash_bits`` (H) and ``seed`` define the
    sign-random-projection hasher; ``max_clusters`` (C) bounds the clusters per side."""

    compress: str = param("both", choices=COMPRESS, help="sides that are clustered: keys (with values), queries, both")
    hash_bits: int = param(8, min=1, max=62, help="hash bits H of the sign-random-projection hasher")
    max_clusters: int = param(32, min=1, max=4096, help="max clusters C per side (<= max_tokens)")
    seed: int = param(1, min=0, max=0xFFFF_FFFF, help="hasher projection seed (xorshift32)")

    def check(self):
        super().check()
        if self.max_clusters > self.max_tokens:
            raise ConfigError(f"max_clusters={self.max_clusters} exceeds max_tokens={self.max_tokens}: "
                              f"allowed 1 to {self.max_tokens}.")

    @property
    def keys_compressed(self) -> bool:
        return self.compress in ("keys", "both")

    @property
    def queries_compressed(self) -> bool:
        return self.compress in ("queries", "both")
