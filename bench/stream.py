"""Streaming cost: MACs per 20 ms step against the whole 1 s window, time per step on this
machine (one core), and a long stream through `Detector.process` at constant memory.

1. MACs: the int8 streaming step of a time_valid DS-CNN (counted on the integer network,
   as the C code generator counts them), its clip network, the MLPerf-shaped DS-CNN with
   'same' padding (the whole window per hop), and crnn_gru_att (float, per frame vs window).
2. Time per step (wall and CPU, one thread): the int8 step in the numpy runtime (one frame
   per call, and five), LiteRT (reference kernels), TFLite Micro and the generated C on the
   host (state kept in the C process); the float step in PyTorch; the whole window per hop.
3. With --crnn: a trained crnn_gru_att with its GRU state carried over 100 s of speech,
   against the clip model on every sliding window of the same features (how approximate).
4. A stream of --hours (default 10) generated on the fly (noise at changing levels, a
   keyword clip now and then) through `Detector.process` in 100 ms chunks, int8 DS-CNN in the
   numpy runtime: resident memory (RSS) sampled every minute of audio; the growth after the
   first minute; how many times faster than real time.

    .venv/bin/python bench/stream.py [--model QUANTIZE_DIR] [--hours 10] [--steps 300] [--crnn CKPT]

Speed and memory do not depend on the weights: without --model a time_valid DS-CNN with
random weights is quantized here. Prints tables and writes bench/results/stream.json.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from tinykws.codegen.lower import lower_op  # noqa: E402
from tinykws.data.labels import MLPERF_LABELS  # noqa: E402
from tinykws.eval.runner import open_runner  # noqa: E402
from tinykws.export import export_tflite  # noqa: E402
from tinykws.fileio import write_json  # noqa: E402
from tinykws.formats.tflite_reader import read_tflite  # noqa: E402
from tinykws.formats.tflite_writer import write_tflite  # noqa: E402
from tinykws.intmodel import intmodel_from_tflite  # noqa: E402
from tinykws.models import build_model  # noqa: E402
from tinykws.profile.counts import count_model  # noqa: E402
from tinykws.quant import quantize_ptq  # noqa: E402
from tinykws.stream.crnn import CRNNStreamStep  # noqa: E402
from tinykws.stream.detector import Detector  # noqa: E402
from tinykws.stream.float_step import FloatStreamStep  # noqa: E402
from tinykws.stream.tflite_step import streaming_step_tflite  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SR = 16000
LABELS = list(MLPERF_LABELS)


def int8_macs(tflite) -> int:
    """MACs of one invocation, counted per operator as the C code generator does."""
    model = intmodel_from_tflite(tflite, "tflite_micro")
    return sum(lower_op(model, i).macs for i in range(len(model.ops)))


def quantized(model, folder: Path, name: str) -> Path:
    calib = (np.random.default_rng(0).normal(size=(16, *model.input_shape)) * 3).astype(np.float32)
    from tinykws.audio.frontends import build_frontend

    fe = build_frontend("mlperf_mfcc", peak_normalize=False).to_dict()
    return export_tflite(quantize_ptq(model.eval(), calib), folder / name / "model.tflite", fe, LABELS,
                         arena=False).tflite_path


def timed(fn, repeats: int, engine=None) -> dict[str, float]:
    """Per-call wall and CPU milliseconds after a warm-up. CPU includes finished child
    processes and, given the `engine` of a runner (LiteRT, TFLite Micro), the CPU time of
    its running child process, where the interpreter does the work."""
    fn()
    child = engine.cpu_seconds if engine is not None else (lambda: 0.0)
    wall, cpu, child0 = time.perf_counter(), _cpu(), child()
    for _ in range(repeats):
        fn()
    cpu_s = _cpu() - cpu + child() - child0
    return {"wall_ms": 1000 * (time.perf_counter() - wall) / repeats, "cpu_ms": 1000 * cpu_s / repeats}


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def macs_table(folder: Path) -> tuple[dict, dict]:
    torch.manual_seed(0)
    same = build_model("ds_cnn").eval()
    valid = build_model("ds_cnn", time_valid=True).eval()
    clip_same, clip_valid = quantized(same, folder, "same"), quantized(valid, folder, "valid")
    step = streaming_step_tflite(read_tflite(clip_valid))
    crnn = build_model("crnn_gru_att").eval()
    window = int8_macs(read_tflite(clip_same))
    rows = {
        "ds_cnn 'same', whole window per hop (int8)": window,
        "ds_cnn time_valid, whole window (int8)": int8_macs(read_tflite(clip_valid)),
        "ds_cnn time_valid, streaming step (int8)": int8_macs(step.model),
        "crnn_gru_att, whole window per hop (float)": count_model(crnn, crnn.input_shape).macs,
        "crnn_gru_att, streaming step, carried state": CRNNStreamStep(crnn, "carry").macs_per_frame(),
        "crnn_gru_att, streaming step, from a reset": CRNNStreamStep(crnn, "reset").macs_per_frame(),
    }
    ratios = {"ds_cnn": window / rows["ds_cnn time_valid, streaming step (int8)"],
              "crnn_gru_att": rows["crnn_gru_att, whole window per hop (float)"]
              / rows["crnn_gru_att, streaming step, carried state"]}
    return {"macs_per_20ms": rows, "fewer_macs_per_step": ratios}, {
        "same": clip_same, "valid": clip_valid, "step": step, "models": (valid, crnn)}


def speed_table(files: dict, folder: Path, steps: int) -> dict:
    step = files["step"]
    frame = np.random.default_rng(1).integers(-128, 127, size=(1, 1, 10, 1)).astype(np.int8)
    state = [np.full(s, zp, np.int8) for s, zp in zip(step.state_shapes, step.state_zero_points)]
    step_path = folder / "step1.tflite"
    write_tflite(step.model, step_path)
    write_tflite(streaming_step_tflite(read_tflite(files["valid"]), 5).model, folder / "step5.tflite")
    given = {"frontend": "mlperf_mfcc", "labels": LABELS}
    rows = {}
    for name, runtime in (("numpy", "reference"), ("LiteRT reference kernels", "litert"), ("TFLite Micro", "tflm")):
        runner = open_runner(runtime, step_path, **given)
        rows[f"int8 step, {name}"] = timed(lambda r=runner: r.run_all([frame, *state]), steps,
                                           getattr(runner, "engine", None))
    five = open_runner("reference", folder / "step5.tflite", **given)
    frames5 = np.repeat(frame, 5, axis=1)
    t = timed(lambda: five.run_all([frames5, *state]), max(1, steps // 5))
    rows["int8 step, numpy, 5 frames per call (per frame)"] = {k: v / 5 for k, v in t.items()}
    chost = open_runner("c-host", step_path, **given)
    t = timed(lambda: chost.run_steps([frame] * steps, state), 3)
    rows["int8 step, generated C (host, -O2), state in the process"] = {k: v / steps for k, v in t.items()}
    clip = np.repeat(frame, 49, axis=1)
    for name, runtime in (("numpy", "reference"), ("LiteRT reference kernels", "litert")):
        runner = open_runner(runtime, files["same"])
        rows[f"int8 whole window per hop ('same' ds_cnn), {name}"] = timed(lambda r=runner: r.run(clip),
                                                                           max(3, steps // 10),
                                                                           getattr(runner, "engine", None))
    c_clip = open_runner("c-host", files["same"])
    t = timed(lambda: c_clip.run(np.repeat(clip, steps, axis=0)), 3)
    rows["int8 whole window per hop ('same' ds_cnn), generated C (host, -O2)"] = {k: v / steps for k, v in t.items()}
    valid, crnn = files["models"]
    fstep = FloatStreamStep.from_model(valid)
    fstate = fstep.initial_state()
    x1 = torch.randn(1, 10)
    rows["float step ds_cnn, PyTorch"] = timed(lambda: fstep.step(x1, fstate), steps)
    cstep = CRNNStreamStep(crnn, "carry")
    cstate = cstep.initial_state()
    rows["float step crnn_gru_att (carried state), PyTorch"] = timed(lambda: cstep.step(x1, cstate), steps)
    window = torch.randn(1, 1, 49, 10)
    with torch.no_grad():
        rows["float whole window crnn_gru_att, PyTorch"] = timed(lambda: crnn(window), max(3, steps // 10))
    return rows


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def long_stream(model_dir: Path, hours: float, chunk_ms: float = 100.0) -> dict:
    """Generated audio through Detector.process; RSS every audio minute."""
    rng = np.random.default_rng(7)
    keyword = None
    clips = sorted((SHARED / "data" / "sc12_test_dev" / "yes").glob("*.flac"))[:1]
    if clips:
        from tinykws.audio.io import load_audio

        keyword = load_audio(clips[0], length=SR)
    chunk = int(SR * chunk_ms / 1000)
    chunks = int(hours * 3600 * 1000 / chunk_ms)
    per_minute = int(60 * 1000 / chunk_ms)
    samples_rss, detections = [], 0
    level = 0.01
    with Detector(model_dir, runtime="reference") as detector:
        wall, cpu = time.perf_counter(), _cpu()
        for i in range(chunks):
            if i % 50 == 0:
                level = float(10 ** rng.uniform(-3.5, -1.5))
            audio = (level * rng.standard_normal(chunk)).astype(np.float32)
            part = i % 200 - 100  # a keyword every 20 s
            if keyword is not None and 0 <= part < SR // chunk:
                audio += keyword[part * chunk:(part + 1) * chunk]
            detections += len(detector.process(audio))
            if i % per_minute == 0:
                samples_rss.append(_rss_bytes())
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        description = detector.stream.description
    audio_s = chunks * chunk_ms / 1000
    after_first = samples_rss[1:] or samples_rss
    return {"hours": hours, "chunk_ms": chunk_ms, "model": description, "detections": detections,
            "wall_s": wall, "cpu_s": cpu, "real_time_factor_wall": audio_s / wall, "real_time_factor_cpu": audio_s / cpu,
            "rss_at_first_minute_mb": samples_rss[min(1, len(samples_rss) - 1)] / 2**20,
            "rss_peak_after_first_minute_mb": max(after_first) / 2**20,
            "rss_growth_after_first_minute_mb": (max(after_first) - after_first[0]) / 2**20,
            "rss_per_minute_mb": [round(v / 2**20, 2) for v in samples_rss]}


def crnn_carried_state(checkpoint: Path, clips: int = 100) -> dict:
    """How far crnn_gru_att with its state carried is from the clip model on the sliding
    windows of the same features: real speech (sc12_test_dev clips one after another)."""
    from tinykws.audio.frontends import frontend_from_dict
    from tinykws.audio.io import load_audio
    from tinykws.train.checkpoint import load_model

    net, ckpt = load_model(checkpoint)
    files = sorted((SHARED / "data" / "sc12_test_dev").glob("*/*.flac"))
    files = files[:: max(1, len(files) // clips)][:clips]
    audio = np.concatenate([load_audio(f, length=SR) for f in files])
    spec = dict(ckpt.frontend, peak_normalize=False) if "peak_normalize" in ckpt.frontend else ckpt.frontend
    features = frontend_from_dict(spec).compute(audio)
    frames = int(net.input_shape[0])
    windows = torch.from_numpy(np.stack([features[s:s + frames] for s in range(len(features) - frames + 1)]))
    with torch.no_grad():
        clip = torch.softmax(net(windows.unsqueeze(1)), dim=1).numpy()
    step = CRNNStreamStep(net, "carry")
    out, _ = step.step(torch.from_numpy(features), step.initial_state())
    carried = torch.softmax(out, dim=1).numpy()[frames - 1:]
    diff = np.abs(carried - clip)
    return {"checkpoint": str(checkpoint), "windows": len(clip), "audio_s": len(audio) / SR,
            "max_abs_prob_difference": float(diff.max()), "mean_abs_prob_difference": float(diff.mean()),
            "first_window_max_difference": float(diff[0].max()),
            "top1_agreement": float((carried.argmax(1) == clip.argmax(1)).mean())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a `tinykws quantize` folder of a time_valid model")
    parser.add_argument("--hours", type=float, default=10.0, help="length of the generated stream (0: skip)")
    parser.add_argument("--steps", type=int, default=300, help="steps per timing")
    parser.add_argument("--crnn", type=Path, help="a trained crnn_gru_att checkpoint: measure its carried state")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "stream.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    result: dict = {"machine": platform.platform(), "processor": platform.processor(), "threads": 1,
                    "load_average_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        macs, files = macs_table(Path(tmp))
        result.update(macs)
        print(f"{'MACs per 20 ms step':<52} {'MACs':>12}")
        for name, value in macs["macs_per_20ms"].items():
            print(f"{name:<52} {value:>12,}")
        for name, ratio in macs["fewer_macs_per_step"].items():
            print(f"{name}: {ratio:.1f}x fewer MACs per step than the whole window")
        speed = speed_table(files, Path(tmp), args.steps)
        result["time_per_step"] = speed
        print(f"\n{'time per step (one core)':<68} {'wall ms':>9} {'CPU ms':>9}")
        for name, t in speed.items():
            print(f"{name:<68} {t['wall_ms']:>9.3f} {t['cpu_ms']:>9.3f}")
        if args.crnn:
            crnn = crnn_carried_state(args.crnn)
            result["crnn_carried_state"] = crnn
            print(f"\ncrnn_gru_att, state carried vs the clip model on {crnn['windows']} sliding windows of "
                  f"{crnn['audio_s']:.0f} s of speech: max |dp| {crnn['max_abs_prob_difference']:.3f}, mean "
                  f"{crnn['mean_abs_prob_difference']:.4f}, same top-1 on {100 * crnn['top1_agreement']:.1f} %")
        if args.hours > 0:
            model_dir = args.model or files["valid"].parent
            stream = long_stream(model_dir, args.hours)
            result["long_stream"] = stream
            print(f"\n{args.hours:g} h stream in 100 ms chunks ({stream['model']}): "
                  f"{stream['real_time_factor_wall']:.0f}x real time (wall), {stream['real_time_factor_cpu']:.0f}x (CPU); "
                  f"RSS {stream['rss_at_first_minute_mb']:.1f} MB after the first minute, growth after it "
                  f"{stream['rss_growth_after_first_minute_mb']:.2f} MB")
    result["load_average_at_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, result)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
