"""The `quantize` verb as a library function: float model in, int8 .tflite out.

    result = quantize_to_dir("runs/ds_cnn", "runs/ds_cnn/int8", data_dir="data/speech_commands",
                             calib=500, test_dir="data/sc12_test_dev")

Loads a float model (a run folder, a checkpoint, or a float .tflite such as the MLPerf
reference), calibrates on clips of the data's training split, optionally fine-tunes with
QAT, writes model.tflite + manifest.json + quantized.pt + summary.json, and measures the
top-1 accuracy of the float model, the fake-quant model and the integer runtime (and how
often the integer runtime's top-1 agrees with the fake-quant model's).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tinykws.errors import ConfigError, DataError
from tinykws.export.tflite import export_tflite
from tinykws.export.source import FloatSource, load_float_source
from tinykws.fileio import staged_outputs, write_json
from tinykws.intmodel import quantize, run
from tinykws.intmodel.from_quantized import intmodel_from_quantized
from tinykws.quant import QuantConfig, finetune_qat, quantize_ptq, save_quantized


# What an output folder of `quantize_to_dir` holds. They are written as one set: a run that
# fails or is killed leaves the previous set whole, and a run without a .tflite (below
# 8-bit activations) removes the previous run's .tflite and manifest.
QUANTIZE_OUTPUTS = ("model.tflite", "manifest.json", "quantized.pt", "summary.json")


@dataclass(frozen=True)
class QuantizeResult:
    """Paths written and numbers measured by `quantize_to_dir` (accuracies in %)."""

    out_dir: Path
    tflite_path: Path | None
    manifest_path: Path | None
    checkpoint_path: Path
    summary_path: Path
    calib_clips: int
    test_clips: int
    accuracy: dict[str, float] = field(default_factory=dict)
    int_fake_quant_agreement: float | None = None
    size_bytes: int | None = None
    arena_bytes: int | None = None
    qat_losses: tuple[float, ...] = ()
    notes: tuple[str, ...] = ()


def _pick(n_total: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_total, size=min(n, n_total), replace=False))


def split_features(data_dir: str | os.PathLike, split: str, frontend, labels, limit: int | None = None,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features (N, frames, features) and labels of up to `limit` clean clips of `split`
    (chosen at random with `seed`; all when `limit` is None)."""
    from tinykws.train.evaluation import dataset_views

    views = dataset_views(data_dir, split, labels)
    refs = [(v, i) for v in views for i in range(len(v))]
    chosen = _pick(len(refs), len(refs) if limit is None else limit, seed)
    feats, targets = [], []
    for start in range(0, len(chosen), 128):
        part = [refs[j] for j in chosen[start:start + 128]]
        clips = np.stack([v.clean_waveform(i) for v, i in part])
        feats.append(np.asarray(frontend.compute_batch(clips), np.float32))
        targets += [int(v.targets[i]) for v, i in part]
    if not feats:
        raise DataError(f"{data_dir}: no clips in split {split!r}")
    return np.concatenate(feats), np.asarray(targets, np.int64)


def integer_scores(qmodel, features: np.ndarray, profile: str = "litert_ref") -> np.ndarray:
    """int8 outputs (N, classes) of the integer network of `qmodel` on real features."""
    im = intmodel_from_quantized(qmodel, profile)
    x = quantize(features, im.input_tensors[0]).reshape((len(features), *im.input_tensors[0].shape[1:]))
    return run(im, x).output


@torch.no_grad()
def _top1(model, features: np.ndarray, fake_quant: bool = False) -> np.ndarray:
    out = []
    for start in range(0, len(features), 256):
        x = torch.as_tensor(features[start:start + 256]).unsqueeze(1)
        y = model.probabilities(x) if fake_quant else model(x)
        out.append(y.argmax(-1).numpy())
    return np.concatenate(out)


def quantize_to_dir(source: str | os.PathLike, out_dir: str | os.PathLike, data_dir: str | os.PathLike,
                    calib: int = 500, observer: str = "minmax", qat_epochs: int = 0, weight_bits: int = 8,
                    act_bits: int = 8, test_dir: str | os.PathLike | None = None, qat_clips: int = 4000,
                    qat_lr: float = 1e-4, seed: int = 0, arena: bool = True,
                    qat_distill: bool = True) -> QuantizeResult:
    """Quantize the float model at `source` and write everything to `out_dir`.

    calib: calibration clips from the training split of `data_dir`. qat_epochs > 0
    fine-tunes on up to `qat_clips` training clips, learning the float model's outputs
    (`qat_distill`, which keeps classes the data lacks) or the labels. test_dir: where
    accuracy is measured (its test split; default: the validation split of `data_dir`).
    """
    config = QuantConfig(observer=observer, weight_bits=weight_bits, act_bits=act_bits)
    if calib < 1:
        raise ConfigError(f"--calib must be at least 1, got {calib}")
    src: FloatSource = load_float_source(source)
    frontend = src.frontend
    out = Path(out_dir)
    calib_x, _ = split_features(data_dir, "train", frontend, src.labels, calib, seed)
    qmodel = quantize_ptq(src.model, calib_x, config, src.input_shape)
    losses: tuple[float, ...] = ()
    if qat_epochs > 0:
        train_x, train_y = split_features(data_dir, "train", frontend, src.labels, qat_clips, seed + 1)
        teacher = src.model if qat_distill else None
        losses = finetune_qat(qmodel, train_x, train_y, qat_epochs, lr=qat_lr, seed=seed, teacher=teacher).losses
    with staged_outputs(out, owned=QUANTIZE_OUTPUTS) as stage:
        return _quantize_into(stage, out, src, config, qmodel, calib_x, losses, data_dir, test_dir, act_bits, arena)


def _quantize_into(stage: Path, out: Path, src: FloatSource, config: QuantConfig, qmodel, calib_x, losses,
                   data_dir, test_dir, act_bits: int, arena: bool) -> QuantizeResult:
    """Write every output into `stage` (committed to `out` as one set by the caller)."""
    frontend = src.frontend
    save_quantized(qmodel, stage / "quantized.pt", frontend.to_dict(), src.labels)
    notes: list[str] = []
    exported = None
    if config.exportable:
        exported = export_tflite(qmodel, stage / "model.tflite", frontend.to_dict(), src.labels, arena=arena)
    else:
        notes.append(f"{act_bits}-bit activations: simulation only, no .tflite written")
    test_x, test_y = (split_features(test_dir, "test", frontend, src.labels) if test_dir is not None
                      else split_features(data_dir, "validation", frontend, src.labels))
    accuracy = {"float": 100.0 * float(np.mean(_top1(src.model, test_x) == test_y))}
    fq_top1 = _top1(qmodel, test_x, fake_quant=True)
    accuracy["fake_quant"] = 100.0 * float(np.mean(fq_top1 == test_y))
    agreement = None
    if exported is not None:
        int_top1 = integer_scores(qmodel, test_x).argmax(-1)
        accuracy["int8"] = 100.0 * float(np.mean(int_top1 == test_y))
        agreement = 100.0 * float(np.mean(int_top1 == fq_top1))
    result = QuantizeResult(
        out_dir=out, tflite_path=out / "model.tflite" if exported else None,
        manifest_path=out / "manifest.json" if exported else None, checkpoint_path=out / "quantized.pt",
        summary_path=out / "summary.json", calib_clips=len(calib_x), test_clips=len(test_x),
        accuracy={k: round(v, 2) for k, v in accuracy.items()},
        int_fake_quant_agreement=None if agreement is None else round(agreement, 2),
        size_bytes=exported.size_bytes if exported else None,
        arena_bytes=exported.arena_bytes if exported else None, qat_losses=losses, notes=tuple(notes))
    write_json(stage / result.summary_path.name, _summary(result, src, config))
    return result


def _summary(result: QuantizeResult, src: FloatSource, config: QuantConfig) -> dict[str, Any]:
    data = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(result).items()}
    data["source"] = str(src.path)
    data["quantization"] = config.to_dict()
    return data
