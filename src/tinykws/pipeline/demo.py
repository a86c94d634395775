"""The main job, `tinykws demo`: from nothing to a trained, evaluated, int8-exported
keyword spotter, offline, in minutes.

1. synthesize a small 12-class corpus (`data.synth`, raw Speech Commands layout);
2. train `ds_cnn` on it (the corpus' noise, simulated rooms and microphones, speed change,
   SpecAugment; weight averaging);
3. evaluate on the corpus' held-out speakers, and on real speech when a folder of it
   exists (by default ../shared/data/sc12_test_dev beside the working folder);
4. quantize to int8, export a .tflite, read it back and check its int8 outputs in the
   numpy runtime, LiteRT and TFLite Micro;
5. write plots and a short HTML report, and say where everything is.

Every stage is a library call of its own layer; this module only strings them together.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinykws.data.labels import MLPERF_KEYWORDS
from tinykws.errors import DataError
from tinykws.eval.metrics import EvalResult
from tinykws.fileio import write_json
from tinykws.report.html import ReportSection, write_report
from tinykws.report.plots import evaluation_plots, training_curves_png

DEFAULT_REAL_TEST = Path("..") / "shared" / "data" / "sc12_test_dev"
# Real background-noise recordings (no speech in them): the corpus' silence and mixing noise
# come from these and the generated noise when they are present.
DEFAULT_NOISE = Path("..") / "shared" / "data" / "speech_commands_partial" / "_background_noise_"


def demo_augment():
    """The demo's training augmentation: the reference one, simulated rooms and microphones,
    speed change and SpecAugment (see recipes/kws12_synth.yaml for what each adds)."""
    from tinykws.train.config import AugmentConfig, SpecAugmentConfig

    return AugmentConfig(reverb_probability=0.5, eq_probability=0.5, speed_range=(0.9, 1.1),
                         specaugment=SpecAugmentConfig(time_masks=2, time_width=8, freq_masks=1, freq_width=2))


@dataclass(frozen=True)
class DemoOptions:
    """What the demo makes. `per_word` synthetic clips per keyword, `unknown_clips` in all;
    `real_test`: a folder of real speech to score on (None: the default path if it exists;
    "" to skip); `noise_dir`: noise recordings copied into the corpus (None: the real
    Speech Commands noise if present; "" none); `augment`: None = `demo_augment()`;
    `quantize`: also make and check the int8 .tflite; `ema_decay`: weight averaging
    (`train.ema_decay`; 0 = off), whose average is what is scored and exported."""

    out_dir: str = "runs/demo"
    per_word: int = 500
    unknown_clips: int = 2500
    engines: tuple[tuple[str, float], ...] | None = None  # None: every installed engine
    noise_dir: str | None = None
    augment: Any = None
    epochs: int = 20
    epoch_size: int = 8000  # clips per epoch (0: the corpus' training clips)
    batch_size: int = 64
    seed: int = 0
    # Chosen on the partial real copy over two seeds (78.45 / 78.32 % against 78.36 / 77.63 %),
    # as for recipes/kws12_synth.yaml; a third seed, run after the choice, was behind (77.92
    # against 78.14 %): +0.19 points on average over the three, a small gain.
    ema_decay: float = 0.999
    workers: int = 2
    threads: int = 2
    real_test: str | None = None
    quantize: bool = True
    progress: bool = True


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote things and what it measured (accuracies are fractions 0..1)."""

    out_dir: Path
    corpus_dir: Path
    run_dir: Path
    checkpoint: Path
    report: Path
    evaluations: dict[str, EvalResult]
    tflite: Path | None = None
    int8_top1: dict[str, float] = field(default_factory=dict)
    verification: tuple[str, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready digest."""
        return {
            "out_dir": str(self.out_dir),
            "corpus": str(self.corpus_dir),
            "checkpoint": str(self.checkpoint),
            "report": str(self.report),
            "tflite": None if self.tflite is None else str(self.tflite),
            "top1": {k: float(v.top1) for k, v in self.evaluations.items()},
            "per_class": {k: v.to_dict()["per_class_accuracy"] for k, v in self.evaluations.items()},
            "int8_top1": self.int8_top1,
            "verification": list(self.verification),
            "seconds": self.seconds,
        }


def _resolve_real_test(option: str | None) -> Path | None:
    """The real-speech folder to score on: the default one only if present; one the user
    named must exist and be a dataset (checked before any work starts)."""
    from tinykws.data.layouts import detect_layout

    if option == "":
        return None
    if option is None:
        return DEFAULT_REAL_TEST if DEFAULT_REAL_TEST.is_dir() else None
    path = Path(option)
    if not path.is_dir():
        raise DataError(f"{path}: real-speech test folder not found")
    detect_layout(path)  # raises DataError naming the folder if it is neither layout
    return path


def _resolve_noise(option: str | None) -> str | None:
    if option == "":
        return None
    if option is None:
        return str(DEFAULT_NOISE) if DEFAULT_NOISE.is_dir() else None
    if not Path(option).is_dir():
        raise DataError(f"{option}: noise folder not found")
    return option


def _synthesize(opts: DemoOptions, corpus: Path, noise_dir: str | None):
    from tinykws.data.synth.corpus import SynthOptions, synthesize_corpus

    return synthesize_corpus(SynthOptions(
        words=tuple(MLPERF_KEYWORDS), out_dir=str(corpus), per_word=opts.per_word,
        unknown_clips=opts.unknown_clips, engines=opts.engines, seed=opts.seed,
        workers=opts.workers, noise_seconds=30.0, progress=opts.progress, noise_dir=noise_dir,
        replace_other=True,  # the demo's own folder: a corpus of an older version is made again
    ))


def _train(opts: DemoOptions, corpus: Path, run_dir: Path):
    from tinykws.train.config import (DataConfig, DataSourceConfig, FrontendConfig, ModelConfig,
                                      OptimConfig, RunConfig, TrainConfig)
    from tinykws.train.data import build_train_data
    from tinykws.train.loop import train
    from tinykws.train.schedules import ScheduleConfig
    from tinykws.train.setup import resolve_frontend

    cfg = RunConfig(
        name="demo",
        data=DataConfig(sources=(DataSourceConfig(path=str(corpus), layout="raw"),), epoch_size=opts.epoch_size,
                        augment=opts.augment if opts.augment is not None else demo_augment()),
        model=ModelConfig(name="ds_cnn"),
        frontend=FrontendConfig(name="mlperf_mfcc"),
        optim=OptimConfig(name="adam", lr=2e-3),
        schedule=ScheduleConfig(name="cosine", warmup_epochs=1.0),
        train=TrainConfig(epochs=opts.epochs, batch_size=opts.batch_size, seed=opts.seed,
                          threads=opts.threads, label_smoothing=0.05, ema_decay=opts.ema_decay,
                          progress=opts.progress),
    )
    data = build_train_data(cfg.data, resolve_frontend(cfg), seed=opts.seed, progress=opts.progress)
    return train(cfg, data, run_dir)


def _evaluate(checkpoint: Path, sets: dict[str, tuple[Path, str]], progress: bool) -> dict[str, EvalResult]:
    from tinykws.audio.frontends import frontend_from_dict
    from tinykws.eval.dataset import dataset_features
    from tinykws.eval.evaluate import evaluate_runner
    from tinykws.eval.runner import open_runner

    results = {}
    with open_runner("torch", checkpoint) as runner:
        frontend = frontend_from_dict(runner.info.frontend)
        for name, (path, split) in sets.items():
            data = dataset_features(path, split, frontend, runner.info.labels, progress=progress)
            results[name] = evaluate_runner(runner, data).result
    return results


def _quantize(checkpoint: Path, corpus: Path, test_dir: Path, out: Path, progress: bool):
    from tinykws.export.quantize_job import quantize_job
    from tinykws.train.config import ExportSection, QuantSection

    return quantize_job(checkpoint, out, QuantSection(calib_clips=300), ExportSection(), corpus, test_dir,
                        progress=progress)


def _glued_track(checkpoint: Path, corpus: Path, real: Path | None, out: Path) -> ReportSection | None:
    """Two tracks of the corpus's unknown words glued with a "yes" (real speech when there
    is some) between them, listened to as a stream (the demo's model runs whole windows:
    it has 'same' padding)."""
    from tinykws.pipeline.glued import glued_track, tracks_from_folder
    from tinykws.stream.detector import Detector

    try:
        track_a, clip, track_b = tracks_from_folder(corpus, real or corpus)
    except DataError:
        return None
    with Detector(checkpoint) as detector:
        result = glued_track(detector, track_a, clip, track_b, "yes", out)
    return result.section("Streaming: two tracks glued with 'yes' between them")


def run_demo(opts: DemoOptions = DemoOptions()) -> DemoResult:
    """Run the whole demo; returns where everything is and the measured accuracies."""
    out = Path(opts.out_dir)
    corpus, run_dir = out / "corpus", out / "train"
    seconds: dict[str, float] = {}

    def timed(stage: str, fn, *args):
        t0 = time.perf_counter()
        value = fn(*args)
        seconds[stage] = round(time.perf_counter() - t0, 2)
        return value

    real = _resolve_real_test(opts.real_test)
    noise_dir = _resolve_noise(opts.noise_dir)
    synth = timed("synthesize", _synthesize, opts, corpus, noise_dir)
    if run_dir.exists() and (run_dir / "last.pt").exists():
        import shutil

        shutil.rmtree(run_dir)  # a demo re-run trains afresh; the corpus is kept (resumable)
    result = timed("train", _train, opts, corpus, run_dir)
    checkpoint = result.best_path if result.best_path.is_file() else result.last_path

    sets = {"synthetic test": (corpus, "test")}
    if real is not None:
        sets["real speech"] = (real, "all")
    evaluations = timed("evaluate", _evaluate, checkpoint, sets, opts.progress)

    plots: list[Path] = [training_curves_png(result.history, out / "training_curves.png")]
    for name, ev in evaluations.items():
        prefix = name.replace(" ", "_") + "_"
        plots.extend(evaluation_plots(ev, out / "plots", prefix=prefix).values())
        write_json(out / f"{prefix}eval.json", ev.to_dict())

    tflite, int8, verification = None, {}, []
    quant_facts: dict[str, Any] = {}
    if opts.quantize:
        test_dir = real if real is not None else corpus
        q = timed("quantize", _quantize, checkpoint, corpus, test_dir, out / "int8", opts.progress)
        tflite = q.tflite_path
        int8 = {k: v / 100.0 for k, v in q.accuracy.items()}
        verification = q.verification.lines() if q.verification is not None else ["not verified"]
        quant_facts = {"tflite": q.tflite_path, "size (bytes)": q.size_bytes,
                       "TFLite-Micro arena (bytes)": q.arena_bytes,
                       **{f"top-1 {k} (%)": v for k, v in q.accuracy.items()},
                       "tested on": q.test_source,
                       **{f"check {i + 1}": line for i, line in enumerate(verification)}}

    report = out / "report.html"
    sections = [
        ReportSection("Summary", facts={
            "corpus": f"{corpus} ({synth.clips_written + synth.clips_kept} clips, {synth.speakers} speakers, "
                      f"engines {', '.join(sorted(synth.engines))})",
            "noise": f"generated + {noise_dir}" if noise_dir else "generated only",
            "model": "ds_cnn (MLPerf Tiny DS-CNN), mlperf_mfcc 49x10",
            "checkpoint": checkpoint,
            "best validation top-1": result.best_val_top1 if result.best_val_top1 is not None else "n/a",
            "epochs": result.epochs_completed,
            **{f"seconds: {k}": v for k, v in seconds.items()},
        }),
        ReportSection("Accuracy per class", evaluations=evaluations),
        ReportSection("Plots", images=plots),
    ]
    if quant_facts:
        sections.append(ReportSection("int8 model", facts=quant_facts))
    glued = timed("glued track", _glued_track, checkpoint, corpus, real, out / "glued")
    if glued is not None:
        sections.append(glued)
    write_report(report, "tinykws demo", sections)
    demo = DemoResult(out, corpus, run_dir, checkpoint, report, evaluations, tflite=tflite, int8_top1=int8,
                      verification=tuple(verification), seconds=seconds)
    write_json(out / "demo.json", demo.summary())
    return demo


__all__ = ["DemoOptions", "DemoResult", "run_demo"]
