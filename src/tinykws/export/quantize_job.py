"""The `quantize` verb as a library function: a float model in, a verified int8 .tflite out.

    result = quantize_job("runs/ds_cnn", "runs/ds_cnn/int8", QuantSection(), ExportSection(),
                          data_dir="data/sc", test_dir="data/sc12_test_dev")

The settings are a recipe's `quant` and `export` sections (`tinykws.train.config`), so one
YAML file describes a model from data to .tflite.

The steps, each a function of its own layer:
1. load the float model (`train.runner.open_torch_runner`: a run folder, a checkpoint or a
   float .tflite such as the MLPerf reference);
2. calibrate (`quant.quantize_ptq`) on clips of the training split, optionally fine-tune
   with QAT (`quant.finetune_qat`);
3. build the integer network and its .tflite view (`intmodel.from_quantized`), write the
   file with its manifest (`export.tflite.export_tflite`);
4. read the file back and run it in the numpy runtime, LiteRT and TFLite Micro on the test
   inputs (`export.verify`): identical int8 outputs or an error;
5. score the float model, the fake-quant simulation and the integer network on the test set.
Everything goes into a temporary folder that replaces `out_dir` whole at the end, so the
files of one quantization are never mixed with another's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from tinykws.audio.frontends import frontend_from_dict
from tinykws.eval.dataset import LabelledFeatures, dataset_features
from tinykws.eval.evaluate import Evaluation, evaluate_runner
from tinykws.eval.runner import runner_inputs
from tinykws.export.runners import open_reference_runner
from tinykws.export.tflite import export_tflite
from tinykws.export.verify import Verification, verify_tflite
from tinykws.fileio import atomic_dir, write_json
from tinykws.intmodel.from_quantized import intmodel_from_quantized
from tinykws.quant import QuantConfig, finetune_qat, quantize_ptq, save_quantized
from tinykws.quant.runner import FakeQuantRunner
from tinykws.train.config import ExportSection, QuantSection
from tinykws.train.runner import open_torch_runner


def quant_config(quant: QuantSection) -> QuantConfig:
    """The quant layer's QuantConfig of a recipe's `quant` section."""
    return QuantConfig(observer=quant.observer, weight_bits=quant.weight_bits, act_bits=quant.act_bits,
                       percentile=quant.percentile, weight_symmetric=quant.weight_symmetric,
                       act_symmetric=quant.act_symmetric)


@dataclass(frozen=True)
class QuantizeResult:
    """Paths written and numbers measured by `quantize_job` (accuracies in %)."""

    out_dir: Path
    tflite_path: Path | None
    manifest_path: Path | None
    checkpoint_path: Path
    summary_path: Path
    calib_clips: int
    test_clips: int
    test_source: str
    accuracy: dict[str, float] = field(default_factory=dict)
    fake_quant_int8_agreement: float | None = None
    size_bytes: int | None = None
    arena_bytes: int | None = None
    arena_note: str = ""
    qat_losses: tuple[float, ...] = ()
    verification: Verification | None = None
    notes: tuple[str, ...] = ()
    skipped_unreadable: tuple[str, ...] = ()  # clips left out (skip_unreadable), calibration and test
    # The evaluations behind `accuracy` (metrics and outputs), by name; not in the summary.
    evaluations: dict[str, Evaluation] = field(default_factory=dict, repr=False, compare=False)

    def summary(self) -> dict[str, Any]:
        data = {f.name: (str(v) if isinstance(v, Path) else v) for f in fields(self)
                if f.name not in ("verification", "evaluations") for v in [getattr(self, f.name)]}
        data["verification"] = None if self.verification is None else self.verification.to_dict()
        return data


def sections_from_run(run_dir: str | os.PathLike) -> tuple[QuantSection, ExportSection, str]:
    """A run folder's `quant` and `export` sections (its config.yaml) and the calibration
    data they imply: `quant.calib_data`, else the first data source ("" if none)."""
    from tinykws.train.recipe import load_recipe

    cfg = load_recipe(Path(run_dir) / "config.yaml")
    return cfg.quant, cfg.export, cfg.quant.calib_data or (cfg.data.sources[0].path if cfg.data.sources else "")


def _accuracy(evaluation: Evaluation) -> float:
    return round(100.0 * float(evaluation.result.top1), 2)


def quantize_job(source: str | os.PathLike, out_dir: str | os.PathLike, quant: QuantSection,
                 export: ExportSection, data_dir: str | os.PathLike, test_dir: str | os.PathLike | None = None,
                 progress: bool = False, skip_unreadable: bool = False) -> QuantizeResult:
    """Quantize the float model at `source` and write everything to `out_dir`.

    Calibration (and QAT) clips come from the training split of `data_dir`; accuracy and
    verification use the test split of `test_dir` (default: the validation split of
    `data_dir`). Unreadable clips are all named in one DataError, or with `skip_unreadable`
    left out and listed in the result. Raises VerificationError (after writing) when an
    engine disagrees.
    """
    quant.validate()
    config = quant_config(quant)
    float_runner = open_torch_runner(source)
    info = float_runner.info
    frontend = frontend_from_dict(info.frontend)
    calib = dataset_features(data_dir, "train", frontend, info.labels, limit=quant.calib_clips, seed=quant.seed,
                             progress=progress, skip_unreadable=skip_unreadable)
    test_split = "test" if test_dir is not None else "validation"
    test = dataset_features(test_dir if test_dir is not None else data_dir, test_split, frontend, info.labels,
                            progress=progress, skip_unreadable=skip_unreadable)
    skipped = calib.skipped + test.skipped
    test_source = f"{test_split} split of {test_dir if test_dir is not None else data_dir} ({len(test)} clips)"
    qmodel = quantize_ptq(float_runner.model, calib.features, config, info.input.shape)
    losses: tuple[float, ...] = ()
    if quant.qat_epochs > 0:
        train = dataset_features(data_dir, "train", frontend, info.labels, limit=quant.qat_clips,
                                 seed=quant.seed + 1, progress=progress, skip_unreadable=skip_unreadable)
        skipped += train.skipped
        teacher = float_runner.model if quant.qat_distill else None
        losses = finetune_qat(qmodel, train.features, train.targets, quant.qat_epochs, lr=quant.qat_lr,
                              seed=quant.seed, teacher=teacher).losses
    out = Path(out_dir)
    with atomic_dir(out, "quantize") as tmp:
        result = replace(_write_and_check(qmodel, float_runner, tmp, test, test_source, export, len(calib), losses),
                         skipped_unreadable=tuple(dict.fromkeys(skipped)))
        write_json(tmp / "summary.json", _summary(result, out, info.model, config))
    final = _relocated(result, tmp, out)
    if final.verification is not None:
        final.verification.raise_if_failed()
    return final


def _write_and_check(qmodel, float_runner, tmp: Path, test: LabelledFeatures, test_source: str,
                     export: ExportSection, calib_clips: int, losses: tuple[float, ...]) -> QuantizeResult:
    info = float_runner.info
    checkpoint = save_quantized(qmodel, tmp / "quantized.pt", info.frontend, list(info.labels))
    fake = FakeQuantRunner(qmodel, info.labels, info.frontend, info.model)
    fake_eval = evaluate_runner(fake, test)
    float_eval = evaluate_runner(float_runner, test)
    accuracy = {"float": _accuracy(float_eval), "fake_quant": _accuracy(fake_eval)}
    evaluations = {"float": float_eval, "fake_quant": fake_eval}
    if not qmodel.config.exportable:
        note = (f"{qmodel.config.act_bits}-bit activations, weights "
                f"{'symmetric' if qmodel.config.weight_symmetric else 'asymmetric'}, activations "
                f"{'symmetric' if qmodel.config.act_symmetric else 'asymmetric'}: simulation only, no .tflite written")
        return QuantizeResult(tmp, None, None, checkpoint, tmp / "summary.json", calib_clips, len(test), test_source,
                              accuracy, qat_losses=losses, notes=(note,), evaluations=evaluations)
    exported = export_tflite(qmodel, tmp / "model.tflite", info.frontend, list(info.labels), arena=export.arena)
    intmodel = intmodel_from_quantized(qmodel, "litert_ref")
    with open_reference_runner(intmodel, "litert_ref", frontend=info.frontend, labels=info.labels) as runner:
        int_eval = evaluate_runner(runner, test)
    accuracy["int8"] = _accuracy(int_eval)
    evaluations["int8"] = int_eval
    agreement = round(100.0 * float((int_eval.result.scores.argmax(1) == fake_eval.result.scores.argmax(1)).mean()), 2)
    verification = None
    if export.verify:
        inputs = runner_inputs(test.features, int_eval.info.input)
        if export.verify_clips:
            inputs = inputs[:export.verify_clips]
            test_source = f"the first {len(inputs)} clips of the {test_source}"
        in_memory = {"litert_ref": intmodel, "tflite_micro": intmodel_from_quantized(qmodel, "tflite_micro")}
        verification = verify_tflite(exported.tflite_path, inputs, test_source, in_memory)
    return QuantizeResult(tmp, exported.tflite_path, exported.manifest_path, checkpoint, tmp / "summary.json",
                          calib_clips, len(test), test_source, accuracy, agreement, exported.size_bytes,
                          exported.arena_bytes, exported.arena_note, losses, verification, evaluations=evaluations)


def _relocated(result: QuantizeResult, tmp: Path, out: Path) -> QuantizeResult:
    """The result with every path moved from the temporary folder to `out`."""
    def move(p: Path | None) -> Path | None:
        return None if p is None else out / Path(p).relative_to(tmp)

    verification = result.verification
    if verification is not None:
        verification = replace(verification, path=str(out / Path(verification.path).relative_to(tmp)))
    return replace(result, out_dir=out, tflite_path=move(result.tflite_path), manifest_path=move(result.manifest_path),
                   checkpoint_path=move(result.checkpoint_path), summary_path=move(result.summary_path),
                   verification=verification)


def _summary(result: QuantizeResult, out: Path, source: str, config: QuantConfig) -> dict[str, Any]:
    data = _relocated(result, result.out_dir, out).summary()
    data["source"] = source
    data["quantization"] = config.to_dict()
    return data
