"""What each ingredient adds on real speech: the offline-material and synthetic-only ablations.

Every row trains from scratch with a recipe and a few `--set` overrides, same seed, epochs
and epoch size as the others of its table:

  offline material (recipes/kws12_offline*.yaml):
    partial      the partial Speech Commands copy only
    teacher      + distillation from the MLPerf float reference model
    synth        + the synthetic corpora, no teacher
    both         + both: the recipe before issue 14 (20 epochs, no mined splices)
    <knob rows>  `both` with one setting changed: the go/on/off corpus share, alpha, the seed
    o.e60        `both` trained 60 epochs instead of 20
    o.final60    + teacher-mined splices (tinykws data mine), 60 epochs
    o.final      o.final60 trained 120 epochs: recipes/kws12_offline.yaml
    o.*.seed1    o.e60, o.final60 and o.final with another seed
    o.splice3x   o.final with 3x the mined splices (a second corpus: `tinykws data mine ...
                 --per-class 4500 --candidates 300000 --out .cache/splice_kws12_3x`)
    o.levers     `both` with the synthetic-only levers below; o.mix: + teacher-only inputs
    b.final      recipes/kws12_offline_bc_resnet.yaml: bc_resnet_1 with its own schedule (200 epochs)
    b.final60    b.final trained 60 epochs; b.final.seed1 with another seed
  synthetic speech only (recipes/kws12_synth.yaml, no real clip, no teacher that heard one):
    s.base       the reference augmentation on the corpus' generated noise
    s.<lever>    s.base plus one lever: real noise recordings, real + generated noise,
                 simulated rooms and microphones, SpecAugment
    s.noema      the levers that helped, together (kws12_synth.yaml before weight averaging)
    s.mined      s.noema + splices mined by s.noema's model and distillation from it (needs
                 s.noema's run in --runs-dir and `tinykws data mine --teacher
                 RUNS_DIR/s.noema/best.pt --from .cache/synth_kws12_big
                 --out .cache/splice_synth`)
    s.unknown20  s.noema with twice the share of unknown words
    s.L          s.noema training ds_cnn_l
    s.ens2       s.noema distilled from the ensemble of s.noema and s.L (needs both runs)
    s.final      recipes/kws12_synth.yaml: s.noema + weight averaging (train.ema_decay)
    s.*.seed1    s.noema, s.ens2 and s.final with another seed (s.ens2's teachers stay seed 0);
                 s.*.seed2 a third seed of s.noema and s.final

Each row's best checkpoint (chosen on validation data only: held-out synthetic speakers, plus
the partial copy's validation list for offline rows) is scored on a dev set, the partial real
copy (its validation split for offline rows, all of it for synthetic-only rows, which never
train on it), which is what the levers were chosen on, and once on
../shared/data/sc12_test_dev: top-1 and per-class accuracy. Training a row takes 5-110 minutes
on 2 busy cores: it is a benchmark, not a test. Finished rows are reused (a run folder whose
last epoch is done is only re-scored), an interrupted row resumes from its last.pt, and rows
measured by earlier invocations stay in the JSON. A run folder whose config.yaml differs from
the row as it now is (another setting, or a corpus link that now points elsewhere) stops the
bench with the settings named, rather than being re-scored as if it were the row. The synthetic and mined corpora must exist
first (the commands are in the recipe headers).

    .venv/bin/python bench/offline_ablation.py [--table synth|offline|all] [--rows s.base,s.final]
        [--threads 1] [--runs-dir runs/offline_ablation] [--json bench/results/offline_ablation.json]
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_SET = ROOT.parent / "shared" / "data" / "sc12_test_dev"
PARTIAL = ROOT.parent / "shared" / "data" / "speech_commands_partial"
MAIN = "recipes/kws12_offline.yaml"
REAL = "recipes/kws12_offline_real.yaml"
SYNTH = "recipes/kws12_synth.yaml"
BC = "recipes/kws12_offline_bc_resnet.yaml"
NO_TEACHER = "distill.teacher="
WATCHED = ("go", "on", "off", "stop", "silence")

def _source(path: str, weight: float = 1.0, noise: tuple[str, ...] = ()) -> str:
    """One raw-layout source of a `data.sources` override."""
    extra = f", noise: [{', '.join(noise)}]" if noise else ""
    return f"{{path: {path}, layout: raw, weight: {weight}{extra}}}"


def _sources(*sources: str) -> str:
    return f"data.sources=[{', '.join(sources)}]"


# kws12_offline.yaml as it was before issue 14: three sources (no mined splices), 20 epochs.
# The recipe's sweeps (recipes/sweeps/*_10x.yaml) pin the same.
PRE_SPLICE_SOURCES = (_sources(_source("../../shared/data/speech_commands_partial", 3.0),
                               _source("../.cache/synth_kws12", 1.5), _source("../.cache/synth_go_on_off", 1.5)),)
PRE_SPLICE = PRE_SPLICE_SOURCES + ("train.epochs=20",)
E60 = ("train.epochs=60",)  # the offline recipes' schedule before 120 (ds_cnn) and 200 (bc_resnet_1) epochs

# The synthetic-only levers on kws12_offline.yaml: the big corpus with real + generated noise,
# rooms, microphone colouring, speed change and SpecAugment, 30 epochs.
OFFLINE_LEVERS = (
    "data.sources=[{path: ../../shared/data/speech_commands_partial, layout: raw, weight: 3.0},"
    " {path: ../.cache/synth_kws12_big, layout: raw, weight: 1.5, noise: [../../shared/data/speech_commands_partial/"
    "_background_noise_, ../.cache/synth_kws12_big/_background_noise_]},"
    " {path: ../.cache/synth_go_on_off, layout: raw, weight: 1.5, noise: [../../shared/data/speech_commands_partial/"
    "_background_noise_, ../.cache/synth_go_on_off/_background_noise_]}]",
    "data.validation=[{path: ../../shared/data/speech_commands_partial, layout: raw},"
    " {path: ../.cache/synth_kws12_big, layout: raw}]",
    "data.augment={enabled: true, background_frequency: 0.8, background_volume: 0.1, time_shift_ms: 100.0,"
    " reverb_probability: 0.5, eq_probability: 0.5, speed_range: [0.9, 1.1],"
    " specaugment: {time_masks: 2, time_width: 8, freq_masks: 1, freq_width: 2}}",
    "train.epochs=30",
)
# kws12_synth.yaml as it was before weight averaging joined it; the rows measured then keep it.
NO_EMA = ("train.ema_decay=0.0",)
# kws12_synth.yaml with every lever off: the reference augmentation on the corpus' own noise.
SYNTH_BASE = ("data.sources=[{path: ../.cache/synth_kws12_big, layout: raw, weight: 1.0}]",
              "data.augment={enabled: true, background_frequency: 0.8, background_volume: 0.1, time_shift_ms: 100.0}",
              *NO_EMA)
RUNS_DIR = "RUNS_DIR"  # stands for --runs-dir in overrides (see Row)
# Distillation from the ensemble of two synthetic-only rows' models.
ENSEMBLE = (f"distill.teacher=[{RUNS_DIR}/s.noema/best.pt, {RUNS_DIR}/s.L/best.pt]", *NO_EMA)
REAL_NOISE = "../../shared/data/speech_commands_partial/_background_noise_"
CORPUS_NOISE = "../.cache/synth_kws12_big/_background_noise_"
CHANNEL = ("data.augment.reverb_probability=0.5", "data.augment.eq_probability=0.5",
           "data.augment.speed_range=[0.9, 1.1]")
SPEC = ("data.augment.specaugment={time_masks: 2, time_width: 8, freq_masks: 1, freq_width: 2}",)


@dataclass(frozen=True)
class Row:
    """One training run of the table: a recipe and the overrides that make it differ.
    `dev`: the split of the partial real copy scored for selection ("validation" when the
    row trains on the copy, "all" when it never sees it). An override may name another row's
    run as RUNS_DIR/<row>/...; the command puts the actual --runs-dir there."""

    name: str
    recipe: str
    overrides: tuple[str, ...]
    what: str
    table: str = "offline"
    dev: str = "validation"

    def settings(self, runs_dir: Path, threads: int) -> list[str]:
        """The row's --set overrides, with RUNS_DIR made `runs_dir`."""
        return [o.replace(RUNS_DIR, str(runs_dir.resolve())) for o in self.overrides + (f"train.threads={threads}",)]

    def command(self, out_dir: Path, threads: int) -> list[str]:
        cmd = ["tinykws", "train", self.recipe]
        for o in self.settings(out_dir.parent, threads):
            cmd += ["--set", o]
        return cmd + ["--out", str(out_dir), "--no-progress"]


ROWS = (
    Row("partial", REAL, (NO_TEACHER,), "partial Speech Commands copy only"),
    Row("teacher", REAL, (), "+ teacher (distillation, alpha 0.5, T 4)"),
    Row("synth", MAIN, PRE_SPLICE + (NO_TEACHER,), "+ synthetic corpora (no teacher)"),
    Row("both", MAIN, PRE_SPLICE, "+ synthetic + teacher (the recipe before issue 14)"),
    Row("goonoff0.5", MAIN, PRE_SPLICE + ("data.sources.2.weight=0.5",), "both, go/on/off corpus weight 0.5 (of 5.0)"),
    Row("goonoff3", MAIN, PRE_SPLICE + ("data.sources.2.weight=3.0",), "both, go/on/off corpus weight 3.0 (of 7.5)"),
    Row("alpha0.8", MAIN, PRE_SPLICE + ("distill.alpha=0.8",), "both, distillation alpha 0.8 instead of 0.5"),
    Row("seed1", MAIN, PRE_SPLICE + ("train.seed=1",), "both, another seed (run-to-run spread)"),
    Row("o.e60", MAIN, PRE_SPLICE_SOURCES + E60, "both, 60 epochs instead of 20"),
    Row("o.final60", MAIN, E60, "o.e60 + teacher-mined splices"),
    Row("o.final", MAIN, (), "o.final60 trained 120 epochs: recipes/kws12_offline.yaml"),
    Row("o.e60.seed1", MAIN, PRE_SPLICE_SOURCES + E60 + ("train.seed=1",), "o.e60, another seed (run-to-run spread)"),
    Row("o.final60.seed1", MAIN, E60 + ("train.seed=1",), "o.final60, another seed (run-to-run spread)"),
    Row("o.final.seed1", MAIN, ("train.seed=1",), "o.final, another seed (run-to-run spread)"),
    Row("o.splice3x", MAIN, ("data.sources.3.path=../.cache/splice_kws12_3x",),
        "o.final with 3x the splices (mined with --per-class 4500 --candidates 300000)"),
    # --- synthetic speech only (no real clip, no teacher): each lever alone on the base ---
    Row("s.base", SYNTH, SYNTH_BASE, "synthetic only: 1,500 clips a keyword, reference augmentation",
        "synth", "all"),
    Row("s.realnoise", SYNTH, SYNTH_BASE + (_sources(_source("../.cache/synth_kws12_big", noise=(REAL_NOISE,))),),
        "s.base, real noise recordings instead of generated ones (silence and mixing)", "synth", "all"),
    Row("s.bothnoise", SYNTH, SYNTH_BASE + (_sources(_source("../.cache/synth_kws12_big", noise=(REAL_NOISE, CORPUS_NOISE))),),
        "s.base, real + generated noise recordings", "synth", "all"),
    Row("s.channel", SYNTH, SYNTH_BASE + CHANNEL,
        "s.base + rooms (p 0.5), microphone colouring (p 0.5), speed 0.9-1.1", "synth", "all"),
    Row("s.specaug", SYNTH, SYNTH_BASE + SPEC, "s.base + SpecAugment (2 x 8 frames, 1 x 2 features)",
        "synth", "all"),
    Row("s.noema", SYNTH, NO_EMA, "real + generated noise, channel, SpecAugment (kws12_synth.yaml before "
        "weight averaging)", "synth", "all"),
    Row("s.mined", SYNTH, (
        _sources(_source("../.cache/synth_kws12_big", noise=(REAL_NOISE, CORPUS_NOISE)),
                 _source("../.cache/splice_synth", 0.5, (REAL_NOISE, CORPUS_NOISE))),
        f"distill.teacher={RUNS_DIR}/s.noema/best.pt", *NO_EMA),
        "s.noema + splices mined by s.noema's model (weight 0.5 of 1.5), distilled from it", "synth", "all"),
    Row("s.unknown20", SYNTH, ("data.unknown_percentage=20.0", *NO_EMA),
        "s.noema with 20 % unknown words instead of 10 %", "synth", "all"),
    Row("s.L", SYNTH, ("model.name=ds_cnn_l", *NO_EMA), "s.noema training ds_cnn_l (417 K parameters) instead",
        "synth", "all"),
    Row("s.ens2", SYNTH, ENSEMBLE,
        "s.noema distilled from the ensemble of s.noema and s.L (both synthetic only)", "synth", "all"),
    Row("s.final", SYNTH, (), "recipes/kws12_synth.yaml: s.noema + weight averaging (train.ema_decay 0.999)",
        "synth", "all"),
    Row("s.noema.seed1", SYNTH, NO_EMA + ("train.seed=1",), "s.noema, another seed (run-to-run spread)",
        "synth", "all"),
    Row("s.ens2.seed1", SYNTH, ENSEMBLE + ("train.seed=1",),
        "s.ens2 with another seed for the student (same teachers)", "synth", "all"),
    Row("s.final.seed1", SYNTH, ("train.seed=1",), "s.final, another seed (run-to-run spread)", "synth", "all"),
    Row("s.noema.seed2", SYNTH, NO_EMA + ("train.seed=2",), "s.noema, a third seed", "synth", "all"),
    Row("s.final.seed2", SYNTH, ("train.seed=2",), "s.final, a third seed", "synth", "all"),
    # --- offline material: the synthetic-only levers on kws12_offline ---------------------
    Row("o.levers", MAIN, OFFLINE_LEVERS, "both + big corpus with real + generated noise, rooms, microphones, "
        "speed, SpecAugment, 30 epochs"),
    Row("o.mix", MAIN, OFFLINE_LEVERS + ("distill.mix_share=0.2", "distill.crop_share=0.1"),
        "o.levers + teacher-only inputs: 20 % mixtures of two clips, 10 % cut-off words"),
    Row("b.final", BC, (), "recipes/kws12_offline_bc_resnet.yaml: bc_resnet_1 with its own schedule, 200 epochs"),
    Row("b.final60", BC, E60, "b.final trained 60 epochs instead of 200"),
    Row("b.final.seed1", BC, ("train.seed=1",), "b.final, another seed (run-to-run spread)"),
)


@dataclass(frozen=True)
class RowResult:
    """A row's measured numbers. Accuracies are percentages."""

    name: str
    what: str
    command: str
    epochs: int
    best_epoch: int
    best_val_top1: float | None
    train_minutes: float | None
    test_top1: float
    per_class: dict[str, float]
    macro_auc: float
    dev_top1: float | None = None
    dev_per_class: dict[str, float] | None = None


def _flat(tree: object, prefix: str = "") -> dict[str, object]:
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items() for k, v in _flat(sub, f"{prefix}{key}.").items()}
    if isinstance(tree, list) and tree:
        return {k: v for i, sub in enumerate(tree) for k, v in _flat(sub, f"{prefix}{i}.").items()}
    return {prefix[:-1]: tree}


# Settings that do not change what a run learns.
_NOT_COMPARED = ("train.threads", "train.progress")


def config_differences(run_dir: Path, cfg) -> list[str]:
    """The settings (dotted keys) in which the run in `run_dir` (its config.yaml) differs
    from `cfg`, threads and progress bars aside; [] when it has no config.yaml yet. The saved
    config is read back through the current schema, so a setting added since takes its
    default. Recipes resolve relative corpus paths (the bench's are all relative), so a
    cache folder that now links to another corpus is a difference."""
    import yaml

    from tinykws.config import load_yaml
    from tinykws.errors import ConfigError
    from tinykws.train.recipe import config_from_dict, config_to_yaml

    saved = run_dir / "config.yaml"
    if not saved.is_file():
        return []
    try:
        old_cfg = config_from_dict(load_yaml(saved), where=str(saved))
    except ConfigError as exc:
        return [f"config.yaml, which the current code cannot read ({exc})"]
    old, new = (_flat(yaml.safe_load(config_to_yaml(c))) for c in (old_cfg, cfg))
    return sorted(k for k in old.keys() | new.keys() if k not in _NOT_COMPARED and old.get(k) != new.get(k))


def _finished(run_dir: Path, epochs: int) -> bool:
    metrics = run_dir / "metrics.jsonl"
    if not (run_dir / "best.pt").is_file() or not metrics.is_file():
        return False
    lines = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    return bool(lines) and lines[-1]["epoch"] >= epochs


def _history(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]


def run_row(row: Row, runs_dir: Path, threads: int) -> RowResult:
    """Train `row` (unless already finished) and score its best.pt on the test set."""
    from tinykws.eval.evaluate import evaluate_folder
    from tinykws.train.recipe import load_recipe

    cfg = load_recipe(ROOT / row.recipe, row.settings(runs_dir, threads))
    run_dir = runs_dir / row.name
    cmd = row.command(run_dir, threads)
    minutes = None
    # A finished run is re-scored, not retrained, so it must be a run of this row as it now is.
    changed = config_differences(run_dir, cfg)
    if changed:
        raise SystemExit(f"{run_dir}: holds a run of another configuration (differs in {', '.join(changed)}); "
                         "remove it or pass another --runs-dir")
    if not _finished(run_dir, cfg.train.epochs):
        resume = ["--resume"] if (run_dir / "last.pt").is_file() else []
        t0 = time.perf_counter()
        argv = [sys.executable, "-m", "tinykws.cli.main"] + cmd[1:] + resume
        subprocess.run(argv, cwd=ROOT, check=True)
        minutes = (time.perf_counter() - t0) / 60.0
    history = _history(run_dir)
    best = max(history, key=lambda h: h.get("val_top1", -1.0))
    dev = evaluate_folder(run_dir / "best.pt", PARTIAL, "torch", split=row.dev).result
    result = evaluate_folder(run_dir / "best.pt", TEST_SET, "torch").result
    return RowResult(
        name=row.name, what=row.what, command=shlex.join(cmd), epochs=history[-1]["epoch"],
        best_epoch=int(best["epoch"]), best_val_top1=round(100.0 * best["val_top1"], 2) if "val_top1" in best else None,
        train_minutes=None if minutes is None else round(minutes, 1),
        test_top1=round(100.0 * result.top1, 2), per_class=_per_class(result), macro_auc=round(float(result.macro_auc), 4),
        dev_top1=round(100.0 * dev.top1, 2), dev_per_class=_per_class(dev),
    )


def _per_class(result) -> dict[str, float]:
    return {name: round(100.0 * float(a), 2) for name, a in zip(result.labels, result.per_class_accuracy)}


def format_table(results: list[RowResult]) -> str:
    head = (f"{'row':<14}{'test top-1':>11}" + "".join(f"{w[:7]:>8}" for w in WATCHED)
            + f"{'dev':>8}{'val':>8}  what")
    lines = [head, "-" * len(head)]
    for r in results:
        val = "-" if r.best_val_top1 is None else f"{r.best_val_top1:.2f}"
        dev = "-" if r.dev_top1 is None else f"{r.dev_top1:.2f}"
        lines.append(
            f"{r.name:<14}{r.test_top1:>10.2f}%" + "".join(f"{r.per_class[w]:>7.1f}%" for w in WATCHED)
            + f"{dev:>8}{val:>8}  {r.what}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="",
                    help="comma-separated rows to run (default: every row of --table): " + ", ".join(r.name for r in ROWS))
    ap.add_argument("--table", choices=("offline", "synth", "all"), default="all",
                    help="offline material or synthetic speech only (default: both)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads per training (default 1: 2 were several times slower on a busy 2-core machine)")
    ap.add_argument("--runs-dir", type=Path, default=ROOT / "runs" / "offline_ablation")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "offline_ablation.json")
    args = ap.parse_args(argv)

    by_name = {r.name: r for r in ROWS}
    wanted = [w.strip() for w in args.rows.split(",") if w.strip()] or [
        r.name for r in ROWS if args.table in ("all", r.table)]
    unknown = [w for w in wanted if w not in by_name]
    if unknown:
        ap.error(f"unknown rows {unknown}; known: {', '.join(by_name)}")
    if not TEST_SET.is_dir():
        print(f"{TEST_SET} not found: nothing to score on", file=sys.stderr)
        return 2

    from tinykws.fileio import write_json

    # Rows measured earlier stay in the JSON (replaced when measured again), so that rows
    # can be run one at a time, in parallel invocations, and still make one table.
    kept = {}
    if args.json.is_file():
        kept = {r["name"]: r for r in json.loads(args.json.read_text()).get("rows", [])}
    results: list[RowResult] = []
    for name in wanted:
        results.append(run_row(by_name[name], args.runs_dir, args.threads))
        print(format_table(results[-1:]).splitlines()[-1], flush=True)
        if args.json.is_file():  # another invocation may have written rows meanwhile
            kept.update({r["name"]: r for r in json.loads(args.json.read_text()).get("rows", [])})
        kept[name] = asdict(results[-1])
        order = [r.name for r in ROWS]
        rows = sorted(kept.values(), key=lambda r: order.index(r["name"]) if r["name"] in order else len(order))
        write_json(args.json, {"test_set": str(TEST_SET), "dev_set": str(PARTIAL), "rows": rows})
    print(format_table(results))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
