"""STRIDED_SLICE: the int8 kernel, its parameters and how they are read from a .tflite.

A streaming step keeps ring buffers of past frames as explicit state tensors: the buffer is
the CONCATENATION of the old state and the new frames, the new state a STRIDED_SLICE of it,
and layers that read every S-th frame take a strided slice too. The kernel copies values
(input and output share their quantization), so it is exact in every arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StridedSliceParams:
    """Per-axis (begin, end, stride) with the begin/end masks already applied: None means
    "from the start" / "to the end" in the direction of the stride, as Python slices."""

    begin: tuple[int | None, ...]
    end: tuple[int | None, ...]
    strides: tuple[int, ...]


def strided_slice_params(begin: np.ndarray, end: np.ndarray, strides: np.ndarray, begin_mask: int = 0,
                         end_mask: int = 0) -> StridedSliceParams:
    """The parameters of a STRIDED_SLICE from its constant begin / end / strides vectors and
    masks (bit i set: ignore begin[i] / end[i]). Raises ValueError for a zero stride."""
    begin, end, strides = (tuple(int(v) for v in np.asarray(a).reshape(-1)) for a in (begin, end, strides))
    if not len(begin) == len(end) == len(strides):
        raise ValueError(f"begin, end and strides have different lengths ({len(begin)}, {len(end)}, {len(strides)})")
    if 0 in strides:
        raise ValueError("a stride of 0")
    return StridedSliceParams(
        tuple(None if begin_mask >> i & 1 else b for i, b in enumerate(begin)),
        tuple(None if end_mask >> i & 1 else e for i, e in enumerate(end)),
        strides,
    )


def sliced_shape(p: StridedSliceParams, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The output shape of the slice on an input of `shape` (ValueError for a rank mismatch)."""
    if len(shape) != len(p.strides):
        raise ValueError(f"{len(p.strides)} slice axes for a {len(shape)}-D input")
    return tuple(len(range(*slice(b, e, s).indices(int(d)))) for d, b, e, s in zip(shape, p.begin, p.end, p.strides))


def strided_slice(p: StridedSliceParams, x: np.ndarray) -> np.ndarray:
    """STRIDED_SLICE of `x`; begin/end are clamped to the axis like TFLite's reference kernel
    (which, for the masks supported here, is Python's slice semantics)."""
    index = tuple(slice(b, e, s) for b, e, s in zip(p.begin, p.end, p.strides))
    return np.ascontiguousarray(x[index])
