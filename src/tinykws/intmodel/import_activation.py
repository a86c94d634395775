"""Importing the operators of gated and recurrent networks (LOGISTIC, TANH, MUL, SUB,
SPLIT, BATCH_MATMUL): a mixin of the .tflite importer (`intmodel.from_tflite`), with the
parameters derived as each engine's Prepare() does."""

from __future__ import annotations

import dataclasses

import numpy as np

from tinykws.fixedpoint.arithmetic import activation_form
from tinykws.formats.tflite_model import Operator
from tinykws.intmodel.graph import IntOp
from tinykws.intmodel.params import add_params
from tinykws.intmodel.params_elementwise import (
    LOGISTIC_OUTPUT,
    TANH_OUTPUT,
    SplitParams,
    activation_params,
    batch_matmul_params,
    mul_params,
)

_ACTIVATION_OUTPUTS = {"logistic": LOGISTIC_OUTPUT, "tanh": TANH_OUTPUT}


class ActivationImporter:
    """op_* handlers for the importer; relies on its `quantized`, `operand`, `act`, `fail`,
    `rounding`, `tensors` and `arithmetic`."""

    def _int8(self, op: Operator, *indices: int):
        tensors = [self.quantized(op, i) for i in indices]
        if any(t.dtype != np.int8 for t in tensors):
            raise self.fail(op, "only int8 tensors are supported")
        return tensors

    def _activation(self, op: Operator, function: str) -> IntOp:
        x, out = self._int8(op, op.inputs[0], op.outputs[0])
        scale, zero_point = _ACTIVATION_OUTPUTS[function]
        if out.zero_point != zero_point or abs(out.scale - scale) > 1e-6 * scale:
            raise self.fail(op, f"int8 {function} needs output scale {scale} and zero point {zero_point} "
                                f"(got {out.scale}, {out.zero_point})")
        params = activation_params(function, activation_form(self.arithmetic), x.scale, x.zero_point, out.scale,
                                   out.zero_point)
        return IntOp(function, (op.inputs[0],), tuple(op.outputs), params, self.rounding(function))

    def op_logistic(self, op: Operator) -> IntOp:
        return self._activation(op, "logistic")

    def op_tanh(self, op: Operator) -> IntOp:
        return self._activation(op, "tanh")

    def op_mul(self, op: Operator) -> IntOp:
        a, b, out = self._int8(op, op.inputs[0], op.inputs[1], op.outputs[0])
        params = mul_params(a.scale, a.zero_point, b.scale, b.zero_point, out.scale, out.zero_point,
                            self.act(op, out), self.rounding("mul"))
        return IntOp("mul", tuple(op.inputs[:2]), tuple(op.outputs), params, self.rounding("mul"))

    def op_sub(self, op: Operator) -> IntOp:
        """SUB as ADD's parameters with the second input's multiplier negated, once here: the
        rounding of both fixed-point steps is symmetric around zero, so ADD's kernel (numpy
        and C) then computes TFLite's a - b."""
        a, b, out = self._int8(op, op.inputs[0], op.inputs[1], op.outputs[0])
        params = add_params(a.scale, a.zero_point, b.scale, b.zero_point, out.scale, out.zero_point,
                            self.act(op, out), self.rounding("sub"))
        params = dataclasses.replace(params, input2_multiplier=-params.input2_multiplier)
        return IntOp("sub", tuple(op.inputs[:2]), tuple(op.outputs), params, self.rounding("sub"))

    def op_split(self, op: Operator) -> IntOp:
        axis_data = self.operand(op, 0).data
        if axis_data is None:
            raise self.fail(op, "the split axis must be constant")
        x = self._int8(op, op.inputs[1])[0]
        for i in op.outputs:
            t = self.tensors[i]
            if (t.scale, t.zero_point) != (x.scale, x.zero_point):
                raise self.fail(op, "outputs must keep the input's quantization")
        axis = int(np.asarray(axis_data).reshape(-1)[0]) % len(x.shape)
        if axis == 0:
            raise self.fail(op, "splitting the batch dimension is not supported")
        count = int(op.options.get("num_splits", len(op.outputs)))
        if count != len(op.outputs) or x.shape[axis] % count:
            raise self.fail(op, f"{x.shape[axis]} elements do not split into {count} equal parts")
        return IntOp("split", (op.inputs[1],), tuple(op.outputs), SplitParams(axis, count))

    def op_batch_matmul(self, op: Operator) -> IntOp:
        lhs, rhs, out = self._int8(op, op.inputs[0], op.inputs[1], op.outputs[0])
        o = op.options
        params = batch_matmul_params(lhs.scale, lhs.zero_point, rhs.scale, rhs.zero_point, out.scale, out.zero_point,
                                     bool(o.get("adj_x", False)), bool(o.get("adj_y", False)),
                                     self.rounding("batch_matmul"))
        return IntOp("batch_matmul", tuple(op.inputs[:2]), tuple(op.outputs), params, self.rounding("batch_matmul"))
