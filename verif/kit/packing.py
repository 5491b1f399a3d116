"""Pack and unpack stream payloads with the hardware's own Amaranth layouts, so a field's
offset and width are defined once (in hw/common/layouts.py)."""

from __future__ import annotations

from amaranth import Shape
from amaranth.lib import data

__all__ = ["Packer"]


def _codec(shape):
    """(pack(value) -> int, unpack(int) -> value, width) for an Amaranth shape or layout."""
    if isinstance(shape, data.StructLayout):
        fields = [(name, f.offset, _codec(f.shape)) for name, f in shape]

        def pack(value):
            return sum(codec[0](value.get(name, 0)) << offset for name, offset, codec in fields)

        def unpack(word):
            return {name: codec[1]((word >> offset) & ((1 << codec[2]) - 1)) for name, offset, codec in fields}
        return pack, unpack, shape.size
    if isinstance(shape, data.ArrayLayout):
        elem_pack, elem_unpack, width = _codec(shape.elem_shape)
        mask = (1 << width) - 1

        def pack(value):
            return sum(elem_pack(v) << (i * width) for i, v in enumerate(value))

        def unpack(word):
            return [elem_unpack((word >> (i * width)) & mask) for i in range(shape.length)]
        return pack, unpack, shape.size
    s = Shape.cast(shape)
    mask, sign = (1 << s.width) - 1, 1 << max(s.width - 1, 0)

    def pack(value):
        return int(value) & mask

    def unpack(word):
        return word - (1 << s.width) if s.signed and word & sign else word
    return pack, unpack, s.width


class Packer:
    """Converts between payload values and the integer on a ``x__payload`` port.

    Structs are dicts (nested structs nested dicts), arrays are lists, signed fields are
    signed ints; missing struct fields pack as 0. Members: ``width``, :meth:`pack`, :meth:`unpack`."""

    def __init__(self, layout):
        self.layout = layout
        self._pack, self._unpack, self.width = _codec(layout)

    def pack(self, value) -> int:
        return self._pack(value)

    def unpack(self, word: int):
        return self._unpack(word)
