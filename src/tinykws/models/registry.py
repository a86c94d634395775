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


@dataclass(frozen=True)
class ModelInfo:
    """What a registered model expects and promises.

    frontend: name of the default front-end preset (`tinykws.audio.frontends`).
    input_shape: default input (frames, features) for that front-end.
    streamable: a streaming form of the model exists and a zoo test proves that it equals
        the clip model on sliding windows. False everywhere until tinykws has streaming
        code: `tinykws models` shows only what a test proves.
    quantizable: the network maps onto the TFLite int8 builtin ops, and the zoo export test
        proves it bit-exact in the numpy runtime, LiteRT and TFLite Micro.
    param_budget: maximum trainable parameters on `input_shape` with 12 classes.
    description: one line for `tinykws models`.
    """

    frontend: str
    input_shape: tuple[int, int]
    streamable: bool
    quantizable: bool
    param_budget: int
    description: str


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


def _plain(value: Any) -> Any:
    """Tuples to lists, recursively: kwargs that survive JSON, YAML and weights-only loads."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


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
    _ensure_registered()
    entry = MODELS.get(name)
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
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
    model = entry.obj(**bound.arguments)
    model.model_name = name
    model.model_kwargs = _plain(dict(bound.arguments))
    return model
