"""Frozen, self-validating configuration dataclasses.

Every unit has one config dataclass; the Amaranth component, the golden models and the
testbench all take the same object. Each field declares its range and help text once, with
:func:`param`; validation, the ``gen`` command line and error messages are derived from that.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["ConfigError", "param", "BaseConfig", "AttentionConfig", "clog2"]


class ConfigError(ValueError):
    """An invalid configuration: the message is one sentence naming the field, value and range."""


def clog2(n: int) -> int:
    """Bits needed to count ``n`` distinct values (0 for n <= 1)."""
    return max(0, (n - 1).bit_length())


def param(default, *, help: str, min=None, max=None, choices=None, power_of_two=False):
    """A config field with its allowed range and a one-line help text."""
    return field(default=default, metadata={
        "help": help, "min": min, "max": max, "choices": choices, "power_of_two": power_of_two})


@dataclass(frozen=True)
class BaseConfig:
    """Base for unit configs: range checks from field metadata, plus :meth:`check` for
    cross-field rules. Subclasses override :meth:`check` and call ``super().check()``."""

    def __post_init__(self):
        for f in fields(self):
            self._check_field(f, getattr(self, f.name))
        self.check()

    def _check_field(self, f: dataclasses.Field, value: Any):
        meta = f.metadata
        kind = self.field_types()[f.name]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(f"{f.name} must be an integer, got {value!r}.")
        if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"{f.name} must be a number, got {value!r}.")
        if kind is bool and not isinstance(value, bool):
            raise ConfigError(f"{f.name} must be true or false, got {value!r}.")
        lo, hi = meta.get("min"), meta.get("max")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ConfigError(f"{f.name}={value} is out of range: allowed {self._range_text(f)}.")
        if meta.get("choices") is not None and value not in meta["choices"]:
            allowed = ", ".join(str(c) for c in meta["choices"])
            raise ConfigError(f"{f.name}={value!r} is not allowed: choose one of {allowed}.")
        if meta.get("power_of_two") and (value < 1 or value & (value - 1)):
            raise ConfigError(f"{f.name}={value} must be a power of two.")

    @staticmethod
    def _range_text(f: dataclasses.Field) -> str:
        lo, hi = f.metadata.get("min"), f.metadata.get("max")
        if lo is not None and hi is not None:
            return f"{lo} to {hi}"
        return f">= {lo}" if lo is not None else f"<= {hi}"

    def check(self):
        """Cross-field rules; raise :class:`ConfigError` with one sentence."""

    @classmethod
    def field_types(cls) -> dict[str, type]:
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in fields(cls)}

    @classmethod
    def field_help(cls) -> dict[str, str]:
        out = {}
        for f in fields(cls):
            text = f.metadata.get("help", "")
            if f.metadata.get("min") is not None or f.metadata.get("max") is not None:
                text += f" ({cls._range_text(f)})"
            if f.metadata.get("choices") is not None:
                text += " (one of " + ", ".join(map(str, f.metadata["choices"])) + ")"
            out[f.name] = text
        return out

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        """Build from a mapping (e.g. a JSON config file); unknown keys are an error."""
        if not isinstance(values, dict):
            raise ConfigError(f"a {cls.__name__} must be a JSON object of field values, got {type(values).__name__}.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{unknown[0]} is not a field of {cls.__name__}; fields are: {', '.join(sorted(known))}.")
        return cls(**values)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    @property
    def key(self) -> str:
        """Stable short hash of the config, used to name build directories."""
        import hashlib
        text = json.dumps({"class": type(self).__name__, **self.to_dict()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    @property
    def label(self) -> str:
        """Compact human-readable summary for tables."""
        return " ".join(f"{k}={v}" for k, v in self.to_dict().items())


@dataclass(frozen=True)
class AttentionConfig(BaseConfig):
    """The datapath every attention unit shares: formats and sizes of the score, softmax and
    weighted-sum stages. Technique configs extend it with their own fields."""

    head_dim: int = param(32, min=1, max=1024, help="head dimension d (elements per token)")
    max_tokens: int = param(128, min=1, max=4096, help="largest sequence length N the buffers hold")
    lanes: int = param(16, min=1, max=1024, help="MAC lanes L per stage (must divide head_dim)")
    data_width: int = param(8, min=2, max=16, help="bits of Q, K, V and output elements (signed)")
    exp_lut_bits: int = param(8, min=2, max=12,
                              help="fraction bits of the base-2 softmax exponent (exp2 LUT has 2^bits entries)")
    prob_frac_bits: int = param(15, min=4, max=20, help="fraction bits of probabilities and exp values")
    out_frac_bits: int = param(0, min=0, max=8, help="extra fraction bits in outputs, beyond the V format")

    def check(self):
        super().check()
        if self.head_dim % self.lanes:
            raise ConfigError(
                f"lanes={self.lanes} does not fit head_dim={self.head_dim}: lanes must divide head_dim.")
        if self.out_frac_bits >= self.prob_frac_bits:
            raise ConfigError(
                f"out_frac_bits={self.out_frac_bits} must be below prob_frac_bits={self.prob_frac_bits}.")

    @property
    def chunks(self) -> int:
        """Cycles one L-lane stage spends on one d-element dot product (d / L)."""
        return self.head_dim // self.lanes

    @property
    def formats(self):
        from .numerics import Formats
        return Formats.of(self)
