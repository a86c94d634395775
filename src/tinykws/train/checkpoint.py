"""Checkpoints: one `.pt` file that carries its own contract.

A checkpoint holds the model name and constructor kwargs, the state_dict, the front-end
dict, the labels, the resolved run config, the epoch/step reached, and (for exact resume)
the optimiser state and the torch RNG state. Only tensors and plain containers are
stored, so it loads with `torch.load(weights_only=True)`: opening a checkpoint never
runs code from the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch

from tinykws import __version__
from tinykws.errors import ModelFormatError, TinyKWSError
from tinykws.fileio import atomic_path

FORMAT = "tinykws-checkpoint"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    """What a checkpoint file holds. `config` is the resolved run config as a plain dict."""

    model_name: str
    model_kwargs: dict[str, Any]
    num_classes: int
    state_dict: dict[str, torch.Tensor]
    frontend: dict[str, Any]
    labels: list[str]
    config: dict[str, Any] = field(default_factory=dict)
    epoch: int = 0
    step: int = 0
    optimizer: dict[str, Any] | None = None
    rng: dict[str, Any] | None = None
    loop_state: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    hooks: dict[str, Any] = field(default_factory=dict)  # state of training hooks (pruning masks), by name
    tinykws_version: str = __version__

    def to_payload(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "tinykws_version": self.tinykws_version,
            "model": {"name": self.model_name, "kwargs": dict(self.model_kwargs), "num_classes": self.num_classes},
            "state_dict": {k: v.detach().cpu().clone() for k, v in self.state_dict.items()},
            "frontend": dict(self.frontend),
            "labels": list(self.labels),
            "config": dict(self.config),
            "epoch": int(self.epoch),
            "step": int(self.step),
            "optimizer": self.optimizer,
            "rng": self.rng,
            "loop_state": dict(self.loop_state),
            "metrics": dict(self.metrics),
            "hooks": dict(self.hooks),
        }

    def build_model(self) -> torch.nn.Module:
        """The model, rebuilt from name + kwargs, with these weights loaded (eval mode)."""
        from tinykws.models import build_model

        model = build_model(self.model_name, num_classes=self.num_classes, **self.model_kwargs)
        try:
            model.load_state_dict(self.state_dict)
        except RuntimeError as exc:
            raise ModelFormatError(f"checkpoint weights do not fit model {self.model_name!r}: {exc}") from None
        return model.eval()

    def build_frontend(self):
        """The front-end the model was trained on."""
        from tinykws.audio.frontends import frontend_from_dict

        return frontend_from_dict(self.frontend)


def non_finite_entries(state_dict: Mapping[str, Any]) -> list[str]:
    """Names of floating-point tensors in `state_dict` holding NaN or Inf values."""
    return [k for k, v in state_dict.items()
            if isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all())]


def check_finite(state_dict: Mapping[str, Any], where: str) -> None:
    """ModelFormatError naming `where` and the first tensors with NaN or Inf values."""
    bad = non_finite_entries(state_dict)
    if bad:
        raise ModelFormatError(f"{where}: {len(bad)} weight tensor(s) hold NaN or Inf values "
                               f"({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''}); a diverged model")


def save_checkpoint(ckpt: Checkpoint, path: str | os.PathLike) -> Path:
    """Write `ckpt` atomically (temporary file, then rename) to `path`; a model with
    non-finite weights is refused (ModelFormatError), never written."""
    p = Path(path)
    check_finite(ckpt.state_dict, f"{p}: refusing to save")
    with atomic_path(p) as tmp:
        # Through a file object: torch names the archive's records after a path, and the
        # temporary name (with the PID) would make equal checkpoints differ in bytes.
        with open(tmp, "wb") as fh:
            torch.save(ckpt.to_payload(), fh)
    return p


def _require(payload: Mapping[str, Any], key: str, kind: type | tuple[type, ...], path: Path) -> Any:
    if key not in payload:
        raise ModelFormatError(f"{path}: checkpoint has no {key!r} entry")
    value = payload[key]
    if not isinstance(value, kind):
        raise ModelFormatError(f"{path}: checkpoint entry {key!r} has the wrong type ({type(value).__name__})")
    return value


def read_payload(path: Path, what: str) -> Any:
    """`torch.load(weights_only=True)` of an untrusted file: any failure of the unpickler
    (struct, zip, memory, recursion errors...) is a ModelFormatError naming the file."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch's parser of foreign bytes: every failure means "not readable"
        text = str(exc).strip()
        first_line = text.splitlines()[0] if text else type(exc).__name__
        raise ModelFormatError(f"{path}: not a readable {what} ({first_line[:200]})") from None


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint`.

    Raises ModelFormatError naming the file when it is missing, truncated, corrupt, not
    a tinykws checkpoint, or from a newer format version.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelFormatError(f"{p}: checkpoint file not found")
    payload = read_payload(p, "checkpoint")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFormatError(f"{p}: not a tinykws checkpoint (no '{FORMAT}' marker)")
    version = payload.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFormatError(f"{p}: checkpoint format version {version!r} is newer than this tinykws reads")
    model = _require(payload, "model", dict, p)
    state_dict = _require(payload, "state_dict", dict, p)
    if not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ModelFormatError(f"{p}: checkpoint state_dict holds non-tensor entries")
    name = model.get("name")
    if not isinstance(name, str) or not isinstance(model.get("kwargs"), dict):
        raise ModelFormatError(f"{p}: checkpoint model entry needs a name and kwargs")
    num_classes = _count(model.get("num_classes", 12), "model.num_classes", p, minimum=1)
    labels = _require(payload, "labels", list, p)
    if not all(isinstance(x, str) for x in labels) or len(labels) != num_classes:
        raise ModelFormatError(f"{p}: checkpoint has {len(labels)} labels for {num_classes} classes "
                               "(labels must be one string per class)")
    check_finite(state_dict, str(p))
    optional = {}
    for key in ("config", "loop_state", "metrics", "hooks"):
        value = payload.get(key)
        value = {} if value is None else value
        if not isinstance(value, dict):
            raise ModelFormatError(f"{p}: checkpoint entry {key!r} has the wrong type ({type(value).__name__})")
        optional[key] = dict(value)
    for key in ("optimizer", "rng"):
        if payload.get(key) is not None and not isinstance(payload.get(key), dict):
            raise ModelFormatError(f"{p}: checkpoint entry {key!r} has the wrong type "
                                   f"({type(payload.get(key)).__name__})")
    return Checkpoint(
        model_name=name,
        model_kwargs=dict(model["kwargs"]),
        num_classes=num_classes,
        state_dict=state_dict,
        frontend=dict(_require(payload, "frontend", dict, p)),
        labels=list(labels),
        config=optional["config"],
        epoch=_count(payload.get("epoch", 0), "epoch", p),
        step=_count(payload.get("step", 0), "step", p),
        optimizer=payload.get("optimizer"),
        rng=payload.get("rng"),
        loop_state=optional["loop_state"],
        metrics=optional["metrics"],
        hooks=optional["hooks"],
        tinykws_version=str(payload.get("tinykws_version", "unknown")),
    )


def _count(value: Any, key: str, path: Path, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value < 1 << 62:
        raise ModelFormatError(f"{path}: checkpoint entry {key!r} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def load_model(path: str | os.PathLike) -> tuple[torch.nn.Module, Checkpoint]:
    """Model (eval mode, weights loaded) and its checkpoint, naming the file on failure."""
    ckpt = load_checkpoint(path)
    try:
        return ckpt.build_model(), ckpt
    except TinyKWSError as exc:  # unknown model name or options forged in the file
        raise ModelFormatError(f"{path}: {exc}") from None
