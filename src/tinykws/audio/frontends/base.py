"""What every front-end is: a frozen config, a numpy path for one clip, and a batched
torch path that gives the same numbers.

A front-end is identified by its *kind* (the algorithm: "mfcc", "logmel",
"microfrontend") and its config dataclass. *Presets* are named configs
("mlperf_mfcc", "mltk_kws", "mww_40", ...). `to_dict()` -> `frontend_from_dict()`
round-trips exactly, which is how checkpoints, caches and manifests carry it.
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

from tinykws.config import from_dict, stable_hash, to_dict
from tinykws.errors import ConfigError
from tinykws.registry import Registry

if TYPE_CHECKING:  # torch is imported lazily: the CLI should start fast
    import torch


# Size bounds checked before a config's own validate() builds any matrix from its sizes
# (a forged checkpoint or manifest must not make tinykws allocate terabytes). Far above
# every preset: a 1024-band filterbank of a 65,536-point FFT is 128 MiB.
_SIZE_LIMITS = {"sample_rate": 192_000, "fft_length": 1 << 16, "window_samples": 1 << 16,
                "stride_samples": 1 << 16, "num_mel_bins": 1024, "num_channels": 1024, "num_coeffs": 1024,
                "window_ms": 10_000, "stride_ms": 10_000}
_MAX_SIZE = 1 << 24  # any other integer setting (clip_samples: 17 minutes at 16 kHz)
_MAX_BITS = 62  # settings named *_bits or *_shift are shift counts


def check_config_sizes(config: Any, kind: str) -> None:
    """ConfigError for an integer setting of `config` beyond the bounds above."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if isinstance(value, bool) or not isinstance(value, int):
            continue
        limit = _MAX_BITS if f.name.endswith(("_bits", "_shift")) else _SIZE_LIMITS.get(f.name, _MAX_SIZE)
        if abs(value) > limit:
            raise ConfigError(f"{kind} front-end: {f.name} {value} is out of range (at most {limit})")


class Frontend(abc.ABC):
    """A feature extractor from 16 kHz mono float32 audio to a (frames, features) matrix."""

    kind: str = ""

    def __init__(self, config: Any):
        # Every config class has validate(): an impossible setting fails here, by name.
        check_config_sizes(config, self.kind or type(self).__name__)
        config.validate()
        self.config = config

    # --- what it produces -------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        """Input sample rate in Hz."""
        return int(self.config.sample_rate)

    @property
    def clip_samples(self) -> int:
        """Length of the clip (samples) that `output_shape` refers to."""
        return int(self.config.clip_samples)

    @abc.abstractmethod
    def num_frames(self, num_samples: int) -> int:
        """Frames produced for an input of `num_samples` samples."""

    @property
    @abc.abstractmethod
    def num_features(self) -> int:
        """Features per frame (coefficients, mel bands or channels)."""

    @property
    def output_shape(self) -> tuple[int, int]:
        """(frames, features) for one clip of `clip_samples` samples."""
        return (self.num_frames(self.clip_samples), self.num_features)

    # --- computing ----------------------------------------------------------------------
    @abc.abstractmethod
    def compute(self, clip: np.ndarray) -> np.ndarray:
        """Features of one clip: float32 (frames, features). `clip` is float in [-1, 1]."""

    def compute_batch(self, clips: np.ndarray) -> np.ndarray:
        """Features of a (batch, samples) array: float32 (batch, frames, features)."""
        clips = np.asarray(clips)
        if clips.ndim != 2:
            raise ValueError(f"expected (batch, samples), got shape {clips.shape}")
        return np.stack([self.compute(c) for c in clips]) if len(clips) else np.zeros(
            (0, self.num_frames(clips.shape[1]), self.num_features), np.float32
        )

    @abc.abstractmethod
    def torch_module(self) -> "torch.nn.Module":
        """A module mapping float (batch, samples) to float32 (batch, frames, features)."""

    # --- identity -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """{"kind": ..., **config}: enough to rebuild this front-end exactly."""
        return {"kind": self.kind, **to_dict(self.config)}

    def provenance(self) -> dict[str, Any]:
        """Facts about how this process computes the features that are not in the config
        (e.g. which math built the tables); recorded beside features. Empty by default."""
        return {}

    def cache_key(self) -> str:
        """A hash that changes whenever anything that affects the numbers changes."""
        return stable_hash(self.to_dict())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in to_dict(self.config).items())
        return f"{type(self).__name__}({args})"


@dataclass(frozen=True)
class FrontendKind:
    """Metadata of a front-end algorithm: its config class and the class that runs it."""

    config_cls: type
    frontend_cls: Callable[[Any], Frontend]
    description: str


FRONTEND_KINDS: Registry[type, FrontendKind] = Registry("front-end kind")
FRONTEND_PRESETS: Registry[str, dict[str, Any]] = Registry("front-end")


def register_frontend_kind(kind: str, config_cls: type, description: str):
    """Class decorator: register a Frontend subclass as the implementation of `kind`."""

    def decorate(cls):
        cls.kind = kind
        FRONTEND_KINDS.register(kind, FrontendKind(config_cls, cls, description))(cls)
        return cls

    return decorate


def register_frontend_preset(name: str, kind: str, description: str = "", **params: Any) -> None:
    """Name a config of `kind` (params override the config class defaults)."""
    FRONTEND_PRESETS.register(name, {"kind": kind, "description": description, "params": params})(name)


def frontend_from_dict(data: Mapping[str, Any]) -> Frontend:
    """Rebuild a front-end from `Frontend.to_dict()` output (strict keys)."""
    if not isinstance(data, Mapping) or "kind" not in data:
        raise ConfigError(f"front-end config needs a 'kind' key, got {data!r}")
    entry = FRONTEND_KINDS.get(str(data["kind"])).meta
    params = {k: v for k, v in data.items() if k != "kind"}
    config = from_dict(entry.config_cls, params, where=f"frontend[{data['kind']}]")
    return entry.frontend_cls(config)


def build_frontend(spec: str | Mapping[str, Any] | Frontend, **overrides: Any) -> Frontend:
    """A front-end from a preset name, a kind name, a dict, or an existing front-end.

    `overrides` replace config fields, e.g. `build_frontend("logmel", num_mel_bins=64)`.
    """
    if isinstance(spec, Frontend):
        base = spec.to_dict()
    elif isinstance(spec, Mapping):
        base = dict(spec)
    elif spec in FRONTEND_PRESETS:
        preset = FRONTEND_PRESETS.get(spec).meta
        base = {"kind": preset["kind"], **preset["params"]}
    elif spec in FRONTEND_KINDS:
        base = {"kind": spec}
    else:
        known = sorted(set(FRONTEND_PRESETS.names()) | set(FRONTEND_KINDS.names()))
        raise ConfigError(f"unknown front-end {spec!r}; known: {', '.join(known)}")
    base.update(overrides)
    return frontend_from_dict(base)
