"""Kill `features`, `quantize`, `train` and `data synth` at random moments, check what they
left, restart them, and check that the restarted run finishes with the same output as an
uninterrupted one.

    PYTHONPATH=src nice -n 19 python bench/kill_restart.py [--trials 20] [--seed 0]

Per trial: start the verb, send SIGKILL, SIGTERM or SIGINT after a random delay (0.2 to
1.1 times the uninterrupted run's time, most of which is past the imports), then check that the output is whole or absent
(never a new file beside a stale one, never a partial file), restart it (train resumes
from last.pt when there is one) and compare the final output with the reference run.
Prints a table and writes bench/results/kill_restart.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
RESULTS = ROOT / "bench" / "results"
SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT)
RECIPE = """name: kr
data: {{sources: [{{path: {data}, layout: raw}}]}}
model: {{name: ds_cnn, kwargs: {{layers: [[8, 10, 4, 2, 2], [8, 3, 3, 1, 1]]}}}}
frontend: {{name: mlperf_mfcc}}
schedule: {{name: constant}}
train: {{epochs: 4, batch_size: 16, seed: 1, threads: 1}}
"""


def visible_tree(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder` whose path has no hidden part."""
    if not folder.exists():
        return {}
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts):
            out[rel.as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def leftovers(folder: Path) -> list[str]:
    """Temporaries of dead runs: hidden temp files, staging folders and commit journals."""
    if not folder.exists():
        return []
    marks = (".tmp-", ".old-", ".tinykws-stage-", ".tinykws-commit-")
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if any(m in p.name for m in marks))


class Verb:
    """One verb under test: its command, how to check a killed state, what 'same' means."""

    name = ""

    def __init__(self, work: Path, data: Path):
        self.work, self.data = work, data

    def command(self, out: Path, restart: bool) -> list[str]:
        raise NotImplementedError

    def check_killed(self, out: Path) -> str:
        """"" if the state after a kill is whole or absent, else what is wrong."""
        raise NotImplementedError

    def final(self, out: Path) -> dict:
        """What must equal the reference run."""
        return visible_tree(out)


class Features(Verb):
    name = "features"

    def command(self, out, restart):
        return ["features", str(self.data), "--out", str(out / "f.npy"), "--no-progress"]

    def check_killed(self, out):
        npy, meta = out / "f.npy", out / "f.json"
        if npy.exists() != meta.exists():
            return "one of f.npy / f.json without the other"
        if npy.exists() and len(np.load(npy)) != len(json.loads(meta.read_text())["files"]):
            return "f.npy and f.json describe different files"
        return ""


class Quantize(Verb):
    name = "quantize"

    def __init__(self, work, data, checkpoint):
        super().__init__(work, data)
        self.checkpoint = checkpoint

    def command(self, out, restart):
        return ["quantize", str(self.checkpoint), "--data", str(self.data), "--out", str(out / "int8"),
                "--calib", "16", "--no-progress"]

    def check_killed(self, out):
        q = out / "int8"
        if not q.exists():
            return ""
        names = sorted(p.name for p in q.iterdir())
        if names != [".tinykws-output", "manifest.json", "model.tflite", "quantized.pt", "summary.json"]:
            return f"partial output {names}"
        manifest = json.loads((q / "manifest.json").read_text())
        if manifest["sha256"] != hashlib.sha256((q / "model.tflite").read_bytes()).hexdigest():
            return "manifest.json describes another model.tflite"
        return ""

    def final(self, out):
        tree = visible_tree(out / "int8")
        tree.pop("summary.json", None)  # holds timings of the verification
        return tree


class Train(Verb):
    name = "train"

    def __init__(self, work, data, recipe):
        super().__init__(work, data)
        self.recipe = recipe

    def command(self, out, restart):
        run = out / "run"
        return ["train", str(self.recipe), "--out", str(run), "--no-progress"] + (
            ["--resume"] if (run / "last.pt").exists() else [])

    def check_killed(self, out):
        from tinykws.train.checkpoint import load_checkpoint

        run = out / "run"
        if not (run / "last.pt").exists():
            return "" if not (run / "best.pt").exists() else "best.pt without last.pt"
        epochs = len((run / "metrics.jsonl").read_text().splitlines())
        last = load_checkpoint(run / "last.pt")
        if last.epoch != epochs or load_checkpoint(run / "best.pt").epoch > last.epoch:
            return f"last.pt at epoch {last.epoch} beside metrics of {epochs} epochs"
        return ""

    def final(self, out):
        import torch

        from tinykws.train.checkpoint import load_checkpoint

        last = load_checkpoint(out / "run" / "last.pt")
        return {"epoch": last.epoch, "weights": hashlib.sha256(b"".join(
            v.numpy().tobytes() for v in last.state_dict.values() if isinstance(v, torch.Tensor))).hexdigest()}


class Synth(Verb):
    name = "data synth"

    def command(self, out, restart):
        return ["data", "synth", "--words", "yes,no", "--per-word", "6", "--unknown-clips", "4", "--engines",
                "espeak", "--workers", "1", "--noise-seconds", "2", "--out", str(out / "corpus"), "--no-progress"]

    def check_killed(self, out):
        for wav in (out / "corpus").rglob("*.wav"):
            rel = wav.relative_to(out / "corpus")
            if any(part.startswith(".") for part in rel.parts) or rel.parts[0] == "_background_noise_":
                continue
            info = sf.info(str(wav))
            if info.frames != 16000:
                return f"{rel}: a partial clip ({info.frames} samples)"
        return ""


def _run(argv: list[str], env: dict, kill_after: float | None, sig) -> tuple[int, float]:
    t0 = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "tinykws", *argv], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    if kill_after is not None:
        try:
            child.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            child.send_signal(sig)
    _, err = child.communicate()
    if kill_after is None and child.returncode != 0:
        raise SystemExit(f"tinykws {' '.join(argv)} failed: {err.decode()[-2000:]}")
    return child.returncode, time.perf_counter() - t0


def bench_verb(verb: Verb, trials: int, rng: random.Random, env: dict) -> dict:
    ref_dir = verb.work / f"{verb.name.replace(' ', '_')}-reference"
    _, seconds = _run(verb.command(ref_dir, False), env, None, None)
    reference = verb.final(ref_dir)
    counts = {"trials": trials, "killed_mid_run": 0, "finished_before_kill": 0, "bad_killed_states": [],
              "bad_restarts": [], "leftovers_after_restart": [], "reference_seconds": round(seconds, 2)}
    for n in range(trials):
        out = verb.work / f"{verb.name.replace(' ', '_')}-{n}"
        sig = rng.choice(SIGNALS)
        code, _ = _run(verb.command(out, False), env, rng.uniform(0.2, 1.1) * seconds, sig)
        counts["killed_mid_run" if code != 0 else "finished_before_kill"] += 1
        problem = verb.check_killed(out)
        if problem:
            counts["bad_killed_states"].append(f"trial {n} ({sig.name}): {problem}")
        _run(verb.command(out, True), env, None, None)
        if verb.final(out) != reference:
            counts["bad_restarts"].append(f"trial {n}: the restarted run's output differs from the reference")
        if leftovers(out):
            counts["leftovers_after_restart"].append(f"trial {n}: {leftovers(out)}")
        shutil.rmtree(out, ignore_errors=True)
    return counts


def _inputs(work: Path) -> tuple[Path, Path, Path]:
    import torch
    from datagen import MLPERF_WORDS, make_raw_dataset

    from tinykws.audio.frontends import build_frontend
    from tinykws.data.labels import MLPERF_LABELS
    from tinykws.models import build_model
    from tinykws.train.checkpoint import Checkpoint, save_checkpoint

    spec = make_raw_dataset(work / "sc", words=MLPERF_WORDS + ("bed",), speakers_per_word=4, clips_per_speaker=2,
                            noise=("white",))
    torch.manual_seed(0)
    model = build_model("ds_cnn", layers=[[16, 10, 4, 2, 2], [16, 3, 3, 1, 1]])
    kwargs = {k: v for k, v in model.model_kwargs.items() if k != "num_classes"}
    ckpt = save_checkpoint(Checkpoint("ds_cnn", kwargs, 12, model.state_dict(),
                                      build_frontend("mlperf_mfcc").to_dict(), list(MLPERF_LABELS)), work / "ckpt.pt")
    recipe = work / "kr.yaml"
    recipe.write_text(RECIPE.format(data=spec.root))
    return spec.root, ckpt, recipe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="kills per verb (default 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbs", default="features,quantize,train,data synth")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    rows = {}
    with tempfile.TemporaryDirectory(prefix="tinykws-kill-") as tmp:
        work = Path(tmp)
        data, ckpt, recipe = _inputs(work)
        verbs = {"features": Features(work, data), "quantize": Quantize(work, data, ckpt),
                 "train": Train(work, data, recipe), "data synth": Synth(work, data)}
        for name in args.verbs.split(","):
            t0 = time.perf_counter()
            rows[name] = bench_verb(verbs[name], args.trials, rng, env)
            rows[name]["seconds"] = round(time.perf_counter() - t0, 1)
            r = rows[name]
            print(f"{name:<11} {r['trials']:>3} trials  {r['killed_mid_run']:>3} killed mid-run  "
                  f"{len(r['bad_killed_states'])} mixed/partial  {len(r['bad_restarts'])} bad restarts  "
                  f"{len(r['leftovers_after_restart'])} with leftovers  (run {r['reference_seconds']} s, "
                  f"bench {r['seconds']} s)", flush=True)
            for line in r["bad_killed_states"] + r["bad_restarts"] + r["leftovers_after_restart"]:
                print(f"  {line}")
    from tinykws.fileio import write_json

    write_json(RESULTS / "kill_restart.json", rows)


if __name__ == "__main__":
    main()
