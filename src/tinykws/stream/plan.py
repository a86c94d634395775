"""Where a clip network needs state when it runs frame by frame: the streaming plan.

A clip network maps a window of T feature frames to one output. Run on a stream, each of
its time-bearing tensors gains one new *row* per input frame, and each operation falls in
one of three kinds (`TimeNode.kind`):

- "local": works on each row alone (pointwise convolutions, batch norm, ReLU, ADD, a PAD of
  the frequency axis): it runs on the new row as it is;
- "window": a convolution or pooling along time (kernel k, stride s, dilation d): it needs
  the last (k - 1) * d * S frames of its input, where S is the input's *frame step* (how many
  stream frames apart two consecutive rows of that tensor are in the clip network: the
  product of the time strides before it). Streaming computes the output row of *every*
  frame, i.e. every stride phase at once: the stride disappears and the dilation becomes
  d * S ("a trous"); the output's frame step is S * s;
- "collapse": an operation that reads all H rows of its input at once (the global average
  pool, a flatten before a fully connected layer): it needs the last (H - 1) * S frames,
  taken every S-th; after it the network has no time axis any more.

Every operation must see only real frames: a convolution that pads time ('same' or causal
padding) makes the rows at a window's edges depend on zeros that a continuous stream does
not have, so it is refused by name (`StreamRefusal`).

The *lag* of a value is the span in frames from the oldest input frame its newest row
depends on to the newest. The network's output lag L says which window the stream
reproduces: the streaming output at frame t equals the clip network on the window of T
frames that starts at frame t - L (frames after t are read by that window but unused when
L < T - 1). Outputs before frame L depend on the initial (zero) state.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinykws.errors import UnsupportedOpError

KINDS = ("local", "window", "collapse")


class StreamRefusal(UnsupportedOpError):
    """A clip network that cannot stream exactly; the message names the model and why."""


@dataclass(frozen=True)
class TimeNode:
    """One operation as the planner sees it.

    inputs / output: value ids (the network input is value `input` of `plan_stream`);
    kernel / stride / dilation: along time, for "window"; rows: time rows of the input in
    the clip network, for "collapse"; name: how messages call the operation.
    """

    name: str
    kind: str
    inputs: tuple[int, ...]
    output: int
    kernel: int = 1
    stride: int = 1
    dilation: int = 1
    rows: int = 0


@dataclass(frozen=True)
class TimeState:
    """How a value's rows lie on the stream: `step` frames apart, the newest depending on
    the last `lag` + 1 frames; `collapsed` once the time axis is gone."""

    step: int
    lag: int
    collapsed: bool = False


@dataclass(frozen=True)
class NodePlan:
    """What one operation needs when streaming.

    history: past frames of its input kept as state (0: none);
    every: take every `every`-th of the buffered frames (the input's frame step);
    dilation: the time dilation of a "window" operation in the streaming step (d * S).
    """

    kind: str
    history: int = 0
    every: int = 1
    dilation: int = 1


@dataclass(frozen=True)
class StreamPlan:
    """The plan of a whole network: one NodePlan per TimeNode, in order, and the output lag."""

    nodes: tuple[NodePlan, ...]
    lag: int
    states: dict[int, TimeState]

    @property
    def state_frames(self) -> int:
        """Total frames of history over all operations (a memory figure, not bytes)."""
        return sum(n.history for n in self.nodes)


def plan_stream(nodes: list[TimeNode] | tuple[TimeNode, ...], input_value: int, output_value: int,
                model: str) -> StreamPlan:
    """Plan the streaming form of a network given as TimeNodes in execution order.

    Raises StreamRefusal when operations mix values that lie differently on the stream
    (a residual connection across a time convolution needs a delay line, which is not
    built), when a fully connected layer reads a time axis, or when the output still has one.
    """
    states: dict[int, TimeState] = {input_value: TimeState(step=1, lag=0)}
    plans = []
    for node in nodes:
        if node.kind not in KINDS:
            raise ValueError(f"unknown time-node kind {node.kind!r}")
        known = [states[v] for v in node.inputs if v in states]
        if not known:
            raise StreamRefusal(f"{model}: {node.name} does not depend on the input")
        first = known[0]
        if any(s != first for s in known[1:]):
            raise StreamRefusal(
                f"{model}: {node.name} combines values that lie differently on the stream "
                f"({', '.join(_describe(s) for s in known)}); a residual across a time convolution would "
                "need a delay line")
        if node.kind == "local" or first.collapsed:
            if node.kind == "window" and first.collapsed:
                raise StreamRefusal(f"{model}: {node.name} runs along time after the time axis is gone")
            plans.append(NodePlan("local"))
            states[node.output] = first
            continue
        if node.kind == "window":
            span = (node.kernel - 1) * node.dilation
            history = span * first.step
            plans.append(NodePlan("window", history=history, every=first.step,
                                  dilation=node.dilation * first.step))
            states[node.output] = TimeState(first.step * node.stride, first.lag + history)
            continue
        if node.rows < 1:
            raise ValueError(f"{node.name}: a collapse needs the rows of its input")
        history = (node.rows - 1) * first.step
        plans.append(NodePlan("collapse", history=history, every=first.step))
        states[node.output] = TimeState(first.step, first.lag + history, collapsed=True)
    out = states.get(output_value)
    if out is None:
        raise StreamRefusal(f"{model}: the output does not depend on the input")
    if not out.collapsed:
        raise StreamRefusal(f"{model}: the output still has a time axis (no pooling or flatten over time)")
    return StreamPlan(tuple(plans), out.lag, states)


def _describe(state: TimeState) -> str:
    if state.collapsed:
        return "no time axis"
    return f"rows {state.step} frame(s) apart, lag {state.lag}"


def refuse_time_padding(model: str, what: str, before: int, after: int) -> StreamRefusal:
    """The refusal for an operation that pads the time axis."""
    kind = "causal" if after == 0 else "'same'"
    return StreamRefusal(
        f"{model}: {what} pads the time axis ({before} frame(s) before, {after} after: {kind} padding), so "
        "the frames at a window's edges see zeros that a continuous stream does not have; it cannot stream "
        "exactly. Build the model with time_valid=True (no time padding), or stream the whole window at "
        "every hop")
