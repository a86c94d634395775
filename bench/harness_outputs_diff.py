"""Where systems under test differ: raw int8 outputs of each system against LiteRT's
reference kernels (TFLite's reference arithmetic) on whole MLPerf Tiny test sets —
identical items, items whose output differs, the largest difference in LSB, and items
whose predicted class differs.

    .venv/bin/python bench/harness_outputs_diff.py [--workloads kws01,ic01,vww01,ad01]

Prints a table and writes JSON to bench/results/harness_outputs_diff.json.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BASELINE = ("litert", {})
SYSTEMS = [("tflm", {}), ("c-host", {}), ("onnxruntime", {}), ("onnxruntime", {"optimization": "none"}),
           ("litert", {"kernels": "xnnpack"}), ("litert", {"kernels": "optimized"})]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default="kws01,ic01,vww01,ad01")
    args = parser.parse_args(argv)

    from tinykws.eval.runner import identical_count, run_batches
    from tinykws.export.contract import io_tensors, tensor_spec
    from tinykws.fileio import write_json
    from tinykws.formats.tflite_reader import read_tflite
    from tinykws.harness.data import load_workload_data
    from tinykws.harness.registry import get_workload
    from tinykws.harness.sut import SutSpec, open_sut

    rows = []
    print(f"{'workload':<9}{'system':<44}{'items':>7}{'identical':>10}{'max LSB':>9}{'class differs':>15}")
    for name in args.workloads.split(","):
        w = get_workload(name)
        model = SHARED / w.model.path
        spec = tensor_spec(io_tensors(read_tflite(model), str(model))[0])
        data = load_workload_data(w, SHARED, input_scale=spec.scale, input_zero_point=spec.zero_point)

        def outputs(runtime, options):
            with open_sut(SutSpec(runtime, options), w, model) as runner:
                out = run_batches(runner, data.inputs)
                return out.reshape(len(out), -1), runner.info.arithmetic

        base, _ = outputs(*BASELINE)
        for runtime, options in SYSTEMS:
            out, arithmetic = outputs(runtime, options)
            same, worst = identical_count(base, out)
            flips = int(np.sum(base.argmax(1) != out.argmax(1))) if w.metric == "top1" else None
            label = SutSpec(runtime, options).name + f" ({arithmetic})"
            rows.append({"workload": name, "system": label, "items": len(out), "identical": same,
                         "max_abs_diff_lsb": worst, "predicted_class_differs": flips})
            print(f"{name:<9}{label:<44}{len(out):>7}{same:>10}{worst:>9}{'-' if flips is None else flips:>15}",
                  flush=True)
    write_json(REPO / "bench" / "results" / "harness_outputs_diff.json", {"baseline": "litert (reference kernels)",
                                                                         "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
