"""Is tinykws' integer runtime bit-exact with TFLite's reference kernels?

Imports ../shared/models/mlperf_kws_ref/kws_ref_model.tflite with
`tinykws.intmodel.intmodel_from_tflite`, computes `mlperf_mfcc` features of every clip of
../shared/data/sc12_test_dev, quantizes them with the model's input parameters and runs:
- tinykws' numpy runtime (`tinykws.intmodel.run`);
- ai-edge-litert with OpResolverType.BUILTIN_REF (the reference kernels),
  BUILTIN_WITHOUT_DEFAULT_DELEGATES (optimized kernels) and AUTO (default XNNPACK delegate);
- the TFLite Micro Python interpreter (PyPI tflite-micro), if it loads.
For each engine: how many clips give int8 outputs identical to tinykws', the largest
difference in LSB, and top-1 accuracy; plus TFLite Micro's arena size and the speed of
the numpy runtime.

    .venv/bin/python bench/ref_model_bitexact.py [--data DIR] [--model M.tflite] [--per-class N]

Prints a table and writes JSON (default bench/results/ref_model_bitexact.json).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from tinykws.export.engines import run_litert, run_tflm  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _common, also when imported by path
from _common import frontend_features, labelled_clips  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
LITERT_RESOLVERS = {
    "BUILTIN_REF": "LiteRT reference kernels",
    "BUILTIN_WITHOUT_DEFAULT_DELEGATES": "LiteRT optimized kernels, no delegate",
    "AUTO": "LiteRT default (XNNPACK delegate)",
}


def compare(name: str, description: str, outputs: np.ndarray, ours: dict[str, np.ndarray], labels: np.ndarray,
            seconds: float) -> dict:
    """How `outputs` relate to tinykws' outputs under each arithmetic profile."""
    row = {"engine": name, "description": description, "clips": int(len(labels))}
    for profile, mine in ours.items():
        diff = np.abs(outputs.astype(np.int64) - mine.astype(np.int64)).max(axis=1)
        row[f"identical_to_tinykws_{profile}"] = int(np.sum(diff == 0))
        row[f"max_abs_diff_lsb_vs_{profile}"] = int(diff.max()) if len(diff) else 0
    row["top1_percent"] = round(100.0 * float(np.mean(outputs.argmax(axis=1) == labels)), 2)
    row["seconds"] = round(seconds, 2)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "sc12_test_dev")
    parser.add_argument("--model", type=Path, default=SHARED / "models" / "mlperf_kws_ref" / "kws_ref_model.tflite")
    parser.add_argument("--per-class", type=int, default=None, help="clips per class (default: all)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ref_model_bitexact.json")
    args = parser.parse_args(argv)

    from tinykws.fileio import write_json
    from tinykws.intmodel import ARITHMETICS, intmodel_from_tflite, quantize, run

    paths, labels = labelled_clips(args.data, args.per_class)
    start = time.perf_counter()
    features = frontend_features(paths)
    feature_seconds = time.perf_counter() - start
    inputs = quantize(features[:, :, :, None], intmodel_from_tflite(args.model).input_tensors[0])

    ours, seconds, cpu_seconds = {}, {}, {}
    for profile in ARITHMETICS:
        model = intmodel_from_tflite(args.model, arithmetic=arithmetic)
        start, cpu_start = time.perf_counter(), time.process_time()
        ours[profile] = np.stack([run(model, x[None]).output[0] for x in inputs])
        seconds[profile] = time.perf_counter() - start
        cpu_seconds[profile] = time.process_time() - cpu_start
    batch_start = time.perf_counter()
    batched = np.concatenate([run(model, inputs[i:i + 64]).output for i in range(0, len(inputs), 64)])
    batch_seconds = time.perf_counter() - batch_start
    assert np.array_equal(batched, ours[model.profile]), "batched and one-at-a-time runs differ"

    rows = [compare(f"tinykws:{p}", f"tinykws numpy runtime, profile {p}", ours[p], ours, labels, seconds[p])
            for p in ARITHMETICS]
    for resolver, description in LITERT_RESOLVERS.items():
        start = time.perf_counter()
        outputs = run_litert(args.model, inputs, resolver)
        rows.append(compare(f"litert:{resolver}", description, outputs, ours, labels, time.perf_counter() - start))
    tflm_arena = tflm_error = None
    try:
        start = time.perf_counter()
        tflm = run_tflm(args.model, inputs)
        outputs, tflm_arena = tflm.outputs, tflm.arena_bytes
        rows.append(compare("tflite-micro", "TFLite Micro Python interpreter", outputs, ours, labels,
                            time.perf_counter() - start))
    except Exception as e:  # optional engine: report why it did not run
        tflm_error = f"{type(e).__name__}: {e}"

    print(f"MLPerf Tiny KWS reference int8 model on {args.data} ({len(labels)} clips, mlperf_mfcc)")
    names = list(ARITHMETICS)
    print(f"{'engine':<42}" + "".join(f"{'same as ' + p:>24}" for p in names) + f"{'max LSB':>9}{'top-1 %':>9}"
          f"{'s':>7}")
    for r in rows:
        print(f"{r['engine']:<42}" + "".join(f"{r[f'identical_to_tinykws_{p}']:>24}" for p in names)
              + f"{r[f'max_abs_diff_lsb_vs_{names[0]}']:>9}{r['top1_percent']:>9.2f}{r['seconds']:>7.1f}")
    per_clip_ms = 1000 * seconds[names[0]] / max(1, len(labels))
    per_clip_cpu_ms = 1000 * cpu_seconds[names[0]] / max(1, len(labels))
    per_clip_batched_ms = 1000 * batch_seconds / max(1, len(labels))
    print(f"tinykws runtime: {per_clip_ms:.2f} ms per clip one at a time (CPU {per_clip_cpu_ms:.2f} ms), "
          f"{per_clip_batched_ms:.2f} ms per clip in batches of 64; features {feature_seconds:.1f} s")
    if tflm_arena is not None:
        print(f"TFLite Micro arena: {tflm_arena} bytes")
    if tflm_error:
        print(f"TFLite Micro: not run ({tflm_error})")
    write_json(args.out, {
        "model": str(args.model), "data": str(args.data), "clips": int(len(labels)), "frontend": "mlperf_mfcc",
        "profiles": list(ARITHMETICS), "engines": rows, "tflm_arena_bytes": tflm_arena, "tflm_error": tflm_error,
        "tinykws_ms_per_clip": round(per_clip_ms, 3), "tinykws_cpu_ms_per_clip": round(per_clip_cpu_ms, 3),
        "tinykws_ms_per_clip_batch64": round(per_clip_batched_ms, 3),
        "python": platform.python_version(), "machine": platform.machine(),
    })
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
