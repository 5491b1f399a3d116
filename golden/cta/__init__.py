"""CTA: token clustering and compressed attention (config, float/integer models, cycle model)."""

from .config import COMPRESS, CtaConfig
from .model import Clusters, cluster_ids, cluster_tokens, cta_float, cta_int, cta_quantized, log2_bias

__all__ = ["COMPRESS", "CtaConfig", "Clusters", "cluster_ids", "cluster_tokens", "cta_float", "cta_int",
           "cta_quantized", "log2_bias"]
