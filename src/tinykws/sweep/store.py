"""Storing a setting's float model as it asks (float32, float16, int8 PTQ/QAT or an n-bit
simulation), scoring what is stored on the sweep's test set, and measuring it.

Accounting kept apart, never merged into one "theoretical" figure: parameters and
non-zero parameters (unstructured sparsity removes the second, not the first); dense
MACs (every runtime here multiplies the zeros too); bytes of the stored file and of its
weights; the TFLite Micro arena; and host latency measured in LiteRT.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tinykws.audio.frontends import frontend_from_dict
from tinykws.compress import nonzero_parameters, sparsity_report
from tinykws.eval.dataset import dataset_features
from tinykws.eval.evaluate import Evaluation, evaluate_runner
from tinykws.export.float_tflite import export_float_tflite, weight_bytes
from tinykws.export.quantize_job import quantize_job
from tinykws.export.runners import open_litert_runner
from tinykws.profile.counts import count_model
from tinykws.profile.latency import measure_latency
from tinykws.report.plots import training_curves_png
from tinykws.sweep.spec import SettingSpec, SweepSpec
from tinykws.train.checkpoint import load_model
from tinykws.train.config import ExportSection, QuantSection


def _calibration_data(spec: SweepSpec) -> str:
    if spec.calib_data:
        return spec.calib_data
    from tinykws.train.recipe import load_recipe

    return load_recipe(spec.recipe, list(spec.overrides)).data.sources[0].path


def _store_float(model, ckpt, mode: str, sdir: Path, test) -> tuple[Path, Evaluation, dict[str, Any]]:
    weights = "float32" if mode == "float32" else "float16"
    exported = export_float_tflite(model, sdir / f"model_{weights}.tflite", ckpt.frontend, ckpt.labels, weights,
                                   arena=weights == "float32")
    with open_litert_runner(exported.tflite_path, "optimized") as runner:
        evaluation = evaluate_runner(runner, test)
    return exported.tflite_path, evaluation, {"arena_bytes": exported.arena_bytes, "arena_note": exported.arena_note,
                                             "scored_with": evaluation.info.description}


def _store_int8(spec: SweepSpec, s: SettingSpec, checkpoint: Path, sdir: Path):
    q = s.quant
    quant = QuantSection(calib_clips=q.calib_clips, weight_bits=q.weight_bits, act_bits=q.act_bits,
                         weight_symmetric=q.weight_symmetric, act_symmetric=q.act_symmetric,
                         qat_epochs=q.epochs if q.mode == "qat" else 0, qat_clips=q.clips, qat_lr=q.lr)
    export = ExportSection(test_data=spec.test_data, verify=True, arena=True, verify_clips=q.verify_clips)
    res = quantize_job(checkpoint, sdir / "int8", quant, export, _calibration_data(spec), spec.test_data)
    exact = "int8" in res.evaluations
    evaluation = res.evaluations["int8" if exact else "fake_quant"]
    facts = {"arena_bytes": res.arena_bytes, "arena_note": res.arena_note, "accuracy": res.accuracy,
             "scored_with": ("the integer network, tinykws numpy runtime (litert_ref)" if exact
                             else "fake-quant simulation (no int8 form)"),
             "verification": None if res.verification is None else res.verification.to_dict(),
             "qat_losses": list(res.qat_losses), "notes": list(res.notes)}
    return res.tflite_path, evaluation, facts


def store_and_score(spec: SweepSpec, s: SettingSpec, checkpoint: Path, sdir: Path) -> dict[str, Any]:
    """Store `checkpoint` as setting `s` asks, score it on the test set, measure it."""
    model, ckpt = load_model(checkpoint)
    if s.quant.mode in ("float32", "fp16"):
        test = dataset_features(spec.test_data, "test", frontend_from_dict(ckpt.frontend), ckpt.labels, progress=False)
        artifact, evaluation, facts = _store_float(model, ckpt, s.quant.mode, sdir, test)
    else:
        artifact, evaluation, facts = _store_int8(spec, s, checkpoint, sdir)
    counts = count_model(model, tuple(frontend_from_dict(ckpt.frontend).output_shape))
    r = evaluation.result
    result: dict[str, Any] = {
        "model": {"name": ckpt.model_name, "kwargs": ckpt.model_kwargs, "checkpoint": str(checkpoint)},
        "mode": s.quant.mode, "quant": {k: getattr(s.quant, k) for k in ("weight_bits", "act_bits",
                                                                         "weight_symmetric", "act_symmetric")},
        "top1": round(100.0 * float(r.top1), 2), "macro_auc": round(float(r.macro_auc), 4),
        "per_class": {label: round(100.0 * float(a), 2) for label, a in zip(r.labels, r.per_class_accuracy)},
        "test_clips": r.num_clips, "params": counts.params, "nonzero_params": nonzero_parameters(model),
        "macs": counts.macs, "artifact": None if artifact is None else str(artifact),
        "file_bytes": None if artifact is None else Path(artifact).stat().st_size,
        "weight_bytes": None if artifact is None else weight_bytes(artifact),
        **facts,
    }
    if result["nonzero_params"] < result["params"]:
        result["sparsity_per_layer"] = {layer.name: round(layer.sparsity, 4) for layer in sparsity_report(model)}
    result["latency"] = None if artifact is None else measure_latency(artifact, spec.latency_runs).to_dict()
    metrics = sdir / "train" / "metrics.jsonl"
    if metrics.is_file():
        history = [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines() if line.strip()]
        result["curves"] = str(training_curves_png(history, sdir / "curves.png"))
    return result


def mcu_figures(artifact: str, target: str) -> dict[str, Any]:
    """The int8 file as generated C on the qemu board of `target`: instructions per
    inference (counted, not cycles), the model's flash and RAM (arena and stack included)
    and the generated arena; {"error": ...} when the toolchain cannot build or run it."""
    from tinykws.errors import TinyKWSError
    from tinykws.profile.model import profile_model

    try:
        profile = profile_model(artifact, target=target, decision=False)  # the network alone
    except (TinyKWSError, OSError) as exc:
        return {"target": target, "error": f"{type(exc).__name__}: {exc}"}
    return {"target": target, "board": profile.emulated_board, "instructions": profile.instructions,
            "flash_bytes": profile.model_footprint.flash, "ram_bytes": profile.model_footprint.ram,
            "arena_bytes": profile.arena_bytes}
