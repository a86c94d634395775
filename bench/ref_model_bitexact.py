"""Is tinykws' integer runtime bit-exact with TFLite's reference kernels?

Runs ../shared/models/mlperf_kws_ref/kws_ref_model.tflite on `mlperf_mfcc` features of every
clip of ../shared/data/sc12_test_dev in every .tflite runtime, all opened the same way
(`tinykws.eval.runner.open_runner`):
- "reference": tinykws' numpy runtime, arithmetic litert_ref and tflite_micro;
- "litert": ai-edge-litert with the reference kernels (BUILTIN_REF), the optimized kernels
  (BUILTIN_WITHOUT_DEFAULT_DELEGATES) and the default XNNPACK delegate;
- "tflm": the TFLite Micro Python interpreter (with its arena).
For each: clips whose int8 outputs equal tinykws' in each arithmetic, the largest difference
in LSB, top-1; and the speed of the numpy runtime one clip at a time and in batches.

    .venv/bin/python bench/ref_model_bitexact.py [--data DIR] [--model M.tflite] [--limit N]

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

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _common, also when imported by path
from _common import REPO, SHARED, reference_features  # noqa: E402

from tinykws.eval.runner import identical_count, open_runner, run_batches, runner_inputs  # noqa: E402
from tinykws.fileio import write_json  # noqa: E402

# (row name, runtime, options)
ENGINES = [
    ("tinykws:litert_ref", "reference", {"arithmetic": "litert_ref"}),
    ("tinykws:tflite_micro", "reference", {"arithmetic": "tflite_micro"}),
    ("litert:BUILTIN_REF", "litert", {"kernels": "reference"}),
    ("litert:BUILTIN_WITHOUT_DEFAULT_DELEGATES", "litert", {"kernels": "optimized"}),
    ("litert:AUTO (XNNPACK)", "litert", {"kernels": "xnnpack"}),
    ("tflite-micro", "tflm", {}),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "sc12_test_dev")
    parser.add_argument("--model", type=Path, default=SHARED / "models" / "mlperf_kws_ref" / "kws_ref_model.tflite")
    parser.add_argument("--limit", type=int, default=None, help="a seeded subset of N clips (default: all)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ref_model_bitexact.json")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    data = reference_features(args.data, args.limit)
    feature_seconds = time.perf_counter() - start
    outputs, rows, facts = {}, [], {}
    for name, runtime, options in ENGINES:
        with open_runner(runtime, args.model, **options) as runner:
            inputs = runner_inputs(data.features, runner.info.input)
            start = time.perf_counter()
            outputs[name] = run_batches(runner, inputs, batch_size=1 if runtime == "reference" else 256)
            seconds = time.perf_counter() - start
            facts.update(runner.info.facts)
        predicted = outputs[name].argmax(1)
        rows.append({"engine": name, "description": runner.info.description, "arithmetic": runner.info.arithmetic,
                     "top1_percent": round(100.0 * float(np.mean(predicted == data.targets)), 2),
                     "per_class_percent": {label: round(100.0 * float(np.mean(predicted[data.targets == i] == i)), 2)
                                           for i, label in enumerate(runner.info.labels)},
                     "seconds": round(seconds, 2)})
    for row in rows:
        for ours in ("tinykws:litert_ref", "tinykws:tflite_micro"):
            same, lsb = identical_count(outputs[row["engine"]], outputs[ours])
            row[f"identical_to_{ours}"], row[f"max_lsb_vs_{ours}"] = same, lsb
    with open_runner("reference", args.model) as runner:
        inputs = runner_inputs(data.features, runner.info.input)
        start = time.perf_counter()
        batched = run_batches(runner, inputs, batch_size=64)
        batch_seconds = time.perf_counter() - start
    if not np.array_equal(batched, outputs["tinykws:litert_ref"]):
        raise SystemExit("batched and one-at-a-time runs of the numpy runtime differ")

    n = len(data)
    print(f"MLPerf Tiny KWS reference int8 model on {args.data} ({n} clips, mlperf_mfcc)")
    print(f"{'engine':<42}{'== litert_ref':>15}{'== tflite_micro':>17}{'max LSB':>9}{'top-1 %':>9}{'s':>7}")
    for r in rows:
        print(f"{r['engine']:<42}{r['identical_to_tinykws:litert_ref']:>15}{r['identical_to_tinykws:tflite_micro']:>17}"
              f"{r['max_lsb_vs_tinykws:litert_ref']:>9}{r['top1_percent']:>9.2f}{r['seconds']:>7.1f}")
    one_ms = 1000 * rows[0]["seconds"] / n
    batch_ms = 1000 * batch_seconds / n
    print(f"tinykws runtime: {one_ms:.2f} ms per clip one at a time, {batch_ms:.2f} ms per clip in batches of 64; "
          f"features {feature_seconds:.1f} s; TFLite Micro arena {facts.get('arena_bytes')} B")
    write_json(args.out, {
        "model": str(args.model), "data": str(args.data), "clips": n, "frontend": "mlperf_mfcc", "engines": rows,
        "tflm_arena_bytes": facts.get("arena_bytes"), "tinykws_ms_per_clip": round(one_ms, 3),
        "tinykws_ms_per_clip_batch64": round(batch_ms, 3), "python": platform.python_version(),
        "machine": platform.machine(), "command": " ".join(sys.argv),
    })
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
