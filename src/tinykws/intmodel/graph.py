"""The integer network: tensors with quantization, operators with precomputed
fixed-point parameters, and the model that ties them together."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinykws.fixedpoint.primitives import Rounding


@dataclass(frozen=True, eq=False)
class IntTensor:
    """A tensor of the integer network.

    `scale`/`zero_point` give the per-tensor affine quantization (real = scale * (q - zp));
    `channel_scales` holds per-channel scales along `quantized_dimension` for weights.
    `data` is the constant value (weights, biases, shapes) or None for activations.
    Dimension 0 of activations is the batch dimension.
    """

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    scale: float | None = None
    zero_point: int = 0
    channel_scales: np.ndarray | None = None
    quantized_dimension: int = 0
    data: np.ndarray | None = None

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def nbytes(self) -> int:
        """Size in bytes of one batch item of this tensor."""
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


@dataclass(frozen=True, eq=False)
class IntOp:
    """One operator: `kind` names the kernel ("conv2d", "softmax", ...), `inputs` and
    `outputs` are tensor indices (-1 for an omitted optional input), `params` is the
    kind's frozen parameter dataclass with multipliers, shifts and clamp range, and
    `rounding` the MultiplyByQuantizedMultiplier form ("double": gemmlowp, "single":
    TFLITE_SINGLE_ROUNDING) the parameters were derived for and the kernel uses."""

    kind: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    params: Any
    rounding: Rounding = "double"


@dataclass(frozen=True, eq=False)
class IntModel:
    """An integer network, ready for `run`.

    `arithmetic` names the arithmetic the operators reproduce ("litert_ref" or
    "tflite_micro", see `tinykws.fixedpoint.arithmetic`). `metadata` carries whatever the network's
    user needs beside it (front-end config, labels, source file).
    """

    tensors: tuple[IntTensor, ...]
    ops: tuple[IntOp, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    arithmetic: str = "litert_ref"
    metadata: dict[str, Any] = field(default_factory=dict)

    def tensor(self, name_or_index: str | int) -> IntTensor:
        """A tensor by index or by name (KeyError when there is no such name)."""
        if isinstance(name_or_index, int):
            return self.tensors[name_or_index]
        for t in self.tensors:
            if t.name == name_or_index:
                return t
        raise KeyError(name_or_index)

    @property
    def input_tensors(self) -> tuple[IntTensor, ...]:
        return tuple(self.tensors[i] for i in self.inputs)

    @property
    def output_tensors(self) -> tuple[IntTensor, ...]:
        return tuple(self.tensors[i] for i in self.outputs)

    @property
    def op_kinds(self) -> tuple[str, ...]:
        return tuple(op.kind for op in self.ops)
