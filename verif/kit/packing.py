"""Pack and unpack stream payloads with the hardware's own Amaranth layouts, so a field's
offset and width are defined once (in hw/common/layouts.py)."""

from __future__ import annotations

from amaranth import Shape
from amaranth.lib import data

__all__ = ["Packer"]


class Packer:
    """Converts between ``dict`` payloads and the integer on a ``x__payload`` port.

    Struct fields become dict keys; array fields become lists; signed fields are signed ints.
    Members: ``width`` (payload bits), :meth:`pack`, :meth:`unpack`."""

    def __init__(self, layout: data.StructLayout):
        self.layout = layout
        self.width = layout.size
        self._fields = []
        for name, field in layout:
            shape = field.shape
            if isinstance(shape, data.ArrayLayout):
                elem = Shape.cast(shape.elem_shape)
                self._fields.append((name, field.offset, elem.width, elem.signed, shape.length))
            else:
                s = Shape.cast(shape)
                self._fields.append((name, field.offset, s.width, s.signed, None))

    def pack(self, values: dict) -> int:
        word = 0
        for name, offset, width, signed, length in self._fields:
            value = values.get(name, 0)
            mask = (1 << width) - 1
            if length is None:
                word |= (int(value) & mask) << offset
            else:
                for i, v in enumerate(value):
                    word |= (int(v) & mask) << (offset + i * width)
        return word

    def unpack(self, word: int) -> dict:
        out = {}
        for name, offset, width, signed, length in self._fields:
            mask = (1 << width) - 1
            sign = 1 << (width - 1)

            def field(at):
                v = (word >> at) & mask
                return v - (1 << width) if signed and v & sign else v
            out[name] = field(offset) if length is None else [field(offset + i * width) for i in range(length)]
        return out
