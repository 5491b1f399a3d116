"""Stream payload layouts of the attention datapath, derived from a config's formats.

Amaranth streams have no framing, so every packet carries ``last`` in its payload:

* token streams (K, V, outputs): one token per beat, ``last`` on the packet's final token;
* query stream: a token plus the softmax ``scale`` register for that row;
* score / probability streams: one element per beat, ``last`` on a row's final element and
  ``last_row`` on every element of the packet's final row; ``index`` names the key (the value
  row the weighted-sum stage multiplies by).
"""

from amaranth import signed, unsigned
from amaranth.lib import data

__all__ = ["token_layout", "key_layout", "query_layout", "score_layout", "prob_layout", "output_layout"]


def _vector(fmt, head_dim, bits=None):
    return data.ArrayLayout(signed(bits or fmt.data_bits), head_dim)


def token_layout(cfg) -> data.StructLayout:
    """``data`` (d signed elements), ``last``."""
    return data.StructLayout({"data": _vector(cfg.formats, cfg.head_dim), "last": 1})


def key_layout(cfg, *, bias=False) -> data.StructLayout:
    """A key token; with ``bias``, a per-key score bias in the base-2 domain (CTA's log2 n_c)."""
    fields = {"data": _vector(cfg.formats, cfg.head_dim), "last": 1}
    if bias:
        fields["bias"] = signed(cfg.formats.bias_bits)
    return data.StructLayout(fields)


def query_layout(cfg) -> data.StructLayout:
    """``data``, ``scale`` (the softmax scale register for this row), ``last``."""
    fmt = cfg.formats
    return data.StructLayout({"data": _vector(fmt, cfg.head_dim), "scale": unsigned(fmt.scale_bits), "last": 1})


def score_layout(cfg, *, bias=False) -> data.StructLayout:
    """``score`` (exact dot product), ``index``, ``scale``, [``bias``], ``last``, ``last_row``."""
    fmt = cfg.formats
    fields = {"score": signed(fmt.score_bits), "index": unsigned(fmt.index_bits),
              "scale": unsigned(fmt.scale_bits)}
    if bias:
        fields["bias"] = signed(fmt.bias_bits)
    fields.update(last=1, last_row=1)
    return data.StructLayout(fields)


def prob_layout(cfg) -> data.StructLayout:
    """``p`` (probability, P fraction bits), ``index``, ``last``, ``last_row``."""
    fmt = cfg.formats
    return data.StructLayout({"p": unsigned(fmt.prob_bits), "index": unsigned(fmt.index_bits),
                              "last": 1, "last_row": 1})


def output_layout(cfg) -> data.StructLayout:
    """``data`` (d signed elements of out_bits), ``last``."""
    fmt = cfg.formats
    return data.StructLayout({"data": _vector(fmt, cfg.head_dim, fmt.out_bits), "last": 1})
