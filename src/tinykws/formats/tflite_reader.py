"""Read a .tflite flatbuffer into the typed view of `tflite_model`.

Parsing goes through the generated schema accessors of the `tflite` package. Those
accessors trust the file; this module checks every count and index against the file size
and the tables it has read, and turns any low-level failure (struct, numpy, index errors
on truncated or corrupt bytes) into a ModelFormatError naming the file and the problem.
"""

from __future__ import annotations

import os
import struct
from typing import Any

import numpy as np
from tflite.Model import Model
from tflite.TensorType import TensorType
from tflite.utils import BUILTIN_OPCODE2NAME

from tinykws.errors import ModelFormatError
from tinykws.formats.tflite_model import Operator, Quantization, Subgraph, Tensor, TFLiteModel
from tinykws.formats.tflite_options import decode_options

FILE_IDENTIFIER = b"TFL3"

# TFLite type -> (numpy storage dtype, bytes per element; None for packed/variable types).
_TYPES: dict[int, tuple[str, np.dtype, float | None]] = {
    TensorType.FLOAT32: ("FLOAT32", np.dtype("<f4"), 4),
    TensorType.FLOAT16: ("FLOAT16", np.dtype("<f2"), 2),
    TensorType.INT32: ("INT32", np.dtype("<i4"), 4),
    TensorType.UINT8: ("UINT8", np.dtype("u1"), 1),
    TensorType.INT64: ("INT64", np.dtype("<i8"), 8),
    TensorType.STRING: ("STRING", np.dtype("u1"), None),
    TensorType.BOOL: ("BOOL", np.dtype("?"), 1),
    TensorType.INT16: ("INT16", np.dtype("<i2"), 2),
    TensorType.COMPLEX64: ("COMPLEX64", np.dtype("<c8"), 8),
    TensorType.INT8: ("INT8", np.dtype("i1"), 1),
    TensorType.FLOAT64: ("FLOAT64", np.dtype("<f8"), 8),
    TensorType.COMPLEX128: ("COMPLEX128", np.dtype("<c16"), 16),
    TensorType.UINT64: ("UINT64", np.dtype("<u8"), 8),
    TensorType.RESOURCE: ("RESOURCE", np.dtype("u1"), None),
    TensorType.VARIANT: ("VARIANT", np.dtype("u1"), None),
    TensorType.UINT32: ("UINT32", np.dtype("<u4"), 4),
    TensorType.UINT16: ("UINT16", np.dtype("<u2"), 2),
    TensorType.INT4: ("INT4", np.dtype("i1"), 0.5),
    TensorType.BFLOAT16: ("BFLOAT16", np.dtype("<u2"), 2),
}

# Integer types whose zero points must lie in the type's range.
_ZERO_POINT_RANGE = {"INT8": (-128, 127), "UINT8": (0, 255), "INT16": (-32768, 32767),
                     "INT32": (-(1 << 31), (1 << 31) - 1), "INT64": (-(1 << 63), (1 << 63) - 1),
                     "INT4": (-8, 7), "UINT16": (0, 65535), "UINT32": (0, (1 << 32) - 1)}
# The largest quantization scale accepted: a real range of +-1e14 per int8 step is far
# beyond any trained network and such scales only come from corrupt files; the requantize
# multipliers derived from them would not fit TFLite's fixed-point form.
MAX_SCALE = 1e12
# The most elements one tensor may declare. A keyword spotter for a microcontroller has
# activations of a few hundred KB; a larger declared shape is corruption, and trusting it
# would let a 50 KB file ask for petabytes.
MAX_TENSOR_ELEMENTS = 1 << 26
MAX_RANK = 8

# Low-level exceptions that mean "these bytes are not a valid model".
_CORRUPTION = (struct.error, IndexError, ValueError, OverflowError, TypeError, KeyError,
               AttributeError, MemoryError, UnicodeDecodeError)


class _Problem(Exception):
    """A specific structural problem found while parsing (message is user-facing)."""


def read_tflite(path: str | os.PathLike) -> TFLiteModel:
    """Parse the .tflite file at `path`.

    Raises ModelFormatError (naming the file) for a missing, empty, truncated or corrupt
    file, a wrong file identifier, out-of-range offsets or indices, or constant data whose
    size does not match its tensor's shape and type.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ModelFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ModelFormatError(f"{path}: is a directory, not a .tflite file") from None
    except OSError as e:
        raise ModelFormatError(f"{path}: cannot read ({e.strerror or e})") from None
    return parse_tflite(data, path)


def parse_tflite(data: bytes, source: str = "<bytes>") -> TFLiteModel:
    """Parse .tflite bytes; `source` names them in error messages."""
    if len(data) == 0:
        raise ModelFormatError(f"{source}: empty file")
    if len(data) < 8:
        raise ModelFormatError(f"{source}: {len(data)} bytes is too short for a .tflite flatbuffer")
    if data[4:8] != FILE_IDENTIFIER:
        raise ModelFormatError(
            f"{source}: not a .tflite file (file identifier {data[4:8]!r}, expected {FILE_IDENTIFIER!r})")
    root = struct.unpack_from("<I", data, 0)[0]
    if root + 4 > len(data):
        raise ModelFormatError(f"{source}: root table offset {root} is beyond the end ({len(data)} bytes)")
    try:
        return _Parser(bytes(data), source).model()
    except _Problem as e:
        raise ModelFormatError(f"{source}: {e}") from None
    except RecursionError:
        raise ModelFormatError(f"{source}: corrupt flatbuffer (nested too deeply)") from None
    except _CORRUPTION as e:
        raise ModelFormatError(f"{source}: truncated or corrupt flatbuffer ({type(e).__name__}: {e})") from None


class _Parser:
    def __init__(self, data: bytes, source: str):
        self.data = data
        self.source = source
        self.root = Model.GetRootAs(data, 0)

    def count(self, n: int, elem_bytes: int, what: str) -> int:
        """Guard a vector length against the file size before iterating over it."""
        if n < 0 or n * elem_bytes > len(self.data):
            raise _Problem(f"{what}: {n} entries cannot fit in {len(self.data)} bytes (offset out of range)")
        return n

    def model(self) -> TFLiteModel:
        m = self.root
        buffers = self.buffers()
        opcodes = self.opcodes()
        n_sub = self.count(m.SubgraphsLength(), 4, "subgraphs")
        if n_sub == 0:
            raise _Problem("the model has no subgraph")
        subgraphs = tuple(self.subgraph(m.Subgraphs(i), i, buffers, opcodes) for i in range(n_sub))
        metadata = {}
        for i in range(self.count(m.MetadataLength(), 4, "metadata")):
            entry = m.Metadata(i)
            name = _text(entry.Name())
            index = entry.Buffer()
            if not 0 <= index < len(buffers):
                raise _Problem(f"metadata {name!r} refers to buffer {index}, but there are {len(buffers)}")
            metadata[name] = buffers[index].tobytes()
        return TFLiteModel(
            version=int(m.Version()), description=_text(m.Description()), subgraphs=subgraphs,
            metadata=metadata, path=None if self.source == "<bytes>" else self.source)

    def buffers(self) -> list[np.ndarray]:
        m = self.root
        found = []
        for i in range(self.count(m.BuffersLength(), 4, "buffers")):
            buf = m.Buffers(i)
            offset, size = buf.Offset(), buf.Size()
            if offset > 1:  # data stored after the flatbuffer (models over 2 GB)
                if offset + size > len(self.data):
                    raise _Problem(f"buffer {i}: data at bytes {offset}..{offset + size} is beyond the end "
                                   f"of the file ({len(self.data)} bytes)")
                found.append(np.frombuffer(self.data, np.uint8, count=size, offset=offset))
                continue
            n = self.count(buf.DataLength(), 1, f"buffer {i}")
            found.append(buf.DataAsNumpy() if n else np.zeros(0, np.uint8))
        return found

    def opcodes(self) -> list[tuple[str, int, str | None]]:
        m = self.root
        found = []
        for i in range(self.count(m.OperatorCodesLength(), 4, "operator codes")):
            code = m.OperatorCodes(i)
            builtin = int(code.BuiltinCode())
            name = BUILTIN_OPCODE2NAME.get(builtin, f"UNKNOWN_BUILTIN_{builtin}")
            custom = code.CustomCode()
            found.append((name, int(code.Version()), None if custom is None else _text(custom)))
        return found

    def subgraph(self, sg: Any, sg_index: int, buffers: list[np.ndarray],
                 opcodes: list[tuple[str, int, str | None]]) -> Subgraph:
        where = f"subgraph {sg_index}"
        n_tensors = self.count(sg.TensorsLength(), 4, f"{where} tensors")
        tensors = tuple(self.tensor(sg.Tensors(i), i, buffers, where) for i in range(n_tensors))
        operators = []
        for i in range(self.count(sg.OperatorsLength(), 4, f"{where} operators")):
            op = sg.Operators(i)
            index = op.OpcodeIndex()
            if not 0 <= index < len(opcodes):
                raise _Problem(f"{where} operator {i}: opcode index {index} out of range ({len(opcodes)} codes)")
            name, version, custom = opcodes[index]
            inputs = self.indices(op.InputsAsNumpy(), op.InputsLength(), n_tensors, f"{where} operator {i} inputs",
                                  optional_ok=True)
            outputs = self.indices(op.OutputsAsNumpy(), op.OutputsLength(), n_tensors,
                                   f"{where} operator {i} outputs")
            operators.append(Operator(index=i, opcode=name, inputs=inputs, outputs=outputs,
                                      options=decode_options(op), opcode_version=version, custom_code=custom))
        inputs = self.indices(sg.InputsAsNumpy(), sg.InputsLength(), n_tensors, f"{where} inputs")
        outputs = self.indices(sg.OutputsAsNumpy(), sg.OutputsLength(), n_tensors, f"{where} outputs")
        if sg_index == 0 and not (inputs and outputs):
            raise _Problem(f"{where} (the main graph) has {len(inputs)} inputs and {len(outputs)} outputs; "
                           "a model needs at least one of each")
        return Subgraph(tensors=tensors, operators=tuple(operators), inputs=inputs, outputs=outputs,
                        name=_text(sg.Name()))

    def indices(self, array: Any, n: int, n_tensors: int, what: str, optional_ok: bool = False) -> tuple[int, ...]:
        self.count(n, 4, what)
        values = tuple(int(v) for v in np.asarray(array).reshape(-1)) if n else ()
        low = -1 if optional_ok else 0
        for v in values:
            if not low <= v < n_tensors:
                raise _Problem(f"{what}: tensor index {v} out of range ({n_tensors} tensors)")
        return values

    def tensor(self, t: Any, index: int, buffers: list[np.ndarray], where: str) -> Tensor:
        name = _text(t.Name())
        label = f"{where} tensor {index} ({name!r})"
        n_dims = self.count(t.ShapeLength(), 4, f"{label} shape")
        shape = tuple(int(v) for v in t.ShapeAsNumpy()) if n_dims else ()
        if any(d < -1 for d in shape) or len(shape) > MAX_RANK:
            raise _Problem(f"{label}: invalid shape {shape}")
        elements = 1
        for d in shape:
            elements *= max(d, 1)
        if elements > MAX_TENSOR_ELEMENTS:
            raise _Problem(f"{label}: shape {shape} declares {elements:,} elements (at most "
                           f"{MAX_TENSOR_ELEMENTS:,} are accepted)")
        n_sig = self.count(t.ShapeSignatureLength(), 4, f"{label} shape signature")
        signature = tuple(int(v) for v in t.ShapeSignatureAsNumpy()) if n_sig else None
        type_code = t.Type()
        if type_code not in _TYPES:
            raise _Problem(f"{label}: unknown tensor type {type_code}")
        type_name, dtype, elem_bytes = _TYPES[type_code]
        buffer_index = t.Buffer()
        if not 0 <= buffer_index < max(len(buffers), 1):
            raise _Problem(f"{label}: buffer index {buffer_index} out of range ({len(buffers)} buffers)")
        raw = buffers[buffer_index] if buffers else np.zeros(0, np.uint8)
        data = _tensor_data(raw, shape, dtype, elem_bytes, label) if raw.size else None
        quantization = self.quantization(t.Quantization(), label)
        if quantization is not None and type_name in _ZERO_POINT_RANGE:
            _check_quantization(quantization, type_name, shape, label)
        return Tensor(index=index, name=name, shape=shape, dtype=dtype, type_name=type_name, data=data,
                      quantization=quantization, is_variable=bool(t.IsVariable()), shape_signature=signature)

    def quantization(self, q: Any, label: str) -> Quantization | None:
        if q is None:
            return None
        n_scale = self.count(q.ScaleLength(), 4, f"{label} quantization scales")
        n_zp = self.count(q.ZeroPointLength(), 8, f"{label} quantization zero points")
        if n_scale == 0 and n_zp == 0:
            return None
        scales = np.array(q.ScaleAsNumpy(), dtype=np.float32).reshape(-1) if n_scale else np.zeros(0, np.float32)
        zero_points = np.array(q.ZeroPointAsNumpy(), dtype=np.int64).reshape(-1) if n_zp else np.zeros(0, np.int64)
        if n_zp and n_scale and n_zp != n_scale:
            raise _Problem(f"{label}: {n_scale} quantization scales but {n_zp} zero points")
        if n_zp == 0:
            zero_points = np.zeros(n_scale, np.int64)
        return Quantization(scales=scales, zero_points=zero_points, quantized_dimension=int(q.QuantizedDimension()))


def _check_quantization(q: Quantization, type_name: str, shape: tuple[int, ...], label: str) -> None:
    """Scales finite, positive and at most MAX_SCALE; zero points in the type's range; one
    scale per slice of the quantized dimension."""
    scales = np.asarray(q.scales, dtype=np.float64)
    if scales.size == 0:
        raise _Problem(f"{label}: zero points without scales")
    bad = scales[~(np.isfinite(scales) & (scales > 0) & (scales <= MAX_SCALE))]
    if bad.size:
        raise _Problem(f"{label}: quantization scale {float(bad[0])!r} is not a finite number in "
                       f"(0, {MAX_SCALE:g}]")
    lo, hi = _ZERO_POINT_RANGE[type_name]
    zps = np.asarray(q.zero_points)
    if zps.size and (int(zps.min()) < lo or int(zps.max()) > hi):
        raise _Problem(f"{label}: zero point {int(zps.min()) if int(zps.min()) < lo else int(zps.max())} "
                       f"is outside the {type_name} range {lo}..{hi}")
    if scales.size > 1:
        dim = q.quantized_dimension
        if not 0 <= dim < len(shape) or shape[dim] != scales.size:
            raise _Problem(f"{label}: {scales.size} per-channel scales along dimension {dim} of shape {shape}")


def _tensor_data(raw: np.ndarray, shape: tuple[int, ...], dtype: np.dtype, elem_bytes: float | None,
                 label: str) -> np.ndarray:
    if elem_bytes is None:  # strings and resources: keep the raw bytes
        return raw.copy()
    if any(d < 0 for d in shape):
        raise _Problem(f"{label}: constant data for a tensor of dynamic shape {shape}")
    count = int(np.prod(shape, dtype=np.int64))
    expected = int(np.ceil(count * elem_bytes))
    if raw.size != expected:
        raise _Problem(f"{label}: buffer holds {raw.size} bytes, but shape {shape} needs {expected}")
    if elem_bytes == 0.5:  # INT4: two values per byte, low nibble first
        nibbles = np.stack([raw & 0x0F, raw >> 4], axis=-1).reshape(-1)[:count].astype(np.int8)
        return np.where(nibbles > 7, nibbles - 16, nibbles).astype(np.int8).reshape(shape)
    return np.frombuffer(raw.tobytes(), dtype=dtype).reshape(shape).copy()


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return value.decode("utf-8", errors="replace")
