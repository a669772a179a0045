"""The few ONNX graph edits the front-end needs, on the model's bytes, without the `onnx` package.

An ONNX file is a protocol buffer. Blender has no `onnx` module, and the front-end needs only two
kinds of change to a model it has already verified by sha256: an input or output whose time axis
becomes free (a named dimension instead of a number), and a constant shape (an int64 initializer)
replaced. This module reads and re-encodes just the messages on the path to those fields; every
other byte of the file is copied as it is.

Field numbers (onnx.proto3): ModelProto.graph 7; GraphProto.initializer 5, input 11, output 12;
ValueInfoProto.name 1, type 2; TypeProto.tensor_type 1; TypeProto.Tensor.shape 2;
TensorShapeProto.dim 1; Dimension.dim_value 1, dim_param 2; TensorProto.dims 1, data_type 2,
name 8, raw_data 9.
"""

from __future__ import annotations

import struct

GRAPH = 7
GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_OUTPUT = 5, 11, 12
VALUE_NAME, VALUE_TYPE = 1, 2
TYPE_TENSOR, TENSOR_SHAPE, SHAPE_DIM = 1, 2, 1
DIM_VALUE, DIM_PARAM = 1, 2
TENSOR_DIMS, TENSOR_DATA_TYPE, TENSOR_NAME, TENSOR_RAW_DATA = 1, 2, 8, 9
INT64 = 7
VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class OnnxEditError(ValueError):
    """The bytes are not the protocol buffer this edit expects."""


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise OnnxEditError("truncated or invalid varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1          # negative int64 values take ten bytes, as protobuf writes them
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def fields(buf: bytes) -> list[tuple[int, int, bytes, bytes]]:
    """(field number, wire type, the field's whole bytes, its payload) for each field of a message."""
    out = []
    pos = 0
    while pos < len(buf):
        start = pos
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            _, pos = _read_varint(buf, pos)
            payload = buf[start:pos]
        elif wire == FIXED64:
            pos += 8
            payload = buf[pos - 8:pos]
        elif wire == FIXED32:
            pos += 4
            payload = buf[pos - 4:pos]
        elif wire == LENGTH:
            size, pos = _read_varint(buf, pos)
            payload = buf[pos:pos + size]
            pos += size
        else:
            raise OnnxEditError(f"unsupported wire type {wire}")
        if pos > len(buf):
            raise OnnxEditError("truncated field")
        out.append((number, wire, buf[start:pos], payload))
    return out


def length_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | LENGTH) + _varint(len(payload)) + payload


def varint_field(number: int, value: int) -> bytes:
    return _varint(number << 3 | VARINT) + _varint(value)


def _name(message: bytes, name_field: int) -> str | None:
    for number, wire, _, payload in fields(message):
        if number == name_field and wire == LENGTH:
            return payload.decode("utf-8", "replace")
    return None


def shape_message(dims) -> bytes:
    """A TensorShapeProto: ints are fixed sizes, strings named (free) dimensions."""
    encoded = b""
    for dim in dims:
        inner = varint_field(DIM_VALUE, dim) if isinstance(dim, int) else length_field(DIM_PARAM, dim.encode())
        encoded += length_field(SHAPE_DIM, inner)
    return encoded


def int64_tensor(name: str, values) -> bytes:
    """A TensorProto holding a 1-D int64 constant."""
    return (varint_field(TENSOR_DIMS, len(values)) + varint_field(TENSOR_DATA_TYPE, INT64)
            + length_field(TENSOR_NAME, name.encode()) + length_field(TENSOR_RAW_DATA, struct.pack(f"<{len(values)}q", *values)))


def _replace_in(message: bytes, number: int, replace) -> tuple[bytes, int]:
    """`message` with each length-delimited field `number` replaced by `replace(payload)` (None: kept)."""
    out, changed = bytearray(), 0
    for field_number, wire, whole, payload in fields(message):
        new = replace(payload) if field_number == number and wire == LENGTH else None
        if new is None:
            out += whole
        else:
            out += length_field(number, new)
            changed += 1
    return bytes(out), changed


def _with_shape(value_info: bytes, dims) -> bytes:
    def tensor_type(tensor: bytes) -> bytes:
        kept = b"".join(whole for number, _, whole, _ in fields(tensor) if number != TENSOR_SHAPE)
        return kept + length_field(TENSOR_SHAPE, shape_message(dims))

    def type_proto(proto: bytes) -> bytes:
        edited, changed = _replace_in(proto, TYPE_TENSOR, tensor_type)
        if not changed:
            raise OnnxEditError("the value is not a tensor")
        return edited

    edited, changed = _replace_in(value_info, VALUE_TYPE, type_proto)
    if not changed:
        raise OnnxEditError("the value has no type")
    return edited


def edit_model(model: bytes, shapes: dict[str, list], constants: dict[str, list[int]]) -> bytes:
    """`model` with the graph inputs/outputs named in `shapes` given those dims and the int64
    initializers named in `constants` given those values. OnnxEditError if any name is not found."""
    found: set[str] = set()

    def named(name_field: int, table: dict, make):
        """A field replacer for the messages whose name is in `table`: `make(payload, table[name])`."""
        def replace(payload: bytes):
            name = _name(payload, name_field)
            if name not in table:
                return None
            found.add(name)
            return make(payload, table[name])
        return replace

    def graph(message: bytes) -> bytes:
        value_info = named(VALUE_NAME, shapes, _with_shape)
        initializer = named(TENSOR_NAME, constants, lambda payload, values: int64_tensor(_name(payload, TENSOR_NAME),
                                                                                          values))
        for number, replace in ((GRAPH_INPUT, value_info), (GRAPH_OUTPUT, value_info), (GRAPH_INITIALIZER, initializer)):
            message, _ = _replace_in(message, number, replace)
        return message

    edited, changed = _replace_in(model, GRAPH, graph)
    missing = (set(shapes) | set(constants)) - found
    if not changed or missing:
        raise OnnxEditError(f"the model lacks {', '.join(sorted(missing)) or 'a graph'}")
    return edited
