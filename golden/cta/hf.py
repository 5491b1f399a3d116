"""CTA attention implementations for Hugging Face models (see :mod:`golden.hf`).

Members:

- ``cta``: the float CTA model (:func:`golden.cta.cta_float`) with :data:`HF_CONFIG`.
- ``cta-int8``: the bit-exact engine through :func:`golden.cta.cta_quantized` with :data:`HF_CONFIG`.
- :func:`attention_fn`: an implementation for any config; :func:`register_config` registers one
  under a name (sweeps use it).
- ``cta-kmeans-r<ratio>``: not the engine: float CTA with k-means clusters, ``ceil(n / ratio)``
  per side (golden/cta/oracle.py), a reference: what a distance-based clustering keeps;
  :data:`KMEANS_RATIOS`, :func:`kmeans_name`.
- :data:`HF_CONFIG`: ALGORITHMS.md's defaults (compress both, H=8, C=32) at MiniLM's head_dim 32
  and N=512 (the dense unit's, so the integer formats match).
"""

from __future__ import annotations

from functools import partial

from ..hf import register_attention
from .config import CtaConfig
from .model import cta_float, cta_quantized
from .oracle import kmeans_attention

__all__ = ["HF_CONFIG", "KMEANS_RATIOS", "attention_fn", "register_config", "kmeans_name"]

HF_CONFIG = CtaConfig(head_dim=32, max_tokens=512, data_width=8)
#: Tokens per cluster of the k-means references (``cta-kmeans-r<ratio>``).
KMEANS_RATIOS = (1.25, 1.5, 2, 3)


def kmeans_name(ratio: float) -> str:
    return f"cta-kmeans-r{ratio:g}"


def attention_fn(cfg: CtaConfig, integer: bool, name: str = "cta"):
    """``fn(q, k, v, key_mask, softmax_scale, ctx)`` running CTA with ``cfg`` (float model, or the
    bit-exact integer model when ``integer``)."""

    def fn(q, k, v, key_mask, softmax_scale, ctx):
        n, d = k.shape[-2], q.shape[-1]
        if d != cfg.head_dim:
            raise ValueError(f"{name} is configured for head_dim={cfg.head_dim}, the model has {d}.")
        if n > cfg.max_tokens:
            raise ValueError(f"{name} holds at most max_tokens={cfg.max_tokens} tokens, got a sequence of {n}.")
        if not integer:
            return cta_float(q, k, v, cfg, key_mask=key_mask, softmax_scale=softmax_scale)
        out, ints = cta_quantized(q, k, v, cfg, key_mask=key_mask, softmax_scale=softmax_scale)
        ctx.record["ints"] = ints
        ctx.record["config"] = cfg
        return out

    kind = "bit-exact int8 engine" if integer else "float model"
    fn.__doc__ = (f"CTA {kind}: compress={cfg.compress} H={cfg.hash_bits} C={cfg.max_clusters} "
                  f"seed={cfg.seed}")
    return fn


def register_config(name: str, cfg: CtaConfig, integer: bool) -> str:
    register_attention(name, attention_fn(cfg, integer, name))
    return name


register_config("cta", HF_CONFIG, integer=False)
register_config("cta-int8", HF_CONFIG, integer=True)
for _r in KMEANS_RATIOS:
    register_attention(kmeans_name(_r), partial(kmeans_attention, ratio=_r),
                       description=f"not the engine: float CTA with k-means clusters, ceil(n / {_r:g}) per side "
                                   "(golden/cta/oracle.py)")
