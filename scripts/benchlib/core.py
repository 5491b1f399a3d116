"""What every adapter and the orchestration share: presets, points, workloads, the jobs the
process pool runs (MiniLM embeddings, RTL measurements) and the aggregation of counters.

Members: :class:`Preset`, :data:`PRESETS`, :class:`Point`, :class:`Measured`,
:class:`Workload`, :func:`ensure_impl`, :func:`stream_bytes`, :func:`read_sentences`,
:func:`capture_key`, :func:`pick_rtl_sentences`, :func:`worker_init`, :func:`job_embed`,
:func:`job_measure`, :func:`summarize`, :data:`HEADS`, :data:`LAYERS`.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = ROOT / "scripts" / "data" / "sentences.txt"

#: all-MiniLM-L6-v2: layers and heads of one model pass.
LAYERS = 6
HEADS = 12
#: The float reference fidelity is measured against.
REFERENCE = "exact"


@dataclass(frozen=True)
class Preset:
    """How much to measure. Members: ``name``; ``fidelity_sentences`` (the first N sentences of
    scripts/data/sentences.txt, None = all); ``rtl_sentences`` (replayed on the RTL, spread
    evenly over the lengths of the fidelity sentences that fit ``max_tokens``); ``heads``
    (heads replayed per layer; a head's cycles depend only on n and the technique's state, so
    a model pass is scaled from them to 12 heads); ``max_tokens`` (N of every RTL config);
    ``description``."""

    name: str
    fidelity_sentences: int | None
    rtl_sentences: int
    heads: tuple[int, ...]
    max_tokens: int
    description: str


PRESETS = {
    "ci": Preset("ci", 6, 6, (0,), 128, "each technique's default config on 6 sentences, head 0: seconds, "
                                       "make test runs it"),
    "default": Preset("default", None, 8, (0,), 128, "default config and the main knobs of each technique; "
                                                     "fidelity on all sentences, RTL on 8 sentences, head 0"),
    "full": Preset("full", None, 16, (0, 1), 256, "the default sweep plus lanes and finer knobs; RTL on 16 "
                                                  "sentences up to 256 tokens, heads 0 and 1 (manual, long)"),
}


@dataclass(frozen=True)
class Point:
    """One config of one technique. Members: ``technique``, ``name`` (unique within the
    technique, e.g. ``pairs`` or ``L=8``), ``knobs`` (knob -> value, for tables and plots),
    ``default`` (the technique's default config: the headline row), ``params`` (whatever the
    adapter needs to rebuild the config in a worker; JSON-able)."""

    technique: str
    name: str
    knobs: dict = field(default_factory=dict)
    default: bool = False
    params: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.technique}/{self.name}"


@dataclass
class Measured:
    """An RTL measurement. Members: ``unit``, ``config`` (the unit config's fields),
    ``arrays`` (multiplier arrays of ``lanes`` lanes that ``mac_cycles`` counts over),
    ``packets`` (one dict per packet: sentence, layer, head, n, cycles, mac_cycles, bytes and
    any unit-specific counters), ``bytes_source`` (what ``bytes`` counts)."""

    unit: str
    config: dict
    arrays: int
    packets: list
    bytes_source: str


@dataclass(frozen=True)
class Workload:
    """Captured MiniLM Q/K/V to replay. Members: ``directory`` (golden.workloads format),
    ``sentences`` (sentence ids to replay), ``heads``, ``layers``, ``max_tokens``,
    :meth:`packets`."""

    directory: str
    sentences: tuple[int, ...]
    heads: tuple[int, ...]
    layers: int = LAYERS
    max_tokens: int = 128

    def packets(self, blocks=None) -> list:
        """The (sentence, layer, head) packets, ordered (sentence, block, head, layer in block);
        ``blocks`` (default: each layer alone) are layer tuples, e.g. map-reuse groups, so a
        one-region buffer always holds the state a packet of the same head needs."""
        from golden.workloads import load_workload
        from verif.workloads import WorkloadPacket
        blocks = [tuple(b) for b in (blocks or [(layer,) for layer in range(self.layers)])]
        covered = {layer for b in blocks for layer in b}
        blocks += [(layer,) for layer in range(self.layers) if layer not in covered]
        out = []
        for sid in self.sentences:
            w = load_workload(Path(self.directory) / f"s{sid:04d}.npz")
            for block in blocks:
                for head in self.heads:
                    for layer in block:
                        out.append(WorkloadPacket(sentence=sid, layer=layer, head=head, n=int(w["n"]),
                                                  q=w["q"][layer, head].tolist(), k=w["k"][layer, head].tolist(),
                                                  v=w["v"][layer, head].tolist(),
                                                  scale=int(w["scale"][layer, head])))
        return out


def ensure_impl(name: str, fn, description: str) -> str:
    """Register golden implementation ``name`` unless it exists (adapters call this from
    ``fidelity_impl`` for sweep points that golden/<t>/hf.py does not register)."""
    from golden import hf
    if name not in hf.implementations():
        hf.register_attention(name, fn, description=description)
    return name


def stream_bytes(cfg, n: int, tensors: int) -> int:
    """Bytes of ``tensors`` n x d operands streamed into a unit of config ``cfg``."""
    return tensors * n * cfg.head_dim * ((cfg.data_width + 7) // 8)


def read_sentences(path: Path = SENTENCES, limit: int | None = None) -> list[str]:
    lines = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line][:limit]


def capture_key(sentences: list[str], max_length: int) -> str:
    """Names a workload capture: the sentences, max_length and the golden/hw sources."""
    from verif.runner import source_hash
    text = json.dumps({"sentences": sentences, "max_length": max_length, "sources": source_hash()})
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def pick_rtl_sentences(lengths: list[int], count: int, max_tokens: int) -> list[int]:
    """``count`` sentence ids spread evenly over the length-sorted sentences of at most
    ``max_tokens`` tokens (all of them when there are no more than ``count``)."""
    ids = sorted((n, i) for i, n in enumerate(lengths) if n <= max_tokens)
    if len(ids) <= count:
        return sorted(i for _, i in ids)
    picks = [ids[round(k * (len(ids) - 1) / max(count - 1, 1))][1] for k in range(count)]
    return sorted(set(picks))


# ----------------------------------------------------------------------------- pool jobs


def worker_init(threads: int) -> None:
    """Process-pool initializer: torch threads per worker (the pool already uses the cores)."""
    import torch
    torch.set_num_threads(max(1, threads))


def job_embed(impl: str, technique: str | None, point: Point | None, sentences: list[str], max_length: int,
              capture_dir: str | None = None) -> dict:
    """MiniLM sentence embeddings with golden implementation ``impl`` (registered by the
    technique's adapter for ``point`` if it is not a stock one); records the dense-int8
    workloads into ``capture_dir`` when given. Returns embeddings (list of lists) and seconds."""
    from golden import hf
    hf.discover()
    if technique is not None and point is not None:
        from benchlib import adapter
        adapter(technique).fidelity_impl(point)  # registers sweep implementations in this process
    start = time.perf_counter()
    tokenizer, model = hf.load_minilm(impl)
    recorder = None
    if capture_dir is not None:
        from golden.workloads import WorkloadRecorder
        recorder = WorkloadRecorder(capture_dir, impl)
        hf.session_of(model).add_tap(recorder)
    emb = hf.embed(model, tokenizer, sentences, max_length=max_length)
    if recorder is not None:
        recorder.finish(hf.MODEL_NAME)
    return {"embeddings": emb.tolist(), "seconds": time.perf_counter() - start}


def job_measure(technique: str, point: Point, workload: Workload, run_name: str) -> dict:
    """Run one point on the RTL through its adapter; returns :class:`Measured` as a dict."""
    from benchlib import adapter
    start = time.perf_counter()
    measured = adapter(technique).measure(point, workload, run_name)
    return {**asdict(measured), "seconds": time.perf_counter() - start}


# ----------------------------------------------------------------------------- aggregation


def summarize(measured: dict, dense: dict | None, heads: tuple[int, ...]) -> dict:
    """Totals of a measurement: cycles, MAC utilization, bytes, per model pass (a sentence's
    replayed packets scaled from ``heads`` to all 12 heads, averaged over sentences), and the
    ratios against ``dense`` (the dense baseline's measurement) over the same packets."""
    packets = measured["packets"]
    cycles = sum(p["cycles"] for p in packets)
    macs = sum(p["mac_cycles"] for p in packets)
    nbytes = sum(p["bytes"] for p in packets)
    sentences = sorted({p["sentence"] for p in packets})
    scale = HEADS / len(heads)
    out = {
        "packets": len(packets),
        "sentences": len(sentences),
        "cycles": cycles,
        "cycles_per_pass": cycles * scale / len(sentences),
        "mac_utilization": macs / (measured["arrays"] * cycles) if cycles else None,
        "bytes": nbytes,
        "bytes_per_pass": nbytes * scale / len(sentences),
        "bytes_source": measured["bytes_source"],
        "arrays": measured["arrays"],
        "cycle_ratio": None,
        "bytes_ratio": None,
        "seconds": round(measured.get("seconds", 0.0), 2),
    }
    if dense is not None:
        base = {(p["sentence"], p["layer"], p["head"]): p for p in dense["packets"]}
        keys = [(p["sentence"], p["layer"], p["head"]) for p in packets]
        if all(k in base for k in keys):
            out["cycle_ratio"] = cycles / sum(base[k]["cycles"] for k in keys)
            dense_bytes = sum(base[k]["bytes"] for k in keys)
            out["bytes_ratio"] = nbytes / dense_bytes if dense_bytes else None
    return out

