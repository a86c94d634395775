"""Lower a PyTorch model to a FloatGraph by recording the torch functions it calls.

The model runs once on an example input under a TorchFunctionMode that records every
call (only the outermost: a module's F.conv2d, not what happens inside it). Calls whose
tensor arguments are all constants (parameters) give constants; the rest must be
operations the TFLite int8 builtins express, or an UnsupportedOpError names them.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from tinykws.errors import UnsupportedOpError
from tinykws.quant.graph import FloatGraph, GraphNode
from tinykws.quant.trace_sequence import SEQUENCE_LAYOUTS, SequenceOps

_ALIASES = {"contiguous", "clone", "detach", "identity"}
_DROPOUTS = {"dropout", "dropout1d", "dropout2d", "dropout3d", "feature_dropout", "alpha_dropout"}
_RESHAPES = {"flatten", "reshape", "view", "squeeze", "unsqueeze"}
_ADDS = {"add", "__add__", "__radd__", "__iadd__", "add_"}
_RELUS = {"relu", "relu_"}


class _Recorder(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, tuple, dict, Any]] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        self.calls.append((func, args, kwargs, out))
        return out


def _name(func) -> str:
    return getattr(func, "__name__", str(func))


class _Builder(SequenceOps):
    def __init__(self, model_name: str):
        self.model_name = model_name
        self.ids: dict[int, int] = {}  # id(tensor) -> value
        self.keep: list[torch.Tensor] = []  # keeps recorded tensors alive so ids stay unique
        self.shapes: dict[int, tuple[int, ...]] = {}
        self.layouts: dict[int, str] = {}
        self.nodes: list[GraphNode] = []
        self.next_value = 0

    def fail(self, what: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{self.model_name}: {what} cannot be expressed as a TFLite int8 builtin")

    def new_value(self, tensor: torch.Tensor, layout: str) -> int:
        v = self.next_value
        self.next_value += 1
        self.ids[id(tensor)] = v
        self.keep.append(tensor)
        self.shapes[v] = tuple(tensor.shape)
        self.layouts[v] = layout
        return v

    def value_of(self, obj: Any) -> int | None:
        return self.ids.get(id(obj)) if isinstance(obj, torch.Tensor) else None

    def traced_args(self, args, kwargs) -> list[int]:
        found = []
        for a in list(args) + list(kwargs.values()):
            items = a if isinstance(a, (list, tuple)) else (a,)
            for item in items:
                v = self.value_of(item)
                if v is not None:
                    found.append(v)
        return found

    def add(self, kind: str, inputs: list[int], out: torch.Tensor, layout: str, source: str, attrs=None,
            params=None) -> None:
        value = self.new_value(out, layout)
        self.nodes.append(GraphNode(kind, inputs, value, dict(attrs or {}), dict(params or {}), source))

    def alias(self, src: int, out: torch.Tensor, layout: str | None = None) -> None:
        self.ids[id(out)] = src
        self.keep.append(out)
        if layout is not None:
            self.layouts[src] = layout

    def record(self, func, args: tuple, kwargs: dict, out: Any) -> None:
        name = _name(func)
        traced = self.traced_args(args, kwargs)
        if not traced:
            return  # a constant (from parameters only); read later through its tensor
        if not isinstance(out, torch.Tensor) and name != "gru":
            if isinstance(out, (tuple, list)) and any(isinstance(o, torch.Tensor) for o in out):
                raise self.fail(f"operation {name!r}")
            return  # sizes, dimensions and other plain values
        if any(self.layouts[v] == "unsupported" for v in traced):
            raise self.fail(f"{name} of a GRU's final state (use its output sequence)")
        x = self.value_of(args[0]) if args else None
        layout = self.layouts.get(x) if x is not None else None
        handler = getattr(self, f"op_{name.strip('_')}", None)
        if name in _ALIASES or (name in _DROPOUTS and not _arg(args, kwargs, 2, "training", True)):
            return self.alias(traced[0], out)
        if name in _RELUS:
            return self.add("relu", [x], out, layout, name)
        if name in _ADDS:
            return self.op_add_(args, kwargs, out)
        if name in _RESHAPES:
            return self.op_reshape_(x, out)
        if handler is None:
            raise self.fail(f"operation {name!r}")
        handler(x, args, kwargs, out)

    def op_conv2d(self, x, args, kwargs, out) -> None:
        if self.layouts[x] != "nchw":
            raise self.fail("conv2d on a permuted tensor")
        self._conv(x, args, kwargs, out, "conv2d")

    def op_conv1d(self, x, args, kwargs, out) -> None:
        # A 1-D convolution over (B, C, T) runs as a 2-D one over (B, C, 1, T) (TFLite: (B, 1, T, C)).
        if self.layouts[x] != "ncw":
            raise self.fail("conv1d on anything but (batch, channels, time) from the features")
        self._conv(x, args, kwargs, out, "conv1d")

    def _conv(self, x, args, kwargs, out, name: str) -> None:
        one_d = name == "conv1d"
        weight = _const(_arg(args, kwargs, 1, "weight"), f"{name} weight", self)
        bias = _arg(args, kwargs, 2, "bias", None)
        padding = _arg(args, kwargs, 4, "padding", 0)
        if isinstance(padding, str):
            raise self.fail(f"{name} padding={padding!r} (use explicit padding)")
        if one_d:
            weight = weight.unsqueeze(2)
            stride = (1, _single(_arg(args, kwargs, 3, "stride", 1)))
            ph, pw = 0, _single(padding)
            dilation = (1, _single(_arg(args, kwargs, 5, "dilation", 1)))
        else:
            stride = _pair(_arg(args, kwargs, 3, "stride", 1))
            ph, pw = _pair(padding)
            dilation = _pair(_arg(args, kwargs, 5, "dilation", 1))
        groups = int(_arg(args, kwargs, 6, "groups", 1))
        in_channels = self.shapes[x][1]
        if groups not in (1, in_channels) or (groups > 1 and weight.shape[1] != 1):
            raise self.fail(f"grouped {name} (groups={groups}, {in_channels} input channels)")
        params = {"weight": weight.detach().clone()}
        if bias is not None:
            params["bias"] = _const(bias, f"{name} bias", self).detach().clone()
        attrs = dict(stride=stride, dilation=dilation, groups=groups, pads=(ph, ph, pw, pw), activation="NONE")
        self.add("conv", [x], out, self.layouts[x], name, attrs, params)

    def op_linear(self, x, args, kwargs, out) -> None:
        if len(self.shapes[x]) != 2 and self.layouts[x] not in SEQUENCE_LAYOUTS:
            raise self.fail(f"linear on a {len(self.shapes[x])}-D tensor that is not a (batch, time, features) sequence")
        weight = _const(_arg(args, kwargs, 1, "weight"), "linear weight", self)
        bias = _arg(args, kwargs, 2, "bias", None)
        params = {"weight": weight.detach().clone()}
        if bias is not None:
            params["bias"] = _const(bias, "linear bias", self).detach().clone()
        self.add("linear", [x], out, "seq" if len(self.shapes[x]) == 3 else "flat", "linear",
                 {"activation": "NONE"}, params)

    def op_batch_norm(self, x, args, kwargs, out) -> None:
        mean = _arg(args, kwargs, 1, "running_mean")
        var = _arg(args, kwargs, 2, "running_var")
        if mean is None or var is None or _arg(args, kwargs, 5, "training", False):
            raise self.fail("batch_norm without running statistics (call model.eval())")
        weight = _arg(args, kwargs, 3, "weight", None)
        bias = _arg(args, kwargs, 4, "bias", None)
        eps = float(_arg(args, kwargs, 7, "eps", 1e-5))
        c = mean.shape[0]
        params = {"mean": mean.detach().clone(), "var": var.detach().clone(),
                  "gamma": torch.ones(c) if weight is None else weight.detach().clone(),
                  "beta": torch.zeros(c) if bias is None else bias.detach().clone()}
        self.add("bn", [x], out, self.layouts[x], "batch_norm", {"eps": eps}, params)

    def op_relu6(self, x, args, kwargs, out) -> None:
        self.add("relu6", [x], out, self.layouts[x], "relu6")

    def op_hardtanh(self, x, args, kwargs, out) -> None:
        lo, hi = _arg(args, kwargs, 1, "min_val", -1.0), _arg(args, kwargs, 2, "max_val", 1.0)
        if (lo, hi) != (0.0, 6.0):
            raise self.fail(f"hardtanh({lo}, {hi})")
        self.add("relu6", [x], out, self.layouts[x], "hardtanh")

    def op_pad(self, x, args, kwargs, out) -> None:
        pads = tuple(int(p) for p in _arg(args, kwargs, 1, "pad"))
        mode = _arg(args, kwargs, 2, "mode", "constant")
        value = _arg(args, kwargs, 3, "value", None)
        if mode != "constant" or (value not in (None, 0, 0.0)):
            raise self.fail(f"pad(mode={mode!r}, value={value!r})")
        layout = self.layouts[x]
        if layout not in ("nchw", "ncw") or len(pads) > (4 if layout == "nchw" else 2):
            raise self.fail("pad of anything but the time/frequency axes")
        left, right, top, bottom = (pads + (0, 0, 0, 0))[:4]
        self.add("pad", [x], out, layout, "pad", {"pads": (top, bottom, left, right)})

    def op_mean(self, x, args, kwargs, out) -> None:
        dims = _arg(args, kwargs, 1, "dim", None)
        dims = tuple(int(d) for d in (dims if isinstance(dims, (tuple, list)) else (dims,))) \
            if dims is not None else None
        if dims is not None and self.layouts[x] == "nchw":
            dims = tuple(sorted(d % 4 for d in dims))
        if self.layouts[x] == "ncw" and dims is not None:
            dims = tuple(sorted(int(d) % 3 for d in dims))
            if dims != (2,) or _arg(args, kwargs, 2, "keepdim", False):
                raise self.fail(f"mean over dims {dims} of (batch, channels, time)")
            return self.add("avgpool", [x], out, "flat", "mean")
        keep = bool(_arg(args, kwargs, 2, "keepdim", False))
        if self.layouts[x] == "nchw" and dims == (3,) and keep:
            return self.add("avgpool", [x], out, "nchw", "mean", {"axes": (3,)})  # over frequency only
        if self.layouts[x] != "nchw" or dims != (2, 3):
            raise self.fail(f"mean over dims {dims} (only over time and frequency, or over frequency kept)")
        self.add("avgpool", [x], out, "nchw" if keep else "flat", "mean")

    def op_adaptive_avg_pool2d(self, x, args, kwargs, out) -> None:
        size = _pair(_arg(args, kwargs, 1, "output_size"))
        if size != (1, 1) or self.layouts[x] != "nchw":
            raise self.fail(f"adaptive_avg_pool2d to {size}")
        self.add("avgpool", [x], out, "nchw", "adaptive_avg_pool2d")

    def op_softmax(self, x, args, kwargs, out) -> None:
        dim = _arg(args, kwargs, 1, "dim", -1)
        if len(self.shapes[x]) != 2 or int(dim) % 2 != 1:
            raise self.fail("softmax over anything but the class axis of a 2-D tensor")
        self.add("softmax", [x], out, "flat", "softmax")

    def op_permute(self, x, args, kwargs, out) -> None:
        dims = args[1:] if len(args) > 2 else _arg(args, kwargs, 1, "dims")
        dims = tuple(int(d) for d in dims)
        if self.layouts[x] == "nchw" and dims == (0, 2, 3, 1):
            return self.add("layout", [x], out, "nhwc", "permute", {"permute": (0, 2, 3, 1)})
        if self.layouts[x] == "ntf" and dims == (0, 2, 1):
            return self._features_as_channels(x, out)
        if self.layouts[x] == "nchw" and dims == (0, 2, 1, 3):
            # (B, C, T, F) -> (B, T, C, F): TFLite keeps (B, T, F, C); only a flattening may follow.
            return self.add("layout", [x], out, "ntcf", "permute", {"permute": (0, 2, 1, 3)})
        raise self.fail(f"permute{dims}")

    def op_transpose(self, x, args, kwargs, out) -> None:
        dims = tuple(sorted(int(d) % len(self.shapes[x]) for d in args[1:3]))
        if self.layouts[x] == "ntf" and dims == (1, 2):
            return self._features_as_channels(x, out)
        raise self.fail(f"transpose{dims}")

    def _features_as_channels(self, x, out) -> None:
        # (B, T, F) -> (B, F, T): held as (B, F, 1, T), which TFLite stores as (B, 1, T, F),
        # the memory order of the (B, T, F, 1) input: a RESHAPE.
        self.add("layout", [x], out, "ncw", "transpose", {"permute": (0, 3, 1, 2), "tflite_reshape": True})

    def op_add_(self, args, kwargs, out) -> None:
        a, b = self.value_of(args[0]), self.value_of(args[1]) if len(args) > 1 else None
        if a is None or b is None or _arg(args, kwargs, 2, "alpha", 1) != 1:
            raise self.fail("add of a constant or with alpha (only tensor + tensor)")
        same = self.shapes[a] == self.shapes[b]
        broadcast = tuple(out.shape) in (self.shapes[a], self.shapes[b]) and len(self.shapes[a]) == len(self.shapes[b])
        if self.layouts[a] != self.layouts[b] or not (same or (broadcast and self.layouts[a] in ("nchw", "seq"))):
            raise self.fail(f"add of {self.layouts[a]} {self.shapes[a]} and {self.layouts[b]} {self.shapes[b]}")
        self.add("add", [a, b], out, self.layouts[a], "add", {"activation": "NONE"})

    def op_reshape_(self, x, out) -> None:
        src_shape, layout = self.shapes[x], self.layouts[x]
        new = tuple(out.shape)
        if new == src_shape:
            return self.alias(x, out)
        if layout == "nchw" and len(src_shape) == 4 and src_shape[1] == 1 and new == (src_shape[0], *src_shape[2:]):
            # (B, 1, T, F) -> (B, T, F): the same memory, held unchanged as (B, 1, T, F).
            return self.add("layout", [x], out, "ntf", "squeeze", {})
        if layout == "ntcf" and len(new) == 3 and new == (*src_shape[:2], src_shape[2] * src_shape[3]):
            return self.add("reshape", [x], out, "seq_cf", "flatten", {"cf": tuple(src_shape[2:])})
        if layout in ("seq", "flat") and len(new) in (2, 3):
            return self.add("reshape", [x], out, "seq" if len(new) == 3 else "flat", "reshape")
        if len(new) != 2:
            raise self.fail(f"reshape {src_shape} -> {new} (only flattening to (batch, N))")
        if layout == "nchw" and math.prod(src_shape[2:]) > 1:
            self.add("reshape", [x], out, "flat_chw", "flatten", {"chw": tuple(src_shape[1:])})
        else:
            self.add("reshape", [x], out, "flat", "flatten")


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(x) for x in v)
    return (v[0], v[0]) if len(v) == 1 else (v[0], v[1])


def _single(v: Any) -> int:
    return int(v) if isinstance(v, int) else int(tuple(v)[0])


def _const(t: Any, what: str, builder: _Builder) -> torch.Tensor:
    if not isinstance(t, torch.Tensor) or builder.value_of(t) is not None:
        raise builder.fail(f"{what} computed from the input")
    return t


@torch.no_grad()
def trace_model(model: torch.nn.Module, input_shape: tuple[int, int], model_name: str | None = None) -> FloatGraph:
    """Record `model` (eval mode) on one (1, 1, frames, features) input as a raw FloatGraph
    (batch norm and ReLU still separate nodes; see `folding.fold_graph`)."""
    name = model_name or getattr(model, "model_name", type(model).__name__)
    was_training = model.training
    model.eval()
    example = torch.zeros((1, 1, *input_shape))
    builder = _Builder(name)
    x = builder.new_value(example, "nchw")
    recorder = _Recorder()
    try:
        with recorder:
            out = model(example)
    finally:
        model.train(was_training)
    for func, args, kwargs, result in recorder.calls:
        builder.record(func, args, kwargs, result)
    output = builder.value_of(out)
    if output is None:
        raise builder.fail("a model whose output does not depend on its input")
    shapes, layouts = dict(builder.shapes), dict(builder.layouts)
    for value, layout in builder.layouts.items():
        # 1-D feature maps are held as 4-D ones with height 1; (B, T, F) stays (B, 1, T, F).
        if layout == "ncw":
            b, c, t = shapes[value]
            shapes[value], layouts[value] = (b, c, 1, t), "nchw"
        elif layout == "ntf":
            b, t, f = shapes[value]
            shapes[value], layouts[value] = (b, 1, t, f), "nchw"
    return FloatGraph(builder.nodes, shapes, layouts, x, output)
