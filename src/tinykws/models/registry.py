"""The model registry: names mapped to constructors with typed metadata.

Every architecture module registers its constructors with `@register_model(name, ModelInfo(...))`.
`build_model(name, num_classes, input_shape, **kwargs)` rebuilds any of them from plain keyword
arguments; the resolved arguments are kept on the model (`model.model_kwargs`) so a checkpoint
can store them and rebuild the same network later.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from tinykws.errors import ConfigError
from tinykws.registry import Registry

if TYPE_CHECKING:  # torch is imported lazily by callers that only need the metadata
    import torch


# How a model streams (`tinykws.stream`), as `tinykws models` prints it; each form is proven
# for every model that claims it by tests/models/test_stream_zoo.py.
STREAM_FORMS = {
    "window": "the clip model on the whole window at every hop (exact, no saving)",
    "time_valid": "frame by frame, exact on every window, when built with time_valid=True (float and int8)",
    "reset": "frame by frame, exact from a reset over one window; with its state carried: approximate",
}


@dataclass(frozen=True)
class ModelInfo:
    """What a registered model expects and promises.

    frontend: name of the default front-end preset (`tinykws.audio.frontends`).
    input_shape: default input (frames, features) for that front-end.
    stream: how the model streams, one of STREAM_FORMS: "window" (only the whole window at
        every hop), "time_valid" (incremental and exact, for the model built with
        time_valid=True) or "reset" (incremental, exact from a reset). A zoo test proves
        each claim: `tinykws models` shows only what a test proves.
    quantizable: the network maps onto the TFLite int8 builtin ops, and the zoo export test
        proves it bit-exact in the numpy runtime, LiteRT and TFLite Micro.
    param_budget: maximum trainable parameters on `input_shape` with 12 classes.
    description: one line for `tinykws models`.
    """

    frontend: str
    input_shape: tuple[int, int]
    stream: str
    quantizable: bool
    param_budget: int
    description: str

    def __post_init__(self) -> None:
        if self.stream not in STREAM_FORMS:
            raise ConfigError(f"ModelInfo.stream must be one of {', '.join(STREAM_FORMS)}, got {self.stream!r}")

    @property
    def streamable(self) -> bool:
        """True when the model has an incremental (frame-by-frame) streaming form."""
        return self.stream != "window"


ModelBuilder = Callable[..., "torch.nn.Module"]

MODELS: Registry[ModelBuilder, ModelInfo] = Registry("model")


def register_model(name: str, info: ModelInfo) -> Callable[[ModelBuilder], ModelBuilder]:
    """Decorator: register a constructor (class or function) taking
    `num_classes`, `input_shape` and plain keyword arguments."""
    return MODELS.register(name, info)


def _ensure_registered() -> None:
    # Importing the package imports every architecture module, which registers it.
    import tinykws.models  # noqa: F401


def model_names() -> list[str]:
    """Names of every registered model, sorted."""
    _ensure_registered()
    return MODELS.names()


def model_info(name: str) -> ModelInfo:
    """The metadata of a registered model (TinyKWSError for an unknown name)."""
    _ensure_registered()
    return MODELS.get(name).meta


def _check_input_shape(name: str, input_shape: Any) -> tuple[int, int]:
    if (
        not isinstance(input_shape, Sequence)
        or isinstance(input_shape, str)
        or len(input_shape) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in input_shape)
    ):
        raise ConfigError(
            f"model {name!r}: input_shape must be two positive integers (frames, features), "
            f"got {input_shape!r}"
        )
    return (int(input_shape[0]), int(input_shape[1]))


# A keyword spotter for a microcontroller has well under a million parameters (ds_cnn_l:
# about 0.5 M); the bound leaves room for experiments and refuses absurd options.
MAX_MODEL_PARAMS = 20_000_000
MAX_OPTION_INT = 1 << 16
MAX_OPTION_NUMBERS = 256


def _check_sizes(name: str, arguments: dict[str, Any]) -> None:
    """ConfigError for options with too many numbers or integers beyond MAX_OPTION_INT."""
    numbers: list[Any] = []

    def walk(value: Any) -> None:
        if len(numbers) > MAX_OPTION_NUMBERS:
            return
        if isinstance(value, (list, tuple)):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, int) and not isinstance(value, bool):
            numbers.append(value)

    walk(arguments)
    if len(numbers) > MAX_OPTION_NUMBERS or any(abs(v) > MAX_OPTION_INT for v in numbers):
        raise ConfigError(f"model {name!r}: option values out of range (integers up to {MAX_OPTION_INT:,}, "
                          f"at most {MAX_OPTION_NUMBERS} numbers)")


def _plain(value: Any) -> Any:
    """Tuples to lists, recursively: kwargs that survive JSON, YAML and weights-only loads."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _bound_options(name: str, num_classes: Any, input_shape: Sequence[int] | None,
                   kwargs: dict[str, Any]) -> tuple[Any, inspect.BoundArguments]:
    _ensure_registered()
    entry = MODELS.get(name)
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or not 1 <= num_classes <= MAX_OPTION_INT:
        raise ConfigError(f"model {name!r}: num_classes must be a positive integer, got {num_classes!r}")
    shape = _check_input_shape(name, entry.meta.input_shape if input_shape is None else input_shape)
    signature = inspect.signature(entry.obj)
    accepted = {
        p.name for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        options = ", ".join(sorted(accepted - {"num_classes", "input_shape"})) or "none"
        raise ConfigError(f"model {name!r} has no option {', '.join(unknown)}; its options: {options}")
    bound = signature.bind(num_classes=num_classes, input_shape=shape, **kwargs)
    bound.apply_defaults()
    _check_sizes(name, bound.arguments)
    return entry, bound


def _invalid(name: str, kwargs: dict[str, Any], exc: Exception) -> ConfigError:
    # A value of the wrong type or out of range (dropout 7, a string for a width).
    detail = " ".join(str(exc).split())[:200]
    return ConfigError(f"model {name!r}: invalid options {_plain(kwargs)} ({detail})")


_CONSTRUCTION_ERRORS = (TypeError, ValueError, ZeroDivisionError, OverflowError, RuntimeError, IndexError)


def check_model_options(name: str, num_classes: int = 12, input_shape: Sequence[int] | None = None,
                        **kwargs: Any) -> int:
    """Build model `name` on torch's meta device (no memory, no random numbers drawn) and
    return its parameter count; ConfigError for options it refuses or a model larger than
    MAX_MODEL_PARAMS. Options from a recipe or a checkpoint are checked this way before
    anything real is allocated."""
    entry, bound = _bound_options(name, num_classes, input_shape, kwargs)
    return _probe(name, entry, bound, kwargs)


def _probe(name: str, entry: Any, bound: inspect.BoundArguments, kwargs: dict[str, Any]) -> int:
    """The parameter count of the bound constructor run on the meta device (see
    `check_model_options`)."""
    import torch

    try:
        with torch.device("meta"):
            probe = entry.obj(**bound.arguments)
    except _CONSTRUCTION_ERRORS as exc:
        raise _invalid(name, kwargs, exc) from None
    params = sum(p.numel() for p in probe.parameters()) + sum(b.numel() for b in probe.buffers())
    if params > MAX_MODEL_PARAMS:
        raise ConfigError(f"model {name!r}: options {_plain(kwargs)} give {params:,} parameters "
                          f"(at most {MAX_MODEL_PARAMS:,})")
    return params


def build_model(
    name: str,
    num_classes: int = 12,
    input_shape: Sequence[int] | None = None,
    **kwargs: Any,
) -> "torch.nn.Module":
    """Build registered model `name` for inputs (batch, 1, frames, features).

    input_shape: (frames, features); defaults to the model's `ModelInfo.input_shape`.
    kwargs: the constructor's own options (unknown names raise ConfigError).
    The returned module carries `model_name` and `model_kwargs` (every constructor
    argument, defaults filled in, as plain lists/numbers/strings), so
    `build_model(model.model_name, **model.model_kwargs)` rebuilds the same network.
    """
    entry, bound = _bound_options(name, num_classes, input_shape, kwargs)
    _probe(name, entry, bound, kwargs)
    try:
        model = entry.obj(**bound.arguments)
    except _CONSTRUCTION_ERRORS as exc:
        raise _invalid(name, kwargs, exc) from None
    model.model_name = name
    model.model_kwargs = _plain(dict(bound.arguments))
    return model
