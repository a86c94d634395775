"""Serialise the typed view of `tflite_model` back to .tflite flatbuffer bytes.

A minimal writer: one or more subgraphs, constant buffers (16-byte aligned, as TFLite
kernels expect), quantization, builtin options of the operators tinykws uses, and named
metadata. It is what tests use to build single-operator models and what an exporter can
build on; `read_tflite(write)` gives back the same model.
"""

from __future__ import annotations

import importlib
import os
import re
from typing import Any

import flatbuffers
import numpy as np
_model_table = importlib.import_module("tflite.Model")  # the package re-exports the class under this name
from tflite.ActivationFunctionType import ActivationFunctionType
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.Padding import Padding
from tflite.TensorType import TensorType

from tinykws.errors import ModelFormatError
from tinykws.fileio import write_bytes
from tinykws.formats.tflite_model import Operator, Subgraph, Tensor, TFLiteModel

# Builtin operator -> name of its options table (operators not listed take no options).
OPTIONS_TABLE = {
    "CONV_2D": "Conv2DOptions",
    "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions",
    "AVERAGE_POOL_2D": "Pool2DOptions",
    "MAX_POOL_2D": "Pool2DOptions",
    "ADD": "AddOptions",
    "SUB": "SubOptions",
    "MUL": "MulOptions",
    "RESHAPE": "ReshapeOptions",
    "SOFTMAX": "SoftmaxOptions",
    "CONCATENATION": "ConcatenationOptions",
    "MEAN": "ReducerOptions",
    "PAD": "PadOptions",
    "QUANTIZE": "QuantizeOptions",
    "DEQUANTIZE": "DequantizeOptions",
    "SQUEEZE": "SqueezeOptions",
    "STRIDED_SLICE": "StridedSliceOptions",
    "SPLIT": "SplitOptions",
    "BATCH_MATMUL": "BatchMatMulOptions",
}
_ENUMS = {"padding": Padding, "fused_activation_function": ActivationFunctionType}
_TYPE_CODES = {name: code for name, code in vars(TensorType).items() if not name.startswith("_")}
_BUFFER_ALIGNMENT = 16


def camel_case(key: str) -> str:
    """snake_case option key -> CamelCase accessor suffix (stride_h -> StrideH)."""
    return "".join(part[:1].upper() + part[1:] for part in key.split("_"))


def write_tflite(model: TFLiteModel, path: str | os.PathLike) -> int:
    """Write `model` to `path` atomically; returns the file size in bytes."""
    data = tflite_bytes(model)
    write_bytes(path, data)
    return len(data)


def tflite_bytes(model: TFLiteModel) -> bytes:
    """Serialise `model` to .tflite bytes (file identifier "TFL3", schema version 3)."""
    return _Writer(model).finish()


class _Writer:
    def __init__(self, model: TFLiteModel):
        self.model = model
        self.b = flatbuffers.Builder(1024)
        self.buffers: list[bytes] = [b""]  # buffer 0: the conventional empty buffer
        self.opcodes: list[tuple[str, int]] = []

    def finish(self) -> bytes:
        b = self.b
        subgraphs = [self.subgraph(sg) for sg in self.model.subgraphs]
        metadata = []
        for name, payload in self.model.metadata.items():
            self.buffers.append(bytes(payload))
            metadata.append((name, len(self.buffers) - 1))
        metadata_offsets = []
        for name, index in metadata:
            name_off = b.CreateString(name)
            b.StartObject(2)
            b.PrependUOffsetTRelativeSlot(0, name_off, 0)
            b.PrependUint32Slot(1, index, 0)
            metadata_offsets.append(b.EndObject())
        buffer_offsets = [self.buffer(data) for data in self.buffers]
        opcode_offsets = [self.opcode(name, version) for name, version in self.opcodes]
        description = b.CreateString(self.model.description or "tinykws")
        vectors = {
            "OperatorCodes": self.table_vector(opcode_offsets),
            "Subgraphs": self.table_vector(subgraphs),
            "Buffers": self.table_vector(buffer_offsets),
            "Metadata": self.table_vector(metadata_offsets) if metadata_offsets else None,
        }
        _model_table.ModelStart(b)
        _model_table.ModelAddVersion(b, self.model.version or 3)
        _model_table.ModelAddOperatorCodes(b, vectors["OperatorCodes"])
        _model_table.ModelAddSubgraphs(b, vectors["Subgraphs"])
        _model_table.ModelAddDescription(b, description)
        _model_table.ModelAddBuffers(b, vectors["Buffers"])
        if vectors["Metadata"] is not None:
            _model_table.ModelAddMetadata(b, vectors["Metadata"])
        b.Finish(_model_table.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())

    def table_vector(self, offsets: list[int]) -> int:
        self.b.StartVector(4, len(offsets), 4)
        for off in reversed(offsets):
            self.b.PrependUOffsetTRelative(off)
        return self.b.EndVector()

    def int_vector(self, values: Any, dtype: str = "<i4") -> int:
        return self.b.CreateNumpyVector(np.asarray(values, dtype=dtype).reshape(-1))

    def buffer(self, data: bytes) -> int:
        b = self.b
        data_off = None
        if data:
            b.StartVector(1, len(data), _BUFFER_ALIGNMENT)
            b.head -= len(data)
            b.Bytes[b.head:b.head + len(data)] = data
            b.vectorNumElems = len(data)
            data_off = b.EndVector()
        b.StartObject(3)
        if data_off is not None:
            b.PrependUOffsetTRelativeSlot(0, data_off, 0)
        return b.EndObject()

    def opcode(self, name: str, version: int) -> int:
        code = getattr(BuiltinOperator, name)
        b = self.b
        b.StartObject(4)
        b.PrependInt8Slot(0, min(code, BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES), 0)
        b.PrependInt32Slot(2, version, 1)
        b.PrependInt32Slot(3, code, 0)
        return b.EndObject()

    def opcode_index(self, op: Operator) -> int:
        if not hasattr(BuiltinOperator, op.opcode) or op.opcode == "CUSTOM":
            raise ModelFormatError(f"cannot write operator {op.opcode!r}: only builtin operators are supported")
        key = (op.opcode, op.opcode_version)
        if key not in self.opcodes:
            self.opcodes.append(key)
        return self.opcodes.index(key)

    def subgraph(self, sg: Subgraph) -> int:
        b = self.b
        tensors = [self.tensor(t) for t in sg.tensors]
        operators = [self.operator(op) for op in sg.operators]
        tensors_vec = self.table_vector(tensors)
        operators_vec = self.table_vector(operators)
        inputs_vec = self.int_vector(sg.inputs)
        outputs_vec = self.int_vector(sg.outputs)
        name = b.CreateString(sg.name or "main")
        b.StartObject(5)
        b.PrependUOffsetTRelativeSlot(0, tensors_vec, 0)
        b.PrependUOffsetTRelativeSlot(1, inputs_vec, 0)
        b.PrependUOffsetTRelativeSlot(2, outputs_vec, 0)
        b.PrependUOffsetTRelativeSlot(3, operators_vec, 0)
        b.PrependUOffsetTRelativeSlot(4, name, 0)
        return b.EndObject()

    def tensor(self, t: Tensor) -> int:
        b = self.b
        buffer_index = 0
        if t.data is not None:
            if t.type_name == "INT4":
                raise ModelFormatError(f"cannot write packed INT4 data of tensor {t.name!r}")
            self.buffers.append(np.ascontiguousarray(t.data).astype(t.dtype.newbyteorder("<")).tobytes())
            buffer_index = len(self.buffers) - 1
        quant = None
        if t.quantization is not None:
            scale_vec = b.CreateNumpyVector(np.asarray(t.quantization.scales, "<f4").reshape(-1))
            zp_vec = b.CreateNumpyVector(np.asarray(t.quantization.zero_points, "<i8").reshape(-1))
            b.StartObject(7)
            b.PrependUOffsetTRelativeSlot(2, scale_vec, 0)
            b.PrependUOffsetTRelativeSlot(3, zp_vec, 0)
            b.PrependInt32Slot(6, int(t.quantization.quantized_dimension), 0)
            quant = b.EndObject()
        shape_vec = self.int_vector(t.shape)
        name = b.CreateString(t.name)
        if t.type_name not in _TYPE_CODES:
            raise ModelFormatError(f"cannot write tensor {t.name!r} of type {t.type_name!r}")
        b.StartObject(8)
        b.PrependUOffsetTRelativeSlot(0, shape_vec, 0)
        b.PrependInt8Slot(1, _TYPE_CODES[t.type_name], 0)
        b.PrependUint32Slot(2, buffer_index, 0)
        b.PrependUOffsetTRelativeSlot(3, name, 0)
        if quant is not None:
            b.PrependUOffsetTRelativeSlot(4, quant, 0)
        b.PrependBoolSlot(5, bool(t.is_variable), False)
        return b.EndObject()

    def operator(self, op: Operator) -> int:
        b = self.b
        opcode_index = self.opcode_index(op)
        options_type, options_off = self.options(op)
        inputs_vec = self.int_vector(op.inputs)
        outputs_vec = self.int_vector(op.outputs)
        b.StartObject(5)
        b.PrependUint32Slot(0, opcode_index, 0)
        b.PrependUOffsetTRelativeSlot(1, inputs_vec, 0)
        b.PrependUOffsetTRelativeSlot(2, outputs_vec, 0)
        if options_off is not None:
            b.PrependUint8Slot(3, options_type, 0)
            b.PrependUOffsetTRelativeSlot(4, options_off, 0)
        return b.EndObject()

    def options(self, op: Operator) -> tuple[int, int | None]:
        table = OPTIONS_TABLE.get(op.opcode)
        if table is None:
            if op.options:
                raise ModelFormatError(f"cannot write options for operator {op.opcode}: {sorted(op.options)}")
            return 0, None
        module = importlib.import_module(f"tflite.{table}")
        b = self.b
        vectors = {}
        for key, value in op.options.items():
            if isinstance(value, (tuple, list)):
                vectors[key] = self.int_vector(value)
        getattr(module, f"{table}Start")(b)
        for key, value in op.options.items():
            adder = getattr(module, f"{table}Add{camel_case(key)}", None)
            if adder is None:
                raise ModelFormatError(f"operator {op.opcode} has no option {key!r}")
            if key in vectors:
                adder(b, vectors[key])
                continue
            if key in _ENUMS and isinstance(value, str):
                if not re.fullmatch(r"[A-Z0-9_]+", value) or not hasattr(_ENUMS[key], value):
                    raise ModelFormatError(f"operator {op.opcode}: unknown {key} {value!r}")
                value = getattr(_ENUMS[key], value)
            adder(b, value)
        return getattr(BuiltinOptions, table), getattr(module, f"{table}End")(b)
