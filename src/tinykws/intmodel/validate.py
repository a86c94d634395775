"""Checks an IntModel before anything runs it: every operator's inputs exist when it runs,
declared shapes agree with what the operator computes from its inputs and parameters,
constant operands have the shapes the kernels index, and no operator needs more working
memory than a microcontroller model could (the numpy kernels would otherwise allocate
whatever a corrupt file declares).

`check_model` raises ModelFormatError naming the source, the operator and the problem.
"""

from __future__ import annotations

import numpy as np

from tinykws.errors import ModelFormatError
from tinykws.intmodel.graph import IntModel, IntOp, IntTensor
from tinykws.intmodel.ops_slice import sliced_shape
from tinykws.intmodel.params import Geometry2D

# Elements of the largest intermediate one operator may build for one batch item (an
# im2col matrix of int64): 128 MiB, hundreds of times what a keyword spotter needs.
MAX_OP_WORK = 1 << 24
# Multiply-accumulates of one inference: 50 times the MLPerf DS-CNN (2.66 M). Bounds the
# time a model can make the runtime spend, not only its memory.
MAX_MODEL_MACS = 1 << 27
MAX_PAD = 1 << 16
# Elements of one input or operator output: 1 MiB as int8, more than the RAM of the
# microcontrollers a keyword spotter runs on. Bounds what a broadcasting MUL/ADD/SUB can
# build from two small inputs (the element-wise kernels spend about 0.4 us an element).
MAX_TENSOR = 1 << 20


class _Bad(Exception):
    pass


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64)) if len(shape) else 1


def check_model(model: IntModel, source: str) -> None:
    """ModelFormatError unless `model` is consistent (see the module docstring)."""
    ready = set(model.inputs) | {i for i, t in enumerate(model.tensors) if t.data is not None}
    for i in model.inputs:
        t = model.tensors[i]
        if not t.shape or any(d < 1 for d in t.shape):
            raise ModelFormatError(f"{source}: input {t.name!r} has shape {t.shape}; every dimension must be >= 1")
        if _size(t.shape) > MAX_TENSOR:
            raise ModelFormatError(f"{source}: input {t.name!r} has shape {t.shape}, more than "
                                   f"{MAX_TENSOR:,} elements")
    macs = 0
    for n, op in enumerate(model.ops):
        try:
            for i in op.inputs:
                if i >= 0 and i not in ready:
                    raise _Bad(f"reads tensor {model.tensors[i].name!r} before any operator computes it")
            if len(op.outputs) != 1 and op.kind not in _MULTI_OUTPUT_CHECKS:
                raise _Bad(f"has {len(op.outputs)} outputs (one is supported)")
            outs = [model.tensors[i] for i in op.outputs]
            for out in outs:
                if out.data is not None:
                    raise _Bad(f"writes the constant tensor {out.name!r}")
                if any(d < 1 for d in out.shape):
                    raise _Bad(f"output {out.name!r} has shape {out.shape}; every dimension must be >= 1")
                if _size(out.shape) > MAX_TENSOR:
                    raise _Bad(f"output {out.name!r} has shape {out.shape}, more than {MAX_TENSOR:,} elements")
            out = outs[0]
            operands = [model.tensors[i] if i >= 0 else None for i in op.inputs]
            if op.kind in _MULTI_OUTPUT_CHECKS:
                _MULTI_OUTPUT_CHECKS[op.kind](op, operands, outs)
            elif op.kind in _CHECKS:
                _CHECKS[op.kind](op, operands, out)
            else:  # a kernel without a check here must not run unchecked
                raise _Bad("has no shape check in the model validator")
            if op.kind in _SAME_TYPE:
                _same_type(op, operands, outs)
            macs += _macs(op, operands, out)
            if macs > MAX_MODEL_MACS:
                raise _Bad(f"the model needs more than {MAX_MODEL_MACS:,} multiply-accumulates per clip")
        except _Bad as exc:
            raise ModelFormatError(f"{source}: operator {n} ({op.kind}): {exc}") from None
        ready.update(op.outputs)
    computed = set(model.inputs) | {i for op in model.ops for i in op.outputs}
    missing = [model.tensors[i].name for i in model.outputs if i not in computed]
    if missing:
        raise ModelFormatError(f"{source}: model output(s) {missing} are computed by no operator")


def _same_type(op: IntOp, tensors: list, outs: list[IntTensor]) -> None:
    """Every output (SPLIT has several) has the type of the data input(s)."""
    inputs = [t for t in (tensors if op.kind == "concatenation" else tensors[:1]) if t is not None]
    for out in outs:
        for t in inputs:
            if t.dtype != out.dtype:
                raise _Bad(f"output {out.name!r} is {out.dtype.name} but its input is "
                           f"{t.dtype.name}; this operator does not convert types")


def _macs(op: IntOp, tensors: list, out: IntTensor) -> int:
    """Multiply-accumulates (or element visits) of one operator for one clip."""
    if op.kind in ("conv2d", "depthwise_conv2d"):
        w = tensors[1]
        per_output = w.shape[1] * w.shape[2] * (w.shape[3] if op.kind == "conv2d" else 1)
        return _size(out.shape) * per_output
    if op.kind == "fully_connected":
        return _size(out.shape) * tensors[1].shape[1]
    if op.kind == "batch_matmul":
        lhs = tensors[0]
        return _size(out.shape) * lhs.shape[-2 if op.params.adj_x else -1]
    return sum(_size(t.shape) for t in tensors if t is not None) + _size(out.shape)


def _need(tensors: list, count: int) -> list[IntTensor]:
    if len(tensors) < count or any(t is None for t in tensors[:count]):
        raise _Bad(f"needs {count} input(s), has {len([t for t in tensors if t is not None])}")
    return tensors


def _same(declared, expected, what: str = "output") -> None:
    if tuple(declared) != tuple(expected):
        raise _Bad(f"{what} shape {tuple(declared)} differs from the computed {tuple(expected)}")


def _window(x: IntTensor, g: Geometry2D, channels: int, out: IntTensor) -> None:
    if len(x.shape) != 4:
        raise _Bad(f"input shape {x.shape} is not NHWC")
    if g.out_h < 1 or g.out_w < 1:
        raise _Bad(f"window {g.filter_h}x{g.filter_w} leaves no output on a {x.shape[1]}x{x.shape[2]} input")
    if g.pad_top > MAX_PAD or g.pad_left > MAX_PAD or g.filter_h * g.filter_w > MAX_OP_WORK:
        raise _Bad("window or padding out of range")
    work = g.out_h * g.out_w * x.shape[3] * g.filter_h * g.filter_w
    if work > MAX_OP_WORK:
        raise _Bad(f"needs {work:,} working elements per clip (at most {MAX_OP_WORK:,})")
    _same(out.shape, (x.shape[0], g.out_h, g.out_w, channels))


def _per_channel(values: np.ndarray, channels: int, what: str) -> None:
    if np.size(values) not in (1, channels):
        raise _Bad(f"{np.size(values)} {what} for {channels} channels")


def _bias(tensors: list, channels: int) -> None:
    b = tensors[2] if len(tensors) > 2 else None
    if b is None:
        return
    if b.data is None or b.dtype not in (np.int32, np.int64) or tuple(b.shape) != (channels,):
        raise _Bad(f"bias {b.name!r} must be a constant int32 vector of {channels}, is {b.dtype.name} {b.shape}")


def _conv(op: IntOp, tensors: list, out: IntTensor) -> None:
    x, w = _need(tensors, 2)[:2]
    if len(w.shape) != 4:
        raise _Bad(f"weights shape {w.shape} is not (out, kh, kw, in)")
    g = op.params.geometry
    if op.kind == "conv2d":
        channels = w.shape[0]
        if len(x.shape) != 4 or w.shape[3] != x.shape[3]:
            raise _Bad(f"weights {w.shape} do not fit input {x.shape}")
    else:
        channels = w.shape[3]
        if w.shape[0] != 1 or len(x.shape) != 4 or channels != x.shape[3] * op.params.depth_multiplier:
            raise _Bad(f"depthwise weights {w.shape} do not fit input {x.shape} "
                       f"with depth multiplier {op.params.depth_multiplier}")
    if (g.filter_h, g.filter_w) != (w.shape[1], w.shape[2]):
        raise _Bad("filter size differs from the weights")
    _window(x, g, channels, out)
    _per_channel(op.params.multipliers, channels, "multipliers")
    _bias(tensors, channels)


def _fully_connected(op: IntOp, tensors: list, out: IntTensor) -> None:
    x, w = _need(tensors, 2)[:2]
    if len(w.shape) != 2 or w.shape[1] < 1:
        raise _Bad(f"weights shape {w.shape} is not (out, in)")
    cout, cin = w.shape
    per_item = _size(x.shape[1:]) if len(x.shape) > 1 else _size(x.shape)
    if per_item % cin:
        raise _Bad(f"input {x.shape} does not split into rows of {cin}")
    rows = _size(x.shape) // cin
    if rows * cin * 2 > MAX_OP_WORK or cout * cin > MAX_OP_WORK:
        raise _Bad("too large")
    # Without keep_num_dims the kernel returns (rows, cout) whatever the file declares
    # (as TFLite's Prepare() resizes the output); a different declared shape would mislead
    # every later check.
    _same(out.shape, (*x.shape[:-1], cout) if op.params.keep_num_dims else (rows, cout))
    _per_channel(op.params.multipliers, cout, "multipliers")
    _bias(tensors, cout)


def _pool(op: IntOp, tensors: list, out: IntTensor) -> None:
    x = _need(tensors, 1)[0]
    _window(x, op.params.geometry, x.shape[3] if len(x.shape) == 4 else 0, out)


def _mean(op: IntOp, tensors: list, out: IntTensor) -> None:
    x = _need(tensors, 1)[0]
    axes = op.params.axes
    if not axes or any(not 0 < a < len(x.shape) for a in axes):
        raise _Bad(f"axes {axes} do not fit input {x.shape}")
    # The kernel's shape, whatever the file declares (TFLite's Prepare() resizes the output).
    if op.params.keep_dims:
        _same(out.shape, [1 if a in axes else d for a, d in enumerate(x.shape)])
    else:
        _same(out.shape, [d for a, d in enumerate(x.shape) if a not in axes])


def _add(op: IntOp, tensors: list, out: IntTensor) -> None:
    a, b = _need(tensors, 2)[:2]
    try:
        shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError:
        raise _Bad(f"shapes {a.shape} and {b.shape} do not broadcast") from None
    _same(out.shape, shape)


def _elementwise(op: IntOp, tensors: list, out: IntTensor) -> None:
    x = _need(tensors, 1)[0]
    if not x.shape:
        raise _Bad("scalar input")
    _same(out.shape, x.shape)


def _reshape(op: IntOp, tensors: list, out: IntTensor) -> None:
    x = _need(tensors, 1)[0]
    if _size(out.shape) != _size(x.shape) or tuple(op.params.shape) != tuple(out.shape):
        raise _Bad(f"cannot reshape {x.shape} to {out.shape}")


def _pad(op: IntOp, tensors: list, out: IntTensor) -> None:
    x = _need(tensors, 1)[0]
    pads = op.params.paddings
    if len(pads) != len(x.shape) or any(not 0 <= v <= MAX_PAD for pair in pads for v in pair):
        raise _Bad(f"paddings {pads} do not fit input {x.shape}")
    _same(out.shape, [d + lo + hi for d, (lo, hi) in zip(x.shape, pads)])
    if not -(1 << 31) <= op.params.pad_value < (1 << 31):
        raise _Bad("pad value out of range")


def _concatenation(op: IntOp, tensors: list, out: IntTensor) -> None:
    xs = _need(tensors, max(len(tensors), 1))
    axis = op.params.axis
    rank = len(out.shape)
    if not 0 <= axis < rank or any(len(t.shape) != rank for t in xs):
        raise _Bad(f"axis {axis} does not fit inputs {[t.shape for t in xs]}")
    for t in xs:
        if any(d != o for k, (d, o) in enumerate(zip(t.shape, out.shape)) if k != axis):
            raise _Bad(f"input {t.shape} does not fit output {out.shape} along axis {axis}")
    _same(out.shape, [sum(t.shape[axis] for t in xs) if k == axis else d for k, d in enumerate(out.shape)])


def _strided_slice(op: IntOp, tensors: list, out: IntTensor) -> None:
    x = _need(tensors, 1)[0]
    try:
        _same(out.shape, sliced_shape(op.params, tuple(x.shape)))
    except ValueError as exc:
        raise _Bad(str(exc)) from None


def _split(op: IntOp, tensors: list, outs: list[IntTensor]) -> None:
    x = _need(tensors, 1)[0]
    axis, count = op.params.axis, op.params.num_splits
    if not 0 < axis < len(x.shape) or count < 1 or len(outs) != count or x.shape[axis] % count:
        raise _Bad(f"input {x.shape} does not split into {count} parts along axis {axis} "
                   f"({len(outs)} outputs)")
    part = [d // count if k == axis else d for k, d in enumerate(x.shape)]
    for out in outs:
        _same(out.shape, part)


def _batch_matmul(op: IntOp, tensors: list, out: IntTensor) -> None:
    lhs, rhs = _need(tensors, 2)[:2]
    if len(lhs.shape) < 2 or len(rhs.shape) < 2:
        raise _Bad(f"operands {lhs.shape} and {rhs.shape} are not matrices")
    m, k = (lhs.shape[-1], lhs.shape[-2]) if op.params.adj_x else (lhs.shape[-2], lhs.shape[-1])
    k2, n = (rhs.shape[-1], rhs.shape[-2]) if op.params.adj_y else (rhs.shape[-2], rhs.shape[-1])
    if k != k2:
        raise _Bad(f"operands {lhs.shape} and {rhs.shape} do not multiply")
    try:
        batch = np.broadcast_shapes(tuple(lhs.shape[:-2]), tuple(rhs.shape[:-2]))
    except ValueError:
        raise _Bad(f"batch axes of {lhs.shape} and {rhs.shape} do not broadcast") from None
    if _size(batch) * m * k * n > MAX_OP_WORK:
        raise _Bad("too large")
    _same(out.shape, (*batch, m, n))


# Operators whose output has the type of their (data) inputs.
_SAME_TYPE = {"average_pool2d", "max_pool2d", "mean", "reshape", "pad", "concatenation", "strided_slice", "split"}

_CHECKS = {
    "conv2d": _conv,
    "depthwise_conv2d": _conv,
    "fully_connected": _fully_connected,
    "average_pool2d": _pool,
    "max_pool2d": _pool,
    "mean": _mean,
    "add": _add,
    "sub": _add,
    "mul": _add,
    "logistic": _elementwise,
    "tanh": _elementwise,
    "batch_matmul": _batch_matmul,
    "requantize": _elementwise,
    "softmax": _elementwise,
    "reshape": _reshape,
    "pad": _pad,
    "concatenation": _concatenation,
    "strided_slice": _strided_slice,
}

# Operators with several outputs: their check sees every output.
_MULTI_OUTPUT_CHECKS = {"split": _split}
