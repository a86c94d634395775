"""The int8 streaming step of a clip .tflite: the same operators and quantization, with
state tensors as explicit inputs and outputs.

    step = streaming_step_tflite(read_tflite("model.tflite"))
    intmodel = intmodel_from_tflite(step.model)          # numpy runtime, LiteRT, TFLM, C

The clip network's operators are copied with their weights, scales and zero points; what
the streaming plan (`plan.py`) says needs history gets a ring buffer: a state input of
`history` frames, CONCATENATION of state and new frames along time, the new state a
STRIDED_SLICE of that buffer (a graph output), and the operator runs VALID on the buffer
with its time dilation multiplied by the input's frame step (all stride phases at once).
Pooling and collapsing operators (no dilation in TFLite) read a strided slice of the buffer
per output row. Every integer operation is the clip network's own, on the same integers,
so the outputs equal the clip network's on the corresponding windows bit for bit.

Inputs: `frame` (1, n, features, 1), then the states; outputs: the clip network's output
(n, classes), then the new states in the same order. n (`frames_per_step`) frames go in per
call; the states do not depend on n, so steps of different n can follow each other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np

from tinykws.formats.tflite_builder import TFLiteGraphBuilder
from tinykws.formats.tflite_model import STREAM_METADATA, Operator, Subgraph, TFLiteModel
from tinykws.intmodel.params import output_size_and_padding
from tinykws.stream.plan import NodePlan, StreamPlan, StreamRefusal, TimeNode, plan_stream, refuse_time_padding

_LOCAL = {"ADD", "SUB", "MUL", "QUANTIZE", "DEQUANTIZE", "RELU", "RELU6", "RELU_N1_TO_1", "LOGISTIC", "TANH",
          "SOFTMAX"}
_COLLAPSING = {"RESHAPE", "SQUEEZE", "FULLY_CONNECTED"}
_FULL = 1 << 0  # slice mask bit of the batch axis: take it whole


@dataclass(frozen=True, eq=False)
class StreamStepTFLite:
    """A streaming step as a TFLite model and what it reproduces.

    lag: output row j equals the clip model on the window whose first frame is `lag` frames
    before frame j (see `plan.py`); input_frames: the clip model's window (T frames);
    state_zero_points: the quantized zero of each state input (its initial value).
    """

    model: TFLiteModel
    plan: StreamPlan
    lag: int
    input_frames: int
    frames_per_step: int
    state_shapes: tuple[tuple[int, ...], ...]
    state_zero_points: tuple[int, ...]


def _name(op: Operator) -> str:
    return f"operator {op.index} ({op.opcode})"


def _time_nodes(sg: Subgraph, model: str) -> list[TimeNode]:
    """The TimeNode of every operator: which ones run along the time axis (axis 1)."""
    timed = {sg.inputs[0]}
    nodes = []
    for op in sg.operators:
        x = op.inputs[0]
        data_inputs = tuple(i for i in op.inputs if i >= 0 and sg.tensors[i].data is None)
        if x not in timed:
            nodes.append(TimeNode(_name(op), "local", data_inputs, op.outputs[0]))
            continue
        rows = sg.tensors[x].shape[1]
        node = _time_node(sg, op, rows, data_inputs, model)
        if node.kind != "collapse":
            timed.add(op.outputs[0])
        nodes.append(node)
    return nodes


def _time_node(sg: Subgraph, op: Operator, rows: int, inputs: tuple[int, ...], model: str) -> TimeNode:
    name, o, out = _name(op), op.options, op.outputs[0]
    if len(sg.tensors[op.inputs[0]].shape) != 4:
        raise StreamRefusal(f"{model}: {name} runs on a {len(sg.tensors[op.inputs[0]].shape)}-D time tensor")
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        kernel = sg.tensors[op.inputs[1]].shape[1]
        stride, dilation = o.get("stride_h", 1), o.get("dilation_h_factor", 1)
        _check_no_time_padding(rows, kernel, stride, dilation, o.get("padding", "SAME"), model, name)
        kind = "local" if (kernel, stride) == (1, 1) else "window"
        return TimeNode(name, kind, inputs, out, kernel, stride, dilation)
    if op.opcode in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        kernel, stride = o["filter_height"], o.get("stride_h", 1)
        _check_no_time_padding(rows, kernel, stride, 1, o.get("padding", "VALID"), model, name)
        if kernel == rows:
            return TimeNode(name, "collapse", inputs, out, rows=rows)
        return TimeNode(name, "window", inputs, out, kernel, stride)
    if op.opcode in ("PAD", "PADV2"):
        before, after = (int(v) for v in np.asarray(sg.tensors[op.inputs[1]].data).reshape(-1, 2)[1])
        if before or after:
            raise refuse_time_padding(model, name, before, after)
        return TimeNode(name, "local", inputs, out)
    if op.opcode == "MEAN":
        axes = {int(a) % 4 for a in np.asarray(sg.tensors[op.inputs[1]].data).reshape(-1)}
        return TimeNode(name, "collapse" if 1 in axes else "local", inputs, out, rows=rows)
    if op.opcode in _COLLAPSING:
        return TimeNode(name, "collapse", inputs, out, rows=rows)
    if op.opcode == "CONCATENATION":
        if o.get("axis", 0) % 4 in (0, 1):
            raise StreamRefusal(f"{model}: {name} concatenates along the batch or time axis")
        return TimeNode(name, "local", inputs, out)
    if op.opcode in _LOCAL:
        return TimeNode(name, "local", inputs, out)
    raise StreamRefusal(f"{model}: {name} has no streaming form")


def _check_no_time_padding(rows, kernel, stride, dilation, padding, model, name) -> None:
    out, before = output_size_and_padding(rows, kernel, stride, dilation, padding)
    after = max(0, (out - 1) * stride + (kernel - 1) * dilation + 1 - rows - before)
    if before or after:
        raise refuse_time_padding(model, name, before, after)


class _StepBuilder:
    """Writes the step graph: copies of the clip tensors (time-bearing ones with n rows),
    state tensors, ring-buffer operators."""

    def __init__(self, sg: Subgraph, n: int, model: str):
        self.sg, self.n, self.model = sg, n, model
        self.b = TFLiteGraphBuilder()
        self.new: dict[int, int] = {}
        self.state_in: list[int] = []
        self.state_out: list[int] = []

    def like(self, index: int, shape: tuple[int, ...] | None = None, name: str | None = None) -> int:
        """A copy of clip tensor `index` (its quantization and constant data) in the step,
        with another shape and name when given."""
        t = self.sg.tensors[index]
        new = len(self.b.tensors)
        self.b.tensors.append(replace(t, index=new, shape=tuple(shape or t.shape), name=name or t.name,
                                      shape_signature=None))
        return new

    def mapped(self, index: int) -> int:
        if index < 0:
            return index
        if index not in self.new:
            self.new[index] = self.like(index)  # constants: weights, biases, shape vectors
        return self.new[index]

    def const(self, values, name: str) -> int:
        values = np.asarray(values, np.int32)
        return self.b.tensor(values.shape, np.int32, data=values, name=name)

    def op(self, opcode: str, inputs, outputs, version: int = 1, **options) -> None:
        self.b.operator(opcode, list(inputs), list(outputs), version, **options)

    def slice(self, x: int, begin, end, strides, shape, name: str) -> int:
        y = self.like_new(x, shape, name)
        consts = [self.const(v, f"{name}/{part}") for v, part in ((begin, "begin"), (end, "end"),
                                                                  (strides, "strides"))]
        self.op("STRIDED_SLICE", [x, *consts], [y], 2, begin_mask=_FULL, end_mask=_FULL)
        return y

    def like_new(self, new_index: int, shape, name: str) -> int:
        """A new activation tensor with the quantization of step tensor `new_index`."""
        t = self.b.tensors[new_index]
        index = len(self.b.tensors)
        self.b.tensors.append(replace(t, index=index, shape=tuple(shape), name=name, data=None, shape_signature=None))
        return index

    def ring_buffer(self, x_old: int, x: int, history: int, k: int) -> int:
        """State input + CONCATENATION + STRIDED_SLICE (new state): the buffer of the last
        history + n frames of new tensor `x` (time on axis 1)."""
        _, rows, w, c = self.b.tensors[x].shape
        base = self.sg.tensors[x_old].name
        state = self.like_new(x, (1, history, w, c), f"state{k}/{base}")
        buffer = self.like_new(x, (1, history + rows, w, c), f"state{k}/buffer")
        self.op("CONCATENATION", [state, x], [buffer], 2, axis=1, fused_activation_function="NONE")
        out = self.slice(buffer, [0, rows, 0, 0], [1, history + rows, w, c], [1, 1, 1, 1], (1, history, w, c),
                         f"state{k}/next")
        self.state_in.append(state)
        self.state_out.append(out)
        return buffer


def streaming_step_tflite(clip: TFLiteModel, frames_per_step: int = 1, model: str | None = None) -> StreamStepTFLite:
    """The streaming step of the int8 clip network `clip` (input (1, T, features, 1), time on
    axis 1), taking `frames_per_step` frames per call.

    Raises StreamRefusal naming the model and the operator when the network cannot stream
    exactly (time padding, operators without a streaming form).
    """
    sg = clip.main
    name = model or _model_name(clip)
    if len(sg.inputs) != 1 or len(sg.tensors[sg.inputs[0]].shape) != 4:
        raise StreamRefusal(f"{name}: a streaming step is built from a model with one (1, frames, features, 1) "
                            "input")
    if frames_per_step < 1:
        raise ValueError(f"frames_per_step must be >= 1, got {frames_per_step}")
    nodes = _time_nodes(sg, name)
    plan = plan_stream(nodes, sg.inputs[0], sg.outputs[0], name)
    s = _StepBuilder(sg, frames_per_step, name)
    x_in = sg.tensors[sg.inputs[0]]
    frame = s.like(x_in.index, (1, frames_per_step, *x_in.shape[2:]), "frame")
    s.new[x_in.index] = frame
    timed, batched = {x_in.index}, set()
    for op, node, step in zip(sg.operators, nodes, plan.nodes):
        _emit(s, op, node, step, timed, batched)
    outputs = [s.new[i] for i in sg.outputs]
    metadata = dict(clip.metadata)
    facts = {"lag": plan.lag, "input_frames": int(x_in.shape[1]), "frames_per_step": frames_per_step,
             "states": [list(s.b.tensors[i].shape) for i in s.state_in]}
    metadata[STREAM_METADATA] = json.dumps(facts).encode("utf-8")
    step_model = s.b.model([frame, *s.state_in], [*outputs, *s.state_out],
                           description=f"{clip.description} (streaming step)", metadata=metadata)
    zero_points = tuple(int(s.b.tensors[i].quantization.zero_points[0]) for i in s.state_in)
    return StreamStepTFLite(step_model, plan, plan.lag, int(x_in.shape[1]), frames_per_step,
                            tuple(tuple(s.b.tensors[i].shape) for i in s.state_in), zero_points)


def _emit(s: _StepBuilder, op: Operator, node: TimeNode, step: NodePlan, timed: set[int], batched: set[int]) -> None:
    """Write the step form of one clip operator. `timed`: clip tensors with a time axis (n
    rows per step); `batched`: tensors after a collapse (the n rows of a step as a batch)."""
    sg, n = s.sg, s.n
    x_old, out_old = op.inputs[0], op.outputs[0]
    out_t = sg.tensors[out_old]
    if step.kind == "local":
        _emit_local(s, op, x_old in timed, timed, batched)
        return
    x = s.mapped(x_old)
    if step.history and (op.options.get("padding", "VALID") != "VALID" and node.kind == "window"):
        raise StreamRefusal(f"{s.model}: {node.name} has SAME padding and a time kernel: its frequency padding "
                            "cannot be kept in a streaming step")
    buffer = s.ring_buffer(x_old, x, step.history, len(s.state_in)) if step.history else x
    rest = [s.mapped(i) for i in op.inputs[1:]]
    if step.kind == "window" and op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        timed.add(out_old)
        s.new[out_old] = s.like(out_old, (1, n, *out_t.shape[2:]), out_t.name)
        options = dict(op.options, stride_h=1, dilation_h_factor=step.dilation)
        s.op(op.opcode, [buffer, *rest], [s.new[out_old]], op.opcode_version, **options)
        return
    # a pool along time, or a collapse: a strided slice of the buffer and a copy of the
    # operator per output row; pooled rows are stacked along time, collapsed ones as a batch
    _, _, w, c = s.b.tensors[x].shape
    rows_each = node.kernel if step.kind == "window" else node.rows
    pieces = []
    for j in range(n):
        if (step.history + n, step.every) == (rows_each, 1):
            window = buffer
        else:
            window = s.slice(buffer, [0, j, 0, 0], [1, j + step.history + 1, w, c], [1, step.every, 1, 1],
                             (1, rows_each, w, c), f"{out_t.name}/window{j}")
        shape = (1, 1, *out_t.shape[2:]) if step.kind == "window" else out_t.shape
        piece = s.like(out_old, shape, f"{out_t.name}/row{j}" if n > 1 else out_t.name)
        options = dict(op.options, stride_h=1) if step.kind == "window" else dict(op.options)
        s.op(op.opcode, [window, *rest], [piece], op.opcode_version, **options)
        pieces.append(piece)
    axis = 1 if step.kind == "window" else 0
    (timed if step.kind == "window" else batched).add(out_old)
    if n == 1:
        s.new[out_old] = pieces[0]
        return
    stacked = list(s.b.tensors[pieces[0]].shape)
    stacked[axis] = n
    s.new[out_old] = s.like(out_old, tuple(stacked), out_t.name)
    s.op("CONCATENATION", pieces, [s.new[out_old]], 2, axis=axis, fused_activation_function="NONE")


def _emit_local(s: _StepBuilder, op: Operator, is_timed: bool, timed: set[int], batched: set[int]) -> None:
    sg, n = s.sg, s.n
    out_old = op.outputs[0]
    shape = tuple(sg.tensors[out_old].shape)
    options = dict(op.options)
    inputs = [s.mapped(i) for i in op.inputs]
    if is_timed:
        timed.add(out_old)
        shape = (shape[0], n, *shape[2:])
    elif any(i in batched for i in op.inputs):
        batched.add(out_old)
        shape = (n, *shape[1:])
        if op.opcode == "RESHAPE":
            inputs[1:] = [s.const(shape, f"{sg.tensors[out_old].name}/shape")][: len(inputs) - 1]
            options["new_shape"] = list(shape)
    s.new[out_old] = s.like(out_old, shape, sg.tensors[out_old].name)
    s.op(op.opcode, inputs, [s.new[out_old]], op.opcode_version, **options)


def _model_name(clip: TFLiteModel) -> str:
    raw = clip.metadata.get("tinykws")
    if raw:
        try:
            return str(json.loads(bytes(raw).decode("utf-8"))["model"]["name"])
        except (ValueError, KeyError, TypeError):
            pass
    return clip.path or "the .tflite model"
