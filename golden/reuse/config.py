"""Configuration of the attention-map reuse unit."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..config import AttentionConfig, ConfigError, param

__all__ = ["ReuseConfig", "MAP_ENTRIES_LIMIT"]

#: Largest map buffer (probabilities over all heads) the generator accepts: the Verilog of an
#: Amaranth memory spells out every word's initial value, so 2^24 words is already ~400 MB.
MAP_ENTRIES_LIMIT = 1 << 24

DEFAULT_GROUPS = ((0, 1), (2, 3), (4, 5))


@dataclass(frozen=True)
class ReuseConfig(AttentionConfig):
    """Attention-map reuse unit: the common datapath plus a map buffer of ``heads`` maps of
    ``max_tokens^2`` probabilities, and the layer groups that share a map.

    ``groups`` only shapes how a model pass uses the unit (which layer computes, which reuse);
    the hardware takes the mode per packet. Lists given for it (JSON) become tuples."""

    heads: int = param(12, min=1, max=256,
                       help="attention maps the buffer holds, one per head (heads * max_tokens^2 probabilities)")
    ws_factor: int = param(2, min=1, max=64,
                           help="weighted-sum lanes as a multiple of lanes: in reuse mode the weighted sum alone "
                                "sets the pace, 2 makes a reused layer about twice as fast (L more multipliers)")
    groups: tuple[tuple[int, ...], ...] = param(
        DEFAULT_GROUPS, help="layer groups as JSON, e.g. [[0,1],[2,3],[4,5]]: the first layer of a group "
                             "computes the map, the others reuse it; a layer in no group computes its own")
    head_map: tuple[tuple[int, ...], ...] = param(
        (), help="head matching as JSON, indexed by layer: head_map[l][h] is the head of l's group leader "
                 "whose map head h of layer l reuses; [] (default) or an empty entry: the same head")

    def __post_init__(self):
        object.__setattr__(self, "groups", _normalize_groups(self.groups))
        object.__setattr__(self, "head_map", _normalize_head_map(self.head_map))
        super().__post_init__()

    def check(self):
        super().check()
        if self.head_dim % self.ws_lanes:
            raise ConfigError(f"ws_factor={self.ws_factor} gives {self.ws_lanes} weighted-sum lanes, which do not "
                              f"divide head_dim={self.head_dim}: lanes * ws_factor must divide head_dim.")
        if self.map_entries > MAP_ENTRIES_LIMIT:
            raise ConfigError(f"heads={self.heads} maps of max_tokens={self.max_tokens}^2 probabilities are "
                              f"{self.map_entries} words, above the map buffer limit of {MAP_ENTRIES_LIMIT}.")

    def to_dict(self):
        # JSON's form (lists), so a dict read back from JSON compares equal (build stamps).
        return {**super().to_dict(), "groups": [list(g) for g in self.groups],
                "head_map": [list(h) for h in self.head_map]}

    @property
    def ws_lanes(self) -> int:
        """MAC lanes of the weighted-sum stage."""
        return self.lanes * self.ws_factor

    @property
    def ws_chunks(self) -> int:
        """Cycles the weighted-sum stage spends on one probability (d / ws_lanes)."""
        return self.head_dim // self.ws_lanes

    @property
    def map_entries(self) -> int:
        """Probabilities the map buffer holds (heads * N^2)."""
        return self.heads * self.max_tokens ** 2

    @property
    def map_bits(self) -> int:
        return self.map_entries * self.formats.prob_bits

    @property
    def ws_config(self) -> AttentionConfig:
        """The weighted-sum stage's datapath: this config with ``ws_lanes`` lanes (same formats)."""
        common = {f.name: getattr(self, f.name) for f in fields(AttentionConfig)}
        return AttentionConfig(**{**common, "lanes": self.ws_lanes})

    def group_of(self, layer: int) -> tuple[int, int] | None:
        """``(group index, position in the group)`` of ``layer``, or None if it is in no group."""
        for g, members in enumerate(self.groups):
            if layer in members:
                return g, members.index(layer)
        return None

    def reuses(self, layer: int) -> int | None:
        """The layer whose map ``layer`` reuses, or None when it computes its own."""
        place = self.group_of(layer)
        return None if place is None or place[1] == 0 else self.groups[place[0]][0]

    def source_head(self, layer: int, head: int) -> int:
        """The head of the group leader whose map head ``head`` of ``layer`` reuses."""
        return self.head_map[layer][head] if layer < len(self.head_map) and self.head_map[layer] else head

    def check_layers(self, num_layers: int) -> None:
        """Raise ConfigError unless every grouped layer exists in a model of ``num_layers``."""
        top = max(layer for group in self.groups for layer in group)
        if top >= num_layers:
            raise ConfigError(f"groups name layer {top}, but the model has layers 0 to {num_layers - 1}.")


def _normalize_groups(groups):
    """Lists (from JSON) to tuples, and one sentence for anything that is not a partition."""
    text = repr(groups)
    if not isinstance(groups, (list, tuple)) or not groups:
        raise ConfigError(f"groups={text} must be a non-empty list of layer lists, e.g. [[0,1],[2,3]].")
    seen = set()
    out = []
    for group in groups:
        if not isinstance(group, (list, tuple)) or not group:
            raise ConfigError(f"groups={text} must hold non-empty lists of layer indices, got {group!r}.")
        for layer in group:
            if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < 1024:
                raise ConfigError(f"groups={text} holds {layer!r}: layer indices are integers 0 to 1023.")
            if layer in seen:
                raise ConfigError(f"groups={text} puts layer {layer} in two groups: groups must not overlap.")
            seen.add(layer)
        if list(group) != sorted(group):
            raise ConfigError(f"groups={text} has group {list(group)} out of order: the computing (first) "
                              f"layer must come before the layers that reuse its map.")
        out.append(tuple(group))
    return tuple(out)


def _normalize_head_map(head_map):
    text = repr(head_map)
    if not isinstance(head_map, (list, tuple)):
        raise ConfigError(f"head_map={text} must be a list of per-layer head lists, e.g. [[], [1, 0]].")
    out = []
    for entry in head_map:
        if not isinstance(entry, (list, tuple)) or any(
                isinstance(h, bool) or not isinstance(h, int) or not 0 <= h < 1024 for h in entry):
            raise ConfigError(f"head_map={text} holds {entry!r}: each layer's entry is a list of head indices 0 to 1023.")
        out.append(tuple(entry))
    return tuple(out)
