"""The TFLite form of the gated and recurrent nodes of a QuantizedModel (a mixin of
`intmodel.from_quantized`'s converter): sub-spectral norm as a 1x1 depthwise
convolution over channels x frequency bins between two reshapes, SiLU and GRU gates as
LOGISTIC, TANH, MUL, SUB and ADD, time steps as one SPLIT per sequence, the GRU's states
as CONCATENATION, attention pooling as BATCH_MATMUL, and constants as int8 tensors."""

from __future__ import annotations

import numpy as np

from tinykws.fixedpoint.primitives import quantize_real
from tinykws.quant.graph import GraphNode

VERSIONS = {"LOGISTIC": 2, "TANH": 2, "MUL": 2, "SUB": 2, "SPLIT": 2, "CONCATENATION": 2, "BATCH_MATMUL": 1,
            "DEPTHWISE_CONV_2D": 3}
MAX_CONCAT_INPUTS = 10  # TFLite Micro's CONCATENATION takes at most 10 inputs


class GatedOps:
    """op_* handlers; uses the converter's builder `b`, `q`, `g`, `tensor_of`,
    `activation_tensor`, `reshape` and `weights`."""

    def _unary(self, opcode: str, node: GraphNode, name: str) -> None:
        x = self.tensor_of[node.inputs[0]]
        y = self.activation_tensor(node.output, name)
        self.b.operator(opcode, [x], [y], VERSIONS[opcode])

    def op_logistic(self, i: int, node: GraphNode) -> None:
        self._unary("LOGISTIC", node, f"logistic{i}")

    def op_tanh(self, i: int, node: GraphNode) -> None:
        self._unary("TANH", node, f"tanh{i}")

    def _binary(self, opcode: str, i: int, node: GraphNode, **options) -> None:
        a, b = (self.tensor_of[v] for v in node.inputs)
        y = self.activation_tensor(node.output, f"{opcode.lower()}{i}/output")
        self.b.operator(opcode, [a, b], [y], VERSIONS[opcode], **options)

    def op_mul(self, i: int, node: GraphNode) -> None:
        self._binary("MUL", i, node, fused_activation_function="NONE")

    def op_sub(self, i: int, node: GraphNode) -> None:
        self._binary("SUB", i, node, fused_activation_function="NONE")

    def op_batch_matmul(self, i: int, node: GraphNode) -> None:
        self._binary("BATCH_MATMUL", i, node, adj_x=False, adj_y=False)

    def op_const(self, i: int, node: GraphNode) -> None:
        value = self.q.param(i, "value").detach().numpy().astype(np.float32)
        if self.float_dtype is not None:
            self.tensor_of[node.output] = self.b.tensor(value.shape, np.float32, data=value, name=f"const{i}")
            return
        aq = self.q.act_quant(node.output)
        codes = quantize_real(value, aq.scale, aq.zero_point)
        self.tensor_of[node.output] = self.b.tensor(codes.shape, np.int8, scale=aq.scale, zero_point=aq.zero_point,
                                                    data=codes, name=f"const{i}")

    def op_select_step(self, i: int, node: GraphNode) -> None:
        source = node.inputs[0]
        if source not in self.split_of:
            # One SPLIT gives every step of the sequence; the later steps reuse it.
            x = self.tensor_of[source]
            _, steps, width = self.b.tensors[x].shape
            outs = [self.act_tensor((1, 1, width), source, f"split{i}/step{t}") for t in range(steps)]
            axis = self.const_int32([1], f"split{i}/axis")
            self.b.operator("SPLIT", [axis, x], outs, VERSIONS["SPLIT"], num_splits=steps)
            self.split_of[source] = outs
        self.tensor_of[node.output] = self.split_of[source][node.attrs["step"]]

    def op_concat_steps(self, i: int, node: GraphNode) -> None:
        """CONCATENATION along time, in a tree of at most 10 inputs per operator (TFLite
        Micro's limit); every part keeps the states' quantization."""
        parts = [self.tensor_of[v] for v in node.inputs]
        level = 0
        while len(parts) > MAX_CONCAT_INPUTS:
            groups = [parts[k:k + MAX_CONCAT_INPUTS] for k in range(0, len(parts), MAX_CONCAT_INPUTS)]
            parts = [self._concat(group, self.act_tensor((1, sum(self.b.tensors[t].shape[1] for t in group),
                                                          self.b.tensors[group[0]].shape[2]), node.output,
                                                         f"concat{i}/part{level}_{k}"))
                     for k, group in enumerate(groups)]
            level += 1
        self._concat(parts, self.activation_tensor(node.output, f"concat{i}/output"))

    def _concat(self, parts: list[int], y: int) -> int:
        self.b.operator("CONCATENATION", parts, [y], VERSIONS["CONCATENATION"], axis=1,
                        fused_activation_function="NONE")
        return y

    def op_affine(self, i: int, node: GraphNode) -> None:
        """y[c, t, f] = w[c, f] x[c, t, f] + b[c, f]: NHWC (1, T, F, C) is reshaped to
        (1, T, 1, F*C), whose channel f*C + c gets its own 1x1 depthwise weight."""
        x = self.tensor_of[node.inputs[0]]
        _, steps, bins, channels = self.b.tensors[x].shape
        codes, wq, bias = self.weights(i)  # (C*F,) in (c, f) order
        order = np.arange(channels * bins).reshape(channels, bins).T.reshape(-1)  # (f, c) -> index in (c, f)
        flat_in = self.reshape_tensor(x, node.inputs[0], (1, steps, 1, bins * channels), f"affine{i}/in")
        scales = (None, None) if wq is None else (wq.weight_scales.numpy()[order], wq.bias_scales.numpy()[order])
        w = self.const_tensor(codes.reshape(-1)[order].reshape(1, 1, 1, -1), np.int8, scales[0], f"affine{i}/weights",
                              quantized_dimension=3)
        b = self.const_tensor(bias.reshape(-1)[order], np.int32, scales[1], f"affine{i}/bias")
        y = self.activation_tensor(node.output, f"affine{i}/flat", (1, steps, 1, bins * channels))
        self.b.operator("DEPTHWISE_CONV_2D", [flat_in, w, b], [y], VERSIONS["DEPTHWISE_CONV_2D"], padding="VALID",
                        stride_w=1, stride_h=1, fused_activation_function="NONE", dilation_w_factor=1,
                        dilation_h_factor=1, depth_multiplier=1)
        self.reshape(y, node.output, (1, steps, bins, channels), f"affine{i}/output")
