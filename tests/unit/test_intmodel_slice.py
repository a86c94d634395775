"""STRIDED_SLICE (the ring-buffer operator of streaming steps) against LiteRT's reference
kernels and TFLite Micro, on single-operator int8 files."""

from __future__ import annotations

import numpy as np
import pytest

from test_intmodel_ops import assert_matches_reference, ours, random_int8
from tinykws.errors import UnsupportedOpError
from tinykws.formats.tflite_builder import TFLiteGraphBuilder


def slice_model(in_shape, begin, end, strides, out_shape, begin_mask=0, end_mask=0, **extra) -> bytes:
    b = TFLiteGraphBuilder()
    x = b.tensor(in_shape, scale=0.04, zero_point=-7)
    consts = [b.tensor((len(v),), np.int32, data=np.array(v, np.int32)) for v in (begin, end, strides)]
    y = b.tensor(out_shape, scale=0.04, zero_point=-7)
    b.operator("STRIDED_SLICE", [x, *consts], [y], version=2, begin_mask=begin_mask, end_mask=end_mask, **extra)
    return b.to_bytes([x], [y])


@pytest.mark.parametrize("case", [
    # drop the oldest frame of a ring buffer: (1, 5, 4, 3) -> (1, 4, 4, 3)
    ((1, 5, 4, 3), [0, 1, 0, 0], [1, 5, 4, 3], [1, 1, 1, 1], (1, 4, 4, 3), 0, 0),
    # every second frame, batch axis by mask
    ((1, 23, 5, 2), [0, 0, 0, 0], [0, 23, 5, 2], [1, 2, 1, 1], (1, 12, 5, 2), 1, 1),
    # negative begin, end past the axis (clamped), stride 3 on the last axis
    ((1, 7, 9), [0, -4, 1], [1, 99, 9], [1, 1, 3], (1, 4, 3), 0, 0),
    # end mask on time, strides 2 and 2
    ((1, 10, 6, 1), [0, 1, 0, 0], [1, 0, 6, 1], [1, 2, 2, 1], (1, 5, 3, 1), 0, 2),
])
def test_strided_slice(case):
    in_shape, begin, end, strides, out_shape, begin_mask, end_mask = case
    rng = np.random.default_rng(sum(in_shape))
    data = slice_model(in_shape, begin, end, strides, out_shape, begin_mask, end_mask)
    x = random_int8(rng, in_shape)
    assert_matches_reference(data, [x])
    expected_shape = tuple(out_shape)
    assert ours(data, [x])[0].shape == expected_shape


def test_unsupported_masks_are_named():
    data = slice_model((1, 4, 3), [0, 0, 0], [1, 4, 3], [1, 1, 1], (4, 3), shrink_axis_mask=1)
    with pytest.raises(UnsupportedOpError, match=r"STRIDED_SLICE.*shrink_axis_mask"):
        ours(data, [np.zeros((1, 4, 3), np.int8)])
