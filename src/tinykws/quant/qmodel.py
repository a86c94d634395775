"""QuantizedModel: the lowered float graph with TFLite int8 fake quantization.

A torch module that runs the folded graph (batch norm folded, ReLU fused) in one of three
modes: "float" (no quantization), "calibrate" (float, observers record each activation)
and "quantized" (weights, biases and activations fake-quantized with TFLite's
arithmetic; the straight-through estimator makes it trainable for QAT). It holds every
scale and zero point, so the integer network is derived from it
(`tinykws.intmodel.from_quantized`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tinykws.errors import ConfigError
from tinykws.quant.config import QuantConfig
from tinykws.quant.fake_quant import (
    activation_qparams,
    asymmetric_weight_qparams,
    bias_scales,
    fake_quantize,
    fake_quantize_weight,
    int_range,
    quantize_bias,
    quantize_weight,
    symmetric_activation_qparams,
    weight_scales,
)
from tinykws.quant.graph import FIXED_OUTPUT_QUANT, PER_CHANNEL_KINDS, SHARED_QUANT_KINDS, FloatGraph, GraphNode
from tinykws.quant.observers import make_observer

MODES = ("float", "calibrate", "quantized")
SOFTMAX_SCALE, SOFTMAX_ZERO_POINT = 1.0 / 256.0, -128


@dataclass(frozen=True)
class ActQuant:
    """Quantization of one activation value: real = scale * (q - zero_point)."""

    scale: float
    zero_point: int


@dataclass(frozen=True)
class WeightQuant:
    """Quantized weights of one conv/linear node: float32 scales (one per output channel,
    or one), and the int32 bias scales input_scale * weight_scale."""

    weight_scales: torch.Tensor
    bias_scales: torch.Tensor
    per_channel: bool


# Element-wise operations of gated and recurrent models, in float (outputs quantized after).
_GATED_OPS = {"mul": torch.mul, "sub": torch.sub, "logistic": torch.sigmoid, "tanh": torch.tanh,
              "batch_matmul": torch.matmul}


class QuantizedModel(nn.Module):
    """Fake-quant model over a folded FloatGraph.

    model_name / model_kwargs / num_classes: the float model it came from (for rebuilding).
    input_shape: (frames, features). Input (B, 1, frames, features) or (B, frames, features).

    The quantized mode simulates the int8 grid in float32 (with the straight-through
    estimator, so it trains). It is a simulation: the exact integer arithmetic of TFLite
    (fixed-point requantization, its rounding) is the integer network's
    (`tinykws.intmodel.from_quantized`), which agrees with it on all but a few outputs.
    """

    def __init__(self, graph: FloatGraph, config: QuantConfig, model_name: str, model_kwargs: dict,
                 num_classes: int, input_shape: tuple[int, int]):
        super().__init__()
        self.graph = graph
        self.config = config
        self.model_name = model_name
        self.model_kwargs = dict(model_kwargs)
        self.num_classes = int(num_classes)
        self.input_shape = tuple(int(v) for v in input_shape)
        self.mode = "float"
        self.params = nn.ParameterDict()
        self._param_prefix: dict[int, str] = {}
        for i, node in enumerate(graph.nodes):
            # Nodes with one param_key (the steps of a recurrent layer) share one set of weights.
            shared = node.attrs.get("param_key")
            prefix = f"n{i}" if shared is None else "s_" + shared.replace(".", "_")
            self._param_prefix[i] = prefix
            for key, tensor in node.params.items():
                if node.kind == "const":
                    self.register_buffer(f"{prefix}_{key}", tensor.detach().clone().float())
                elif f"{prefix}_{key}" not in self.params:
                    self.params[f"{prefix}_{key}"] = nn.Parameter(tensor.detach().clone().float())
            node.params = {}
        self.slots = self._assign_slots()
        n = max(self.slots.values()) + 1
        self.register_buffer("act_scale", torch.ones(n, dtype=torch.float32))
        self.register_buffer("act_zero_point", torch.zeros(n, dtype=torch.int64))
        self.register_buffer("calibrated", torch.zeros((), dtype=torch.bool))
        self._observers: dict[int, object] = {}
        self._fixed_slots = {self.slots[n.output]: FIXED_OUTPUT_QUANT[n.kind] for n in graph.nodes
                             if n.kind in FIXED_OUTPUT_QUANT}
        for slot, (scale, zero_point) in self._fixed_slots.items():
            self.act_scale[slot] = scale
            self.act_zero_point[slot] = zero_point

    # ---- structure -------------------------------------------------------------------
    def _assign_slots(self) -> dict[int, int]:
        slots = {self.graph.input: 0}
        keyed: dict[str, int] = {}
        count = 1
        for node in self.graph.nodes:
            key = node.attrs.get("slot_key")
            if node.kind in SHARED_QUANT_KINDS:
                slots[node.output] = slots[node.inputs[0]]
            elif key is not None and key in keyed:
                slots[node.output] = keyed[key]
            else:
                slots[node.output] = count
                if key is not None:
                    keyed[key] = count
                count += 1
        return slots

    def param(self, index: int, key: str) -> torch.Tensor:
        """Parameter (or constant) `key` of node `index` (shared ones are the same tensor)."""
        name = f"{self._param_prefix[index]}_{key}"
        return self.params[name] if name in self.params else getattr(self, name)

    def act_quant(self, value: int) -> ActQuant:
        """Scale and zero point of graph value `value` (after calibration)."""
        slot = self.slots[value]
        return ActQuant(float(self.act_scale[slot]), int(self.act_zero_point[slot]))

    def weight_quant(self, index: int) -> WeightQuant:
        """Scales of node `index`'s weights and bias, from its current weights."""
        node = self.graph.nodes[index]
        per_channel = node.kind in PER_CHANNEL_KINDS
        weight = self.param(index, "weight")
        if node.kind == "affine":
            weight = weight.reshape(-1)
        w_scales = weight_scales(weight, 0 if per_channel else None, self.config.weight_bits)
        in_scale = self.act_scale[self.slots[node.inputs[0]]]
        return WeightQuant(w_scales, bias_scales(in_scale, w_scales), per_channel)

    # ---- modes -----------------------------------------------------------------------
    def set_mode(self, mode: str) -> "QuantizedModel":
        if mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}, got {mode!r}")
        if mode == "quantized" and not bool(self.calibrated):
            raise ConfigError("the model must be calibrated before it runs quantized")
        self.mode = mode
        return self

    @torch.no_grad()
    def calibrate(self, batches: Iterable[torch.Tensor]) -> int:
        """Observe activation ranges on float inputs (B, 1, frames, features); set every scale
        and zero point; returns the number of inputs seen. Leaves the model quantized."""
        self._observers = {}
        self.mode = "calibrate"
        seen = 0
        for batch in batches:
            self.forward(batch)
            seen += int(batch.shape[0])
        if seen == 0:
            raise ConfigError("calibration needs at least one input")
        for slot, observer in self._observers.items():
            qparams = symmetric_activation_qparams if self.config.act_symmetric else activation_qparams
            scale, zp = qparams(*observer.range(self.config.act_bits), self.config.act_bits)
            self.act_scale[slot] = scale
            self.act_zero_point[slot] = zp
        self._observers = {}
        self.calibrated.fill_(True)
        self.mode = "quantized"
        return seen

    # ---- forward ---------------------------------------------------------------------
    def _act(self, x: torch.Tensor, value: int) -> torch.Tensor:
        slot = self.slots[value]
        if self.mode == "calibrate" and slot not in self._fixed_slots:
            self._observers.setdefault(slot, make_observer(self.config.observer, self.config.percentile)).observe(x)
            return x
        if self.mode != "quantized":
            return x
        fixed = slot in self._fixed_slots
        bits = 8 if fixed else self.config.act_bits
        qmin, qmax = int_range(bits, symmetric=self.config.act_symmetric and not fixed)
        return fake_quantize(x, self.act_scale[slot], self.act_zero_point[slot], qmin, qmax)

    def _weights(self, index: int, node: GraphNode) -> tuple[torch.Tensor, torch.Tensor]:
        w, b = self.param(index, "weight"), self.param(index, "bias")
        if self.mode != "quantized":
            return w, b
        # The steps of a recurrent layer share weights and input slot: quantized once a forward.
        key = (self._param_prefix[index], self.slots[node.inputs[0]])
        cached = self._forward_weights.get(key)
        if cached is None:
            cached = self._forward_weights[key] = self._quantized_weights(index, node, w, b)
        return cached

    def _quantized_weights(self, index: int, node: GraphNode, w: torch.Tensor,
                           b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        wq = self.weight_quant(index)
        flat = w.reshape(-1) if node.kind == "affine" else w
        channel_dim = 0 if wq.per_channel else None
        if self.config.weight_symmetric:
            flat = quantize_weight(flat, wq.weight_scales, channel_dim, self.config.weight_bits)
        else:
            scales, zero_points = asymmetric_weight_qparams(flat, channel_dim, self.config.weight_bits)
            flat = fake_quantize_weight(flat, scales, zero_points, channel_dim, self.config.weight_bits)
        return flat.reshape(w.shape), quantize_bias(b.reshape(-1), wq.bias_scales).reshape(b.shape)

    @staticmethod
    def _activation(y: torch.Tensor, name: str) -> torch.Tensor:
        if name == "RELU":
            return torch.relu(y)
        if name == "RELU6":
            return torch.clamp(y, 0.0, 6.0)
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            x = x.unsqueeze(1)
        return self.values(x)[self.graph.output].float()

    def values(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        """Every graph value computed from input (B, 1, frames, features), by value id."""
        self._forward_weights: dict[tuple[str, int], tuple[torch.Tensor, torch.Tensor]] = {}
        try:
            values = {self.graph.input: self._act(x.float(), self.graph.input)}
            for i, node in enumerate(self.graph.nodes):
                xs = [values[v] for v in node.inputs]
                values[node.output] = self._run_node(i, node, xs)
            return values
        finally:
            # Not kept past the forward: in QAT they hold the batch's autograd graph.
            self._forward_weights = {}

    def _run_node(self, i: int, node: GraphNode, xs: list[torch.Tensor]) -> torch.Tensor:
        a = node.attrs
        kind = node.kind
        if kind == "conv":
            top, bottom, left, right = a["pads"]
            x = F.pad(xs[0], (left, right, top, bottom)) if any(a["pads"]) else xs[0]
            w, b = self._weights(i, node)
            y = F.conv2d(x, w, b, a["stride"], 0, a["dilation"], a["groups"])
            return self._act(self._activation(y, a["activation"]), node.output)
        if kind == "linear":
            w, b = self._weights(i, node)
            return self._act(self._activation(F.linear(xs[0], w, b), a["activation"]), node.output)
        if kind == "add":
            return self._act(self._activation(xs[0] + xs[1], a["activation"]), node.output)
        if kind == "avgpool":
            keep = len(self.graph.shapes[node.output]) == 4
            return self._act(xs[0].mean(dim=a.get("axes", (2, 3)), keepdim=keep), node.output)
        if kind == "reshape":
            return xs[0].reshape(xs[0].shape[0], *self.graph.shapes[node.output][1:])
        if kind == "layout":
            return xs[0].permute(*a["permute"]) if a.get("permute") else xs[0]
        if kind == "pad":
            top, bottom, left, right = a["pads"]
            return F.pad(xs[0], (left, right, top, bottom))
        if kind == "softmax":
            return self._act(torch.softmax(xs[0], dim=-1), node.output)
        return self._act(self._run_gated(i, node, xs), node.output)

    def _run_gated(self, i: int, node: GraphNode, xs: list[torch.Tensor]) -> torch.Tensor:
        """The operations of gated and recurrent models (before output quantization)."""
        kind = node.kind
        if kind == "affine":
            w, b = self._weights(i, node)
            return xs[0] * w[None, :, None, :] + b[None, :, None, :]
        if kind in _GATED_OPS:
            return _GATED_OPS[kind](*xs)
        if kind == "const":
            return self.param(i, "value")
        if kind == "select_step":
            t = node.attrs["step"]
            return xs[0][:, t:t + 1]
        if kind == "concat_steps":
            return torch.cat(torch.broadcast_tensors(*xs), dim=1)
        raise ConfigError(f"unknown graph node kind {kind!r}")

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities as the exported network gives them: softmax of the output,
        quantized to 1/256 steps when the model is quantized (unless it ends in softmax)."""
        y = self.forward(x)
        if self.graph.nodes and self.graph.nodes[-1].kind == "softmax":
            return y
        p = torch.softmax(y, dim=-1)
        if self.mode == "quantized":
            p = fake_quantize(p, SOFTMAX_SCALE, SOFTMAX_ZERO_POINT, -128, 127)
        return p

    def extra_repr(self) -> str:
        kinds = ", ".join(n.kind for n in self.graph.nodes)
        return f"model={self.model_name}, mode={self.mode}, config={self.config}, nodes=[{kinds}]"
