"""Typed, read-only view of a .tflite model (what `read_tflite` returns).

The classes mirror the parts of the TFLite flatbuffer schema that tinykws uses: subgraphs,
tensors with their constant data and quantization, operators with decoded options, and the
model's named metadata buffers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Name of the metadata buffer that marks a tinykws streaming step (`tinykws.stream`): its first
# input and output are the frames and the scores, the others its state.
STREAM_METADATA = "tinykws_stream"


@dataclass(frozen=True, eq=False)
class Quantization:
    """Affine quantization of a tensor: real = scale * (q - zero_point).

    `scales` (float32) and `zero_points` (int64) hold one entry per tensor, or one per
    slice along `quantized_dimension` for per-channel quantization.
    """

    scales: np.ndarray
    zero_points: np.ndarray
    quantized_dimension: int = 0

    @property
    def per_channel(self) -> bool:
        return self.scales.size > 1


@dataclass(frozen=True, eq=False)
class Tensor:
    """One tensor of a subgraph.

    `dtype` is the numpy dtype of the stored values (`type_name` is the TFLite name, which
    matters for types without a numpy twin such as BFLOAT16, stored as its uint16 bits).
    `data` is the constant value reshaped to `shape`, or None for activations.
    """

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    type_name: str
    data: np.ndarray | None
    quantization: Quantization | None
    is_variable: bool = False
    shape_signature: tuple[int, ...] | None = None


@dataclass(frozen=True, eq=False)
class Operator:
    """One operator: `opcode` is the builtin name ("CONV_2D"), or "CUSTOM" with `custom_code`.

    `inputs`/`outputs` are tensor indices in the subgraph (-1 marks an omitted optional
    input). `options` maps snake_case option names to values; enumerations that tinykws
    reads (padding, fused_activation_function) are decoded to their names ("SAME", "RELU").
    """

    index: int
    opcode: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)
    opcode_version: int = 1
    custom_code: str | None = None


@dataclass(frozen=True, eq=False)
class Subgraph:
    """A graph of operators over tensors; `inputs`/`outputs` are tensor indices."""

    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    name: str = ""

    def tensor_by_name(self, name: str) -> Tensor:
        """The tensor called `name` (KeyError when absent)."""
        for tensor in self.tensors:
            if tensor.name == name:
                return tensor
        raise KeyError(name)


@dataclass(frozen=True, eq=False)
class TFLiteModel:
    """A parsed .tflite file. `metadata` maps metadata names to their raw bytes."""

    version: int
    description: str
    subgraphs: tuple[Subgraph, ...]
    metadata: dict[str, bytes]
    path: str | None = None

    @property
    def main(self) -> Subgraph:
        """Subgraph 0, the one an interpreter runs."""
        return self.subgraphs[0]
