"""The training loop: epochs of mixed, augmented batches; validation; best/last
checkpoints; early stopping; exact resume; data-parallel when launched by torchrun.

Run folder (`run_dir`): config.yaml (resolved config), metrics.jsonl (one JSON object per
epoch), best.pt (highest validation top-1; the last epoch when there is no validation
data), last.pt (end of the latest epoch, with optimiser and RNG state for `resume`).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from tqdm import tqdm

from tinykws.config import to_dict
from tinykws.data.labels import MLPERF_LABELS
from tinykws.errors import ConfigError, DataError, TrainingDivergedError
from tinykws.eval.runner import output_scores, run_batches, softmax_nll
from tinykws.fileio import ensure_folder, recover_folder, staged_outputs, write_text
from tinykws.train import distributed
from tinykws.train.averaging import WeightAverage
from tinykws.train.batches import (
    FEATURES,
    WAVEFORM,
    TrainData,
    clip_features,
    iterate_batches,
    num_batches,
    source_arrays,
    to_model_input,
)
from tinykws.train.checkpoint import Checkpoint, load_checkpoint, non_finite_entries, save_checkpoint
from tinykws.train.config import RunConfig
from tinykws.train.distill import Teacher, load_teachers, teacher_only_inputs, teacher_rng
from tinykws.train.hooks import TrainHook
from tinykws.train.provenance import record_provenance
from tinykws.train.recipe import save_config
from tinykws.train.runner import TorchRunner
from tinykws.train.schedules import lr_at
from tinykws.train.specaugment import batch_rng, spec_augment
from tinykws.train.setup import (
    build_optimizer,
    build_run_model,
    class_weight_tensor,
    model_kwargs_of,
    per_clip_loss,
    resolve_frontend,
)



@dataclass(frozen=True)
class TrainResult:
    """What a run produced. Accuracies are fractions (0..1); speed in clips per second."""

    run_dir: Path
    epochs_completed: int
    best_epoch: int
    best_val_top1: float | None
    stopped_early: bool
    history: tuple[dict[str, Any], ...] = field(repr=False)

    @property
    def best_path(self) -> Path:
        return self.run_dir / "best.pt"

    @property
    def last_path(self) -> Path:
        return self.run_dir / "last.pt"

    @property
    def train_samples_per_s(self) -> float:
        """Mean training throughput over the epochs of this history."""
        rates = [h["train_samples_per_s"] for h in self.history if h.get("train_samples_per_s")]
        return float(np.mean(rates)) if rates else 0.0


# Wall-clock fields of an epoch record: kept in metrics.jsonl, never in a checkpoint, so
# that the same run gives the same checkpoint bytes.
TIMING_KEYS = ("train_seconds", "train_samples_per_s", "seconds")


def _without_timing(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in TIMING_KEYS}


@dataclass
class _State:
    epoch: int = 0  # epochs completed
    step: int = 0
    best_val: float = -1.0
    best_epoch: int = 0
    bad_epochs: int = 0
    stopped_early: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "best_val": self.best_val, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs,
            "stopped_early": self.stopped_early,
            "history_json": json.dumps([_without_timing(h) for h in self.history]),
        }

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint) -> "_State":
        ls = ckpt.loop_state
        return cls(
            epoch=ckpt.epoch, step=ckpt.step, best_val=float(ls.get("best_val", -1.0)),
            best_epoch=int(ls.get("best_epoch", 0)), bad_epochs=int(ls.get("bad_epochs", 0)),
            stopped_early=bool(ls.get("stopped_early", False)),
            history=json.loads(ls.get("history_json", "[]")),
        )


class _Validator:
    """Validation features computed once; scores the live model each epoch (as a
    TorchRunner, the way every model is run)."""

    def __init__(self, data: TrainData, frontend, frontend_module, labels: list[str], batch_size: int):
        self.batch_size = batch_size
        self.frontend = frontend.to_dict()
        self.input_shape = tuple(frontend.output_shape)
        self.labels = labels
        self.features = self.targets = None
        if data.validation is not None and len(data.validation):
            clips, self.targets = source_arrays(data.validation)
            self.features = clip_features(clips, data.kind, frontend_module, batch_size)

    @property
    def available(self) -> bool:
        return self.features is not None

    def __call__(self, model: torch.nn.Module) -> tuple[float, float]:
        runner = TorchRunner(model, self.labels, self.frontend, self.input_shape, "validation")
        scores = output_scores(run_batches(runner, self.features, self.batch_size), runner.info)
        return float(np.mean(scores.argmax(1) == self.targets)), softmax_nll(scores, self.targets)


def train(
    cfg: RunConfig,
    data: TrainData,
    run_dir: str | os.PathLike,
    labels: Sequence[str] = MLPERF_LABELS,
    resume: bool = False,
    stop_after_epochs: int | None = None,
    hooks: Sequence[TrainHook] = (),
) -> TrainResult:
    """Train `cfg` on `data`, writing the run folder `run_dir`.

    resume: continue from run_dir/last.pt (exactly: same weights as an uninterrupted run).
    stop_after_epochs: end this call after that many epochs in total (an interruption, for
    tests and time-boxed jobs); a later `resume` carries on to `train.epochs`.
    hooks: see `tinykws.train.hooks` (pruning); their state is checkpointed and resumed, and
    an epoch is a candidate for best.pt only when every hook calls the model final.
    Under torchrun (WORLD_SIZE > 1) every rank calls this; rank 0 writes the files.
    """
    cfg.validate()
    if hooks and cfg.train.ema_decay:
        raise ConfigError("train.ema_decay: weight averaging cannot be combined with a training hook "
                          "such as pruning (the average would bring pruned weights back)")
    threads_before = torch.get_num_threads()
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    try:
        return _train(cfg, data, Path(run_dir), list(labels), resume, stop_after_epochs, tuple(hooks))
    finally:
        torch.set_num_threads(threads_before)


def _train(cfg: RunConfig, data: TrainData, run_dir: Path, labels: list[str], resume: bool,
           stop_after_epochs: int | None, hooks: tuple[TrainHook, ...]) -> TrainResult:
    info = distributed.from_environment()
    # Weight averaging is a hook (checkpointed, resumed) whose copy is what gets scored.
    averaged = WeightAverage(cfg.train.ema_decay) if cfg.train.ema_decay else None
    hooks = hooks + ((averaged,) if averaged else ())
    frontend = resolve_frontend(cfg)
    _check_data(data, frontend, labels)
    fe_module = frontend.torch_module()
    # channels_last makes oneDNN's convolutions and batch norm about 30 % faster on CPU
    # (ds_cnn, batch 100); it changes memory layout only, not the model.
    model = build_run_model(cfg, len(labels), frontend.output_shape).to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model.parameters(), cfg.optim)
    state = _State()

    last = run_dir / "last.pt"
    recover_folder(run_dir)  # finish an epoch commit a killed run left half done
    if resume:
        if not last.is_file():
            raise ConfigError(f"{run_dir}: nothing to resume (no last.pt)")
        ckpt = load_checkpoint(last)
        _check_resumable(ckpt, cfg, model, frontend.to_dict(), labels, last)
        model.load_state_dict(ckpt.state_dict)
        if ckpt.optimizer is not None:
            optimizer.load_state_dict(ckpt.optimizer)
        if ckpt.rng and "torch" in ckpt.rng:
            torch.set_rng_state(ckpt.rng["torch"])
        state = _State.from_checkpoint(ckpt)
        state.history = _with_timing(run_dir, [h for h in state.history if h["epoch"] <= state.epoch])
        _check_same_averaging(ckpt, cfg, last)
        for hook in hooks:
            hook.load_state_dict(ckpt.hooks.get(hook.name, {}))
    elif last.exists():
        raise ConfigError(f"{run_dir} already holds a run (last.pt); use --resume or another --out folder")
    elif cfg.model.init:
        model.load_state_dict(_init_weights(cfg.model.init, cfg, model))
    for hook in hooks:
        hook.on_start(model, state.step, cfg.train.epochs * num_batches(data, cfg.train.batch_size))
    if info.is_main:
        ensure_folder(run_dir)
        save_config(cfg, run_dir / "config.yaml")
        record_provenance(cfg, run_dir, resumed_at_epoch=state.epoch if resume else None)

    teacher = _setup_teacher(cfg, data, frontend.to_dict(), model)
    validator = _Validator(data, frontend, fe_module, labels, cfg.train.eval_batch_size) if info.is_main else None
    has_validation = distributed.broadcast_float(float(bool(validator and validator.available)), info) > 0
    net = distributed.wrap_model(model, info)
    weights = class_weight_tensor(cfg.train.class_weights, len(labels))

    # With weight averaging, validation and best.pt see the average (updated in place);
    # last.pt keeps the live weights, and the average as hook state, to resume from.
    scored = model if averaged is None else averaged.model

    def checkpoint(epoch_metrics: dict[str, Any]) -> Checkpoint:
        return Checkpoint(
            model_name=cfg.model.name, model_kwargs=model_kwargs_of(model), num_classes=len(labels),
            state_dict=model.state_dict(), frontend=frontend.to_dict(), labels=labels,
            config=to_dict(cfg), epoch=state.epoch, step=state.step, optimizer=optimizer.state_dict(),
            rng={"torch": torch.get_rng_state()}, loop_state=state.to_dict(), metrics=_without_timing(epoch_metrics),
            hooks={hook.name: hook.state_dict() for hook in hooks},
        )

    end_epoch = cfg.train.epochs if stop_after_epochs is None else min(cfg.train.epochs, stop_after_epochs)
    while state.epoch < end_epoch and not state.stopped_early:
        epoch = state.epoch
        t0 = time.perf_counter()
        loss_sum, correct, seen, lr = _train_one_epoch(
            cfg, data, net, optimizer, fe_module, teacher, weights, epoch, state, info, hooks
        )
        train_seconds = time.perf_counter() - t0
        loss_sum, correct, seen = distributed.all_reduce_sum([loss_sum, correct, seen], info)
        state.epoch = epoch + 1
        record: dict[str, Any] = {
            "epoch": state.epoch, "step": state.step, "lr": lr,
            "train_loss": loss_sum / max(seen, 1), "train_top1": correct / max(seen, 1),
            "train_seconds": train_seconds, "train_samples_per_s": seen / max(train_seconds, 1e-9),
        }
        for hook in hooks:
            record.update(hook.epoch_metrics(model))
        val_top1 = -1.0
        if info.is_main and validator is not None and validator.available:
            val_top1, val_loss = validator(scored)
            record.update(val_top1=val_top1, val_loss=val_loss)
        val_top1 = distributed.broadcast_float(val_top1, info)
        final = all(hook.final(state.step) for hook in hooks)  # e.g. pruning has reached its sparsity
        improved = final and ((not has_validation) or val_top1 > state.best_val)
        if improved:
            state.best_val, state.best_epoch, state.bad_epochs = val_top1, state.epoch, 0
        else:
            state.bad_epochs += 1
        patience = cfg.train.early_stopping_patience
        if has_validation and patience and state.bad_epochs >= patience:
            state.stopped_early = True
        record["seconds"] = time.perf_counter() - t0
        state.history.append(record)
        if info.is_main:
            ckpt = checkpoint(record)
            # One commit per epoch: best.pt, last.pt and metrics.jsonl always tell one story.
            with staged_outputs(run_dir) as stage:
                if improved:
                    best = ckpt if averaged is None else replace(ckpt, state_dict=scored.state_dict(), hooks={})
                    save_checkpoint(best, stage / "best.pt")
                save_checkpoint(ckpt, stage / last.name)
                write_text(stage / "metrics.jsonl", "".join(json.dumps(h) + "\n" for h in state.history))
            if cfg.train.progress:
                _print_epoch(record, cfg.train.epochs)
        distributed.barrier(info)

    return TrainResult(
        run_dir=run_dir, epochs_completed=state.epoch, best_epoch=state.best_epoch,
        best_val_top1=state.best_val if has_validation else None, stopped_early=state.stopped_early,
        history=tuple(state.history),
    )


def _train_one_epoch(cfg, data, net, optimizer, fe_module, teacher, weights, epoch, state, info, hooks):
    tc = cfg.train
    net.train()
    if tc.freeze_batchnorm:
        distributed.freeze_batchnorm(net)
    steps = num_batches(data, tc.batch_size)
    bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{tc.epochs}", leave=False, unit="batch",
               disable=not (tc.progress and info.is_main), dynamic_ncols=True)
    loss_sum = correct = seen = 0.0
    lr = cfg.optim.lr
    for b, (clips, targets_np, global_batch) in enumerate(
        iterate_batches(data, epoch, tc.batch_size, tc.seed, augment=data.kind == WAVEFORM and
                        cfg.data.augment.enabled, rank=info.rank, world_size=info.world_size)
    ):
        if info.enabled and global_batch < info.world_size:
            break  # a final batch too small to give every rank a clip
        lr = lr_at(cfg.schedule, cfg.optim.lr, epoch + b / steps, tc.epochs)
        for group in optimizer.param_groups:
            group["lr"] = lr
        labelled = None
        if teacher is not None and data.kind == WAVEFORM and (cfg.distill.mix_share or cfg.distill.crop_share):
            clips, labelled = teacher_only_inputs(clips, cfg.distill.mix_share, cfg.distill.crop_share,
                                                  teacher_rng(tc.seed, epoch, b))
        x = to_model_input(clips, data.kind, fe_module).contiguous(memory_format=torch.channels_last)
        targets = torch.from_numpy(targets_np)
        x_student = spec_augment(x, cfg.data.augment.specaugment, batch_rng(tc.seed, epoch, b))
        logits = net(x_student)
        per_clip = per_clip_loss(logits, targets, tc.label_smoothing, weights)
        if teacher is not None:
            free = teacher.label_free_loss(logits, _teacher_input(teacher, clips, x, data.kind), cfg.distill)
            per_clip = (1.0 - cfg.distill.alpha) * per_clip + free
            if labelled is not None:  # teacher-only inputs: no label, only the teacher's terms
                per_clip = torch.where(torch.from_numpy(labelled), per_clip, free)
        loss = per_clip.sum() / global_batch * info.world_size
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if tc.grad_clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(net.parameters(), tc.grad_clip_norm)
        optimizer.step()
        state.step += 1
        _check_finite_step(loss, net, epoch, state.step, lr)
        for hook in hooks:
            hook.after_step(getattr(net, "module", net), state.step)
        with torch.no_grad():
            loss_sum += float(per_clip.sum())
            correct += float((logits.argmax(1) == targets).sum())
            seen += len(targets_np)
        bar.update(1)
        bar.set_postfix(loss=f"{loss_sum / max(seen, 1):.3f}", acc=f"{correct / max(seen, 1):.3f}", lr=f"{lr:.2e}")
    bar.close()
    return loss_sum, correct, seen, lr


def _check_finite_step(loss: torch.Tensor, net: torch.nn.Module, epoch: int, step: int, lr: float) -> None:
    """Stop a diverged run before it is saved. Checked after the optimiser step so that
    every data-parallel rank stops at the same step (a NaN loss on one rank makes NaN
    weights on all of them through the gradient all-reduce)."""
    loss = loss.detach()
    with torch.no_grad():
        bad_weights = non_finite_entries(dict(net.named_parameters()))
    if bad_weights or not bool(torch.isfinite(loss)):
        what = (f"loss {float(loss):g}" if not bool(torch.isfinite(loss))
                else f"{len(bad_weights)} weight tensor(s) hold NaN or Inf ({bad_weights[0]}, ...)")
        raise TrainingDivergedError(
            f"training diverged at epoch {epoch + 1}, step {step}: {what} (learning rate {lr:g}); "
            "nothing of this epoch was saved; lower optim.lr or set train.grad_clip_norm")


def _with_timing(run_dir: Path, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The checkpoint's history with the wall-clock fields metrics.jsonl kept for it."""
    path = run_dir / "metrics.jsonl"
    logged = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                logged[record["epoch"]] = record
            except (ValueError, KeyError, TypeError):
                continue  # a damaged log line: the epoch keeps its checkpointed fields
    return [dict(h, **{k: logged[h["epoch"]][k] for k in TIMING_KEYS if k in logged.get(h["epoch"], {})})
            for h in history]


def _check_data(data: TrainData, frontend, labels: list[str]) -> None:
    """Features of the front-end's shape and labels within the label set, before any step."""
    for k, source in enumerate(data.sources):
        if data.kind == FEATURES:
            shape = tuple(np.shape(source.get(0, None)))
            if shape != tuple(frontend.output_shape):
                raise DataError(
                    f"training source {k}: features of shape {shape}, but front-end {frontend.kind} "
                    f"gives {tuple(frontend.output_shape)} (a cache of another front-end?)"
                )
        top = max(source.label(i) for i in range(len(source)))
        if top >= len(labels):
            raise DataError(f"training source {k}: label {top} but only {len(labels)} labels {labels}")


def _init_weights(path: str, cfg: RunConfig, model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The weights of checkpoint `path` (model.init), which must be the run's own model."""
    ckpt = load_checkpoint(path)
    if not _same_model(ckpt, cfg.model.name, model):
        raise ConfigError(f"model.init {path}: holds {ckpt.model_name} {ckpt.model_kwargs}, not the recipe's "
                          f"{cfg.model.name} {model_kwargs_of(model)}")
    return ckpt.state_dict


def _setup_teacher(cfg: RunConfig, data: TrainData, student_frontend: dict, student=None) -> Teacher | None:
    if not cfg.distill.enabled:
        return None
    teacher = load_teachers(cfg.distill.teachers, cfg.distill.tflite_model, cfg.distill.tflite_frontend)
    if cfg.distill.attention > 0:
        teacher.watch_attention(student)
    if teacher.frontend is not None and teacher.frontend != student_frontend:
        if data.kind != WAVEFORM:
            raise ConfigError(
                f"distill.teacher {teacher.source} uses another front-end than the student; "
                "distilling across front-ends needs waveform data (data.cache: false)"
            )
        from tinykws.audio.frontends import frontend_from_dict

        teacher.frontend_module = frontend_from_dict(teacher.frontend).torch_module()
    return teacher


def _teacher_input(teacher: Teacher, clips: np.ndarray, student_x: torch.Tensor, kind: str) -> torch.Tensor:
    if teacher.frontend_module is None:
        return student_x
    return to_model_input(clips, kind, teacher.frontend_module)


def _same_model(ckpt: Checkpoint, name: str, model) -> bool:
    """Whether `ckpt` holds model `name` with `model`'s constructor arguments (compared with
    defaults filled in, so a checkpoint from before an option was added still matches)."""
    if ckpt.model_name != name:
        return False
    if ckpt.model_kwargs == model_kwargs_of(model):
        return True
    from tinykws.models import build_model

    try:
        rebuilt = build_model(ckpt.model_name, num_classes=ckpt.num_classes, **ckpt.model_kwargs)
    except (ConfigError, TypeError, ValueError, RuntimeError):  # arguments the model cannot be built with
        return False
    return model_kwargs_of(rebuilt) == model_kwargs_of(model)


def _check_same_averaging(ckpt: Checkpoint, cfg: RunConfig, path: Path) -> None:
    """A run resumed with weight averaging switched on, off or to another decay would mix
    two kinds of model in its validation history and best.pt."""
    earlier = ckpt.hooks.get(WeightAverage.name, {}).get("decay", 0.0)
    if float(earlier) != float(cfg.train.ema_decay):
        raise ConfigError(f"{path}: the run was trained with train.ema_decay {earlier}, the recipe now "
                          f"says {cfg.train.ema_decay}; resume with the run's own setting, or start a new run")


def _check_resumable(ckpt: Checkpoint, cfg: RunConfig, model, frontend: dict, labels, path: Path) -> None:
    if not _same_model(ckpt, cfg.model.name, model):
        raise ConfigError(f"{path}: was trained as {ckpt.model_name} {ckpt.model_kwargs}; the recipe asks for "
                          f"{cfg.model.name} {model_kwargs_of(model)}: cannot resume")
    if ckpt.frontend != frontend:
        raise ConfigError(f"{path}: was trained with front-end {ckpt.frontend}, not {frontend}: cannot resume")
    if list(ckpt.labels) != list(labels):
        raise ConfigError(f"{path}: labels {ckpt.labels} differ from {list(labels)}: cannot resume")


def _print_epoch(record: dict[str, Any], epochs: int) -> None:
    val = record.get("val_top1")
    val_text = f" val_top1 {val:.4f}" if val is not None and not math.isnan(val) else ""
    tqdm.write(
        f"epoch {record['epoch']}/{epochs} lr {record['lr']:.2e} loss {record['train_loss']:.4f} "
        f"top1 {record['train_top1']:.4f}{val_text} ({record['train_samples_per_s']:.0f} clips/s)"
    )

