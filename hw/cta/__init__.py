"""CTA: token clustering unit, compressed attention engine, scatter stage."""

from golden.cta import CtaConfig

from ..units import Unit
from .cluster import Clusterer
from .cta import Cta
from .scatter import Scatter

__all__ = ["Cta", "Clusterer", "Scatter", "UNITS"]

UNITS = [Unit(name="cta", config=CtaConfig, component=Cta,
              summary="CTA: token clustering, compressed attention between centroids, scatter")]
UNITS.append(Unit(name="cta_cluster", config=CtaConfig,
                  component=lambda *, config: Clusterer(config=config, values=True),
                  summary="CTA token clustering unit alone (keys with values): hash, cluster table, centroids"))
