"""Is the generated C bit-exact with tinykws' numpy runtime on whole test sets?

Generates the C project of each MLPerf Tiny reference model, builds it on the host (the
portable path, and the Cortex-M DSP path with emulated intrinsics) and runs every sample
in one process per build; the numpy runtime (`tinykws.intmodel.run`) runs the same int8
inputs. Sets:
- KWS: every clip of ../shared/data/sc12_test_dev through the mlperf_mfcc front-end (both
  arithmetics), and the 1,000 int8 MFCCs of kws01;
- VWW: vww01 (1,000 images); IC: ic01_v05 (200 images); AD: ad01 (248 files x 196 windows).

    .venv/bin/python bench/codegen_bitexact.py [--only kws,vww,ic,ad] [--limit N] [--out FILE]

Prints a table (identical outputs per set and C path) and writes JSON (default
bench/results/codegen_bitexact.json).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _common, also when imported by path
from _common import REPO, SHARED, reference_features  # noqa: E402

TINY = SHARED / "mlperf_tiny"


def kws_sets(limit: int | None):
    from tinykws.data.mlperf_tiny import kws_input, read_labels
    from tinykws.intmodel import intmodel_from_tflite, quantize

    model_path = SHARED / "models" / "mlperf_kws_ref" / "kws_ref_model.tflite"
    clips = reference_features(SHARED / "data" / "sc12_test_dev", limit)
    inputs = quantize(clips.features[..., None], intmodel_from_tflite(model_path).input_tensors[0])
    yield "kws sc12_test_dev", model_path, inputs, clips.targets, ("tflite_micro", "litert_ref")
    samples = read_labels(TINY / "kws" / "kws01")
    yield ("kws kws01", model_path, np.stack([kws_input(s.path) for s in samples]),
           np.array([s.label for s in samples]), ("tflite_micro",))


def image_set(name: str, model_path: Path, folder: Path):
    from tinykws.data.mlperf_tiny import image_input, read_labels
    from tinykws.intmodel import intmodel_from_tflite

    side = intmodel_from_tflite(model_path).input_tensors[0].shape[1]
    samples = read_labels(folder)
    yield name, model_path, np.stack([image_input(s.path, side) for s in samples]), \
        np.array([s.label for s in samples]), ("tflite_micro",)


def ad_set():
    from tinykws.data.mlperf_tiny import ad_windows, read_labels
    from tinykws.intmodel import intmodel_from_tflite, quantize

    model_path = TINY / "ad" / "ad01_int8.tflite"
    tensor = intmodel_from_tflite(model_path).input_tensors[0]
    samples = read_labels(TINY / "ad" / "ad01")
    windows = [quantize(ad_windows(s.path), tensor) for s in samples]
    labels = np.concatenate([np.full(len(w), s.label) for w, s in zip(windows, samples)])
    yield "ad ad01 (windows)", model_path, np.concatenate(windows), labels, ("tflite_micro",)


def check(name: str, model_path: Path, inputs: np.ndarray, labels: np.ndarray, arithmetic: str) -> dict:
    """numpy runtime vs generated C (portable and emulated DSP) on every input."""
    from tinykws.codegen import generate_project
    from tinykws.codegen.host import build_host, run_host_build
    from tinykws.intmodel import intmodel_from_tflite, run

    model = intmodel_from_tflite(model_path, arithmetic)
    start = time.perf_counter()
    ours = np.concatenate([run(model, inputs[i:i + 64]).outputs[0].reshape(len(inputs[i:i + 64]), -1)
                           for i in range(0, len(inputs), 64)])
    row = {"set": name, "model": model_path.name, "arithmetic": arithmetic, "items": int(len(inputs)),
           "numpy_seconds": round(time.perf_counter() - start, 2)}
    with tempfile.TemporaryDirectory(prefix="tkws_bench_") as tmp:
        project = generate_project(model, tmp)
        row["arena_bytes"] = project.arena_bytes
        for path, emulate in (("portable", False), ("dsp_emulated", True)):
            build = build_host(project, emulate_dsp=emulate, cache_dir=Path(tmp) / "cache")
            start = time.perf_counter()
            c = run_host_build(build, project, inputs)
            row[f"c_{path}_seconds"] = round(time.perf_counter() - start, 2)
            same = np.all(c == ours, axis=1)
            row[f"identical_{path}"] = int(same.sum())
            row[f"max_abs_diff_lsb_{path}"] = int(np.abs(c.astype(int) - ours.astype(int)).max())
    if not name.startswith("ad"):  # the AD autoencoder's outputs are not class scores
        row["top1_percent"] = round(100.0 * float(np.mean(ours.argmax(axis=1) == labels)), 2)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="kws,vww,ic,ad", help="comma-separated sets (default: all)")
    parser.add_argument("--limit", type=int, default=None, help="a seeded subset of sc12_test_dev (default: all)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "codegen_bitexact.json")
    args = parser.parse_args(argv)
    from tinykws.fileio import write_json

    chosen = set(args.only.split(","))
    sources = []
    if "kws" in chosen:
        sources.append(kws_sets(args.limit))
    if "vww" in chosen:
        sources.append(image_set("vww vww01", TINY / "vww" / "vww_96_int8.tflite", TINY / "vww" / "vww01"))
    if "ic" in chosen:
        sources.append(image_set("ic ic01_v05", TINY / "ic" / "pretrainedResnet_quant.tflite", TINY / "ic" / "ic01_v05"))
    if "ad" in chosen:
        sources.append(ad_set())
    rows = []
    print(f"{'set':<22}{'arithmetic':<14}{'items':>7}{'portable C':>12}{'DSP C (emul.)':>15}{'top-1 %':>9}"
          f"{'arena B':>9}{'C s':>7}{'numpy s':>9}")
    for source in sources:
        for name, model_path, inputs, labels, arithmetics in source:
            for arithmetic in arithmetics:
                r = check(name, model_path, inputs, labels, arithmetic)
                rows.append(r)
                top1 = f"{r['top1_percent']:.2f}" if "top1_percent" in r else "-"
                print(f"{r['set']:<22}{arithmetic:<14}{r['items']:>7}{r['identical_portable']:>12}"
                      f"{r['identical_dsp_emulated']:>15}{top1:>9}{r['arena_bytes']:>9}"
                      f"{r['c_portable_seconds']:>7.1f}{r['numpy_seconds']:>9.1f}", flush=True)
    write_json(args.out, {"rows": rows, "all_identical": all(r["identical_portable"] == r["identical_dsp_emulated"]
                                                             == r["items"] for r in rows),
                          "python": platform.python_version(), "machine": platform.machine()})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
