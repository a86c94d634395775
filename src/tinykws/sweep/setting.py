"""One sweep setting, from its starting point to a scored, measured model.

Steps, each resumable: (1) the starting weights: another setting's trained float model,
structurally pruned when asked (saved as init.pt); (2) training from the sweep's recipe
with the setting's model, teacher, distillation and unstructured pruning (a run folder
that resumes from last.pt); (3) storing the model as float32 or float16 .tflite (run in
LiteRT) or as int8 (PTQ or QAT, the integer network scored in the numpy runtime and
verified in LiteRT and TFLite Micro; narrower or other schemes scored in the fake-quant
simulation); (4) measurements of what is stored (see `sweep.measure`). The result is
written to result.json with the setting's fingerprint, which is how a sweep knows it
is done.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from tinykws.config import to_dict
from tinykws.errors import TinyKWSError
from tinykws.fileio import write_json
from tinykws.sweep.spec import SettingSpec, SweepSpec
from tinykws.train.config import DistillConfig, ModelConfig, PruneSection, RunConfig


class SweepInterrupted(TinyKWSError):
    """A setting stopped before its end (stop_after_epochs); rerunning the sweep resumes it."""


def setting_dir(out: Path, name: str) -> Path:
    return out / "settings" / name


def float_checkpoint(spec: SweepSpec, name: str, out: Path) -> Path:
    """The float checkpoint setting `name` ends with (its own run, its pruned start, or its source's)."""
    s = spec.setting(name)
    sdir = setting_dir(out, name)
    if s.trains:
        return sdir / "train" / "best.pt"
    if s.prune is not None:
        return sdir / "init.pt"
    return float_checkpoint(spec, s.start, out)


def _teacher_path(spec: SweepSpec, s: SettingSpec, out: Path) -> str:
    if s.teacher in ("", "none"):
        return ""
    return str(float_checkpoint(spec, s.teacher, out)) if s.teacher in spec.names else s.teacher


def training_config(spec: SweepSpec, s: SettingSpec, out: Path, init: str = "",
                    model: tuple[str, dict] | None = None) -> RunConfig:
    """The setting's RunConfig: the sweep's recipe and overrides, then the setting's own."""
    from tinykws.train.recipe import load_recipe

    cfg = load_recipe(spec.recipe, list(spec.overrides) + list(s.train or ()) + [f"name={s.name}",
                                                                                  "train.progress=false"])
    name, kwargs = model or (s.model or cfg.model.name, dict(s.model_kwargs))
    cfg = replace(cfg, model=ModelConfig(name, kwargs, init))
    if s.teacher == "none":
        cfg = replace(cfg, distill=DistillConfig())
    elif s.teacher:
        d = s.distill or DistillConfig()
        cfg = replace(cfg, distill=replace(cfg.distill, teacher=_teacher_path(spec, s, out), alpha=d.alpha,
                                           temperature=d.temperature, attention=d.attention))
    if s.prune is not None and s.prune.kind == "unstructured":
        end = s.prune.end_epoch or round(cfg.train.epochs * 2 / 3, 3)
        cfg = replace(cfg, prune=PruneSection(amount=s.prune.amount, scope=s.prune.scope, end_epoch=end,
                                              exclude=tuple(s.prune.exclude)))
    cfg.validate()
    return cfg


def _starting_point(spec: SweepSpec, s: SettingSpec, out: Path) -> tuple[str, tuple[str, dict] | None]:
    """(init checkpoint, (model name, kwargs) when it differs from the setting's)."""
    if not s.start:
        return "", None
    from tinykws.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint

    source = load_checkpoint(float_checkpoint(spec, s.start, out))
    if s.prune is None or s.prune.kind != "structured":
        return str(float_checkpoint(spec, s.start, out)), (source.model_name, dict(source.model_kwargs))
    from tinykws.compress import prune_channels

    init = setting_dir(out, s.name) / "init.pt"
    pruned = prune_channels(source.build_model(), s.prune.amount, s.prune.criterion)
    kwargs = {k: v for k, v in pruned.model_kwargs.items() if k != "num_classes"}
    if not init.is_file():
        save_checkpoint(Checkpoint(pruned.model_name, kwargs, source.num_classes, pruned.state_dict(),
                                   source.frontend, source.labels, config=source.config), init)
    return str(init), (pruned.model_name, kwargs)


def train_setting(spec: SweepSpec, s: SettingSpec, out: Path, stop_after_epochs: int | None = None) -> dict[str, Any]:
    """Train setting `s` (resuming its run folder); returns a summary of the run."""
    from tinykws.compress import pruning_hooks
    from tinykws.train.batches import num_batches
    from tinykws.train.data import build_train_data
    from tinykws.train.loop import train
    from tinykws.train.setup import resolve_frontend

    init, model = _starting_point(spec, s, out)
    if not s.trains:
        return {}
    cfg = training_config(spec, s, out, init, model)
    run_dir = setting_dir(out, s.name) / "train"
    data = build_train_data(cfg.data, resolve_frontend(cfg), seed=cfg.train.seed, progress=False)
    hooks = pruning_hooks(cfg.prune, num_batches(data, cfg.train.batch_size))
    result = train(cfg, data, run_dir, resume=(run_dir / "last.pt").is_file(), stop_after_epochs=stop_after_epochs,
                   hooks=hooks)
    if result.epochs_completed < cfg.train.epochs and not result.stopped_early:
        raise SweepInterrupted(f"setting {s.name}: stopped after {result.epochs_completed} of {cfg.train.epochs} "
                               "epochs; run the sweep again to resume")
    return {"epochs": result.epochs_completed, "best_epoch": result.best_epoch, "best_val_top1": result.best_val_top1,
            "seconds": round(sum(h.get("seconds", 0.0) for h in result.history), 1),
            "config": to_dict(cfg)}


def run_setting(spec: SweepSpec, name: str, out: Path, stop_after_epochs: int | None = None) -> dict[str, Any]:
    """Run (or resume) setting `name` of `spec` into `out`; returns and writes its result."""
    from tinykws.sweep.store import store_and_score

    s = spec.setting(name)
    sdir = setting_dir(out, name)
    sdir.mkdir(parents=True, exist_ok=True)
    print(f"setting {name}: {s.description or 'no description'}", flush=True)
    training = train_setting(spec, s, out, stop_after_epochs)
    if training:
        print(f"trained {training['epochs']} epochs in {training['seconds']} s, best validation top-1 "
              f"{training['best_val_top1']} at epoch {training['best_epoch']} (per epoch: train/metrics.jsonl)",
              flush=True)
    result = store_and_score(spec, s, float_checkpoint(spec, name, out), sdir)
    print(f"stored as {s.quant.mode}: top-1 {result['top1']} % on {result['test_clips']} test clips "
          f"({result['scored_with']}), {result['file_bytes']} bytes", flush=True)
    for check in (result.get("verification") or {}).get("checks", []):
        print(f"verified: {check['engine']}: {check['identical']}/{check['total']} identical int8 outputs", flush=True)
    result.update(setting=name, description=s.description, fingerprint=spec.fingerprint(name), training=training,
                  spec=to_dict(s))
    write_json(sdir / "result.json", result)
    return result


def cached_result(spec: SweepSpec, name: str, out: Path) -> dict[str, Any] | None:
    """The setting's result.json if it exists and was made by this very setting."""
    path = setting_dir(out, name) / "result.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if data.get("fingerprint") == spec.fingerprint(name) else None


def run_setting_job(spec_path: str, name: str, out: str, stop_after_epochs: int | None = None) -> dict[str, Any]:
    """Entry point of a worker process (or Ray task): one thread, output to the setting's log."""
    import contextlib

    from tinykws.sweep.spec import load_sweep

    torch.set_num_threads(1)
    spec = load_sweep(spec_path)
    sdir = setting_dir(Path(out), name)
    sdir.mkdir(parents=True, exist_ok=True)
    with open(sdir / "log.txt", "a", encoding="utf-8") as log, contextlib.redirect_stdout(log), \
            contextlib.redirect_stderr(log):
        print(f"== setting {name} (pid {os.getpid()})", flush=True)
        return run_setting(spec, name, Path(out), stop_after_epochs)
