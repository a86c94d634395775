"""The numpy reference runtime of the integer network.

`run` executes the operators in order on a batch of quantized inputs and returns the
outputs (and, on request, every intermediate tensor for debugging). Results are meant to
be bit-identical to TFLite's reference kernels.

The kernels in KERNELS are the specification. On a model's first run its operators are
planned once (inputs resolved, constants looked up) and the common ones get the prepared
kernels of `prepared` (constants precomputed, float64 BLAS where exact), which give the
same bits; the plan is kept as long as the model lives.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import NamedTuple
from dataclasses import dataclass, field

import numpy as np

from tinykws.errors import TinyKWSError, UnsupportedOpError
from tinykws.fixedpoint.primitives import Int32RangeError
from tinykws.intmodel import ops_activation, ops_conv, ops_elementwise, ops_pool, ops_slice
from tinykws.intmodel.graph import IntModel, IntOp
from tinykws.intmodel.prepared import prepare


@dataclass(frozen=True, eq=False)
class RunResult:
    """Outputs of one `run` (in model output order) and, if kept, every tensor by name."""

    outputs: tuple[np.ndarray, ...]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def output(self) -> np.ndarray:
        """The single output of a one-output model."""
        if len(self.outputs) != 1:
            raise ValueError(f"the model has {len(self.outputs)} outputs; use .outputs")
        return self.outputs[0]


Kernel = Callable[[IntOp, list, np.dtype, str], np.ndarray]


def _conv(op, xs, out_dtype, rounding):
    x, w, b = (xs + [None])[:3]
    return ops_conv.conv2d(op.params, x, w, b, rounding, out_dtype)


def _depthwise(op, xs, out_dtype, rounding):
    x, w, b = (xs + [None])[:3]
    return ops_conv.depthwise_conv2d(op.params, x, w, b, rounding, out_dtype)


def _fully_connected(op, xs, out_dtype, rounding):
    x, w, b = (xs + [None])[:3]
    return ops_conv.fully_connected(op.params, x, w, b, rounding, out_dtype)


KERNELS: dict[str, Kernel] = {
    "conv2d": _conv,
    "depthwise_conv2d": _depthwise,
    "fully_connected": _fully_connected,
    "average_pool2d": lambda op, xs, dt, r: ops_pool.average_pool2d(op.params, xs[0]),
    "max_pool2d": lambda op, xs, dt, r: ops_pool.max_pool2d(op.params, xs[0]),
    "mean": lambda op, xs, dt, r: ops_pool.mean(op.params, xs[0], r),
    "add": lambda op, xs, dt, r: ops_elementwise.add(op.params, xs[0], xs[1], r, dt),
    "requantize": lambda op, xs, dt, r: ops_elementwise.requantize(op.params, xs[0], r, dt),
    "softmax": lambda op, xs, dt, r: ops_elementwise.softmax(op.params, xs[0], r, dt),
    "reshape": lambda op, xs, dt, r: ops_elementwise.reshape(op.params, xs[0]),
    "pad": lambda op, xs, dt, r: ops_elementwise.pad(op.params, xs[0]),
    "concatenation": lambda op, xs, dt, r: ops_elementwise.concatenation(op.params, *xs),
    "strided_slice": lambda op, xs, dt, r: ops_slice.strided_slice(op.params, xs[0]),
    "logistic": lambda op, xs, dt, r: ops_activation.activation(op.params, xs[0], r, dt),
    "tanh": lambda op, xs, dt, r: ops_activation.activation(op.params, xs[0], r, dt),
    "mul": lambda op, xs, dt, r: ops_activation.mul(op.params, xs[0], xs[1], r, dt),
    "sub": lambda op, xs, dt, r: ops_elementwise.add(op.params, xs[0], xs[1], r, dt),  # multiplier negated
    "split": lambda op, xs, dt, r: ops_activation.split(op.params, xs[0]),
    "batch_matmul": lambda op, xs, dt, r: ops_activation.batch_matmul(op.params, xs[0], xs[1], r, dt),
}


def _batched_inputs(model: IntModel, inputs) -> list[np.ndarray]:
    arrays = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
    if len(arrays) != len(model.inputs):
        raise TinyKWSError(f"the model takes {len(model.inputs)} inputs, got {len(arrays)}")
    checked = []
    for array, tensor in zip(arrays, model.input_tensors):
        array = np.asarray(array)
        if array.dtype != tensor.dtype:
            raise TinyKWSError(f"input {tensor.name!r} must be {np.dtype(tensor.dtype).name}, got {array.dtype}")
        if array.shape[1:] != tuple(tensor.shape[1:]):
            if array.shape == tuple(tensor.shape[1:]):
                array = array[None]
            else:
                raise TinyKWSError(f"input {tensor.name!r} must have shape (batch, {tuple(tensor.shape[1:])}), "
                                   f"got {array.shape}")
        checked.append(array)
    return checked


class _Step(NamedTuple):
    """One operator ready to run: `sources` per input (tensor index, constant or None),
    `kernel(xs)` writing tensors `outputs` (a tuple of arrays when there are several), or
    `error` (class, message) raised when the step is reached. A tuple: unpacked once per
    operator and run."""

    index: int
    sources: tuple[tuple[int, np.ndarray | None], ...]
    kernel: Callable[[list], np.ndarray | tuple[np.ndarray, ...]] | None
    outputs: tuple[int, ...]
    error: tuple[type[TinyKWSError], str] | None


_PLANS: weakref.WeakKeyDictionary[IntModel, tuple[_Step, ...]] = weakref.WeakKeyDictionary()


def _generic(op: IntOp, kernel: Kernel, out_dtype: np.dtype) -> Callable[[list], np.ndarray]:
    return lambda xs: kernel(op, xs, out_dtype, op.rounding)


def _plan(model: IntModel) -> tuple[_Step, ...]:
    """The model's operators with their inputs resolved and their kernels prepared, once per
    model: the constants of `prepared` are computed on the first run."""
    plan = _PLANS.get(model)
    if plan is not None:
        return plan
    produced = set(model.inputs)
    steps = []
    for index, op in enumerate(model.ops):
        sources, error = [], None
        for i in op.inputs:
            data = None if i < 0 or i in produced else model.tensors[i].data
            if i >= 0 and i not in produced and data is None and error is None:
                error = (TinyKWSError, f"tensor {model.tensors[i].name!r} is used before it is computed")
            sources.append((i, data))
        generic = KERNELS.get(op.kind)
        if generic is None:
            error = (UnsupportedOpError, f"the integer runtime has no kernel for {op.kind!r}")
            kernel = None
        else:
            kernel = prepare(model, op) or _generic(op, generic, np.dtype(model.tensors[op.outputs[0]].dtype))
        steps.append(_Step(index, tuple(sources), kernel, tuple(op.outputs), error))
        produced.update(op.outputs)
    plan = tuple(steps)
    _PLANS[model] = plan
    return plan


def run(model: IntModel, inputs: np.ndarray | Sequence[np.ndarray], keep_intermediates: bool = False) -> RunResult:
    """Run `model` on quantized `inputs` (one array per model input, dimension 0 = batch;
    a single item without the batch dimension is accepted too).

    Returns the outputs with the batch dimension; with `keep_intermediates` also every
    activation tensor by name.
    """
    values: dict[int, np.ndarray] = {}
    for index, array in zip(model.inputs, _batched_inputs(model, inputs)):
        values[index] = array
    for index, sources, kernel, outputs, error in _plan(model):
        if error is not None:
            raise error[0](error[1])
        try:
            result = kernel([None if i < 0 else (values[i] if data is None else data) for i, data in sources])
        except Int32RangeError as exc:
            op = model.ops[index]
            raise UnsupportedOpError(f"operator {index} ({op.kind}, output {model.tensors[outputs[0]].name!r}): "
                                     f"{exc}") from None
        if len(outputs) == 1:
            values[outputs[0]] = result
        else:  # one array per output (SPLIT)
            for i, array in zip(outputs, result, strict=True):
                values[i] = array
    outputs = tuple(values[i] for i in model.outputs)
    tensors = {model.tensors[i].name: v for i, v in values.items()} if keep_intermediates else {}
    return RunResult(outputs=outputs, tensors=tensors)
