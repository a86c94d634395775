"""`.tflite` -> ONNX: a float model as float ONNX, an int8 model as QDQ ONNX
(QuantizeLinear / DequantizeLinear around float operators, the form ONNX Runtime fuses
into its integer kernels).

The ONNX graph keeps the TFLite model's interface: the same input and output shapes
(NHWC images, 49x10x1 MFCCs), dtypes and quantization, so every runner feeds it the same
arrays. Inside, 4-D activations are NCHW (ONNX's Conv layout); a tensor goes back to
NHWC before a RESHAPE or a graph output, so flattening orders match TFLite's.

Operators: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, AVERAGE_POOL_2D, ADD, RESHAPE,
SOFTMAX, with fused RELU / RELU6 (the four MLPerf Tiny reference models, int8 and float,
and tinykws' own exports).

ONNX Runtime's int8 arithmetic is not TFLite's: it requantizes in float and rounds half
to even where TFLite uses a fixed-point multiplier; `tinykws.harness` compares it with
the others and reports where outputs differ.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinykws.errors import EngineUnavailableError, ModelFormatError, UnsupportedOpError
from tinykws.export.contract import resolve_contract
from tinykws.export.runners import ends_in_softmax
from tinykws.formats.tflite_model import Operator, Subgraph, Tensor, TFLiteModel
from tinykws.formats.tflite_reader import read_tflite
from tinykws.intmodel.params import output_size_and_padding

OPSET = 17
METADATA_KEY = "tinykws"  # metadata_props entry holding the model's contract (JSON)
TO_NCHW, TO_NHWC = (0, 3, 1, 2), (0, 2, 3, 1)


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise EngineUnavailableError("ONNX export needs the onnx package; install the onnx extra "
                                     "(pip install 'tinykws[onnx]')") from None
    return onnx, helper, numpy_helper


@dataclass(frozen=True)
class OnnxExport:
    """What `export_onnx` wrote: the file, its form ("float" or "int8 QDQ"), the opset,
    the number of ONNX nodes and the file's size in bytes."""

    path: Path
    form: str
    opset: int
    nodes: int
    size_bytes: int


class _Builder:
    """Accumulates nodes and initializers; names every value after its TFLite tensor."""

    def __init__(self, sg: Subgraph):
        _, self.helper, self.numpy_helper = _onnx()
        self.sg = sg
        self.nodes: list = []
        self.inits: list = []
        self.value: dict[int, str] = {}      # tensor index -> float (or int8 input) value name
        self.nchw: dict[int, bool] = {}      # tensor index -> held as NCHW
        self.int8_of: dict[int, str] = {}    # tensor index -> its int8 (QuantizeLinear) value
        self.counter = 0

    def name(self, base: str) -> str:
        self.counter += 1
        return f"{base}_{self.counter}"

    def const(self, base: str, array: np.ndarray) -> str:
        name = self.name(base)
        self.inits.append(self.numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], base: str, **attrs) -> str:
        out = self.name(base)
        self.nodes.append(self.helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    # -- quantization -----------------------------------------------------------------
    @staticmethod
    def quantized(t: Tensor) -> bool:
        return t.dtype != np.float32 and t.quantization is not None and t.quantization.scales.size > 0

    def qparams(self, t: Tensor, axis_len: int | None = None) -> tuple[str, str, int | None]:
        q = t.quantization
        scales = q.scales.astype(np.float32)
        zps = q.zero_points.astype(np.int64)
        dtype = np.int32 if t.dtype == np.int32 else np.dtype(t.dtype).type
        if scales.size == 1:
            return self.const("scale", scales.reshape(())), self.const("zp", zps.astype(dtype).reshape(())), None
        if zps.size == 1:
            zps = np.repeat(zps, scales.size)
        return self.const("scale", scales), self.const("zp", zps.astype(dtype)), 0

    def dequantize(self, name: str, t: Tensor) -> str:
        scale, zp, axis = self.qparams(t)
        attrs = {} if axis is None else {"axis": axis}
        return self.node("DequantizeLinear", [name, scale, zp], "dq", **attrs)

    def requantize(self, value: str, t: Tensor) -> str:
        """The float `value` rounded to tensor t's grid (Q then DQ), as int8 kernels store it."""
        scale, zp, _ = self.qparams(t)
        q = self.node("QuantizeLinear", [value, scale, zp], "q")
        self.int8_of[t.index] = q
        return self.node("DequantizeLinear", [q, scale, zp], "dq")

    def weight(self, t: Tensor, array: np.ndarray) -> str:
        """A constant (already in ONNX layout) as float: dequantized int8 (per channel
        along axis 0, where both layouts keep the output channels) or as it is."""
        if not self.quantized(t):
            return self.const("w", array.astype(np.float32))
        q = t.quantization
        per_channel = q.scales.size > 1
        shape = (q.scales.size,) if per_channel else ()
        zps = np.broadcast_to(q.zero_points, (q.scales.size,)) if per_channel else q.zero_points[:1]
        stored = self.const("wq", array.astype(t.dtype))
        scale = self.const("wscale", q.scales.astype(np.float32).reshape(shape))
        zp = self.const("wzp", np.asarray(zps).astype(t.dtype).reshape(shape))
        return self.node("DequantizeLinear", [stored, scale, zp], "wdq", **({"axis": 0} if per_channel else {}))

    def bias(self, t: Tensor | None, input_t: Tensor, weight_t: Tensor, channels: int) -> str | None:
        if t is None:
            return None
        if not self.quantized(t):
            return self.const("b", t.data.astype(np.float32))
        # TFLite's int32 bias has scale input_scale x weight_scale (per channel) and zero point 0.
        scales = (np.float64(input_t.quantization.scales[0]) * weight_t.quantization.scales.astype(np.float64))
        scales = np.broadcast_to(scales, (channels,)) if scales.size == 1 else scales
        stored = self.const("bq", t.data.astype(np.int32))
        scale = self.const("bscale", scales.astype(np.float32))
        zp = self.const("bzp", np.zeros(channels, np.int32))
        return self.node("DequantizeLinear", [stored, scale, zp], "bdq", axis=0)


def _activation(b: _Builder, value: str, op: Operator) -> str:
    act = op.options.get("fused_activation_function", "NONE")
    if act == "NONE":
        return value
    if act == "RELU":
        return b.node("Relu", [value], "relu")
    if act == "RELU6":
        return b.node("Clip", [value, b.const("lo", np.float32(0)), b.const("hi", np.float32(6))], "relu6")
    raise UnsupportedOpError(f"ONNX export: fused activation {act} of operator {op.index} ({op.opcode})")


def _pads(in_hw, kernel_hw, strides, dilations, padding: str) -> list[int]:
    before, after = [], []
    for size, k, s, d in zip(in_hw, kernel_hw, strides, dilations):
        out, pad_before = output_size_and_padding(size, k, s, d, padding)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        before.append(pad_before)
        after.append(total - pad_before)
    return before + after


def _as_layout(b: _Builder, index: int, nchw: bool) -> str:
    value = b.value[index]
    if len(b.sg.tensors[index].shape) != 4 or b.nchw.get(index, False) == nchw:
        return value
    return b.node("Transpose", [value], "nchw" if nchw else "nhwc", perm=list(TO_NCHW if nchw else TO_NHWC))


def _convert(b: _Builder, op: Operator) -> tuple[str, bool]:
    """The float value of op's output and whether it is NCHW."""
    sg = b.sg
    t = [sg.tensors[i] if i >= 0 else None for i in op.inputs]
    opts = op.options
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        x = _as_layout(b, op.inputs[0], True)
        w = t[1].data
        if op.opcode == "CONV_2D":
            kernel, group = np.transpose(w, (0, 3, 1, 2)), 1          # OHWI -> OIHW
        else:
            kernel = np.transpose(w, (3, 0, 1, 2))                     # 1HW(C*M) -> (C*M)1HW
            group = int(t[0].shape[3])
        channels = kernel.shape[0]
        stride, dilation = [opts["stride_h"], opts["stride_w"]], [opts.get("dilation_h_factor", 1),
                                                                   opts.get("dilation_w_factor", 1)]
        pads = _pads(t[0].shape[1:3], kernel.shape[2:], stride, dilation, opts["padding"])
        inputs = [x, b.weight(t[1], kernel)]
        bias = b.bias(t[2] if len(t) > 2 else None, t[0], t[1], channels)
        if bias is not None:
            inputs.append(bias)
        y = b.node("Conv", inputs, "conv", strides=stride, dilations=dilation, pads=pads, group=group,
                   kernel_shape=list(kernel.shape[2:]))
        return _activation(b, y, op), True
    if op.opcode == "FULLY_CONNECTED":
        x = _as_layout(b, op.inputs[0], False)
        units = int(t[1].shape[0])
        x = b.node("Reshape", [x, b.const("shape", np.array([-1, int(t[1].shape[1])], np.int64))], "flat")
        inputs = [x, b.weight(t[1], t[1].data)]
        bias = b.bias(t[2] if len(t) > 2 else None, t[0], t[1], units)
        if bias is not None:
            inputs.append(bias)
        return _activation(b, b.node("Gemm", inputs, "fc", transB=1), op), False
    if op.opcode == "AVERAGE_POOL_2D":
        x = _as_layout(b, op.inputs[0], True)
        kernel, stride = [opts["filter_height"], opts["filter_width"]], [opts["stride_h"], opts["stride_w"]]
        pads = _pads(t[0].shape[1:3], kernel, stride, [1, 1], opts["padding"])
        y = b.node("AveragePool", [x], "avgpool", kernel_shape=kernel, strides=stride, pads=pads)
        return _activation(b, y, op), True
    if op.opcode == "ADD":
        layout = b.nchw.get(op.inputs[0], False)
        y = b.node("Add", [_as_layout(b, op.inputs[0], layout), _as_layout(b, op.inputs[1], layout)], "add")
        return _activation(b, y, op), layout
    if op.opcode == "RESHAPE":
        shape = np.array(sg.tensors[op.outputs[0]].shape, np.int64)
        shape[0] = -1
        return b.node("Reshape", [_as_layout(b, op.inputs[0], False), b.const("shape", shape)], "reshape"), False
    if op.opcode == "SOFTMAX":
        if opts.get("beta", 1.0) != 1.0:
            raise UnsupportedOpError(f"ONNX export: SOFTMAX with beta {opts['beta']} (operator {op.index})")
        return b.node("Softmax", [_as_layout(b, op.inputs[0], False)], "softmax", axis=-1), False
    raise UnsupportedOpError(f"ONNX export: operator {op.index} ({op.opcode}) has no ONNX form here")


def _value_info(helper, onnx, name: str, t: Tensor):
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(t.dtype))
    return helper.make_tensor_value_info(name, elem, ["N", *[int(d) for d in t.shape[1:]]])


def tflite_to_onnx(tfl: TFLiteModel, name: str = "tinykws"):
    """The ONNX ModelProto of a parsed .tflite (one input, one output)."""
    onnx, helper, _ = _onnx()
    sg = tfl.main
    if len(sg.inputs) != 1 or len(sg.outputs) != 1:
        raise UnsupportedOpError("ONNX export: models with one input and one output only")
    b = _Builder(sg)
    t_in, t_out = sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]
    form = "int8 QDQ" if b.quantized(t_in) else "float"
    b.value[t_in.index] = b.dequantize("input", t_in) if b.quantized(t_in) else "input"
    b.nchw[t_in.index] = False
    for op in sg.operators:
        value, nchw = _convert(b, op)
        out = sg.tensors[op.outputs[0]]
        b.value[out.index] = b.requantize(value, out) if b.quantized(out) else value
        b.nchw[out.index] = nchw
    if b.quantized(t_out):
        final = b.int8_of[t_out.index]
        if b.nchw.get(t_out.index) and len(t_out.shape) == 4:
            final = b.node("Transpose", [final], "nhwc", perm=list(TO_NHWC))
    else:
        final = _as_layout(b, t_out.index, False)
    b.nodes.append(helper.make_node("Identity", [final], ["output"], name="output"))
    graph = helper.make_graph(b.nodes, name, [_value_info(helper, onnx, "input", t_in)],
                              [_value_info(helper, onnx, "output", t_out)], initializer=b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="tinykws")
    model.ir_version = min(model.ir_version, 9)
    onnx.checker.check_model(model)
    return model, form


def contract_metadata(path: str | os.PathLike, frontend=None, labels=None, tfl: TFLiteModel | None = None) -> str:
    """The JSON a .onnx carries about the .tflite it came from: labels, front-end, input
    and output tensors (with quantization), whether it ends in softmax (`tfl`: the file
    already read)."""
    tfl = tfl or read_tflite(path)
    contract = resolve_contract(path, tfl, frontend, labels)
    softmax = ends_in_softmax(tfl)
    return json.dumps({"labels": list(contract.labels), "frontend": contract.frontend,
                       "input": contract.input.to_dict(), "output": contract.output.to_dict(),
                       "output_kind": "probabilities" if softmax else "logits", "source": str(path)})


def export_onnx(tflite: str | os.PathLike, out: str | os.PathLike, frontend=None, labels=None) -> OnnxExport:
    """Write the ONNX form of the .tflite at `tflite` to `out` (atomically), with the
    model's contract (labels, front-end, tensors) in its metadata."""
    from tinykws.fileio import write_bytes

    path = Path(tflite)
    if not path.is_file():
        raise ModelFormatError(f"{path}: no such .tflite file")
    tfl = read_tflite(path)
    model, form = tflite_to_onnx(tfl, path.stem)
    _onnx()[1].set_model_props(model, {METADATA_KEY: contract_metadata(path, frontend, labels, tfl)})
    data = model.SerializeToString()
    write_bytes(out, data)
    return OnnxExport(Path(out), form, OPSET, len(model.graph.node), len(data))
