"""A small builder for TFLite graphs: add tensors and operators, get .tflite bytes.

    b = TFLiteGraphBuilder()
    x = b.tensor((1, 8), np.int8, scale=0.1, zero_point=-3)
    y = b.tensor((1, 8), np.int8, scale=1 / 256, zero_point=-128)
    b.operator("SOFTMAX", [x], [y], version=2, beta=1.0)
    data = b.to_bytes(inputs=[x], outputs=[y])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinykws.formats.tflite_model import Operator, Quantization, Subgraph, Tensor, TFLiteModel
from tinykws.formats.tflite_writer import tflite_bytes

_TYPE_NAMES = {
    np.dtype(np.int8): "INT8", np.dtype(np.uint8): "UINT8", np.dtype(np.int16): "INT16",
    np.dtype(np.int32): "INT32", np.dtype(np.int64): "INT64", np.dtype(np.float32): "FLOAT32", np.dtype(np.float16): "FLOAT16",
    np.dtype(np.bool_): "BOOL",
}


class TFLiteGraphBuilder:
    """Collects the tensors and operators of one subgraph; indices are returned as added."""

    def __init__(self) -> None:
        self.tensors: list[Tensor] = []
        self.operators: list[Operator] = []

    def tensor(self, shape: Sequence[int], dtype=np.int8, scale=None, zero_point=0, data: np.ndarray | None = None,
               quantized_dimension: int = 0, name: str | None = None) -> int:
        """Add a tensor; `scale` may be a sequence (per-channel along `quantized_dimension`).

        Returns its index. `data` makes it a constant (cast to `dtype`, reshaped to `shape`).
        """
        dtype = np.dtype(dtype)
        quant = None
        if scale is not None:
            scales = np.atleast_1d(np.asarray(scale, np.float32))
            zero_points = np.broadcast_to(np.asarray(zero_point, np.int64), scales.shape).copy()
            quant = Quantization(scales, zero_points, quantized_dimension)
        if data is not None:
            data = np.asarray(data).astype(dtype).reshape(tuple(shape))
        index = len(self.tensors)
        self.tensors.append(Tensor(index=index, name=name or f"t{index}", shape=tuple(int(d) for d in shape),
                                   dtype=dtype, type_name=_TYPE_NAMES[dtype], data=data, quantization=quant))
        return index

    def operator(self, opcode: str, inputs: Sequence[int], outputs: Sequence[int], version: int = 1,
                 **options: Any) -> int:
        """Add a builtin operator with snake_case `options` (as the reader returns them)."""
        index = len(self.operators)
        self.operators.append(Operator(index=index, opcode=opcode, inputs=tuple(inputs), outputs=tuple(outputs),
                                       options=dict(options), opcode_version=version))
        return index

    def model(self, inputs: Sequence[int], outputs: Sequence[int], description: str = "tinykws",
              metadata: dict[str, bytes] | None = None) -> TFLiteModel:
        graph = Subgraph(tensors=tuple(self.tensors), operators=tuple(self.operators), inputs=tuple(inputs),
                         outputs=tuple(outputs), name="main")
        return TFLiteModel(version=3, description=description, subgraphs=(graph,), metadata=dict(metadata or {}))

    def to_bytes(self, inputs: Sequence[int], outputs: Sequence[int], **kwargs: Any) -> bytes:
        """The .tflite bytes of the graph with the given input and output tensors."""
        return tflite_bytes(self.model(inputs, outputs, **kwargs))
