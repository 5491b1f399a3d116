"""What every adapter and the orchestration share: presets, points, workloads, the jobs the
process pool runs (MiniLM embeddings, RTL measurements) and the aggregation of counters.

Members: :class:`Preset`, :data:`PRESETS`, :class:`Point`, :class:`Measured`,
:class:`Workload`, :func:`ensure_impl`, :func:`stream_bytes`, :func:`read_sentences`,
:func:`capture_key`, :func:`pick_rtl_sentences`, :func:`worker_init`, :func:`job_embed`,
:func:`job_measure`, :func:`job_fidelity`, :func:`summarize`, :data:`HEADS`, :data:`LAYERS`;
for adapters: :func:`cached` (a JSON/pickle result computed once per key, shared between
jobs), :func:`read_requests` and :func:`request_fidelity` (techniques measured on their own
in-order request stream, e.g. MEMO), :func:`dense_baseline` (the dense unit's cycles and
streamed bytes of a packet, for packets the dense unit does not replay, or a unit built for
another N), :func:`fit_tokens` (a small N for short packets).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import pickle
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = ROOT / "scripts" / "data" / "sentences.txt"
#: MEMO's recurring-request workload (scripts/bench_memo.py), replayed in file order.
REQUESTS = ROOT / "scripts" / "data" / "memo_requests.txt"
CACHE = ROOT / "build" / "bench" / "cache"
#: What an RTL measurement's unit ``workload`` test checked (it fails the run otherwise).
CHECKED = "every output exact against the golden integer model (the unit's cocotb workload test)"

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
    ``description``; ``requests`` (techniques that replay MEMO's request stream in order: its
    first N requests, None = all; they replay ``heads`` too)."""

    name: str
    fidelity_sentences: int | None
    rtl_sentences: int
    heads: tuple[int, ...]
    max_tokens: int
    description: str
    requests: int | None = None


PRESETS = {
    "ci": Preset("ci", 6, 6, (0,), 128, "each technique's default config on 6 sentences, head 0: seconds, "
                                       "make test runs it", requests=8),
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
    any unit-specific counters; ``baseline_cycles`` / ``baseline_bytes`` when the dense
    baseline of a packet is not the dense unit's replay of the same packet, ``mac_cycles``
    None when not counted), ``bytes_source`` (what ``bytes`` counts), ``source`` (``rtl``:
    the unit's counters on Verilator; ``cycle-model``: golden cycle models, no RTL),
    ``baseline`` (what "vs dense" divides by, when not the dense unit's replay), ``workload``
    (what the packets are, when not the captured sentences), ``checked`` (how the outputs were
    checked; None for cycle models)."""

    unit: str
    config: dict
    arrays: int
    packets: list
    bytes_source: str
    source: str = "rtl"
    baseline: str | None = None
    workload: str | None = None
    checked: str | None = None

    def __post_init__(self):
        if self.checked is None and self.source == "rtl":
            self.checked = CHECKED


@dataclass(frozen=True)
class Workload:
    """Captured MiniLM Q/K/V to replay. Members: ``directory`` (golden.workloads format),
    ``sentences`` (sentence ids to replay), ``heads``, ``layers``, ``max_tokens``, ``preset``
    (its name: adapters with their own workload read e.g. its ``requests``),
    :meth:`packets`."""

    directory: str
    sentences: tuple[int, ...]
    heads: tuple[int, ...]
    layers: int = LAYERS
    max_tokens: int = 128
    preset: str = "ci"

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


def dense_baseline(n: int, max_tokens: int) -> dict:
    """The dense unit with the default config's lanes (benchlib.dense) at N = ``max_tokens``
    (the technique's unit's N: the pipeline depth depends on it) on one n-token packet: its
    cycle model (equal to the RTL's perf.cycles, checked on every packet of the bench's dense
    replay and by verif/dense) and the Q, K, V bytes streamed in, as ``baseline_cycles`` /
    ``baseline_bytes`` packet fields."""
    from golden.dense import DenseConfig
    from golden.dense.cycles import dense_cycles
    from .dense import DEFAULT_LANES
    cfg = DenseConfig(max_tokens=max_tokens, lanes=DEFAULT_LANES)
    return {"baseline_cycles": dense_cycles(cfg, n, n).cycles, "baseline_bytes": stream_bytes(cfg, n, 3)}


def fit_tokens(lengths, cap: int | None = None) -> int:
    """N for a unit that replays packets of ``lengths`` tokens: the smallest power of two (at
    least 16) that holds them, at most ``cap`` (small builds for short workloads: the ci
    preset's sentences and MEMO's requests are 8-14 tokens)."""
    n = 16
    while n < max(lengths):
        n *= 2
    return n if cap is None else min(n, max(cap, max(lengths)))


def cached(kind: str, key, compute, fmt: str = "json"):
    """``compute()`` once per ``(kind, key)`` (key: anything JSON-able; the golden/hw sources
    are part of it): the result is stored under build/bench/cache/ and read back by later
    calls, in this run's other jobs or later runs; concurrent callers wait for the first."""
    from verif.runner import source_hash
    digest = hashlib.sha256(json.dumps({"key": key, "sources": source_hash()}, sort_keys=True,
                                       default=str).encode()).hexdigest()[:16]
    path = CACHE / kind / f"{digest}.{fmt}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return json.loads(path.read_text()) if fmt == "json" else pickle.loads(path.read_bytes())
        value = compute()
        tmp = path.with_suffix(".tmp")
        if fmt == "json":
            tmp.write_text(json.dumps(value))
        else:
            tmp.write_bytes(pickle.dumps(value))
        tmp.replace(path)
    return value


def read_requests(preset) -> list[str]:
    """The preset's prefix of MEMO's request stream (scripts/data/memo_requests.txt)."""
    return read_sentences(REQUESTS, preset.requests)


def request_reference(preset):
    """``exact``'s embeddings of the preset's requests, each request alone in file order
    (computed once, cached), as a tensor."""
    import torch
    texts = read_requests(preset)

    def exact():
        from bench_memo import embed_each
        from golden import hf
        hf.discover()
        tokenizer, model = hf.load_minilm(REFERENCE)
        return embed_each(model, tokenizer, texts).tolist()
    return torch.tensor(cached("exact-requests", texts, exact))


def request_fidelity(preset, embeddings) -> dict:
    """Fidelity (as :func:`evaluate.compare`) of embeddings of the preset's requests against
    :func:`request_reference`, with a ``set`` note naming the requests."""
    import torch
    from evaluate import compare
    count = len(read_requests(preset))
    return {**compare(request_reference(preset), torch.as_tensor(embeddings)),
            "set": f"{REQUESTS.relative_to(ROOT)}{'' if preset.requests is None else f' (first {count})'}, "
                   f"one request per forward pass, in order"}


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


def job_fidelity(technique: str, point: Point, preset) -> dict:
    """Fidelity measured by the adapter itself (``fidelity(point, preset)``: techniques whose
    fidelity is not embeddings of the sentence set, e.g. MEMO's in-order request stream)."""
    from golden import hf
    hf.discover()
    from benchlib import adapter
    start = time.perf_counter()
    return {**adapter(technique).fidelity(point, preset), "seconds": time.perf_counter() - start}


# ----------------------------------------------------------------------------- aggregation


def summarize(measured: dict, dense: dict | None) -> dict:
    """Totals of a measurement: cycles, MAC utilization, bytes, per model pass (a sentence's
    packets scaled from the heads they cover to all 12 heads, averaged over sentences), and
    the ratios against the dense baseline: the packets' own ``baseline_cycles`` /
    ``baseline_bytes`` when they have them, else ``dense`` (the dense unit's measurement) over
    the same packets."""
    packets = measured["packets"]
    cycles = sum(p["cycles"] for p in packets)
    macs = None if any(p.get("mac_cycles") is None for p in packets) else sum(p["mac_cycles"] for p in packets)
    nbytes = sum(p["bytes"] for p in packets)
    sentences = sorted({p["sentence"] for p in packets})
    scale = HEADS / len({p["head"] for p in packets})
    out = {
        "packets": len(packets),
        "sentences": len(sentences),
        "cycles": cycles,
        "cycles_per_pass": cycles * scale / len(sentences),
        "mac_utilization": macs / (measured["arrays"] * cycles) if cycles and macs is not None else None,
        "bytes": nbytes,
        "bytes_per_pass": nbytes * scale / len(sentences),
        "bytes_source": measured["bytes_source"],
        "source": measured.get("source", "rtl"),
        "baseline": measured.get("baseline"),
        "workload": measured.get("workload"),
        "checked": measured.get("checked"),
        "arrays": measured["arrays"],
        "cycle_ratio": None,
        "bytes_ratio": None,
        "seconds": round(measured.get("seconds", 0.0), 2),
    }
    base = {(p["sentence"], p["layer"], p["head"]): p for p in dense["packets"]} if dense is not None else {}
    keys = [(p["sentence"], p["layer"], p["head"]) for p in packets]
    for field_, total, ratio in (("cycles", cycles, "cycle_ratio"), ("bytes", nbytes, "bytes_ratio")):
        if all(f"baseline_{field_}" in p for p in packets):
            ref = sum(p[f"baseline_{field_}"] for p in packets)
        elif all(k in base for k in keys):
            ref = sum(base[k][field_] for k in keys)
        else:
            continue
        out[ratio] = total / ref if ref else None
    return out

