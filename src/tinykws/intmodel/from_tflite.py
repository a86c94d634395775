"""Import a fully int8 .tflite model as an IntModel.

Every operator's parameters are derived from the tensors' scales exactly as TFLite's
Prepare() does, for the rounding form each operator kind uses in the chosen
arithmetic (see `tinykws.fixedpoint.arithmetic`). Float operators, unknown operators and
unsupported options raise UnsupportedOpError naming the operator.
"""

from __future__ import annotations

import os

import numpy as np

from tinykws.errors import ModelFormatError, UnsupportedOpError
from tinykws.formats.tflite_model import Operator, Subgraph, Tensor, TFLiteModel
from tinykws.formats.tflite_reader import read_tflite
from tinykws.fixedpoint.primitives import Rounding
from tinykws.intmodel.graph import IntModel, IntOp, IntTensor
from tinykws.intmodel.validate import check_model
from tinykws.intmodel.import_activation import ActivationImporter
from tinykws.intmodel.params import (
    ConcatParams,
    ConvParams,
    FullyConnectedParams,
    MeanParams,
    PadParams,
    PoolParams,
    ReshapeParams,
    activation_range,
    add_params,
    channel_multipliers,
    fully_connected_multiplier,
    geometry,
    requantize_multiplier,
    requantize_params,
    softmax_params,
)
from tinykws.intmodel.ops_slice import strided_slice_params
from tinykws.fixedpoint.arithmetic import DEFAULT_ARITHMETIC, check_arithmetic, rounding_for

_QUANTIZED = (np.dtype(np.int8), np.dtype(np.int16), np.dtype(np.int32), np.dtype(np.uint8))


def _int_tensor(t: Tensor) -> IntTensor:
    q = t.quantization
    scale = zero_point = None
    channel_scales = None
    qdim = 0
    if q is not None and q.scales.size:
        scale = float(q.scales[0])
        zero_point = int(q.zero_points[0]) if q.zero_points.size else 0
        if q.scales.size > 1:
            channel_scales = q.scales.astype(np.float32)
            qdim = q.quantized_dimension
    return IntTensor(name=t.name, shape=tuple(t.shape), dtype=np.dtype(t.dtype), scale=scale,
                     zero_point=zero_point or 0, channel_scales=channel_scales, quantized_dimension=qdim,
                     data=t.data)


class _Importer(ActivationImporter):
    def __init__(self, model: TFLiteModel, arithmetic: str, source: str):
        self.graph: Subgraph = model.main
        self.arithmetic = arithmetic
        self.source = source
        self.tensors = [_int_tensor(t) for t in self.graph.tensors]

    def rounding(self, kind: str) -> Rounding:
        return rounding_for(self.arithmetic, kind)

    def fail(self, op: Operator, problem: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{self.source}: operator {op.index} ({op.opcode}): {problem}")

    def operand(self, op: Operator, position: int, outputs: bool = False) -> IntTensor:
        """Input (or output) `position` of `op`; a missing or omitted one is a format error."""
        indices = op.outputs if outputs else op.inputs
        if position >= len(indices) or indices[position] < 0:
            raise ModelFormatError(f"{self.source}: operator {op.index} ({op.opcode}): "
                                   f"{'output' if outputs else 'input'} {position} is missing")
        return self.tensors[indices[position]]

    def quantized(self, op: Operator, index: int) -> IntTensor:
        if index < 0:
            raise ModelFormatError(f"{self.source}: operator {op.index} ({op.opcode}): a required input is omitted")
        t = self.tensors[index]
        if t.dtype not in _QUANTIZED:
            raise self.fail(op, f"tensor {t.name!r} is {t.dtype.name}; the integer runtime runs int8 models only")
        if t.data is None and t.scale is None:
            raise self.fail(op, f"tensor {t.name!r} has no quantization parameters")
        return t

    def act(self, op: Operator, out: IntTensor) -> tuple[int, int]:
        name = op.options.get("fused_activation_function", "NONE")
        try:
            return activation_range(name, out.scale, out.zero_point, out.dtype)
        except ValueError as e:
            raise self.fail(op, str(e)) from None

    def convert(self, op: Operator) -> IntOp:
        handler = getattr(self, f"op_{op.opcode.lower()}", None)
        if handler is None:
            raise self.fail(op, "not supported by the integer runtime")
        try:
            for i in op.outputs:
                self.quantized(op, i)
            return handler(op)
        except (IndexError, KeyError, ValueError, TypeError, OverflowError, ZeroDivisionError) as e:
            # too few inputs, missing or invalid options, scales no fixed-point form can hold
            raise ModelFormatError(f"{self.source}: operator {op.index} ({op.opcode}): invalid operator "
                                   f"({type(e).__name__}: {e})") from None

    def _conv_like(self, op: Operator, kind: str) -> IntOp:
        x = self.quantized(op, op.inputs[0])
        w = self.quantized(op, op.inputs[1])
        out = self.operand(op, 0, outputs=True)
        if w.data is None:
            raise self.fail(op, "weights must be constant")
        if w.dtype != np.int8 or x.dtype != np.int8:
            raise self.fail(op, "only int8 inputs and weights are supported")
        o = op.options
        kh, kw = (w.shape[1], w.shape[2])
        g = geometry(x.shape[1], x.shape[2], kh, kw, o.get("stride_h", 1), o.get("stride_w", 1),
                     o.get("padding", "SAME"), o.get("dilation_h_factor", 1), o.get("dilation_w_factor", 1))
        channels = w.shape[0] if kind == "conv2d" else w.shape[3]
        scales = w.channel_scales if w.channel_scales is not None else np.full(channels, w.scale, np.float32)
        multipliers, shifts = channel_multipliers(x.scale, scales, out.scale, self.rounding(kind))
        act_min, act_max = self.act(op, out)
        params = ConvParams(g, -x.zero_point, out.zero_point, multipliers, shifts, act_min, act_max,
                            int(o.get("depth_multiplier", 1)) if kind == "depthwise_conv2d" else 1)
        return IntOp(kind, tuple(op.inputs), tuple(op.outputs), params, self.rounding(kind))

    def op_conv_2d(self, op: Operator) -> IntOp:
        return self._conv_like(op, "conv2d")

    def op_depthwise_conv_2d(self, op: Operator) -> IntOp:
        return self._conv_like(op, "depthwise_conv2d")

    def op_fully_connected(self, op: Operator) -> IntOp:
        x = self.quantized(op, op.inputs[0])
        w = self.quantized(op, op.inputs[1])
        out = self.operand(op, 0, outputs=True)
        if w.data is None or w.dtype != np.int8 or x.dtype != np.int8:
            raise self.fail(op, "only int8 inputs and constant int8 weights are supported")
        if op.options.get("weights_format", 0) != 0:
            raise self.fail(op, "only the default weights format is supported")
        rounding = self.rounding("fully_connected")
        if w.channel_scales is not None:
            pairs = [fully_connected_multiplier(x.scale, s, out.scale, rounding) for s in w.channel_scales]
        else:
            pairs = [fully_connected_multiplier(x.scale, w.scale, out.scale, rounding)]
        multipliers = np.array([m for m, _ in pairs], np.int64)
        shifts = np.array([s for _, s in pairs], np.int64)
        act_min, act_max = self.act(op, out)
        params = FullyConnectedParams(-x.zero_point, -w.zero_point, out.zero_point, multipliers, shifts,
                                      act_min, act_max, bool(op.options.get("keep_num_dims", False)))
        return IntOp("fully_connected", tuple(op.inputs), tuple(op.outputs), params, rounding)

    def _pool(self, op: Operator, kind: str) -> IntOp:
        x = self.quantized(op, op.inputs[0])
        out = self.operand(op, 0, outputs=True)
        if (x.scale, x.zero_point) != (out.scale, out.zero_point):
            raise self.fail(op, "input and output quantization must match")
        o = op.options
        g = geometry(x.shape[1], x.shape[2], o["filter_height"], o["filter_width"], o.get("stride_h", 1),
                     o.get("stride_w", 1), o.get("padding", "VALID"))
        act_min, act_max = self.act(op, out)
        return IntOp(kind, (op.inputs[0],), tuple(op.outputs), PoolParams(g, act_min, act_max))

    def op_average_pool_2d(self, op: Operator) -> IntOp:
        return self._pool(op, "average_pool2d")

    def op_max_pool_2d(self, op: Operator) -> IntOp:
        return self._pool(op, "max_pool2d")

    def op_mean(self, op: Operator) -> IntOp:
        x = self.quantized(op, op.inputs[0])
        out = self.operand(op, 0, outputs=True)
        axes_data = self.operand(op, 1).data
        if axes_data is None:
            raise self.fail(op, "axes must be constant")
        axes = tuple(sorted({int(a) % len(x.shape) for a in np.asarray(axes_data).reshape(-1)}))
        if 0 in axes:
            raise self.fail(op, "reducing over the batch dimension is not supported")
        if x.dtype != np.int8:
            raise self.fail(op, "only int8 MEAN is supported")
        keep_dims = bool(op.options.get("keep_dims", False))
        multiplier, shift = requantize_multiplier(x.scale, out.scale, self.rounding("mean"))
        params = MeanParams(axes, keep_dims, x.zero_point, out.zero_point, multiplier, shift)
        return IntOp("mean", (op.inputs[0],), tuple(op.outputs), params, self.rounding("mean"))

    def op_add(self, op: Operator) -> IntOp:
        a = self.quantized(op, op.inputs[0])
        b = self.quantized(op, op.inputs[1])
        out = self.operand(op, 0, outputs=True)
        if not (a.dtype == b.dtype == out.dtype == np.int8):
            raise self.fail(op, "only int8 ADD is supported")
        params = add_params(a.scale, a.zero_point, b.scale, b.zero_point, out.scale, out.zero_point,
                            self.act(op, out), self.rounding("add"))
        return IntOp("add", tuple(op.inputs[:2]), tuple(op.outputs), params, self.rounding("add"))

    def op_softmax(self, op: Operator) -> IntOp:
        x = self.quantized(op, op.inputs[0])
        out = self.operand(op, 0, outputs=True)
        if x.dtype != np.int8 or out.dtype != np.int8:
            raise self.fail(op, "only int8 -> int8 softmax is supported")
        if out.zero_point != -128 or abs(out.scale - 1 / 256) > 0.001 / 256:
            raise self.fail(op, f"output must have scale 1/256 and zero point -128 (got {out.scale}, "
                                f"{out.zero_point})")
        params = softmax_params(x.scale, op.options.get("beta", 1.0), self.rounding("softmax"))
        return IntOp("softmax", (op.inputs[0],), tuple(op.outputs), params, self.rounding("softmax"))

    def _requantize(self, op: Operator, activation: str) -> IntOp:
        x = self.quantized(op, op.inputs[0])
        out = self.operand(op, 0, outputs=True)
        act = activation_range(activation, out.scale, out.zero_point, out.dtype)
        params = requantize_params(x.scale, x.zero_point, out.scale, out.zero_point, act,
                                   self.rounding("requantize"))
        return IntOp("requantize", (op.inputs[0],), tuple(op.outputs), params, self.rounding("requantize"))

    def op_relu(self, op: Operator) -> IntOp:
        return self._requantize(op, "RELU")

    def op_relu6(self, op: Operator) -> IntOp:
        return self._requantize(op, "RELU6")

    def op_relu_n1_to_1(self, op: Operator) -> IntOp:
        return self._requantize(op, "RELU_N1_TO_1")

    def op_quantize(self, op: Operator) -> IntOp:
        return self._requantize(op, "NONE")

    def op_reshape(self, op: Operator) -> IntOp:
        return IntOp("reshape", (op.inputs[0],), tuple(op.outputs),
                     ReshapeParams(tuple(self.operand(op, 0, outputs=True).shape)))

    op_squeeze = op_reshape
    op_expand_dims = op_reshape

    def op_pad(self, op: Operator) -> IntOp:
        x = self.quantized(op, op.inputs[0])
        out = self.operand(op, 0, outputs=True)
        paddings = self.operand(op, 1).data
        if paddings is None:
            raise self.fail(op, "paddings must be constant")
        if (x.scale, x.zero_point) != (out.scale, out.zero_point):
            raise self.fail(op, "input and output quantization must match")
        value = out.zero_point
        if op.opcode == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
            constant = self.operand(op, 2).data
            value = int(np.asarray(constant).reshape(-1)[0])
        pairs = tuple((int(a), int(b)) for a, b in np.asarray(paddings).reshape(-1, 2))
        return IntOp("pad", (op.inputs[0],), tuple(op.outputs), PadParams(pairs, value))

    op_padv2 = op_pad

    def op_concatenation(self, op: Operator) -> IntOp:
        out = self.operand(op, 0, outputs=True)
        if not op.inputs:
            raise ModelFormatError(f"{self.source}: operator {op.index} (CONCATENATION) has no inputs")
        for i in op.inputs:
            t = self.quantized(op, i)
            if (t.scale, t.zero_point) != (out.scale, out.zero_point):
                raise self.fail(op, "inputs with quantization different from the output are not supported")
        axis = int(op.options.get("axis", 0))
        axis = axis + len(out.shape) if axis < 0 else axis
        act_min, act_max = self.act(op, out)
        return IntOp("concatenation", tuple(op.inputs), tuple(op.outputs), ConcatParams(axis, act_min, act_max))

    def op_strided_slice(self, op: Operator) -> IntOp:
        x = self.quantized(op, op.inputs[0])
        out = self.tensors[op.outputs[0]]
        if (x.scale, x.zero_point) != (out.scale, out.zero_point):
            raise self.fail(op, "input and output quantization must match")
        vectors = [self.tensors[i].data for i in op.inputs[1:4]]
        if len(vectors) != 3 or any(v is None for v in vectors):
            raise self.fail(op, "begin, end and strides must be constant")
        o = op.options
        unsupported = [k for k in ("ellipsis_mask", "new_axis_mask", "shrink_axis_mask", "offset") if o.get(k)]
        if unsupported:
            raise self.fail(op, f"{', '.join(unsupported)} not supported")
        params = strided_slice_params(*vectors, o.get("begin_mask", 0), o.get("end_mask", 0))
        if len(params.strides) != len(x.shape):
            raise self.fail(op, f"{len(params.strides)} slice axes for a {len(x.shape)}-D input")
        return IntOp("strided_slice", (op.inputs[0],), tuple(op.outputs), params)


def intmodel_from_tflite(model: str | os.PathLike | TFLiteModel, arithmetic: str = DEFAULT_ARITHMETIC) -> IntModel:
    """Build the IntModel of an int8 .tflite file (path) or an already parsed TFLiteModel.

    `arithmetic` chooses whose arithmetic to reproduce bit for bit: "litert_ref" (LiteRT
    with the reference kernels) or "tflite_micro" (TFLite Micro); they differ only in the
    rounding of FULLY_CONNECTED.

    Raises ModelFormatError for a malformed file and UnsupportedOpError for operators or
    types the integer runtime cannot execute.
    """
    check_arithmetic(arithmetic)
    if not isinstance(model, TFLiteModel):
        model = read_tflite(model)
    source = model.path or "<tflite model>"
    importer = _Importer(model, arithmetic, source)
    # Checked before the operators, so that a float model is named as such, not by its first
    # float operator.
    for index in importer.graph.inputs:
        t = importer.tensors[index]
        if t.dtype != np.int8:
            hint = " (run a float .tflite with the litert runtime)" if t.dtype == np.float32 else ""
            raise UnsupportedOpError(f"{source}: input {t.name!r} is {t.dtype.name}; the integer runtime "
                                     f"runs int8 models only{hint}")
    ops = tuple(importer.convert(op) for op in importer.graph.operators)
    metadata = {"source": source, "description": model.description, "tflite_metadata": dict(model.metadata)}
    imported = IntModel(tensors=tuple(importer.tensors), ops=ops, inputs=tuple(importer.graph.inputs),
                        outputs=tuple(importer.graph.outputs), arithmetic=arithmetic, metadata=metadata)
    check_model(imported, source)
    return imported


