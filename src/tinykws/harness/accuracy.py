"""Accuracy mode: every sample of a workload's set through a system under test, scored
with the workload's metric (top-1 with per-class accuracy, or the ROC AUC of anomaly
scores over files), against the quality target.

The raw outputs are kept and hashed: two systems whose int8 outputs are identical give
the same `outputs_sha256`, which is how the report says which ones are bit-exact.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinykws.eval.metrics import compute_metrics, roc_auc
from tinykws.eval.runner import ModelRunner, TensorSpec, output_scores, run_batches
from tinykws.fixedpoint.primitives import dequantize_int, quantize_real
from tinykws.harness.data import WorkloadData
from tinykws.harness.registry import Workload, get_dataset


@dataclass(frozen=True, eq=False)
class AccuracyResult:
    """One system on one workload's set. `value` is the metric (top-1 as a fraction, or
    AUC); `subsets` the metric on named subsets (the AD short list); `per_class` the
    accuracy of each class (top-1 workloads); `outputs` the raw outputs in input order."""

    workload: str
    metric: str
    value: float
    target: float
    samples: int
    inferences: int
    seconds: float
    outputs_sha256: str
    per_class: dict[str, float | None] = field(default_factory=dict)
    subsets: dict[str, float] = field(default_factory=dict)
    per_sample: tuple[float, ...] = ()
    names: tuple[str, ...] = ()
    outputs: np.ndarray | None = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        return self.value >= self.target

    def to_dict(self) -> dict[str, Any]:
        return {
            "workload": self.workload, "mode": "accuracy", "metric": self.metric, "value": self.value,
            "target": self.target, "passed": self.passed, "samples": self.samples, "inferences": self.inferences,
            "seconds": round(self.seconds, 3), "outputs_sha256": self.outputs_sha256,
            "per_class": self.per_class, "subsets": self.subsets,
            "samples_detail": {"names": list(self.names), "values": list(self.per_sample),
                               "kind": "predicted class" if self.metric == "top1" else "anomaly score"},
        }


def model_inputs(data: WorkloadData, int8_spec: TensorSpec, runner_spec: TensorSpec) -> np.ndarray:
    """The workload's inputs as the runner takes them: the stored int8 inputs for a model
    with the reference model's input quantization; otherwise the reals they stand for
    (dequantized with the reference input parameters; the float windows themselves for
    anomaly detection), quantized again for an integer model with other parameters."""
    same = (runner_spec.dtype == int8_spec.dtype and runner_spec.scale == int8_spec.scale
            and runner_spec.zero_point == int8_spec.zero_point)
    if same:
        return data.inputs
    if data.windows is not None:
        reals = data.windows.astype(np.float32)
    else:
        reals = dequantize_int(data.inputs, int8_spec.scale, int8_spec.zero_point)
    reals = reals.reshape((len(reals), *runner_spec.shape)).astype(np.float32)
    if runner_spec.quantized:
        return quantize_real(reals, runner_spec.scale, runner_spec.zero_point, np.dtype(runner_spec.dtype))
    return reals


def outputs_sha256(outputs: np.ndarray) -> str:
    """Hex SHA-256 of raw outputs (dtype, shape and bytes)."""
    a = np.ascontiguousarray(outputs)
    return hashlib.sha256(f"{a.dtype.str}{a.shape}".encode() + a.tobytes()).hexdigest()


def anomaly_scores(outputs: np.ndarray, data: WorkloadData, spec: TensorSpec) -> np.ndarray:
    """Per-file anomaly scores: the mean over the file's windows of the mean squared error
    between the float window and the dequantized output (float64)."""
    flat = np.asarray(outputs).reshape(len(outputs), -1)
    recon = dequantize_int(flat, spec.scale, spec.zero_point) if spec.quantized else flat.astype(np.float32)
    errors = np.mean((data.windows.astype(np.float64) - recon.astype(np.float64)) ** 2, axis=1)
    sums = np.bincount(data.groups, weights=errors, minlength=data.samples)
    return sums / np.bincount(data.groups, minlength=data.samples)


def score(workload: Workload, data: WorkloadData, outputs: np.ndarray, runner_info) -> dict[str, Any]:
    """The metric of raw outputs: {"value", "per_class", "subsets", "per_sample"} where
    per_sample holds each sample's predicted class (top-1) or anomaly score (AUC)."""
    if workload.metric == "auc":
        scores = anomaly_scores(outputs, data, runner_info.output)
        positive = data.labels == 1
        subsets = {name: roc_auc(scores[mask], positive[mask]) for name, mask in (data.subsets or {}).items()}
        return {"value": roc_auc(scores, positive), "per_class": {}, "subsets": subsets,
                "per_sample": tuple(float(v) for v in scores)}
    probabilities = output_scores(outputs, runner_info)
    labels = get_dataset(workload.dataset).labels
    metrics = compute_metrics(probabilities, data.labels, labels, keep_scores=False)
    per_class = {name: (None if np.isnan(v) else float(v)) for name, v in zip(labels, metrics.per_class_accuracy)}
    return {"value": metrics.top1, "per_class": per_class, "subsets": {},
            "per_sample": tuple(int(v) for v in probabilities.argmax(axis=1))}


def run_accuracy(runner: ModelRunner, workload: Workload, data: WorkloadData, int8_spec: TensorSpec,
                 batch_size: int = 256, progress: bool = False) -> AccuracyResult:
    """Every input of `data` through `runner`, scored with the workload's metric."""
    inputs = model_inputs(data, int8_spec, runner.info.input)
    start = time.perf_counter()
    outputs = run_batches(runner, inputs, batch_size, progress, desc=f"{workload.name} {runner.info.runtime}")
    seconds = time.perf_counter() - start
    scored = score(workload, data, outputs, runner.info)
    return AccuracyResult(
        workload=workload.name, metric=workload.metric, value=float(scored["value"]),
        target=workload.quality_target, samples=data.samples, inferences=len(inputs), seconds=seconds,
        outputs_sha256=outputs_sha256(outputs), per_class=scored["per_class"],
        subsets={k: float(v) for k, v in scored["subsets"].items()}, per_sample=scored["per_sample"],
        names=data.names, outputs=outputs,
    )
