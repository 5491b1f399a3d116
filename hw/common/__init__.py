"""Stages shared by every attention unit: score, softmax, weighted sum, and their helpers."""

from .fifo import HeadRegisterFIFO
from .hasher import Hasher, hasher_input_layout, hasher_output_layout
from .layouts import key_layout, output_layout, prob_layout, query_layout, score_layout, token_layout
from .perf import PerfCounters, perf_layout, error_layout
from .score import Score
from .softmax import Softmax
from .streams import Fork, Select, SkidBuffer
from .unit import AttentionUnit
from .weighted_sum import WeightedSum

__all__ = ["AttentionUnit", "Fork", "Select", "SkidBuffer", "HeadRegisterFIFO", "Hasher",
           "hasher_input_layout", "hasher_output_layout", "Score", "Softmax", "WeightedSum",
           "PerfCounters", "perf_layout", "error_layout", "token_layout", "key_layout",
           "query_layout", "score_layout", "prob_layout", "output_layout"]

from golden.hashing import HasherConfig  # noqa: E402

from ..units import Unit  # noqa: E402

UNITS = [Unit(name="hasher", config=HasherConfig,
              component=lambda *, config: Hasher(dim=config.dim, data_width=config.data_width,
                                                  lanes=config.lanes, bits=config.bits, seed=config.seed),
              summary="sign-random-projection hasher (CTA clustering, MEMO signatures)")]

from golden.axi import AxiReaderConfig  # noqa: E402

from .axi import AxiReader, AxiReadSignature  # noqa: E402

UNITS.append(Unit(name="axi_reader", config=AxiReaderConfig,
                  component=lambda *, config: AxiReader(addr_width=config.addr_width, data_width=config.data_width,
                                                         max_burst=config.max_burst, outstanding=config.outstanding),
                  summary="AXI4 read manager: commands of consecutive words in, words out"))
