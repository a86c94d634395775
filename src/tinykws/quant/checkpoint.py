"""Save and load a QuantizedModel as one `.pt` file (weights-only loadable).

The file holds the float model's name and constructor kwargs (to rebuild and re-trace
the same graph), the quantization config, the QuantizedModel's state (folded weights,
activation scales and zero points), the front-end config and the labels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tinykws import __version__
from tinykws.errors import ModelFormatError, TinyKWSError
from tinykws.fileio import atomic_path
from tinykws.quant.config import QuantConfig
from tinykws.quant.ptq import prepare
from tinykws.train.checkpoint import check_finite, read_payload

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
    check_finite(payload["state_dict"], f"{p}: refusing to save")
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
    payload = read_payload(p, "quantized checkpoint")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFormatError(f"{p}: not a tinykws quantized checkpoint")
    state = payload.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelFormatError(f"{p}: quantized checkpoint state_dict is missing or holds non-tensor entries")
    check_finite(state, str(p))
    try:
        m = payload["model"]
        kwargs = {k: v for k, v in dict(m["kwargs"]).items() if k != "num_classes"}
        model = build_model(m["name"], num_classes=int(m["num_classes"]), **kwargs)
        qmodel = prepare(model, QuantConfig.from_dict(payload["quant_config"]), tuple(m["input_shape"]))
        qmodel.load_state_dict(payload["state_dict"])
    except TinyKWSError as exc:
        raise ModelFormatError(f"{p}: {exc}") from None
    except (KeyError, TypeError, RuntimeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
        raise ModelFormatError(f"{p}: malformed quantized checkpoint ({exc})") from None
    qmodel.eval()
    qmodel.set_mode("quantized")
    frontend, labels = payload.get("frontend"), payload.get("labels")
    if not isinstance(frontend, dict) or not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ModelFormatError(f"{p}: quantized checkpoint needs a front-end mapping and a list of label names")
    return QuantizedCheckpoint(qmodel, dict(frontend), list(labels))
