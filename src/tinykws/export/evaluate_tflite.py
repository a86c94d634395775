"""Scoring a .tflite file on a dataset folder with one of three runtimes.

    ev = evaluate_tflite("model.tflite", "data/sc12_test_dev", runtime="tflm")
    ev.result.top1, ev.outputs (int8, clips x classes), ev.arena_bytes

Runtimes: "reference" (the tinykws numpy runtime, arithmetic `profile` "litert_ref" or
"tflite_micro"), "litert" (ai-edge-litert, by default with the reference kernels
OpResolverType.BUILTIN_REF) and "tflm" (the TFLite Micro Python interpreter, which also
reports its tensor arena). The front-end and labels come from the file's embedded
tinykws metadata, else from a matching manifest.json beside it; a foreign file (such as
the MLPerf reference model) gets `frontend` or, for a 49x10 input, `mlperf_mfcc`, and the
MLPerf labels, and the result says what was assumed. Features are quantized with the
input tensor's own scale and zero point.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from tinykws.data.items import SilenceCut
from tinykws.data.labels import MLPERF_LABELS
from tinykws.errors import ConfigError, EngineUnavailableError, ModelFormatError, UnsupportedOpError
from tinykws.eval.metrics import EvalResult, compute_metrics
from tinykws.export.engines import run_litert, run_tflm
from tinykws.export.manifest import METADATA_NAME, embedded_manifest, read_manifest
from tinykws.fixedpoint.arithmetic import ARITHMETICS, DEFAULT_ARITHMETIC
from tinykws.formats.tflite_model import Tensor, TFLiteModel
from tinykws.formats.tflite_reader import read_tflite
from tinykws.intmodel import intmodel_from_tflite, run
from tinykws.intmodel.graph import IntTensor
from tinykws.intmodel.quantize_io import quantize

RUNTIMES = ("reference", "litert", "tflm")
# --litert-kernels name -> OpResolverType. Only "reference" is TFLite's reference arithmetic.
LITERT_KERNELS = {"reference": "BUILTIN_REF", "optimized": "BUILTIN_WITHOUT_DEFAULT_DELEGATES", "xnnpack": "AUTO"}
MLPERF_INPUT = (49, 10)  # frames x MFCC coefficients of the MLPerf Tiny reference model
DEFAULT_FOREIGN_FRONTEND = "mlperf_mfcc"


@dataclass(frozen=True)
class ModelContract:
    """How to feed a .tflite file and read its output.

    `source`: "embedded metadata", "manifest.json" or "assumed"; `notes` say what was
    assumed or overridden, in words.
    """

    frontend: dict[str, Any]
    labels: tuple[str, ...]
    source: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TFLiteInputs:
    """The quantized inputs (N, *input shape without batch) of every clip, in data order,
    with the true labels (N,), the clip names and the contract they were made with."""

    inputs: np.ndarray
    targets: np.ndarray
    clips: tuple[str, ...]
    contract: ModelContract
    input_scale: float | None
    input_zero_point: int
    skipped: tuple[str, ...] = ()  # unreadable clips left out (skip_unreadable)


@dataclass(frozen=True)
class RuntimeRun:
    """Raw outputs (N, classes) of one runtime; `arena_bytes` only for "tflm"."""

    outputs: np.ndarray
    runtime: str
    profile: str | None = None
    litert_kernels: str | None = None
    arena_bytes: int | None = None

    @property
    def description(self) -> str:
        if self.runtime == "reference":
            return f"tinykws numpy runtime, profile {self.profile}"
        if self.runtime == "litert":
            return f"ai-edge-litert, OpResolverType.{LITERT_KERNELS[self.litert_kernels]}"
        return "TFLite Micro Python interpreter"


@dataclass(frozen=True, eq=False)
class TFLiteEvaluation:
    """One evaluation of a .tflite file: metrics, raw outputs in data order, clip names."""

    model_path: Path
    result: EvalResult
    run: RuntimeRun
    prepared: TFLiteInputs
    size_bytes: int
    sha256: str
    notes: tuple[str, ...] = field(default=())

    @property
    def outputs(self) -> np.ndarray:
        return self.run.outputs

    @property
    def arena_bytes(self) -> int | None:
        return self.run.arena_bytes

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint evaluation's JSON plus the runtime, profile, arena and contract."""
        data = self.result.to_dict()
        contract = self.prepared.contract
        data.update({
            "model": str(self.model_path), "size_bytes": self.size_bytes, "sha256": self.sha256,
            "runtime": self.run.runtime, "runtime_description": self.run.description,
            "profile": self.run.profile, "litert_kernels": self.run.litert_kernels,
            "arena_bytes": self.run.arena_bytes, "frontend": contract.frontend, "contract_source": contract.source,
            "input_quantization": {"scale": self.prepared.input_scale, "zero_point": self.prepared.input_zero_point},
            "notes": list(self.notes),
        })
        return data


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of the file at `path`."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _frontend_dict(spec: str | Mapping[str, Any]) -> dict[str, Any]:
    from tinykws.audio.frontends import build_frontend

    return build_frontend(spec).to_dict()


def _input_tensor(tfl: TFLiteModel, where: str) -> Tensor:
    sg = tfl.main
    if len(sg.inputs) != 1 or len(sg.outputs) != 1:
        raise UnsupportedOpError(f"{where}: only models with one input and one output can be evaluated "
                                 f"({len(sg.inputs)} inputs, {len(sg.outputs)} outputs)")
    return sg.tensors[sg.inputs[0]]


def resolve_contract(path: str | os.PathLike, tfl: TFLiteModel,
                     frontend: str | Mapping[str, Any] | None = None) -> ModelContract:
    """The front-end and labels of the .tflite at `path` (parsed as `tfl`).

    Embedded tinykws metadata wins; else a manifest.json beside the file whose SHA-256
    matches; else `frontend` (default `mlperf_mfcc` for a 49x10 input) and the MLPerf
    labels. `frontend` given with a tinykws file overrides its front-end (noted).
    """
    where = os.fspath(path)
    notes: list[str] = []
    manifest = None
    source = "assumed"
    if METADATA_NAME in tfl.metadata:
        manifest, source = embedded_manifest(tfl.metadata, where), "embedded metadata"
    else:
        beside = Path(path).with_name("manifest.json")
        if beside.is_file():
            candidate = read_manifest(beside)
            if candidate.get("sha256") == file_sha256(path):
                manifest, source = candidate, "manifest.json"
            else:
                notes.append(f"ignored {beside}: it describes another file (SHA-256 differs)")
    n_outputs = int(np.prod(tfl.main.tensors[tfl.main.outputs[0]].shape[1:], dtype=np.int64))
    if manifest is not None:
        labels = tuple(manifest["labels"])
        fe = dict(manifest["frontend"])
        if frontend is not None:
            fe = _frontend_dict(frontend)
            notes.append(f"front-end {fe['kind']!r} from --frontend overrides the file's {manifest['frontend']!r}")
    else:
        shape = tuple(_input_tensor(tfl, where).shape[1:])
        if frontend is None:
            if shape not in (MLPERF_INPUT, MLPERF_INPUT + (1,)):
                raise ConfigError(f"{where}: no tinykws metadata and input shape {shape} is not the MLPerf 49x10; "
                                  "say which front-end made its input with --frontend NAME")
            frontend = DEFAULT_FOREIGN_FRONTEND
            notes.append(f"no tinykws metadata: assumed front-end {DEFAULT_FOREIGN_FRONTEND!r} "
                         f"(the MLPerf Tiny reference input, 49x10 MFCC)")
        else:
            notes.append(f"no tinykws metadata: front-end {frontend if isinstance(frontend, str) else 'given'} "
                         "from --frontend")
        fe = _frontend_dict(frontend)
        labels = MLPERF_LABELS
        notes.append("no tinykws metadata: assumed the MLPerf Tiny labels in the reference model's order ("
                     + ", ".join(MLPERF_LABELS) + ")")
    if len(labels) != n_outputs:
        raise ConfigError(f"{where}: the model has {n_outputs} outputs but {len(labels)} labels ({source})")
    return ModelContract(frontend=fe, labels=tuple(labels), source=source, notes=tuple(notes))


def _clip_name(source: str | SilenceCut, root: Path) -> str:
    if isinstance(source, SilenceCut):
        noise = "digital" if source.noise_path is None else _relative(source.noise_path, root)
        return f"silence:{noise}@{source.start}"
    return _relative(source, root)


def _relative(path: str, root: Path) -> str:
    # Not resolved: a dataset made of symlinks keeps its own names.
    try:
        return Path(os.path.abspath(path)).relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _quantize_features(features: np.ndarray, tensor: Tensor, where: str) -> tuple[np.ndarray, float | None, int]:
    shape = tuple(int(d) for d in tensor.shape[1:])
    n, frames, coeffs = features.shape
    if int(np.prod(shape, dtype=np.int64)) != frames * coeffs or (shape and shape[0] != frames):
        raise ConfigError(f"{where}: the front-end gives {frames}x{coeffs} features but the model input is "
                          f"{'x'.join(map(str, shape))}")
    features = features.reshape((n, *shape))
    if tensor.dtype == np.float32 and tensor.quantization is None:
        return features.astype(np.float32), None, 0
    if tensor.dtype != np.int8 or tensor.quantization is None or tensor.quantization.per_channel:
        raise UnsupportedOpError(f"{where}: input {tensor.name!r} is {tensor.type_name}; only int8 inputs with "
                                 "one scale (or float32) can be evaluated")
    scale = float(tensor.quantization.scales[0])
    zero_point = int(tensor.quantization.zero_points[0])
    int_tensor = IntTensor(tensor.name, tuple(tensor.shape), np.dtype(np.int8), scale, zero_point)
    return quantize(features, int_tensor), scale, zero_point


def prepare_inputs(model_path: str | os.PathLike, data_dir: str | os.PathLike, layout: str = "auto",
                   split: str = "test", frontend: str | Mapping[str, Any] | None = None, batch_size: int = 256,
                   progress: bool = True, tfl: TFLiteModel | None = None,
                   skip_unreadable: bool = False) -> TFLiteInputs:
    """Features of the clean clips of `split` of `data_dir`, made with the model's
    front-end and quantized with its input tensor's scale and zero point."""
    from tinykws.audio.frontends import frontend_from_dict
    from tinykws.train.evaluation import dataset_features, screened_views

    where = os.fspath(model_path)
    tfl = tfl if tfl is not None else read_tflite(model_path)
    tensor = _input_tensor(tfl, where)
    contract = resolve_contract(model_path, tfl, frontend)
    views, skipped = screened_views(data_dir, split, contract.labels, layout, skip_unreadable=skip_unreadable)
    features, targets = dataset_features(views, frontend_from_dict(contract.frontend), batch_size, progress)
    inputs, scale, zero_point = _quantize_features(features, tensor, where)
    root = Path(os.path.abspath(views[0].index.root))
    clips = tuple(_clip_name(item.source, root) for v in views for item in v.items)
    return TFLiteInputs(inputs, np.asarray(targets, np.int64), clips, contract, scale, zero_point, skipped)


def run_runtime(model_path: str | os.PathLike, inputs: np.ndarray, runtime: str = "reference",
                profile: str | None = None, litert_kernels: str | None = None, batch_size: int = 256,
                tfl: TFLiteModel | None = None) -> RuntimeRun:
    """Outputs of `runtime` on `inputs` (N, *input shape without batch), in order.

    profile: arithmetic of the "reference" runtime (default "litert_ref").
    litert_kernels: "reference" (BUILTIN_REF, the default), "optimized" or "xnnpack" (LiteRT's default).
    """
    if runtime not in RUNTIMES:
        raise ConfigError(f"unknown runtime {runtime!r}; choose from {', '.join(RUNTIMES)}")
    if profile is not None and runtime != "reference":
        raise ConfigError("an arithmetic profile applies only to --runtime reference")
    if litert_kernels is not None and runtime != "litert":
        raise ConfigError("a choice of LiteRT kernels applies only to --runtime litert")
    hint = "; install the tflite extra (pip install 'tinykws[tflite]') or use --runtime reference"
    if runtime == "reference":
        profile = profile or DEFAULT_ARITHMETIC
        if profile not in ARITHMETICS:
            raise ConfigError(f"unknown arithmetic {profile!r}; choose from {', '.join(ARITHMETICS)}")
        model = intmodel_from_tflite(tfl if tfl is not None else model_path, profile)
        parts = [run(model, inputs[lo:lo + batch_size]).output for lo in range(0, len(inputs), batch_size)]
        outputs = np.concatenate(parts) if parts else np.zeros((0,), np.int8)
        return RuntimeRun(outputs, runtime, profile=profile)
    if runtime == "litert":
        litert_kernels = litert_kernels or "reference"
        if litert_kernels not in LITERT_KERNELS:
            raise ConfigError(f"unknown LiteRT kernels {litert_kernels!r}; choose from {', '.join(LITERT_KERNELS)}")
        try:
            outputs = run_litert(model_path, inputs, LITERT_KERNELS[litert_kernels])
        except EngineUnavailableError as exc:
            raise EngineUnavailableError(f"{exc}{hint}") from None
        return RuntimeRun(outputs, runtime, litert_kernels=litert_kernels)
    try:
        tflm = run_tflm(model_path, inputs)
    except EngineUnavailableError as exc:
        raise EngineUnavailableError(f"{exc}{hint}") from None
    return RuntimeRun(tflm.outputs, runtime, arena_bytes=tflm.arena_bytes)


def output_scores(outputs: np.ndarray, tfl: TFLiteModel) -> np.ndarray:
    """Real-valued scores (N, classes) of raw outputs: dequantized with the output
    tensor's scale and zero point (probabilities for a softmax output)."""
    tensor = tfl.main.tensors[tfl.main.outputs[0]]
    flat = np.asarray(outputs).reshape(len(outputs), -1)
    q = tensor.quantization
    if q is None or tensor.dtype == np.float32:
        return flat.astype(np.float64)
    return (flat.astype(np.float64) - float(q.zero_points[0])) * float(q.scales[0])


def evaluate_tflite(model_path: str | os.PathLike, data_dir: str | os.PathLike, layout: str = "auto",
                    split: str = "test", runtime: str = "reference", profile: str | None = None,
                    litert_kernels: str | None = None, frontend: str | Mapping[str, Any] | None = None,
                    batch_size: int = 256, progress: bool = True,
                    skip_unreadable: bool = False) -> TFLiteEvaluation:
    """Run the .tflite at `model_path` on every clean clip of `split` of `data_dir` with
    `runtime` and score it (top-1, per class, confusion, AUCs).

    Raises ModelFormatError for a malformed file, ConfigError when the front-end cannot be
    known or does not fit the input, EngineUnavailableError for a missing interpreter.
    """
    path = Path(model_path)
    if path.is_dir():
        raise ModelFormatError(f"{path}: is a directory, not a .tflite file")
    tfl = read_tflite(path)
    prepared = prepare_inputs(path, data_dir, layout, split, frontend, batch_size, progress, tfl, skip_unreadable)
    result_run = run_runtime(path, prepared.inputs, runtime, profile, litert_kernels, batch_size, tfl)
    result = compute_metrics(output_scores(result_run.outputs, tfl), prepared.targets, prepared.contract.labels)
    result = dataclasses.replace(result, skipped=prepared.skipped)
    data = path.read_bytes()
    return TFLiteEvaluation(path, result, result_run, prepared, len(data), hashlib.sha256(data).hexdigest(),
                            prepared.contract.notes)


@dataclass(frozen=True)
class OutputFiles:
    """Where `write_outputs` put the raw outputs (.npy) and the clip order (.json)."""

    outputs: Path
    clips: Path


def write_outputs(path: str | os.PathLike, evaluation: TFLiteEvaluation) -> OutputFiles:
    """Atomically write the raw outputs to `path` (.npy, data order) and, beside it with
    the suffix .json, the clip names, true labels and what produced them."""
    from tinykws.fileio import staged_outputs

    out = Path(path)
    clips_path = out.with_suffix(".json") if out.suffix == ".npy" else out.with_name(out.name + ".json")
    with staged_outputs(out.parent, owned=(out.name, clips_path.name)) as stage:  # both files or neither
        with open(stage / out.name, "wb") as fh:  # a file object: np.save must not append ".npy"
            np.save(fh, np.ascontiguousarray(evaluation.outputs))
        _write_clips(stage / clips_path.name, out, evaluation)
    return OutputFiles(out, clips_path)


def _write_clips(path: Path, out: Path, evaluation: TFLiteEvaluation) -> None:
    from tinykws.fileio import write_json

    write_json(path, {
        "outputs": out.name, "shape": list(evaluation.outputs.shape), "dtype": str(evaluation.outputs.dtype),
        "model": str(evaluation.model_path), "sha256": evaluation.sha256, "runtime": evaluation.run.runtime,
        "profile": evaluation.run.profile, "litert_kernels": evaluation.run.litert_kernels,
        "labels": list(evaluation.prepared.contract.labels), "clips": list(evaluation.prepared.clips),
        "targets": evaluation.prepared.targets.astype(int).tolist(),
    })
