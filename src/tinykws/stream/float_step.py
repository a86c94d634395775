"""The float streaming step of a clip network, built from the trained model (no retraining).

The model is traced once (`tinykws.quant.trace`, the same lowering quantization uses), the
streaming plan says which operations keep state (`tinykws.stream.plan`), and
`FloatStreamStep.step` runs the network on n new feature frames with the state passed in
and returned explicitly, as kws_streaming's "external state" form:

    step = FloatStreamStep.from_model(model)
    state = step.initial_state()
    logits, state = step.step(frames, state)     # frames (n, features) -> logits (n, classes)

Row j of the output is the clip network's output on the window ending (lag frames later
than its first frame) at frame j of this call; see `plan.py` for the window each row equals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from tinykws.errors import UnsupportedOpError
from tinykws.quant.graph import FloatGraph, GraphNode
from tinykws.quant.trace import trace_model
from tinykws.stream.plan import StreamPlan, StreamRefusal, TimeNode, plan_stream, refuse_time_padding

State = tuple[torch.Tensor, ...]


def _time_node(graph: FloatGraph, node: GraphNode, index: int, time_axis: dict[int, int], model: str) -> TimeNode:
    """The TimeNode of one traced operation (and the time axis of its output)."""
    name = f"layer {index} ({node.source or node.kind})"
    x = node.inputs[0]
    axis = time_axis.get(x)
    time_axis[node.output] = axis if axis is not None else -1
    if axis is None or axis < 0:
        return TimeNode(name, "local", tuple(node.inputs), node.output)
    if node.kind == "conv":
        if node.source == "conv1d":
            raise StreamRefusal(f"{model}: {name}: 1-D convolutions over time are not streamed yet")
        top, bottom = node.attrs["pads"][:2]
        if top or bottom:
            raise refuse_time_padding(model, name, top, bottom)
        kernel, stride, dilation = node.params["weight"].shape[2], node.attrs["stride"][0], node.attrs["dilation"][0]
        kind = "local" if (kernel, stride) == (1, 1) else "window"
        return TimeNode(name, kind, (x,), node.output, kernel, stride, dilation)
    if node.kind == "pad":
        top, bottom = node.attrs["pads"][:2]
        if top or bottom:
            raise refuse_time_padding(model, name, top, bottom)
    if node.kind in ("avgpool", "reshape"):
        time_axis[node.output] = -1
        return TimeNode(name, "collapse", (x,), node.output, rows=graph.shapes[x][axis])
    if node.kind == "linear":
        raise StreamRefusal(f"{model}: {name} reads a time axis without pooling it")
    if node.kind == "layout":
        permute = node.attrs.get("permute")
        if permute is None or node.attrs.get("tflite_reshape"):
            raise StreamRefusal(f"{model}: {name} moves the time axis in a way the streamer does not follow")
        time_axis[node.output] = list(permute).index(axis)
    return TimeNode(name, "local", tuple(node.inputs), node.output)


def _local(node: GraphNode) -> Callable[..., torch.Tensor]:
    """The float function of one traced operation (time already handled by the caller)."""
    a, p = node.attrs, node.params
    if node.kind == "conv":
        def conv(x: torch.Tensor, dilation_t: int = 0) -> torch.Tensor:
            _, _, left, right = a["pads"]
            x = F.pad(x, (left, right, 0, 0)) if left or right else x
            stride = (1, a["stride"][1]) if dilation_t else a["stride"]
            dilation = (dilation_t or a["dilation"][0], a["dilation"][1])
            return F.conv2d(x, p["weight"], p.get("bias"), stride, 0, dilation, a["groups"])
        return conv
    if node.kind == "bn":
        return lambda x: F.batch_norm(x, p["mean"], p["var"], p["gamma"], p["beta"], False, 0.0, a["eps"])
    if node.kind == "relu":
        return torch.relu
    if node.kind == "relu6":
        return lambda x: torch.clamp(x, 0.0, 6.0)
    if node.kind == "pad":
        return lambda x: F.pad(x, (a["pads"][2], a["pads"][3], 0, 0))
    if node.kind == "avgpool":
        return lambda x: x.mean(dim=(2, 3), keepdim=False)
    if node.kind == "reshape":
        return lambda x: x.reshape(x.shape[0], -1)
    if node.kind == "linear":
        return lambda x: F.linear(x, p["weight"], p.get("bias"))
    if node.kind == "add":
        return lambda x, y: x + y
    if node.kind == "softmax":
        return lambda x: torch.softmax(x, dim=1)
    if node.kind == "layout":
        return lambda x: x.permute(*node.attrs["permute"])
    raise StreamRefusal(f"operation {node.kind!r} has no streaming form")


@dataclass(frozen=True, eq=False)
class _Op:
    node: GraphNode
    fn: Callable[..., torch.Tensor]
    kind: str
    history: int
    every: int
    dilation: int
    axis: int  # time axis of the input (for window / collapse)
    state_shape: tuple[int, ...]  # (1, ..., history, ...) for window / collapse with history
    taps: torch.Tensor  # collapse: the rows of a window that the operator reads


class FloatStreamStep:
    """A traced clip network run frame by frame in float32, state in and out explicitly.

    `lag` (frames): output row j of `step` equals the clip model on the window whose first
    frame is `lag` frames before frame j. `input_frames`: the clip model's window (T).
    """

    def __init__(self, graph: FloatGraph, plan: StreamPlan, input_shape: tuple[int, int], model: str,
                 time_axes: dict[int, int]):
        self.graph = graph
        self.plan = plan
        self.model = model
        self.input_frames, self.num_features = (int(v) for v in input_shape)
        self.lag = plan.lag
        ops = []
        for node, step_plan in zip(graph.nodes, plan.nodes):
            axis = time_axes.get(node.inputs[0], -1)
            shape: tuple[int, ...] = ()
            if step_plan.history:
                full = list(graph.shapes[node.inputs[0]])
                full[axis] = step_plan.history
                shape = tuple(full)
            ops.append(_Op(node, _local(node), step_plan.kind, step_plan.history, step_plan.every,
                           step_plan.dilation, axis, shape, torch.arange(0, step_plan.history + 1, step_plan.every)))
        self.ops = tuple(ops)

    @classmethod
    def from_model(cls, model: torch.nn.Module, input_shape: tuple[int, int] | None = None,
                   name: str | None = None) -> "FloatStreamStep":
        """Trace `model` (its own `input_shape` by default) and plan its streaming form.
        Raises StreamRefusal naming the model and the operation that cannot stream exactly."""
        shape = tuple(int(v) for v in (input_shape or model.input_shape))
        name = name or getattr(model, "model_name", type(model).__name__)
        try:
            graph = trace_model(model, shape, name)
        except StreamRefusal:
            raise
        except UnsupportedOpError as exc:
            raise StreamRefusal(f"{name}: has no frame-by-frame form: the streamer lowers a model as quantization "
                                f"does, and {exc}") from None
        axes: dict[int, int] = {graph.input: 2}
        nodes = [_time_node(graph, node, i, axes, name) for i, node in enumerate(graph.nodes)]
        return cls(graph, plan_stream(nodes, graph.input, graph.output, name), shape, name, axes)

    def initial_state(self) -> State:
        """Zero state: as if the stream had been preceded by silence-valued zero features."""
        return tuple(torch.zeros(op.state_shape) for op in self.ops if op.history)

    @torch.no_grad()
    def step(self, frames: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Logits (n, classes) for n new frames (n, features), and the state after them."""
        frames = torch.as_tensor(frames, dtype=torch.float32)
        if frames.dim() != 2 or frames.shape[1] != self.num_features:
            raise ValueError(f"{self.model}: expected frames (n, {self.num_features}), got {tuple(frames.shape)}")
        n = frames.shape[0]
        values = {self.graph.input: frames.reshape(1, 1, n, self.num_features)}
        states = iter(state)
        new_state = []
        for op in self.ops:
            xs = [values[v] for v in op.node.inputs]
            if op.kind == "local":
                values[op.node.output] = op.fn(*xs)
                continue
            buffer = torch.cat([next(states), xs[0]], dim=op.axis) if op.history else xs[0]
            if op.history:
                new_state.append(buffer.narrow(op.axis, n, op.history))
            if op.kind == "window":
                values[op.node.output] = op.fn(buffer, op.dilation)
                continue
            # collapse: every output row reads its own window of the buffer; the windows of
            # the n rows become a batch, the network has no time axis from here on
            windows = [buffer.narrow(op.axis, j, op.history + 1) for j in range(n)]
            picked = torch.cat([w.index_select(op.axis, op.taps) for w in windows])
            values[op.node.output] = op.fn(picked)
        return values[self.graph.output], tuple(new_state)
