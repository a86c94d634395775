"""Each operator of the integer network as a call of a tinykws C kernel: the constant
arrays and parameter struct it needs, its arguments, scratch bytes and MACs.

The scratch sizes here are the ones the kernels in `c/` document; the memory planner
places them in the arena.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from tinykws.codegen.cformat import c_array, c_struct, short_name
from tinykws.errors import ConfigError, UnsupportedOpError
from tinykws.intmodel.graph import IntModel, IntOp, IntTensor
from tinykws.intmodel.memory import is_pointwise

DSP_BLOCK_PIXELS = 16  # default output pixels per block of the DSP conv2d path (tkws_conv.c)
DSP_GROUP = 4  # output channels per register block of the DSP conv2d path
DSP_CHANNEL_RECORD = 16  # bytes of one channel_t in tkws_conv.c
DSP_PLANES = 4  # channel planes the DSP depthwise path copies at once (tkws_depthwise.c)
INT16 = 2
FAST_REQUANT = "TKWS_FAST_REQUANT"
PREPAD = "TKWS_PREPAD"
PREPAD_LIMIT = 2048  # bytes: inputs up to this size (widened, padded) are copied whole before a conv2d
ROUNDING = {"double": "TKWS_ROUND_DOUBLE", "single": "TKWS_ROUND_SINGLE"}


@dataclass(frozen=True)
class KernelCall:
    """One op as C: `declarations` (arrays and the parameter struct `params`), the kernel
    `function`, and its arguments after the parameters: ("tensor", index), ("tensors",
    indices) or ("scratch",)."""

    function: str
    params: str
    declarations: tuple[str, ...]
    args: tuple[tuple, ...]
    scratch_bytes: int
    macs: int
    param_bytes: int  # this op's own constant arrays
    summary: str
    shared: tuple[tuple[str, int], ...] = ()  # (name, bytes) of arrays that ops with equal contents share


class _Op:
    """Helpers shared by the lowering of one op."""

    def __init__(self, model: IntModel, index: int, block_pixels: int):
        self.model = model
        self.index = index
        self.block_pixels = block_pixels
        self.op: IntOp = model.ops[index]
        self.prefix = f"op{index}"
        self.arrays: list[str] = []
        self.param_bytes = 0
        self.shared: list[tuple[str, int]] = []

    def fail(self, problem: str) -> UnsupportedOpError:
        out = self.model.tensors[self.op.outputs[0]].name
        return UnsupportedOpError(f"C code generation: op {self.index} ({self.op.kind}, output {out!r}): {problem}")

    def tensor(self, position: int) -> IntTensor:
        return self.model.tensors[self.op.inputs[position]]

    @property
    def out(self) -> IntTensor:
        return self.model.tensors[self.op.outputs[0]]

    def array(self, suffix: str, ctype: str, values, comment: str | None = None, shared: bool = False) -> str:
        """A constant array for this op; `shared`: named by its contents, so ops with equal
        arrays (the steps of an unrolled recurrent layer) declare it once."""
        values = np.asarray(values).reshape(-1)
        if shared:  # named by a hash of the contents
            name = f"tkws_{suffix}_{hashlib.sha1(values.astype(np.int64).tobytes()).hexdigest()[:12]}"
        else:
            name = f"{self.prefix}_{suffix}"
        lo, hi = _RANGE[ctype]
        if values.size and (values.min() < lo or values.max() > hi):
            raise self.fail(f"{suffix} values do not fit {ctype}")
        self.arrays.append(c_array(ctype, name, values, comment=comment))
        if shared:
            self.shared.append((name, values.size * _SIZE[ctype]))
        else:
            self.param_bytes += values.size * _SIZE[ctype]
        return name

    def constant_input(self, position: int) -> tuple:
        """An op input as a kernel argument: arena tensor, or a constant array."""
        index = self.op.inputs[position]
        t = self.model.tensors[index]
        if not t.is_constant:
            return ("tensor", index)
        if np.dtype(t.dtype) != np.int8:
            raise self.fail(f"constant input {t.name!r} is {np.dtype(t.dtype).name}, not int8")
        return ("const", self.array(f"input{position}", "int8_t", t.data, comment=f"constant {short_name(t.name)}"))

    def call(self, function: str, ctype: str, fields: list[tuple[str, object]], args: tuple, summary: str,
             scratch: int = 0, macs: int = 0) -> KernelCall:
        for field, value in fields:
            if isinstance(value, (int, np.integer)) and field in _U16_FIELDS and not 0 <= value <= 0xFFFF:
                raise self.fail(f"{field} = {value} is out of range for the kernel")
        struct = c_struct(ctype, self.prefix, fields)
        return KernelCall(function, self.prefix, (*self.arrays, struct), args, scratch, macs, self.param_bytes, summary,
                          tuple(self.shared))


_RANGE = {"int8_t": (-128, 127), "int32_t": (-(1 << 31), (1 << 31) - 1), "uint32_t": (0, (1 << 32) - 1)}
_SIZE = {"int8_t": 1, "int32_t": 4, "uint32_t": 4}
_U16_FIELDS = {"batch", "in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "filter_h", "filter_w", "stride_h",
               "stride_w", "dilation_h", "dilation_w", "pad_top", "pad_left", "depth_multiplier", "rows", "channels"}


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape[1:]) if len(shape) > 1 else str(shape[0] if shape else 1)


def _four(shape: tuple[int, ...], what: str, lower: _Op) -> tuple[int, ...]:
    if len(shape) > 4:
        raise lower.fail(f"{what} has {len(shape)} dimensions; the C kernels take at most 4")
    return (1,) * (4 - len(shape)) + tuple(int(d) for d in shape)


def _c_list(values) -> str:
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


def _requant_arrays(lower: _Op, multipliers, shifts) -> tuple[str, str]:
    return lower.array("multipliers", "int32_t", multipliers), lower.array("shifts", "int8_t", shifts)


def _conv(lower: _Op) -> KernelCall:
    op, p = lower.op, lower.op.params
    g = p.geometry
    x, w, out = lower.tensor(0), lower.tensor(1), lower.out
    if len(x.shape) != 4 or not w.is_constant or np.dtype(w.dtype) != np.int8:
        raise lower.fail("needs a 4-D input and constant int8 weights")
    batch, in_h, in_w, in_c = x.shape
    depthwise = op.kind == "depthwise_conv2d"
    out_c = out.shape[3]
    weights = lower.array("weights", "int8_t", w.data, comment=f"weights {w.shape}: {short_name(w.name)}")
    bias = "NULL"
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        b = lower.tensor(2)
        if not b.is_constant:
            raise lower.fail("the bias must be constant")
        bias = lower.array("bias", "int32_t", b.data)
    multipliers, shifts = _requant_arrays(lower, p.multipliers, p.shifts)
    pixels = batch * g.out_h * g.out_w
    block = min(lower.block_pixels, pixels + (pixels & 1))
    fast = _fast_requant(op, w.data, lower.tensor(2).data if bias != "NULL" else None, depthwise)
    padded = _padded_bytes(g, in_c) if op.kind == "conv2d" and not is_pointwise(g) else None
    flags = " | ".join(f for f, on in ((FAST_REQUANT, fast), (PREPAD, padded is not None)) if on) or 0
    fields = [("batch", batch), ("in_h", in_h), ("in_w", in_w), ("in_c", in_c), ("out_h", g.out_h),
              ("out_w", g.out_w), ("out_c", out_c), ("filter_h", g.filter_h), ("filter_w", g.filter_w),
              ("stride_h", g.stride_h), ("stride_w", g.stride_w), ("dilation_h", g.dilation_h),
              ("dilation_w", g.dilation_w), ("pad_top", g.pad_top), ("pad_left", g.pad_left),
              ("depth_multiplier", p.depth_multiplier), ("block", block), ("flags", flags),
              ("input_offset", p.input_offset),
              ("output_offset", p.output_offset), ("act_min", p.act_min), ("act_max", p.act_max),
              ("rounding", ROUNDING[op.rounding]), ("weights", weights), ("bias", bias),
              ("multipliers", multipliers), ("shifts", shifts)]
    window = f"{g.filter_h}x{g.filter_w}" + (f" stride {g.stride_h}x{g.stride_w}" if (g.stride_h, g.stride_w) != (1, 1)
                                              else "")
    window += f" dilation {g.dilation_h}x{g.dilation_w}" if (g.dilation_h, g.dilation_w) != (1, 1) else ""
    summary = f"{op.kind} {window}, {_dims(x.shape)} -> {_dims(out.shape)}"
    args = (("tensor", op.inputs[0]), ("tensor", op.outputs[0]), ("scratch",))
    if depthwise:
        return lower.call("tkws_depthwise_conv2d", "tkws_conv_params_t", fields, args, summary,
                          scratch=depthwise_scratch(g, p.depth_multiplier),
                          macs=pixels * out_c * g.filter_h * g.filter_w)
    depth = g.filter_h * g.filter_w * in_c
    macs = pixels * out_c * depth
    function = "tkws_conv2d_1x1" if is_pointwise(g) else "tkws_conv2d"
    return lower.call(function, "tkws_conv_params_t", fields, args, summary,
                      scratch=conv_scratch(depth, block) + (padded or 0), macs=macs)


def _padded_bytes(g, in_c: int) -> int | None:
    """Bytes of the widened, padded input the DSP conv2d path copies windows from
    (TKWS_PREPAD), or None when that is more than PREPAD_LIMIT."""
    rows = (g.out_h - 1) * g.stride_h + (g.filter_h - 1) * g.dilation_h + 1
    columns = (g.out_w - 1) * g.stride_w + (g.filter_w - 1) * g.dilation_w + 1
    size = rows * columns * in_c * INT16
    return size if size <= PREPAD_LIMIT else None


def conv_scratch(depth: int, block: int) -> int:
    """Scratch bytes of tkws_conv2d / tkws_conv2d_1x1: the larger of the portable path's
    (one widened window) and the DSP path's (block windows and a channel group, depth
    rounded up to 4, and the group's requantization records)."""
    padded = -(-depth // 4) * 4
    return max(depth * INT16, (block + DSP_GROUP) * padded * INT16 + DSP_GROUP * DSP_CHANNEL_RECORD)


def depthwise_scratch(g, depth_multiplier: int) -> int:
    """Scratch bytes of tkws_depthwise_conv2d: one channel plane, row-major (portable) or,
    for the DSP 3x3 stride-1 path, four column-major planes with even columns of out_h + 2
    values and a column of int32 sums."""
    plane_h = (g.out_h - 1) * g.stride_h + (g.filter_h - 1) * g.dilation_h + 1
    plane_w = (g.out_w - 1) * g.stride_w + (g.filter_w - 1) * g.dilation_w + 1
    portable = plane_h * plane_w * INT16
    if (g.filter_h, g.filter_w, g.stride_h, g.stride_w, g.dilation_h, g.dilation_w, depth_multiplier) == (
            3, 3, 1, 1, 1, 1, 1):
        dsp = DSP_PLANES * ((g.out_h + 3) & ~1) * (g.out_w + 2) * INT16 + (g.out_h + 2) * 4
        return max(portable, dsp)
    return portable


def _fast_requant(op: IntOp, weights: np.ndarray, bias: np.ndarray | None, depthwise: bool) -> bool:
    """May the DSP path use tkws_requant_fast (see tkws_dsp.h)? Double rounding, every
    right shift in [1, 23], every multiplier 0 or in [2^30, 2^31), every accumulator
    (|bias| + 255 * sum |w|, as |input + offset| <= 255) below 2^30, and no int32
    overflow in SMMLAR(2 acc, m, 2^(r-1) + zp 2^r) (the output zero point folded in)."""
    p = op.params
    multipliers = np.asarray(p.multipliers, np.int64).reshape(-1)
    shifts = np.asarray(p.shifts, np.int64).reshape(-1)
    if op.rounding != "double" or np.any(shifts > -1) or np.any(shifts < -23):
        return False
    if np.any((multipliers != 0) & ((multipliers < (1 << 30)) | (multipliers >= (1 << 31)))):
        return False
    w = np.abs(weights.astype(np.int64))
    per_channel = w.reshape(-1, w.shape[-1]).sum(axis=0) if depthwise else w.reshape(w.shape[0], -1).sum(axis=1)
    bound = 255 * per_channel + (np.abs(bias.astype(np.int64)) if bias is not None else 0)
    r = -shifts
    offset = (1 << (r - 1)) + abs(p.output_offset) * (1 << r) + 1
    return bool(np.all(bound < (1 << 30)) and np.all(bound + offset < (1 << 31)))


def _fully_connected(lower: _Op) -> KernelCall:
    op, p = lower.op, lower.op.params
    x, w, out = lower.tensor(0), lower.tensor(1), lower.out
    if not w.is_constant or np.dtype(w.dtype) != np.int8 or len(w.shape) != 2:
        raise lower.fail("needs constant int8 weights (out, in)")
    out_c, in_c = w.shape
    rows = math.prod(x.shape) // in_c
    # weights read by every step of an unrolled recurrent layer are declared once
    weights = lower.array("weights", "int8_t", w.data, comment=f"weights {w.shape}", shared=True)
    bias = "NULL"
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        bias = lower.array("bias", "int32_t", lower.tensor(2).data, shared=True)
    multipliers, shifts = _requant_arrays(lower, p.multipliers, p.shifts)
    fields = [("rows", rows), ("in_c", in_c), ("out_c", out_c), ("input_offset", p.input_offset),
              ("weight_offset", p.weight_offset), ("output_offset", p.output_offset), ("act_min", p.act_min),
              ("act_max", p.act_max), ("rounding", ROUNDING[op.rounding]),
              ("per_channel", int(len(np.asarray(p.multipliers).reshape(-1)) > 1)), ("weights", weights),
              ("bias", bias), ("multipliers", multipliers), ("shifts", shifts)]
    return lower.call("tkws_fully_connected", "tkws_fc_params_t", fields,
                      (lower.constant_input(0), ("tensor", op.outputs[0]), ("scratch",)),
                      f"fully_connected {in_c} -> {out_c}" + (f", {rows} rows" if rows > 1 else ""),
                      scratch=in_c * INT16, macs=rows * in_c * out_c)


def _pool(lower: _Op) -> KernelCall:
    op, p = lower.op, lower.op.params
    g = p.geometry
    x = lower.tensor(0)
    batch, in_h, in_w, channels = x.shape
    fields = [("batch", batch), ("in_h", in_h), ("in_w", in_w), ("channels", channels), ("out_h", g.out_h),
              ("out_w", g.out_w), ("filter_h", g.filter_h), ("filter_w", g.filter_w), ("stride_h", g.stride_h),
              ("stride_w", g.stride_w), ("pad_top", g.pad_top), ("pad_left", g.pad_left), ("act_min", p.act_min),
              ("act_max", p.act_max)]
    return lower.call(f"tkws_{op.kind}", "tkws_pool_params_t", fields,
                      (("tensor", op.inputs[0]), ("tensor", op.outputs[0])),
                      f"{op.kind} {g.filter_h}x{g.filter_w}, {_dims(x.shape)} -> {_dims(lower.out.shape)}")


def _mean(lower: _Op) -> KernelCall:
    op, p = lower.op, lower.op.params
    x = lower.tensor(0)
    dims = _four(x.shape, "the input", lower)
    lead = 4 - len(x.shape)
    count = math.prod(x.shape[a] for a in p.axes)
    # fold 1/count into the multiplier exactly as the numpy runtime (and TFLite) does
    extra = min(count.bit_length() - 1, 32, 31 + p.shift)
    multiplier = (p.multiplier << extra) // count
    fields = [("dims", _c_list(dims)), ("reduce_mask", sum(1 << (a + lead) for a in p.axes)),
              ("rounding", ROUNDING[op.rounding]), ("count", count), ("input_zero_point", p.input_zero_point),
              ("output_zero_point", p.output_zero_point), ("multiplier", multiplier), ("shift", p.shift - extra)]
    return lower.call("tkws_mean", "tkws_mean_params_t", fields, (("tensor", op.inputs[0]), ("tensor", op.outputs[0])),
                      f"mean over axes {list(p.axes)}, {_dims(x.shape)} -> {_dims(lower.out.shape)}")


def _strides(shape: tuple[int, ...], out: tuple[int, ...]) -> list[int]:
    strides, step = [], 1
    for d, o in zip(reversed(shape), reversed(out)):
        strides.append(0 if d == 1 and o > 1 else step)
        step *= d
    return strides[::-1]


def _add(lower: _Op) -> KernelCall:
    op, p = lower.op, lower.op.params  # SUB's params carry its second multiplier negated
    a, b, out = lower.tensor(0), lower.tensor(1), lower.out
    if op.rounding == "double" and max(p.input1_shift, p.input2_shift, p.output_shift) > 0:
        raise lower.fail("a rescaling shift is positive (TFLite's int8 ADD requires multipliers below one)")
    dims = _four(out.shape, "the output", lower)
    sa, sb = _four(a.shape, "input 1", lower), _four(b.shape, "input 2", lower)
    broadcast = not (a.shape == b.shape == out.shape)
    fields = [("size", out.nbytes), ("broadcast", int(broadcast)), ("rounding", ROUNDING[op.rounding]),
              ("dims", _c_list(dims)), ("a_strides", _c_list(_strides(sa, dims))),
              ("b_strides", _c_list(_strides(sb, dims))), ("left_shift", p.left_shift),
              ("a_offset", p.input1_offset), ("a_multiplier", p.input1_multiplier), ("a_shift", p.input1_shift),
              ("b_offset", p.input2_offset), ("b_multiplier", p.input2_multiplier), ("b_shift", p.input2_shift),
              ("output_offset", p.output_offset), ("output_multiplier", p.output_multiplier),
              ("output_shift", p.output_shift), ("act_min", p.act_min), ("act_max", p.act_max)]
    args = (lower.constant_input(0), lower.constant_input(1), ("tensor", op.outputs[0]))
    return lower.call("tkws_add", "tkws_add_params_t", fields, args,
                      f"{op.kind} {_dims(a.shape)} {'+' if op.kind == 'add' else '-'} {_dims(b.shape)}"
                      + (" (broadcast)" if broadcast else ""))


def _lookup(lower: _Op) -> KernelCall:
    """LOGISTIC / TANH as a table of the numpy kernel's output for every input code."""
    from tinykws.intmodel.ops_activation import activation

    op = lower.op
    codes = np.arange(-128, 128, dtype=np.int8)
    table = lower.array("table", "int8_t", activation(op.params, codes, op.rounding),
                        comment=f"{op.kind} of every input code (-128..127)", shared=True)
    return lower.call("tkws_lookup", "tkws_lookup_params_t", [("size", lower.out.nbytes), ("table", table)],
                      (("tensor", op.inputs[0]), ("tensor", op.outputs[0])), f"{op.kind} {_dims(lower.out.shape)}")


def _mul(lower: _Op) -> KernelCall:
    op, p = lower.op, lower.op.params
    a, b, out = lower.tensor(0), lower.tensor(1), lower.out
    dims = _four(out.shape, "the output", lower)
    sa, sb = _four(a.shape, "input 1", lower), _four(b.shape, "input 2", lower)
    broadcast = not (a.shape == b.shape == out.shape)
    fields = [("size", out.nbytes), ("broadcast", int(broadcast)), ("rounding", ROUNDING[op.rounding]),
              ("dims", _c_list(dims)), ("a_strides", _c_list(_strides(sa, dims))),
              ("b_strides", _c_list(_strides(sb, dims))), ("a_offset", p.input1_offset),
              ("b_offset", p.input2_offset), ("output_offset", p.output_offset),
              ("multiplier", p.output_multiplier), ("shift", p.output_shift), ("act_min", p.act_min),
              ("act_max", p.act_max)]
    return lower.call("tkws_mul", "tkws_mul_params_t", fields,
                      (lower.constant_input(0), lower.constant_input(1), ("tensor", op.outputs[0])),
                      f"mul {_dims(a.shape)} * {_dims(b.shape)}" + (" (broadcast)" if broadcast else ""),
                      macs=out.nbytes)


def _split(lower: _Op) -> KernelCall:
    op, p = lower.op, lower.op.params
    x = lower.tensor(0)
    outer = math.prod(x.shape[:p.axis])
    inner = math.prod(x.shape[p.axis:]) // p.num_splits
    return lower.call("tkws_split", "tkws_split_params_t", [("outer", outer), ("inner", inner),
                                                            ("count", p.num_splits)],
                      (("tensor", op.inputs[0]), ("outputs", op.outputs)),
                      f"split {_dims(x.shape)} into {p.num_splits} along axis {p.axis}")


def _batch_matmul(lower: _Op) -> KernelCall:
    op, p = lower.op, lower.op.params
    lhs, rhs, out = lower.tensor(0), lower.tensor(1), lower.out
    if len(out.shape) < 2 or lhs.shape[:-2] not in (out.shape[:-2], (1,) * (len(out.shape) - 2)) \
            or rhs.shape[:-2] not in (out.shape[:-2], (1,) * (len(out.shape) - 2)):
        raise lower.fail("batch dimensions other than equal or 1")
    m, n = out.shape[-2:]
    k = lhs.shape[-2] if p.adj_x else lhs.shape[-1]
    batch = math.prod(out.shape[:-2])
    fields = [("batch", batch), ("m", m), ("k", k), ("n", n),
              ("lhs_batch_stride", 0 if math.prod(lhs.shape[:-2]) == 1 else m * k),
              ("rhs_batch_stride", 0 if math.prod(rhs.shape[:-2]) == 1 else k * n),
              ("lhs_offset", p.lhs_offset), ("rhs_offset", p.rhs_offset), ("output_offset", p.output_offset),
              ("multiplier", p.output_multiplier), ("shift", p.output_shift), ("adj_x", int(p.adj_x)),
              ("adj_y", int(p.adj_y)), ("rounding", ROUNDING[op.rounding])]
    return lower.call("tkws_batch_matmul", "tkws_batch_matmul_params_t", fields,
                      (lower.constant_input(0), lower.constant_input(1), ("tensor", op.outputs[0])),
                      f"batch_matmul {_dims(lhs.shape)} x {_dims(rhs.shape)}", macs=batch * m * k * n)


def _requantize(lower: _Op) -> KernelCall:
    op, p = lower.op, lower.op.params
    fields = [("size", lower.out.nbytes), ("input_zero_point", p.input_zero_point),
              ("output_zero_point", p.output_zero_point), ("multiplier", p.multiplier), ("shift", p.shift),
              ("act_min", p.act_min), ("act_max", p.act_max), ("rounding", ROUNDING[op.rounding])]
    return lower.call("tkws_requantize", "tkws_requantize_params_t", fields,
                      (("tensor", op.inputs[0]), ("tensor", op.outputs[0])), f"requantize {_dims(lower.out.shape)}")


def _softmax(lower: _Op) -> KernelCall:
    op, p = lower.op, lower.op.params
    shape = lower.out.shape
    depth = shape[-1] if shape else 1
    fields = [("rows", math.prod(shape) // depth), ("depth", depth), ("input_multiplier", p.input_multiplier),
              ("input_left_shift", p.input_left_shift), ("diff_min", p.diff_min), ("rounding", ROUNDING[op.rounding])]
    return lower.call("tkws_softmax", "tkws_softmax_params_t", fields,
                      (("tensor", op.inputs[0]), ("tensor", op.outputs[0])), f"softmax over {depth}")


def _pad(lower: _Op) -> KernelCall:
    op, p = lower.op, lower.op.params
    x, out = lower.tensor(0), lower.out
    lead = (0,) * (4 - len(x.shape))
    fields = [("in_dims", _c_list(_four(x.shape, "the input", lower))),
              ("out_dims", _c_list(_four(out.shape, "the output", lower))),
              ("before", _c_list(lead + tuple(b for b, _ in p.paddings))), ("pad_value", p.pad_value)]
    return lower.call("tkws_pad", "tkws_pad_params_t", fields, (("tensor", op.inputs[0]), ("tensor", op.outputs[0])),
                      f"pad {_dims(x.shape)} -> {_dims(out.shape)}")


def _concatenation(lower: _Op) -> KernelCall:
    op, p = lower.op, lower.op.params
    out = lower.out
    inner = [math.prod(lower.tensor(i).shape[p.axis:]) for i in range(len(op.inputs))]
    sizes = lower.array("inner", "uint32_t", inner)
    inputs = tuple(lower.constant_input(i) for i in range(len(op.inputs)))
    fields = [("outer", math.prod(out.shape[:p.axis])), ("count", len(inner)), ("inner", sizes),
              ("act_min", p.act_min), ("act_max", p.act_max)]
    return lower.call("tkws_concatenation", "tkws_concat_params_t", fields,
                      (("tensors", inputs), ("tensor", op.outputs[0])),
                      f"concatenation of {len(inner)} along axis {p.axis} -> {_dims(out.shape)}")


def _reshape(lower: _Op) -> KernelCall:
    op = lower.op
    return KernelCall("tkws_copy", "", (), (("tensor", op.inputs[0]), ("tensor", op.outputs[0]),
                                            ("bytes", lower.out.nbytes)), 0, 0, 0,
                      f"reshape {_dims(lower.tensor(0).shape)} -> {_dims(lower.out.shape)}")


def _strided_slice(lower: _Op) -> KernelCall:
    op, p = lower.op, lower.op.params
    x, out = lower.tensor(0), lower.out
    dims = _four(x.shape, "the input", lower)
    lead = 4 - len(x.shape)
    start, step, count = [0] * lead, [1] * lead, [1] * lead
    for size, b, e, s in zip(x.shape, p.begin, p.end, p.strides):
        axis = range(*slice(b, e, s).indices(int(size)))
        start.append(axis.start if len(axis) else 0)
        step.append(axis.step)
        count.append(len(axis))
    if math.prod(count) != math.prod(out.shape):
        raise lower.fail(f"the slice gives {math.prod(count)} values for an output of {math.prod(out.shape)}")
    fields = [("in_dims", _c_list(dims)), ("start", _c_list(start)), ("step", _c_list(step)),
              ("count", _c_list(count))]
    return lower.call("tkws_strided_slice", "tkws_slice_params_t", fields,
                      (("tensor", op.inputs[0]), ("tensor", op.outputs[0])),
                      f"strided_slice {_dims(x.shape)} -> {_dims(out.shape)}")


_LOWER = {
    "conv2d": _conv, "depthwise_conv2d": _conv, "fully_connected": _fully_connected,
    "average_pool2d": _pool, "max_pool2d": _pool, "mean": _mean, "add": _add, "requantize": _requantize,
    "softmax": _softmax, "pad": _pad, "concatenation": _concatenation, "reshape": _reshape,
    "strided_slice": _strided_slice,
    "sub": _add, "logistic": _lookup, "tanh": _lookup, "mul": _mul, "split": _split, "batch_matmul": _batch_matmul,
}


def lower_op(model: IntModel, index: int, block_pixels: int = DSP_BLOCK_PIXELS) -> KernelCall:
    """Op `index` of `model` as a kernel call (UnsupportedOpError when C cannot run it).

    `block_pixels` (even, >= 2): output pixels the DSP conv2d path prepares at once; more
    pixels widen each channel group's weights fewer times (fewer instructions) for
    (block_pixels x depth x 2) bytes more scratch."""
    if block_pixels < 2 or block_pixels % 2:
        raise ConfigError(f"DSP block pixels must be even and at least 2, got {block_pixels}")
    lower = _Op(model, index, block_pixels)
    handler = _LOWER.get(lower.op.kind)
    if handler is None:
        raise lower.fail("no C kernel for this operator")
    for i in (*lower.op.inputs, *lower.op.outputs):
        t = model.tensors[i] if i >= 0 else None
        if t is not None and not t.is_constant and np.dtype(t.dtype) != np.int8:
            raise lower.fail(f"tensor {t.name!r} is {np.dtype(t.dtype).name}; the C kernels take int8 activations")
    return handler(lower)
