"""Save and load a QuantizedModel as one `.pt` file (weights-only loadable).

The file holds the float model's name and constructor kwargs (to rebuild and re-trace
the same graph), the quantization config, the QuantizedModel's state (folded weights,
activation scales and zero points), the front-end config and the labels.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tinykws import __version__
from tinykws.errors import ModelFormatError, TinyKWSError
from tinykws.fileio import atomic_path
from tinykws.quant.config import QuantConfig
from tinykws.quant.ptq import prepare

FORMAT = "tinykws-quantized"


@dataclass
class QuantizedCheckpoint:
    qmodel: Any  # QuantizedModel
    frontend: dict[str, Any]
    labels: list[str]


def save_quantized(qmodel, path: str | os.PathLike, frontend: dict, labels: list[str]) -> Path:
    """Write `qmodel` with its front-end config and labels atomically to `path`."""
    payload = {
        "format": FORMAT, "format_version": 1, "tinykws_version": __version__,
        "model": {"name": qmodel.model_name, "kwargs": dict(qmodel.model_kwargs),
                  "num_classes": qmodel.num_classes, "input_shape": list(qmodel.input_shape)},
        "quant_config": qmodel.config.to_dict(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in qmodel.state_dict().items()},
        "frontend": dict(frontend), "labels": list(labels),
    }
    p = Path(path)
    with atomic_path(p) as tmp:
        with open(tmp, "wb") as fh:  # a file object: records named "archive/", not after the temp path
            torch.save(payload, fh)
    return p


def load_quantized(path: str | os.PathLike) -> QuantizedCheckpoint:
    """Rebuild the QuantizedModel saved by `save_quantized` (quantized mode, eval)."""
    from tinykws.models import build_model

    p = Path(path)
    if not p.is_file():
        raise ModelFormatError(f"{p}: quantized checkpoint not found")
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ModelFormatError(f"{p}: not a readable quantized checkpoint ({str(exc)[:200]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFormatError(f"{p}: not a tinykws quantized checkpoint")
    try:
        m = payload["model"]
        kwargs = {k: v for k, v in dict(m["kwargs"]).items() if k != "num_classes"}
        model = build_model(m["name"], num_classes=int(m["num_classes"]), **kwargs)
        qmodel = prepare(model, QuantConfig.from_dict(payload["quant_config"]), tuple(m["input_shape"]))
        qmodel.load_state_dict(payload["state_dict"])
    except TinyKWSError as exc:
        raise ModelFormatError(f"{p}: {exc}") from None
    except (KeyError, TypeError, RuntimeError) as exc:
        raise ModelFormatError(f"{p}: malformed quantized checkpoint ({exc})") from None
    qmodel.eval()
    qmodel.set_mode("quantized")
    return QuantizedCheckpoint(qmodel, dict(payload.get("frontend") or {}), list(payload.get("labels") or []))
