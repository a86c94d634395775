"""The integer network of a QuantizedModel, through the typed TFLite view.

`tflite_model_from_quantized` turns the fake-quant graph into a fully int8 TFLiteModel
(int8 input and output, per-channel conv weights, per-tensor FC weights, int32 biases,
fused ReLU, TFLite SAME/VALID padding or an explicit PAD, softmax output 1/256 zp -128).
`intmodel_from_quantized` imports that same view with `intmodel_from_tflite`, so the
numpy runtime and the exported .tflite file come from one conversion.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinykws.errors import ConfigError, UnsupportedOpError
from tinykws.formats.tflite_builder import TFLiteGraphBuilder
from tinykws.formats.tflite_model import TFLiteModel
from tinykws.intmodel.from_quantized_gated import GatedOps
from tinykws.intmodel.from_tflite import intmodel_from_tflite
from tinykws.intmodel.graph import IntModel
from tinykws.fixedpoint.arithmetic import DEFAULT_ARITHMETIC
from tinykws.quant.fake_quant import bias_codes, weight_codes
from tinykws.quant.graph import GraphNode
from tinykws.quant.qmodel import SOFTMAX_SCALE, SOFTMAX_ZERO_POINT, QuantizedModel

# Operator versions as the TFLite converter writes them for int8 models.
VERSIONS = {"CONV_2D": 3, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 4, "AVERAGE_POOL_2D": 2, "RESHAPE": 1,
            "SOFTMAX": 2, "ADD": 2, "PAD": 2, "FULLY_CONNECTED_KEEP_DIMS": 5, "DEQUANTIZE": 3}


def _scales(wq, which: str):
    """Weight or bias scales of a WeightQuant (None when building a float model)."""
    if wq is None:
        return None
    return (wq.weight_scales if which == "weight" else wq.bias_scales).numpy()


def _tfl_shape(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    if layout == "nchw":
        return (shape[0], shape[2], shape[3], shape[1])
    return tuple(shape)


def _same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    span = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


class _Converter(GatedOps):
    """Builds the TFLite view of a QuantizedModel: fully int8 (`float_dtype` None), or in
    float32 with weights stored as `float_dtype` (float16 behind DEQUANTIZE, or float32)."""

    def __init__(self, qmodel: QuantizedModel, name: str, float_dtype=None):
        self.q = qmodel
        self.float_dtype = None if float_dtype is None else np.dtype(float_dtype)
        self.g = qmodel.graph
        self.name = name
        self.b = TFLiteGraphBuilder()
        self.tensor_of: dict[int, int] = {}
        self.split_of: dict[int, list[int]] = {}
        self.weights_of: dict[str, tuple[int, int]] = {}

    def fail(self, node: GraphNode, problem: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{self.name}: {node.source or node.kind}: {problem}")

    def activation_tensor(self, value: int, name: str, shape: tuple[int, ...] | None = None) -> int:
        shape = shape or _tfl_shape(self.g.shapes[value], self.g.layouts[value])
        index = self.act_tensor(shape, value, name)
        self.tensor_of[value] = index
        return index

    def act_tensor(self, shape: tuple[int, ...], value: int, name: str) -> int:
        """A new activation tensor of `shape`, quantized like graph value `value` (or float32)."""
        if self.float_dtype is not None:
            return self.b.tensor(shape, np.float32, name=name)
        aq = self.q.act_quant(value)
        return self.b.tensor(shape, np.int8, scale=aq.scale, zero_point=aq.zero_point, name=name)

    def const_tensor(self, data: np.ndarray, int_dtype, scales, name: str, quantized_dimension: int = 0) -> int:
        """A weight or bias: `int_dtype` codes with per-channel `scales` (int8 network), or
        float values stored as float_dtype (float16 ones read through DEQUANTIZE)."""
        if self.float_dtype is None:
            return self.b.tensor(data.shape, int_dtype, scale=np.asarray(scales), zero_point=0, data=data,
                                 quantized_dimension=quantized_dimension, name=name)
        stored = self.b.tensor(data.shape, self.float_dtype, data=data.astype(self.float_dtype), name=name)
        if self.float_dtype == np.float32:
            return stored
        out = self.b.tensor(data.shape, np.float32, name=f"{name}/float32")
        self.b.operator("DEQUANTIZE", [stored], [out], VERSIONS["DEQUANTIZE"])
        return out

    def const_int32(self, values, name: str) -> int:
        values = np.asarray(values, np.int32)
        return self.b.tensor(values.shape, np.int32, data=values, name=name)

    def convert(self, append_softmax: bool, metadata: dict[str, bytes], description: str) -> TFLiteModel:
        x = self.activation_tensor(self.g.input, "input")
        for i, node in enumerate(self.g.nodes):
            getattr(self, f"op_{node.kind}")(i, node)
        out = self.tensor_of[self.g.output]
        ends_in_softmax = bool(self.g.nodes) and self.g.nodes[-1].kind == "softmax"
        if append_softmax and not ends_in_softmax:
            shape = self.b.tensors[out].shape
            if self.float_dtype is not None:
                probs = self.b.tensor(shape, np.float32, name="probabilities")
            else:
                probs = self.b.tensor(shape, np.int8, scale=SOFTMAX_SCALE, zero_point=SOFTMAX_ZERO_POINT,
                                      name="probabilities")
            self.b.operator("SOFTMAX", [out], [probs], VERSIONS["SOFTMAX"], beta=1.0)
            out = probs
        return self.b.model([x], [out], description=description, metadata=metadata)

    def weights(self, i: int):
        """(weight codes, WeightQuant, bias codes) of node `i`; the float values (and None)
        when building a float model."""
        w, b = self.q.param(i, "weight"), self.q.param(i, "bias")
        if self.g.nodes[i].kind == "affine":  # one weight per channel and frequency bin
            w, b = w.reshape(-1), b.reshape(-1)
        if self.float_dtype is not None:
            return w.detach().numpy().astype(np.float32), None, b.detach().numpy().astype(np.float32)
        wq = self.q.weight_quant(i)
        codes = weight_codes(w, wq.weight_scales, 0 if wq.per_channel else None, self.q.config.weight_bits)
        bias = bias_codes(b, wq.bias_scales)
        return codes, wq, bias

    def op_conv(self, i: int, node: GraphNode) -> None:
        a = node.attrs
        x = self.tensor_of[node.inputs[0]]
        in_shape = self.g.shapes[node.inputs[0]]
        codes, wq, bias = self.weights(i)
        out_c, _, kh, kw = codes.shape
        depthwise = a["groups"] > 1
        top, bottom, left, right = a["pads"]
        same = (_same_pads(in_shape[2], kh, a["stride"][0], a["dilation"][0])
                + _same_pads(in_shape[3], kw, a["stride"][1], a["dilation"][1]))
        if (top, bottom, left, right) == same:
            padding = "SAME"
        else:
            padding = "VALID"
            if any(a["pads"]):
                x = self.pad(x, node.inputs[0], a["pads"], f"conv{i}/pad")
        if depthwise:
            data, qdim = codes.transpose(1, 2, 3, 0), 3  # (1, kh, kw, C*m)
        else:
            data, qdim = codes.transpose(0, 2, 3, 1), 0  # OHWI
        w = self.const_tensor(data, np.int8, _scales(wq, "weight"), f"conv{i}/weights", qdim)
        b = self.const_tensor(bias, np.int32, _scales(wq, "bias"), f"conv{i}/bias")
        y = self.activation_tensor(node.output, f"conv{i}/output")
        options = dict(padding=padding, stride_w=a["stride"][1], stride_h=a["stride"][0],
                       fused_activation_function=a["activation"], dilation_w_factor=a["dilation"][1],
                       dilation_h_factor=a["dilation"][0])
        if depthwise:
            options["depth_multiplier"] = out_c // in_shape[1]
            self.b.operator("DEPTHWISE_CONV_2D", [x, w, b], [y], VERSIONS["DEPTHWISE_CONV_2D"], **options)
        else:
            self.b.operator("CONV_2D", [x, w, b], [y], VERSIONS["CONV_2D"], **options)

    def pad(self, x: int, value: int, pads, name: str) -> int:
        top, bottom, left, right = pads
        shape = self.b.tensors[x].shape
        out_shape = (shape[0], shape[1] + top + bottom, shape[2] + left + right, shape[3])
        y = self.act_tensor(out_shape, value, name)
        paddings = self.const_int32([[0, 0], [top, bottom], [left, right], [0, 0]], f"{name}/paddings")
        self.b.operator("PAD", [x, paddings], [y], VERSIONS["PAD"])
        return y

    def op_pad(self, i: int, node: GraphNode) -> None:
        y = self.pad(self.tensor_of[node.inputs[0]], node.inputs[0], node.attrs["pads"], f"pad{i}")
        self.tensor_of[node.output] = y

    def op_linear(self, i: int, node: GraphNode) -> None:
        x = self.tensor_of[node.inputs[0]]
        codes, wq, bias = self.weights(i)
        src = self.g.producer(node.inputs[0])
        if self.g.layouts[node.inputs[0]] == "flat_chw":
            c, h, w_ = src.attrs["chw"]
            # TFLite flattens H, W, C: reorder the weight columns from C, H, W.
            codes = codes.reshape(-1, c, h, w_).transpose(0, 2, 3, 1).reshape(codes.shape[0], -1)
        if self.g.layouts[node.inputs[0]] == "seq_cf":
            c, f = src.attrs["cf"]
            # TFLite holds the features (frequency, channels): reorder the columns from (channels, frequency).
            codes = codes.reshape(-1, c, f).transpose(0, 2, 1).reshape(codes.shape[0], -1)
        sequence = len(self.g.shapes[node.inputs[0]]) == 3
        shared = node.attrs.get("param_key")
        if shared in self.weights_of:  # the steps of a recurrent layer read one copy of the weights
            w, b = self.weights_of[shared]
        else:
            w = self.const_tensor(codes, np.int8, _scales(wq, "weight"), f"fc{i}/weights")
            b = self.const_tensor(bias, np.int32, _scales(wq, "bias"), f"fc{i}/bias")
            if shared is not None:
                self.weights_of[shared] = (w, b)
        y = self.activation_tensor(node.output, f"fc{i}/output")
        self.b.operator("FULLY_CONNECTED", [x, w, b], [y], VERSIONS["FULLY_CONNECTED_KEEP_DIMS" if sequence else
                                                                    "FULLY_CONNECTED"],
                        fused_activation_function=node.attrs["activation"], keep_num_dims=sequence)

    def op_avgpool(self, i: int, node: GraphNode) -> None:
        x = self.tensor_of[node.inputs[0]]
        _, h, w, c = self.b.tensors[x].shape
        keep = len(self.g.shapes[node.output]) == 4
        if node.attrs.get("axes") == (3,):  # over frequency only: a (1, W) window
            pooled = self.act_tensor((1, h, 1, c), node.output, f"pool{i}/output")
            self.b.operator("AVERAGE_POOL_2D", [x], [pooled], VERSIONS["AVERAGE_POOL_2D"], padding="VALID",
                            stride_w=w, stride_h=1, filter_width=w, filter_height=1, fused_activation_function="NONE")
            self.tensor_of[node.output] = pooled
            return
        pooled = self.act_tensor((1, 1, 1, c), node.output, f"pool{i}/output")
        self.b.operator("AVERAGE_POOL_2D", [x], [pooled], VERSIONS["AVERAGE_POOL_2D"], padding="VALID",
                        stride_w=w, stride_h=h, filter_width=w, filter_height=h, fused_activation_function="NONE")
        if keep:
            self.tensor_of[node.output] = pooled
            return
        self.reshape(pooled, node.output, (1, c), f"pool{i}/flat")

    def reshape_tensor(self, x: int, value: int, shape: tuple[int, ...], name: str) -> int:
        """A RESHAPE of tensor `x` to `shape`, quantized as graph value `value`; its output."""
        y = self.act_tensor(shape, value, name)
        self.b.operator("RESHAPE", [x, self.const_int32(shape, f"{name}/shape")], [y], VERSIONS["RESHAPE"],
                        new_shape=list(shape))
        return y

    def reshape(self, x: int, value: int, shape: tuple[int, ...], name: str) -> None:
        self.tensor_of[value] = self.reshape_tensor(x, value, shape, name)

    def op_reshape(self, i: int, node: GraphNode) -> None:
        out_shape = self.g.shapes[node.output]
        if self.g.layouts[node.output] in ("seq", "seq_cf", "flat") and len(out_shape) in (2, 3):
            shape = (1, *out_shape[1:])
        else:
            shape = (1, int(np.prod(out_shape[1:])))
        self.reshape(self.tensor_of[node.inputs[0]], node.output, shape, f"reshape{i}")

    def op_layout(self, i: int, node: GraphNode) -> None:
        if node.attrs.get("tflite_reshape"):
            shape = _tfl_shape(self.g.shapes[node.output], self.g.layouts[node.output])
            self.reshape(self.tensor_of[node.inputs[0]], node.output, shape, f"layout{i}")
            return
        self.tensor_of[node.output] = self.tensor_of[node.inputs[0]]  # same NHWC memory: nothing to move

    def op_add(self, i: int, node: GraphNode) -> None:
        a, b = (self.tensor_of[v] for v in node.inputs)
        y = self.activation_tensor(node.output, f"add{i}/output")
        self.b.operator("ADD", [a, b], [y], VERSIONS["ADD"], fused_activation_function=node.attrs["activation"])

    def op_softmax(self, i: int, node: GraphNode) -> None:
        x = self.tensor_of[node.inputs[0]]
        y = self.activation_tensor(node.output, f"softmax{i}/output")
        self.b.operator("SOFTMAX", [x], [y], VERSIONS["SOFTMAX"], beta=1.0)


def tflite_model_from_quantized(qmodel: QuantizedModel, append_softmax: bool = True,
                                metadata: dict[str, bytes] | None = None,
                                description: str = "tinykws int8") -> TFLiteModel:
    """The fully int8 TFLiteModel of a calibrated QuantizedModel.

    append_softmax: end with an int8 SOFTMAX (scale 1/256, zero point -128) when the
    model outputs logits, as the MLPerf reference does. `metadata` maps names to bytes.
    Raises ConfigError for an uncalibrated model or activations narrower than 8 bits.
    """
    if not bool(qmodel.calibrated):
        raise ConfigError("calibrate the QuantizedModel before building its integer network")
    if not qmodel.config.exportable:
        c = qmodel.config
        raise ConfigError(f"{c.act_bits}-bit activations ({'symmetric' if c.act_symmetric else 'asymmetric'}) with "
                          f"{'symmetric' if c.weight_symmetric else 'asymmetric'} weights are simulation only: TFLite's "
                          "int8 kernels take 8-bit asymmetric activations and symmetric weights")
    return _Converter(qmodel, qmodel.model_name).convert(append_softmax, dict(metadata or {}), description)


def float_tflite_model(qmodel: QuantizedModel, weights: str = "float16", append_softmax: bool = True,
                       metadata: dict[str, bytes] | None = None, description: str = "tinykws float") -> TFLiteModel:
    """The float TFLiteModel of a QuantizedModel's folded graph (its float weights; no
    calibration needed): float32 input, activations and output, weights and biases stored
    as `weights` "float16" (each read through a DEQUANTIZE, TFLite's float16 quantization)
    or "float32"."""
    if weights not in ("float16", "float32"):
        raise ConfigError(f"float weights must be float16 or float32, got {weights!r}")
    return _Converter(qmodel, qmodel.model_name, np.dtype(weights)).convert(append_softmax, dict(metadata or {}),
                                                                           description)


def intmodel_from_quantized(qmodel: QuantizedModel, arithmetic: str = DEFAULT_ARITHMETIC,
                            append_softmax: bool = True, metadata: dict[str, bytes] | None = None) -> IntModel:
    """The IntModel of a calibrated QuantizedModel (see `tflite_model_from_quantized`)."""
    return intmodel_from_tflite(tflite_model_from_quantized(qmodel, append_softmax, metadata), arithmetic)


def describe(qmodel: QuantizedModel) -> dict[str, Any]:
    """Input and output quantization of the integer network, for manifests."""
    tfl = tflite_model_from_quantized(qmodel)
    sg = tfl.main
    def q(index: int) -> dict[str, Any]:
        t = sg.tensors[index]
        return {"shape": list(t.shape), "dtype": t.type_name.lower(),
                "scale": float(t.quantization.scales[0]), "zero_point": int(t.quantization.zero_points[0])}
    return {"input": q(sg.inputs[0]), "output": q(sg.outputs[0])}
