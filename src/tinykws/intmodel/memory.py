"""The memory planner: where every activation tensor of an integer network lives in one arena.

Tensors live from the op that produces them (model inputs: from the start) to their last
use (model outputs: to the end). Two tensors that are live at the same time get disjoint
bytes, except where an op may write its output over its own input (`overlap_rules`):

- reshape is an alias: its output is its input's bytes (one buffer);
- element-wise ops (requantize, add with an unbroadcast input, softmax row by row) read
  element i before they write element i, so the output may start at or before the input;
- depthwise convolution (depth multiplier 1) copies one input channel at a time into its
  scratch before it writes that output channel: output and input may share their start;
- pointwise (1x1, stride 1) convolution copies one pixel's input into its scratch before it
  writes that pixel: the output may start where the input starts;
- any other convolution writes output pixels in order and reads only windows ahead of
  them, so its output may start a computed number of bytes before its input (the input then
  sits in the tail of the output's bytes: the MLPerf DS-CNN's input needs no bytes of its
  own).

These rules describe how tinykws' C kernels (`tinykws.codegen`) order their reads and
writes; the C tests run every model under its plan, so a wrong rule fails bit-exactness.
Each op may also need scratch bytes (given by the caller, who knows its kernels); scratch
is placed in the same arena, live only during its op. Offsets are packed greedily in
several orders (largest first, earliest first, longest-lived first, overlapping tensors
first) and the smallest arena wins. `plan_violations` re-checks a plan from scratch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tinykws.intmodel.graph import IntModel, IntOp
from tinykws.intmodel.params import Geometry2D

ELEMENTWISE = ("requantize", "softmax")
DEFAULT_ALIGNMENT = 4  # bytes: Cortex-M word loads (LDR/LDRD) of int16 scratch and of activations


@dataclass(frozen=True)
class Overlap:
    """Op `op` may write tensor `output` over tensor `input` (its last use) when
    input_offset - output_offset lies in [min_gap, max_gap] (bytes; max_gap None: no
    bound). `alias` marks a reshape: both names for the same bytes."""

    op: int
    input: int
    output: int
    min_gap: int
    max_gap: int | None
    alias: bool = False


@dataclass(frozen=True)
class Placement:
    """One activation tensor's bytes in the arena and the op indices it is live over."""

    tensor: int
    offset: int
    nbytes: int
    first: int
    last: int


@dataclass(frozen=True)
class MemoryPlan:
    """Offsets of every activation tensor and scratch buffer in one arena.

    `arena_bytes` holds all of them (scratch included); `scratch_bytes` is the largest
    scratch of any op; `scratch_offsets[k]` is op k's scratch (None: it needs none);
    `in_place` lists the (op, input, output) pairs that share bytes; `naive_bytes` is what
    one buffer per tensor would need (activations only); `strategy` names the packing
    order that won.
    """

    placements: tuple[Placement, ...]
    arena_bytes: int
    scratch_bytes: int
    scratch_sizes: tuple[int, ...]
    scratch_offsets: tuple[int | None, ...]
    in_place: tuple[tuple[int, int, int], ...]
    alignment: int
    naive_bytes: int
    strategy: str

    def offset(self, tensor: int) -> int:
        """Arena offset in bytes of activation tensor `tensor` (KeyError if it has none)."""
        for p in self.placements:
            if p.tensor == tensor:
                return p.offset
        raise KeyError(tensor)

    def live_at(self, op: int) -> tuple[Placement, ...]:
        """Tensors whose bytes must be intact while op `op` runs."""
        return tuple(p for p in self.placements if p.first <= op <= p.last)


def activation_tensors(model: IntModel) -> list[int]:
    """Indices of the tensors that need arena bytes: model inputs, outputs, and every
    non-constant tensor an op reads or writes, in first-appearance order."""
    seen: dict[int, None] = {}
    for i in model.inputs:
        seen[i] = None
    for op in model.ops:
        for i in (*op.inputs, *op.outputs):
            if i >= 0 and not model.tensors[i].is_constant:
                seen[i] = None
    for i in model.outputs:
        seen[i] = None
    return list(seen)


def lifetimes(model: IntModel) -> dict[int, tuple[int, int]]:
    """(first op, last op) each activation tensor must be intact over."""
    end = max(len(model.ops) - 1, 0)
    first: dict[int, int] = {i: 0 for i in model.inputs}
    last: dict[int, int] = {i: 0 for i in model.inputs}
    for k, op in enumerate(model.ops):
        for i in op.outputs:
            first.setdefault(i, k)
            last[i] = max(last.get(i, k), k)
        for i in op.inputs:
            if i >= 0 and not model.tensors[i].is_constant:
                first.setdefault(i, 0)  # read but never written: an input the caller fills
                last[i] = max(last.get(i, k), k)
    for i in model.outputs:
        first.setdefault(i, 0)
        last[i] = end
    return {i: (first[i], last[i]) for i in activation_tensors(model)}


def _first_window_element(out_size: int, in_size: int, stride: int, pad: int, kernel: int,
                          dilation: int) -> np.ndarray:
    """Per output position along one axis: the first in-bounds input index of its window
    (a large number when the whole window is padding)."""
    start = np.arange(out_size) * stride - pad
    taps = start[:, None] + np.arange(kernel)[None, :] * dilation
    valid = (taps >= 0) & (taps < in_size)
    big = np.iinfo(np.int64).max // 4
    return np.where(valid, taps, big).min(axis=1)


def sliding_min_gap(g: Geometry2D, in_h: int, in_w: int, in_c: int, out_c: int) -> int:
    """Smallest input_offset - output_offset (bytes) for which a convolution that writes
    output pixels in order, each after reading its window, never overwrites input a
    later window (or its own) still needs."""
    rows = _first_window_element(g.out_h, in_h, g.stride_h, g.pad_top, g.filter_h, g.dilation_h)
    cols = _first_window_element(g.out_w, in_w, g.stride_w, g.pad_left, g.filter_w, g.dilation_w)
    first = (rows[:, None] * in_w + cols[None, :]).reshape(-1) * in_c  # first byte read by each pixel
    still_needed = np.minimum.accumulate(first[::-1])[::-1]  # by this pixel or any later one
    written = (np.arange(first.size) + 1) * out_c  # bytes written once this pixel is done
    return int((written - still_needed).max())


def _single_item(model: IntModel, *tensors: int) -> bool:
    return all(model.tensors[t].shape[:1] == (1,) for t in tensors)


def overlap_rules(model: IntModel, index: int) -> list[Overlap]:
    """How op `index`'s output may overlap its inputs, by kind (see the module docstring).

    Only the geometry is checked here; `plan_memory` grants a rule only when the op is
    the input's last use."""
    op: IntOp = model.ops[index]
    if len(op.outputs) != 1 or not op.inputs or op.inputs[0] < 0:
        return []
    out = op.outputs[0]
    x = op.inputs[0]
    t_out, t_in = model.tensors[out], model.tensors[x]
    if t_in.is_constant or np.dtype(t_in.dtype).itemsize != np.dtype(t_out.dtype).itemsize:
        return []
    if op.kind == "reshape":
        return [Overlap(index, x, out, 0, 0, alias=True)]
    if op.kind in ELEMENTWISE and t_in.shape == t_out.shape:
        return [Overlap(index, x, out, 0, None)]
    if op.kind == "add":
        return [Overlap(index, i, out, 0, None) for i in op.inputs
                if i >= 0 and not model.tensors[i].is_constant and model.tensors[i].shape == t_out.shape]
    if op.kind not in ("conv2d", "depthwise_conv2d") or not _single_item(model, x, out):
        return []
    g = op.params.geometry
    _, in_h, in_w, in_c = t_in.shape
    out_c = t_out.shape[3]
    if op.kind == "depthwise_conv2d":
        if op.params.depth_multiplier == 1 and g.out_h * g.out_w <= in_h * in_w:
            return [Overlap(index, x, out, 0, 0)]
        return []
    if is_pointwise(g):
        pixels = in_h * in_w
        steps = (np.arange(pixels) + 1) * (out_c - in_c)  # pixel q copied out before it is written
        return [Overlap(index, x, out, int(steps.max()), None)]
    return [Overlap(index, x, out, sliding_min_gap(g, in_h, in_w, in_c, out_c), None)]


def is_pointwise(g: Geometry2D) -> bool:
    """A 1x1, stride-1 window without padding: each output pixel reads only its own pixel."""
    return (g.filter_h, g.filter_w, g.stride_h, g.stride_w, g.pad_top, g.pad_left) == (1, 1, 1, 1, 0, 0)


class _Groups:
    """Union-find of alias groups (reshape chains) over tensor indices."""

    def __init__(self, tensors):
        self.parent = {t: t for t in tensors}

    def find(self, t: int) -> int:
        while self.parent[t] != t:
            self.parent[t] = self.parent[self.parent[t]]
            t = self.parent[t]
        return t

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _align(n: int, alignment: int) -> int:
    return -(-n // alignment) * alignment


@dataclass
class _Block:
    """A unit of placement: an alias group of tensors, or one op's scratch."""

    key: tuple
    size: int
    first: int
    last: int
    offset: int | None = None
    paired: bool = False  # it may overlap a partner (an overlap rule names it)

    def meets(self, other: "_Block") -> bool:
        return self.first <= other.last and other.first <= self.last


def _granted_rules(model: IntModel, groups: _Groups, spans: dict[int, tuple[int, int]]) -> list[Overlap]:
    """The overlap rules that apply: the input's group dies at the op, is not a model
    output, and is not the output's group."""
    outputs = {groups.find(t) for t in model.outputs}
    group_last: dict[int, int] = {}
    for t, (_, last) in spans.items():
        g = groups.find(t)
        group_last[g] = max(group_last.get(g, last), last)
    granted = []
    for k in range(len(model.ops)):
        for rule in overlap_rules(model, k):
            if rule.alias:
                continue
            gi, go = groups.find(rule.input), groups.find(rule.output)
            if gi != go and gi not in outputs and group_last[gi] == k:
                granted.append(rule)
    return granted


def _pair_ok(a: _Block, b: _Block, rules: dict[tuple, tuple[int, int | None]]) -> bool:
    """May a and b, live at the same time, sit at their offsets?"""
    if a.offset + a.size <= b.offset or b.offset + b.size <= a.offset:
        return True
    for (x, y) in ((a, b), (b, a)):
        span = rules.get((x.key, y.key))  # x is the input, y the output
        if span is not None:
            gap = x.offset - y.offset
            if gap >= span[0] and (span[1] is None or gap <= span[1]):
                return True
    return False


def _candidates(block: _Block, placed: list[_Block], rules, alignment: int) -> list[int]:
    found = {0}
    for other in placed:
        found.add(_align(other.offset + other.size, alignment))
        # rules are keyed (input, output): look the two pairs up instead of scanning them all
        span = rules.get((other.key, block.key))
        if span is not None:  # block is the output: offset in [x - hi, x - lo]
            lo, hi = span
            found.add((other.offset - lo) // alignment * alignment)
            if hi is not None:
                found.add(_align(other.offset - hi, alignment))
        span = rules.get((block.key, other.key))
        if span is not None:  # block is the input: offset in [y + lo, y + hi]
            found.add(_align(other.offset + span[0], alignment))
    return sorted(c for c in found if c >= 0)


def _pack(blocks: list[_Block], rules, alignment: int) -> int:
    placed: list[_Block] = []
    for block in blocks:
        rivals = [b for b in placed if b.meets(block)]
        for offset in _candidates(block, rivals, rules, alignment):
            block.offset = offset
            if all(_pair_ok(block, other, rules) for other in rivals):
                break
        placed.append(block)
    return max((b.offset + b.size for b in placed), default=0)


_ORDERS = {
    "largest first": lambda b: (-b.size, b.first, b.key),
    "earliest first": lambda b: (b.first, -b.size, b.key),
    "longest-lived first": lambda b: (-(b.last - b.first), -b.size, b.key),
    "largest area first": lambda b: (-b.size * (b.last - b.first + 1), b.first, b.key),
    # tensors that may overlap a partner take their overlapping places before scratch
    # buffers claim the bytes beside them
    "overlapping first": lambda b: (not b.paired, -b.size, b.first, b.key),
}


def plan_memory(model: IntModel, scratch: Mapping[int, int] | None = None, *, in_place: bool = True,
                alignment: int = DEFAULT_ALIGNMENT) -> MemoryPlan:
    """Pack `model`'s activation tensors and per-op scratch (`scratch[k]` bytes for op k)
    into one arena; with `in_place`, ops overwrite their inputs where `overlap_rules` allows."""
    scratch = dict(scratch or {})
    spans = lifetimes(model)
    groups = _Groups(spans)
    if in_place:
        for k in range(len(model.ops)):
            for rule in overlap_rules(model, k):
                if rule.alias:
                    groups.union(rule.input, rule.output)
    granted = _granted_rules(model, groups, spans) if in_place else []

    members: dict[int, list[int]] = {}
    for t in spans:
        members.setdefault(groups.find(t), []).append(t)

    def make_blocks() -> list[_Block]:
        blocks = [_Block(("t", g), _align(max(model.tensors[t].nbytes for t in ts), alignment),
                         min(spans[t][0] for t in ts), max(spans[t][1] for t in ts)) for g, ts in members.items()]
        blocks += [_Block(("s", k), _align(n, alignment), k, k) for k, n in sorted(scratch.items()) if n > 0]
        return blocks

    rules = {(("t", groups.find(r.input)), ("t", groups.find(r.output))): (r.min_gap, r.max_gap) for r in granted}
    paired = {k for pair in rules for k in pair}
    best = None
    for name, key in _ORDERS.items():
        blocks = make_blocks()
        for b in blocks:
            b.paired = b.key in paired
        blocks.sort(key=key)
        size = _pack(blocks, rules, alignment)
        if best is None or size < best[0]:
            best = (size, name, {b.key: b.offset for b in blocks})
    arena, strategy, offsets = best
    placements = tuple(Placement(t, offsets[("t", groups.find(t))], model.tensors[t].nbytes, *spans[t]) for t in spans)
    scratch_offsets = tuple(offsets.get(("s", k)) for k in range(len(model.ops)))
    shared = tuple((r.op, r.input, r.output) for r in granted
                   if offsets[("t", groups.find(r.input))] < offsets[("t", groups.find(r.output))] + model.tensors[r.output].nbytes
                   and offsets[("t", groups.find(r.output))] < offsets[("t", groups.find(r.input))] + model.tensors[r.input].nbytes)
    plan = MemoryPlan(
        placements=placements, arena_bytes=arena, scratch_bytes=max(scratch.values(), default=0),
        scratch_sizes=tuple(scratch.get(k, 0) for k in range(len(model.ops))), scratch_offsets=scratch_offsets,
        in_place=shared, alignment=alignment, naive_bytes=sum(model.tensors[t].nbytes for t in spans),
        strategy=strategy)
    problems = plan_violations(model, plan, in_place=in_place)
    if problems:  # a bug in the packer, never bad input
        raise AssertionError("memory plan is inconsistent: " + "; ".join(problems[:5]))
    return plan


def plan_violations(model: IntModel, plan: MemoryPlan, *, in_place: bool = True) -> list[str]:
    """Every pair of buffers that are live at the same time and overlap without an
    overlap rule allowing it, every misaligned offset, and anything outside the arena."""
    problems = []
    spans = lifetimes(model)
    placed = {p.tensor: p for p in plan.placements}
    missing = [t for t in spans if t not in placed]
    if missing:
        problems.append(f"tensors without an offset: {missing}")
    allowed: dict[tuple[int, int], tuple[int, int | None]] = {}
    aliases: set[frozenset[int]] = set()
    if in_place:
        groups = _Groups(spans)
        for k in range(len(model.ops)):
            for rule in overlap_rules(model, k):
                if rule.alias:
                    groups.union(rule.input, rule.output)
        for rule in _granted_rules(model, groups, spans):
            allowed[(rule.input, rule.output)] = (rule.min_gap, rule.max_gap)
        aliases = {frozenset((a, b)) for a in spans for b in spans if a != b and groups.find(a) == groups.find(b)}
    buffers = [(f"tensor {p.tensor} ({model.tensors[p.tensor].name})", p.tensor, p.offset, p.nbytes, spans[p.tensor])
               for p in plan.placements if p.tensor in spans]
    buffers += [(f"scratch of op {k}", None, off, n, (k, k))
                for k, (off, n) in enumerate(zip(plan.scratch_offsets, plan.scratch_sizes)) if n > 0]
    for name, _, offset, nbytes, _ in buffers:
        if offset is None or offset % plan.alignment or offset < 0 or offset + nbytes > plan.arena_bytes:
            problems.append(f"{name} at {offset} (+{nbytes}) is misaligned or outside the {plan.arena_bytes} B arena")
    for i, (na, ta, oa, sa, (fa, la)) in enumerate(buffers):
        for nb, tb, ob, sb, (fb, lb) in buffers[i + 1:]:
            if oa is None or ob is None or fa > lb or fb > la or oa + sa <= ob or ob + sb <= oa:
                continue
            if ta is not None and tb is not None:
                if frozenset((ta, tb)) in aliases and oa == ob:
                    continue
                span = allowed.get((ta, tb)) or allowed.get((tb, ta))
                if span is not None:
                    gap = oa - ob if (ta, tb) in allowed else ob - oa
                    if gap >= span[0] and (span[1] is None or gap <= span[1]):
                        continue
            problems.append(f"{na} [{oa}, {oa + sa}) and {nb} [{ob}, {ob + sb}) overlap while both are live")
    return problems
