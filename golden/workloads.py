"""Workloads: the integer Q, K, V a unit saw while a real model ran, one file per sentence,
to replay on the RTL (cycle counts, bit-exact checks) later.

Format of a workload directory (written by :class:`WorkloadRecorder`, e.g. through
``scripts/evaluate.py --dump-workloads DIR``):

``DIR/sNNNN.npz`` (NNNN = sentence index in the input file, from 0; ``numpy.savez``, no pickles)

=========  ===========================  =====================================================
array      dtype, shape                 meaning
=========  ===========================  =====================================================
``q``      int8 [layers, heads, n, d]   quantized queries, the n real tokens only (no padding)
``k``      int8 [layers, heads, n, d]   quantized keys
``v``      int8 [layers, heads, n, d]   quantized values
``out``    int8 [layers, heads, n, d]   the golden integer outputs (int16 when the config's
                                        output format is wider than 8 bits)
``scale``  int64 [layers, heads]        softmax scale register c (the same for every row of
                                        a head)
``n``      int64 scalar                 number of tokens
``text``   str scalar                   the sentence
=========  ===========================  =====================================================

``DIR/manifest.json``: ``format`` (:data:`FORMAT`), ``model``, ``implementation``,
``config_class`` and ``config`` (the unit config's fields: rebuild the RTL with it, since the
integers depend on e.g. max_tokens), ``layers``, ``heads``, ``head_dim``, ``sentences``,
``files`` and ``token_lengths`` (in sentence order).

Members: :data:`FORMAT`, :func:`save_workload`, :func:`load_workload`, :func:`load_manifest`,
:class:`WorkloadRecorder`.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FORMAT", "save_workload", "load_workload", "load_manifest", "WorkloadRecorder"]

FORMAT = "attnforge-workload-1"
_TOKEN_ARRAYS = ("q", "k", "v", "out")


def _out_dtype(out_bits: int):
    return np.int8 if out_bits <= 8 else np.int16


def save_workload(path, q, k, v, out, scale, text: str) -> None:
    """Write one workload file (arrays as in the module docstring; ``n`` is taken from q)."""
    n = np.int64(np.asarray(q).shape[2])
    np.savez(path, q=np.asarray(q, np.int8), k=np.asarray(k, np.int8), v=np.asarray(v, np.int8),
             out=np.asarray(out), scale=np.asarray(scale, np.int64), n=n, text=np.array(text))


def load_workload(path) -> dict[str, Any]:
    """Read and validate one ``sNNNN.npz``. Returns a dict with numpy arrays ``q``, ``k``,
    ``v``, ``out``, ``scale``, int ``n`` and str ``text``. A malformed file raises
    ``ValueError`` with one sentence saying what is wrong."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except FileNotFoundError:
        raise ValueError(f"workload file {path} does not exist.") from None
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(f"workload file {path} is not a readable .npz file ({e}).") from None
    missing = [name for name in (*_TOKEN_ARRAYS, "scale", "n", "text") if name not in arrays]
    if missing:
        raise ValueError(f"workload file {path} lacks the array(s) {', '.join(missing)}.")
    q = arrays["q"]
    if q.ndim != 4:
        raise ValueError(f"workload file {path}: q must be [layers, heads, n, d], got shape {q.shape}.")
    for name in _TOKEN_ARRAYS:
        a = arrays[name]
        allowed = (np.int8, np.int16) if name == "out" else (np.int8,)
        if a.dtype not in allowed:
            raise ValueError(f"workload file {path}: {name} must be {' or '.join(np.dtype(t).name for t in allowed)}, "
                             f"got {a.dtype}.")
        if a.shape != q.shape:
            raise ValueError(f"workload file {path}: {name} has shape {a.shape}, q has {q.shape}.")
    scale, n, text = arrays["scale"], arrays["n"], arrays["text"]
    if scale.dtype != np.int64 or scale.shape != q.shape[:2]:
        raise ValueError(f"workload file {path}: scale must be int64 of shape {q.shape[:2]}, "
                         f"got {scale.dtype} {scale.shape}.")
    if n.shape != () or not np.issubdtype(n.dtype, np.integer) or int(n) != q.shape[2]:
        raise ValueError(f"workload file {path}: n must be an integer equal to the token count {q.shape[2]}, got {n!r}.")
    if text.shape != () or text.dtype.kind != "U":
        raise ValueError(f"workload file {path}: text must be one string, got {text.dtype} {text.shape}.")
    return {**{name: arrays[name] for name in _TOKEN_ARRAYS}, "scale": scale, "n": int(n), "text": str(text)}


def load_manifest(directory) -> dict[str, Any]:
    """Read ``DIR/manifest.json``; raises ``ValueError`` when it is missing or not a workload manifest."""
    path = Path(directory) / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist.") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{path} is not an {FORMAT} manifest.")
    return manifest


class WorkloadRecorder:
    """A :mod:`golden.hf` tap that writes workload files for the implementation ``impl``.

    The implementation must leave ``ints`` (q, k, v, scale, out as from
    :func:`golden.dense.dense_quantized`) and ``config`` in ``ctx.record``, as ``dense-int8`` does.
    Add it with ``session.add_tap(recorder)``; run the model through :func:`golden.hf.embed`
    (which annotates each forward with sentence ids and texts); then call :meth:`finish`.
    Members: ``directory``, ``impl``, ``lengths`` (sentence id -> tokens), :meth:`finish`."""

    def __init__(self, directory, impl: str):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.impl = impl
        self.lengths: dict[int, int] = {}
        self._config = None
        self._heads = self._head_dim = self._layers = 0
        self._run_index = -1
        self._per_layer: dict[int, dict[str, np.ndarray]] = {}

    def __call__(self, ctx, tensors: dict[str, Any]) -> None:
        if ctx.impl != self.impl:
            return
        if "ints" not in tensors:
            raise ValueError(f"implementation {self.impl!r} records no integer tensors to dump.")
        if ctx.run.index != self._run_index:
            self._run_index, self._per_layer = ctx.run.index, {}
        cfg = tensors["config"]
        ints = tensors["ints"]
        self._config = cfg
        out_dtype = _out_dtype(cfg.data_width + cfg.out_frac_bits)
        # Narrow at once: a batch's six layers of int64 tensors would be 8x larger.
        self._per_layer[ctx.layer_idx] = {
            "q": ints["q"].numpy().astype(np.int8), "k": ints["k"].numpy().astype(np.int8),
            "v": ints["v"].numpy().astype(np.int8), "out": ints["out"].numpy().astype(out_dtype),
            "scale": ints["scale"][..., 0].numpy().astype(np.int64),
            "key_mask": None if tensors["key_mask"] is None else tensors["key_mask"][:, 0].numpy(),
        }
        if ctx.layer_idx == ctx.num_layers - 1:
            self._flush(ctx)

    def _flush(self, ctx) -> None:
        if sorted(self._per_layer) != list(range(ctx.num_layers)):
            raise ValueError(f"workload recorder saw layers {sorted(self._per_layer)} of {ctx.num_layers} in one run.")
        info = ctx.run.info
        if "sentence_ids" not in info or "texts" not in info:
            raise ValueError("workload recorder needs runs annotated with sentence_ids and texts "
                             "(run the model through golden.hf.embed).")
        layers = [self._per_layer[i] for i in range(ctx.num_layers)]
        stacked = {name: np.stack([layer[name] for layer in layers], axis=1)
                   for name in (*_TOKEN_ARRAYS, "scale")}  # [batch, layers, heads, ...]
        _, self._layers, self._heads, _, self._head_dim = stacked["q"].shape
        key_mask = layers[0]["key_mask"]
        for row, (sid, text) in enumerate(zip(info["sentence_ids"], info["texts"])):
            real = slice(None) if key_mask is None else np.flatnonzero(key_mask[row])
            tokens = {name: stacked[name][row][:, :, real] for name in _TOKEN_ARRAYS}
            save_workload(self.directory / f"s{sid:04d}.npz", scale=stacked["scale"][row], text=text, **tokens)
            self.lengths[sid] = tokens["q"].shape[2]
        self._per_layer = {}

    def finish(self, model_name: str) -> dict[str, Any]:
        """Write ``manifest.json`` for the sentences recorded so far and return it. Workload
        files an earlier dump left in the directory (``s*.npz`` not written now) are removed."""
        if self._config is None:
            raise ValueError(f"no attention call of {self.impl!r} was recorded.")
        ids = sorted(self.lengths)
        files = {f"s{i:04d}.npz" for i in ids}
        for stale in self.directory.glob("s[0-9]*.npz"):  # from an earlier, larger dump
            if stale.name not in files:
                stale.unlink()
        manifest = {
            "format": FORMAT, "model": model_name, "implementation": self.impl,
            "config_class": type(self._config).__name__, "config": self._config.to_dict(),
            "layers": self._layers, "heads": self._heads, "head_dim": self._head_dim,
            "sentences": len(ids), "files": [f"s{i:04d}.npz" for i in ids],
            "token_lengths": [self.lengths[i] for i in ids],
        }
        (self.directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        return manifest
