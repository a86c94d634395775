"""Checkpoints: one `.pt` file that carries its own contract.

A checkpoint holds the model name and constructor kwargs, the state_dict, the front-end
dict, the labels, the resolved run config, the epoch/step reached, and (for exact resume)
the optimiser state and the torch RNG state. Only tensors and plain containers are
stored, so it loads with `torch.load(weights_only=True)`: opening a checkpoint never
runs code from the file.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch

from tinykws import __version__
from tinykws.errors import ModelFormatError
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


def save_checkpoint(ckpt: Checkpoint, path: str | os.PathLike) -> Path:
    """Write `ckpt` atomically (temporary file, then rename) to `path`."""
    p = Path(path)
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


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint`.

    Raises ModelFormatError naming the file when it is missing, truncated, corrupt, not
    a tinykws checkpoint, or from a newer format version.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelFormatError(f"{p}: checkpoint file not found")
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError,
            KeyError, AttributeError, TypeError, OSError, IndexError, UnicodeDecodeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFormatError(f"{p}: not a readable checkpoint ({first_line[:200]})") from None
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
    return Checkpoint(
        model_name=name,
        model_kwargs=dict(model["kwargs"]),
        num_classes=int(model.get("num_classes", 12)),
        state_dict=state_dict,
        frontend=dict(_require(payload, "frontend", dict, p)),
        labels=[str(x) for x in _require(payload, "labels", list, p)],
        config=dict(payload.get("config") or {}),
        epoch=int(payload.get("epoch", 0)),
        step=int(payload.get("step", 0)),
        optimizer=payload.get("optimizer"),
        rng=payload.get("rng"),
        loop_state=dict(payload.get("loop_state") or {}),
        metrics=dict(payload.get("metrics") or {}),
        hooks=dict(payload.get("hooks") or {}),
        tinykws_version=str(payload.get("tinykws_version", "unknown")),
    )


def load_model(path: str | os.PathLike) -> tuple[torch.nn.Module, Checkpoint]:
    """Model (eval mode, weights loaded) and its checkpoint, naming the file on failure."""
    ckpt = load_checkpoint(path)
    try:
        return ckpt.build_model(), ckpt
    except ModelFormatError as exc:
        raise ModelFormatError(f"{path}: {exc}") from None
