"""The float graph a model is lowered to before quantization.

Nodes are the operations the TFLite int8 builtins can express (conv, depthwise conv via
groups, linear, average pools, reshape, add, sub, mul, pad, softmax, logistic, tanh, a
per-channel-and-frequency affine map, time-step selection and concatenation, batch
matmul, constants), with batch norm folded and ReLU fused. Values are integers; `shapes` holds their PyTorch shapes (batch 1) and
`layouts` how each maps onto TFLite's NHWC tensors:
- "nchw": a 4-D PyTorch tensor (B, C, H, W) stored as NHWC (B, H, W, C);
- "nhwc": a 4-D tensor already permuted to (B, H, W, C) (stored as is);
- "flat": a 2-D (B, N) tensor in the same order as in TFLite;
- "flat_chw": a 2-D tensor flattened from an "nchw" value in C, H, W order, which TFLite
  holds in H, W, C order (the consuming FC's weight columns are permuted to match);
- "seq", "seq_cf", "ntcf": sequences (see `quant.trace_sequence`).
Nodes may share weights (`attrs["param_key"]`) and activation ranges (`attrs["slot_key"]`):
the steps of an unrolled recurrent layer do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

# Kinds whose output keeps the input's quantization (no requantization in TFLite).
SHARED_QUANT_KINDS = ("reshape", "pad", "avgpool", "layout", "select_step", "concat_steps")
# Kinds with weights, and those of them whose weights are quantized per output channel
# (an affine map has one weight per channel and frequency bin: each is its own "channel").
WEIGHTED_KINDS = ("conv", "linear", "affine")
PER_CHANNEL_KINDS = ("conv", "affine")
# Kinds whose output quantization is fixed by TFLite's int8 kernels: (scale, zero point).
FIXED_OUTPUT_QUANT = {"softmax": (1.0 / 256.0, -128), "logistic": (1.0 / 256.0, -128), "tanh": (1.0 / 128.0, 0)}


@dataclass
class GraphNode:
    """One operation. `params` holds float tensors (weight, bias); `attrs` plain settings:
    conv: stride, dilation, groups, pads (top, bottom, left, right); all weighted kinds
    and add: activation ("NONE", "RELU", "RELU6")."""

    kind: str
    inputs: list[int]
    output: int
    attrs: dict[str, Any] = field(default_factory=dict)
    params: dict[str, torch.Tensor] = field(default_factory=dict)
    source: str = ""


@dataclass
class FloatGraph:
    nodes: list[GraphNode]
    shapes: dict[int, tuple[int, ...]]
    layouts: dict[int, str]
    input: int
    output: int

    def consumers(self, value: int) -> list[GraphNode]:
        return [n for n in self.nodes if value in n.inputs]

    def producer(self, value: int) -> GraphNode | None:
        for n in self.nodes:
            if n.output == value:
                return n
        return None
