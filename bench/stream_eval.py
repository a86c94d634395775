"""False rejections at 0.5 and 1 false accept per hour, per keyword, for the MLPerf reference
model and a tinykws-trained streaming DS-CNN, on evaluation streams fixed by a seed.

The streams (`tinykws data streams`, recipe below, seed 0) are built once into --streams
from ../shared: keywords of sc12_test_dev (30 per keyword and SNR, at 20, 10 and 5 dB over
the noise bed), backgrounds of non-keyword sentences from the offline engines, the test
set's unknown-word clips and the Speech Commands noise recordings; a 2 h negative stream.

- The MLPerf reference int8 model ('same' padding, per-clip peak normalisation) cannot
  stream exactly: it runs the whole window at every 20 ms hop (the clip front-end on the
  last second of audio, then the clip model), in LiteRT (optimized kernels by default: the
  whole window 50 times a second in the reference kernels would take hours here).
- The tinykws DS-CNN (time_valid=True, MFCC without peak normalisation; see
  recipes/kws12_offline_stream.yaml) runs its int8 streaming step frame by frame in the
  numpy runtime.
Both use the same detector: 100 ms smoothing, 1 s refractory period, 0.5 s tolerance.
The glued-track demonstration (two 15 s pieces of the negative stream, from a quarter and
half-way through it, with a "yes" of the test set between them) is drawn for both. Writes bench/results/stream_eval.json and, in
bench/results/stream_eval/, the DET plots, the glued-track plots and report.html.

    .venv/bin/python bench/stream_eval.py --model runs/kws12_offline_stream/int8 \\
        [--streams .cache/stream_eval_seed0] [--ref-runtime litert]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from tinykws.audio.io import load_audio  # noqa: E402
from tinykws.data.eval_streams import StreamRecipe, build_eval_streams, load_stream_set  # noqa: E402
from tinykws.errors import DataError  # noqa: E402
from tinykws.fileio import write_json  # noqa: E402
from tinykws.pipeline.glued import glued_track  # noqa: E402
from tinykws.report.html import ReportSection, write_report  # noqa: E402
from tinykws.report.stream_plots import det_png  # noqa: E402
from tinykws.stream.detector import Detector  # noqa: E402
from tinykws.stream.evaluate import evaluate_streams  # noqa: E402
from tinykws.stream.open import open_stream  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
RECIPE = StreamRecipe(seed=0)  # 30 keywords per keyword and SNR, 20/10/5 dB, 2 h negative


def streams(folder: Path):
    try:
        return load_stream_set(folder)
    except DataError:
        print(f"building the evaluation streams in {folder} (once)", file=sys.stderr)
        return build_eval_streams(RECIPE, SHARED / "data" / "sc12_test_dev",
                                  SHARED / "data" / "speech_commands_partial" / "_background_noise_", folder)


def glued_tracks(stream_set, rate: int = 16000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    negative = load_audio(stream_set.negative[0].path)
    first, second = len(negative) // 4, len(negative) // 2  # two 15 s pieces far apart
    a, b = negative[first:first + 15 * rate], negative[second:second + 15 * rate]
    clip = load_audio(sorted((SHARED / "data" / "sc12_test_dev" / "yes").glob("*.flac"))[0], length=rate)
    return a, clip, b


def run_model(name: str, model: Path, runtime: str, stream_set, out: Path, options: dict, tracks) -> dict:
    posteriors = open_stream(model, runtime=runtime, **options)
    print(f"{name}: {posteriors.mode}: {posteriors.description}", file=sys.stderr)
    try:
        result = evaluate_streams(stream_set, posteriors, str(model),
                                  progress=lambda line: print(f"  {line}", file=sys.stderr))
        det = det_png({k: (c.fa_per_hour, c.frr) for k, c in result.curves.items()}, out / f"{name}_det.png",
                      title=f"{name}: DET on {result.negative_hours:.1f} h negative")
        a, clip, b = tracks
        glued = glued_track(Detector(posteriors), a, clip, b, "yes", out / f"{name}_glued")
    finally:
        posteriors.close()
    data = result.to_dict()
    data["glued_track"] = {"span_s": glued.span, "peak_inside": glued.peak_inside,
                           "peak_outside": glued.peak_outside,
                           "detections": [d.to_dict() for d in glued.detections]}
    data["_report"] = (det, glued)
    return data


def table(name: str, data: dict) -> str:
    points = data["operating_points"]
    lines = [f"{name} ({data['mode']}: {data['description']})",
             f"{'keyword':<8} {'FRR@0.5FA/h':>12} {'thr':>6} {'FRR@1FA/h':>10} {'thr':>6}"]
    for label in data["curves"]:
        p5, p1 = points["0.5"][label], points["1"][label]
        thr = lambda p: "-" if p["threshold"] is None else f"{p['threshold']:.3f}"  # noqa: E731
        lines.append(f"{label:<8} {100 * p5['frr']:>11.1f}% {thr(p5):>6} {100 * p1['frr']:>9.1f}% {thr(p1):>6}")
    lines.append(f"{'mean':<8} {100 * points['0.5']['mean_frr']:>11.1f}% {'':>6} {100 * points['1']['mean_frr']:>9.1f}%")
    lines.append(f"{data['negative_hours']:.2f} h negative, {data['positive_hours']:.2f} h positive, "
                 f"{data['real_time_factor']:.0f}x real time")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="quantize folder of the streaming DS-CNN")
    parser.add_argument("--streams", type=Path, default=REPO / ".cache" / "stream_eval_seed0")
    parser.add_argument("--ref", type=Path, default=SHARED / "models" / "mlperf_kws_ref" / "kws_ref_model.tflite")
    parser.add_argument("--ref-runtime", default="litert", help="runtime of the reference model (default litert)")
    parser.add_argument("--ref-kernels", default="optimized", choices=["reference", "optimized"],
                        help="LiteRT kernels of the reference model: optimized (default; 10x faster, within 1 LSB "
                             "of the reference arithmetic on 2 of 577 clips) or reference (bit-exact)")
    parser.add_argument("--runtime", default="reference", help="runtime of the streaming DS-CNN")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "stream_eval.json")
    args = parser.parse_args()
    stream_set = streams(args.streams)
    figures = args.out.with_suffix("")
    figures.mkdir(parents=True, exist_ok=True)
    results = {"recipe": stream_set.recipe, "streams": str(args.streams), "models": {}}
    sections = []
    tracks = glued_tracks(stream_set)  # cut once from the 2 h negative stream, for both models
    ref_options = {"kernels": args.ref_kernels} if args.ref_runtime == "litert" else {}
    for name, model, runtime, options in (("mlperf_ref", args.ref, args.ref_runtime, ref_options),
                                          ("tinykws_ds_cnn_stream", args.model, args.runtime, {})):
        data = run_model(name, model, runtime, stream_set, figures, options, tracks)
        det, glued = data.pop("_report")
        results["models"][name] = data
        text = table(name, data)
        print(text + "\n")
        sections.append(ReportSection(f"{name}: FRR at 0.5 and 1 false accept per hour", preformatted=text,
                                      images=(det,)))
        sections.append(glued.section(f"{name}: two tracks glued with 'yes' between them"))
    write_report(figures / "report.html", "tinykws stream evaluation", sections)
    write_json(args.out, results)
    print(f"wrote {args.out} and {figures}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
