"""One way to run a model: the `ModelRunner` protocol and the registry of runtimes.

A runner is a loaded model that describes itself (`RunnerInfo`: labels, front-end, input
and output tensors, arithmetic) and maps a batch of model inputs to raw outputs. Every
caller that scores or compares models (evaluation, quantization's checks, QAT, training's
validation, the demo, the bench scripts) goes through it:

    with open_runner("tflm", "model.tflite") as runner:
        inputs = runner_inputs(features, runner.info.input)     # float features -> int8
        outputs = run_batches(runner, inputs)                     # raw int8 outputs
        probabilities = output_scores(outputs, runner.info)       # dequantized / softmaxed

Runtimes are registered by name. The built-in ones live in the layer that owns their
model format (torch checkpoints in train/, the fake-quant model in quant/, .tflite engines
in export/, generated C in codegen/ and mcu/) and are listed here as "module:attribute"
strings, resolved on first use; a third party adds one through the `tinykws.runners` entry
point group without editing tinykws.
"""

from __future__ import annotations

import importlib
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable

import numpy as np
from tqdm import tqdm

from tinykws.errors import ConfigError, TinyKWSError
from tinykws.fixedpoint.primitives import dequantize_int, quantize_real

ENTRY_POINT_GROUP = "tinykws.runners"
# name -> "module:callable"; each callable is `open(model, **options) -> ModelRunner`.
BUILTIN_RUNNERS: dict[str, str] = {
    "torch": "tinykws.train.runner:open_torch_runner",
    "fake-quant": "tinykws.quant.runner:open_fake_quant_runner",
    "reference": "tinykws.export.runners:open_reference_runner",
    "litert": "tinykws.export.runners:open_litert_runner",
    "tflm": "tinykws.export.runners:open_tflm_runner",
    "c-host": "tinykws.codegen.runners:open_c_host_runner",
    "c-qemu-m4": "tinykws.mcu.runners:open_c_qemu_m4_runner",
    "c-qemu-m3": "tinykws.mcu.runners:open_c_qemu_m3_runner",
    "c-qemu-m7": "tinykws.mcu.runners:open_c_qemu_m7_runner",
}
_REGISTERED: dict[str, Callable[..., "ModelRunner"]] = {}


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output without the batch dimension: shape, dtype name
    ("int8", "float32", ...) and, for integers, the affine quantization
    (real = scale * (q - zero_point))."""

    shape: tuple[int, ...]
    dtype: str
    scale: float | None = None
    zero_point: int = 0

    @property
    def quantized(self) -> bool:
        return self.scale is not None and self.dtype != "float32"

    def to_dict(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "dtype": self.dtype, "scale": self.scale, "zero_point": self.zero_point}


@dataclass(frozen=True)
class RunnerInfo:
    """What a loaded model is and how to feed it.

    runtime: the registered runtime name; description: one line naming the engine and its
    kernels; model: the model's name or file; output_kind: "logits" or "probabilities";
    arithmetic: "float32" or the integer arithmetic the engine computes ("litert_ref",
    "tflite_micro", or "litert_optimized" / "xnnpack", which are not TFLite's reference
    arithmetic); notes: what was assumed about the model's contract; facts: engine-specific
    measurements (for example the TFLite Micro arena in bytes).
    """

    runtime: str
    description: str
    model: str
    labels: tuple[str, ...]
    frontend: dict[str, Any]
    input: TensorSpec
    output: TensorSpec
    output_kind: str
    arithmetic: str
    version: str = ""
    contract_source: str = ""
    notes: tuple[str, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime, "runtime_description": self.description, "model": self.model,
            "arithmetic": self.arithmetic, "version": self.version, "labels": list(self.labels),
            "frontend": dict(self.frontend), "input": self.input.to_dict(), "output": self.output.to_dict(),
            "output_kind": self.output_kind, "contract_source": self.contract_source, "notes": list(self.notes),
            **self.facts,
        }


class ModelRunner(ABC):
    """A loaded model: `info` describes it, `run` maps a batch of inputs to raw outputs."""

    info: RunnerInfo

    @abstractmethod
    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Raw outputs (N, *output shape) of inputs (N, *input shape) of the input dtype."""

    def close(self) -> None:
        """Release the engine (interpreters, child processes). Safe to call twice."""

    def __enter__(self) -> "ModelRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def register_runner(name: str, opener: Callable[..., ModelRunner]) -> None:
    """Make `opener(model, **options) -> ModelRunner` available as runtime `name`."""
    _REGISTERED[name] = opener


def _entry_points() -> dict[str, Any]:
    try:
        return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    except Exception:  # noqa: BLE001 - broken third-party metadata must not break tinykws
        return {}


def runner_names() -> list[str]:
    """Every runtime name: built-in, registered in this process, and from entry points."""
    return sorted(set(BUILTIN_RUNNERS) | set(_REGISTERED) | set(_entry_points()))


def _resolve(name: str) -> Callable[..., ModelRunner]:
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name in BUILTIN_RUNNERS:
        module, attr = BUILTIN_RUNNERS[name].split(":")
        return getattr(importlib.import_module(module), attr)
    eps = _entry_points()
    if name in eps:
        try:
            return eps[name].load()
        except Exception as exc:  # noqa: BLE001 - a third-party plugin failing to import
            raise ConfigError(f"runtime {name!r} (entry point {eps[name].value}) cannot be loaded: {exc}") from None
    raise ConfigError(f"unknown runtime {name!r}; choose from {', '.join(runner_names())}")


def runner_options(name: str) -> tuple[str, ...]:
    """The keyword options runtime `name` accepts (e.g. "arithmetic", "kernels", "frontend")."""
    import inspect

    params = inspect.signature(_resolve(name)).parameters.values()
    return tuple(p.name for p in params if p.kind == p.KEYWORD_ONLY or (p.default is not p.empty))


def open_runner(name: str, model: Any, **options: Any) -> ModelRunner:
    """Load `model` (a path, or an in-memory model the runtime accepts) in runtime `name`.
    Options the runtime does not take are a ConfigError naming them."""
    opener = _resolve(name)
    unknown = sorted(set(options) - set(runner_options(name)))
    if unknown:
        raise ConfigError(f"runtime {name!r} takes no option {', '.join(unknown)} "
                          f"(it takes: {', '.join(runner_options(name)) or 'none'})")
    return opener(model, **options)


# ---- feeding a runner and reading its outputs -------------------------------------------
def runner_inputs(features: np.ndarray, spec: TensorSpec, where: str = "model") -> np.ndarray:
    """Real features (N, frames, coefficients) as the model's input (N, *spec.shape):
    reshaped, and quantized as TFLite's QUANTIZE does when the input is an integer tensor."""
    features = np.asarray(features, dtype=np.float32)
    n = features.shape[0]
    per_item = int(np.prod(features.shape[1:], dtype=np.int64))
    want = int(np.prod(spec.shape, dtype=np.int64))
    if per_item != want or (len(spec.shape) and features.ndim > 1 and spec.shape[0] != features.shape[1]):
        got = "x".join(map(str, features.shape[1:]))
        raise ConfigError(f"{where}: the front-end gives {got} features but the model input is "
                          f"{'x'.join(map(str, spec.shape))}")
    features = features.reshape((n, *spec.shape))
    if not spec.quantized:
        return features
    return quantize_real(features, spec.scale, spec.zero_point, np.dtype(spec.dtype))


def run_batches(runner: ModelRunner, inputs: np.ndarray, batch_size: int = 256, progress: bool = False,
                desc: str = "inference") -> np.ndarray:
    """Outputs of `runner` on every input, `batch_size` at a time, in order."""
    if len(inputs) == 0:
        raise TinyKWSError("no inputs to run")
    parts = []
    with tqdm(total=len(inputs), unit="input", desc=desc, disable=not progress, leave=False) as bar:
        for start in range(0, len(inputs), batch_size):
            parts.append(np.asarray(runner.run(inputs[start:start + batch_size])))
            bar.update(len(parts[-1]))
    return np.concatenate(parts)


def output_scores(outputs: np.ndarray, info: RunnerInfo) -> np.ndarray:
    """Class probabilities (N, classes) float64 of raw outputs: dequantized with the output
    tensor's scale and zero point, softmaxed when the model outputs logits."""
    flat = np.asarray(outputs).reshape(len(outputs), -1)
    spec = info.output
    values = dequantize_int(flat, spec.scale, spec.zero_point).astype(np.float64) if spec.quantized else \
        flat.astype(np.float64)
    if info.output_kind == "probabilities":
        return values
    shifted = values - values.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def identical_count(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """(items whose outputs are identical, largest difference) of two output batches."""
    a = np.asarray(a).reshape(len(a), -1).astype(np.int64)
    b = np.asarray(b).reshape(len(b), -1).astype(np.int64)
    if a.shape != b.shape:
        raise TinyKWSError(f"output shapes differ: {a.shape} and {b.shape}")
    diff = np.abs(a - b)
    return int(np.sum(diff.max(axis=1, initial=0) == 0)), int(diff.max(initial=0))


def softmax_nll(probabilities: np.ndarray, targets: np.ndarray) -> float:
    """Mean negative log-likelihood of the true classes (probabilities clipped at 1e-12)."""
    picked = probabilities[np.arange(len(targets)), targets]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, None)))) if len(targets) else math.nan
