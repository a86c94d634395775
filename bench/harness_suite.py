"""The benchmark harness on every system under test: accuracy figures of the four MLPerf
Tiny workloads per system (and which systems give identical int8 outputs), the emulated
Cortex-M4 through the serial protocol, and full-length performance runs.

    .venv/bin/python bench/harness_suite.py accuracy      [--workloads kws01,vww01,ic01,ad01]
    .venv/bin/python bench/harness_suite.py qemu          [--workloads kws01,ic01]
    .venv/bin/python bench/harness_suite.py performance   [--workloads kws01,ic01]

Each writes its results in the submission layout under bench/results/submission_<preset>
(then runs `tinykws bench check` on it), prints a table and writes JSON to
bench/results/harness_<preset>.json. Needs ../shared; "qemu" needs the Cortex-M toolchain.
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

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# (system name, runtime, options)
ACCURACY_SUTS = [
    ("reference-litert_ref", "reference", {"arithmetic": "litert_ref"}),
    ("litert-reference", "litert", {}),
    ("reference-tflite_micro", "reference", {"arithmetic": "tflite_micro"}),
    ("tflm", "tflm", {}),
    ("c-host", "c-host", {}),
    ("c-host-dsp", "c-host", {"dsp": "emulated"}),
    ("onnxruntime", "onnxruntime", {}),
    ("onnxruntime-qdq-float", "onnxruntime", {"optimization": "none"}),
    ("litert-xnnpack", "litert", {"kernels": "xnnpack"}),
    ("litert-optimized", "litert", {"kernels": "optimized"}),
]
QEMU_SUTS = [("c-qemu-serial-m4", "c-qemu-serial", {})]
PERFORMANCE_SUTS = [("reference-litert_ref", "reference", {"arithmetic": "litert_ref"}),
                    ("litert-reference", "litert", {}), ("tflm", "tflm", {}), ("c-host", "c-host", {}),
                    ("onnxruntime", "onnxruntime", {})]
PRESETS = {
    "accuracy": (ACCURACY_SUTS, ("accuracy",), "kws01,vww01,ic01,ad01"),
    "qemu": (QEMU_SUTS, ("accuracy", "performance"), "kws01,ic01"),
    "performance": (PERFORMANCE_SUTS, ("performance",), "kws01,ic01"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preset", choices=sorted(PRESETS))
    parser.add_argument("--workloads", help="comma-separated workloads (default: the preset's)")
    parser.add_argument("--suts", help="comma-separated system names of the preset to run (default: all)")
    parser.add_argument("--min-seconds", type=float, default=10.0, help="performance run length (default 10)")
    parser.add_argument("--stream-queries", type=int, default=200, help="single-stream queries (host systems)")
    args = parser.parse_args(argv)

    from tinykws.fileio import write_json
    from tinykws.harness.check import check_submission
    from tinykws.harness.run import PerformanceSettings, bench_run
    from tinykws.harness.sut import SutSpec

    suts, modes, default_workloads = PRESETS[args.preset]
    if args.suts:
        suts = [s for s in suts if s[0] in args.suts.split(",")]
    workloads = (args.workloads or default_workloads).split(",")
    out = REPO / "bench" / "results" / f"submission_{args.preset}"
    rows = []
    print(f"{'workload':<9}{'system':<24}{'mode':<12}{'figure':>22}  {'outputs / clock':<34}{'wall s':>8}", flush=True)
    for workload in workloads:
        for name, runtime, options in suts:
            stream = args.stream_queries if runtime != "c-qemu-serial" else 0
            settings = PerformanceSettings(5, args.min_seconds, 10, stream, 0.0)
            start = time.perf_counter()
            runs = bench_run(workload, SutSpec(runtime, options, name), modes=modes, out=out, root=SHARED,
                             performance=settings)
            wall = time.perf_counter() - start
            for r in runs:
                row = {"workload": workload, "system": name, "runtime": runtime, "options": options,
                       "mode": r.mode, "wall_seconds": round(wall, 1), **r.result.to_dict()}
                row.pop("samples_detail", None)
                if r.mode == "accuracy":
                    figure = (f"top-1 {100 * r.result.value:.2f} %" if r.result.metric == "top1"
                              else f"AUC {r.result.value:.4f}" + "".join(
                                  f" / {v:.4f}" for v in r.result.subsets.values()))
                    detail = r.result.outputs_sha256[:16]
                else:
                    figure = f"{1000 * r.result.median_latency:.4f} ms"
                    detail = r.result.clock[:34]
                    if r.result.median_instructions is not None:
                        figure = f"{r.result.median_instructions:,.0f} insns"
                rows.append(row)
                print(f"{workload:<9}{name:<24}{r.mode:<12}{figure:>22}  {detail:<34}{wall:>8.1f}", flush=True)
    groups = {}
    for row in rows:
        if row["mode"] == "accuracy":
            groups.setdefault(row["workload"], {}).setdefault(row["outputs_sha256"], []).append(row["system"])
    print("identical outputs:")
    for workload, by_hash in groups.items():
        for digest, systems in by_hash.items():
            print(f"  {workload}: {', '.join(systems)}  ({digest[:12]})")
    report = None
    if len(modes) == 2:  # the checker needs both modes of each system
        report = check_submission(out, None if args.min_seconds >= 10 else args.min_seconds)
        print(report.text())
    write_json(REPO / "bench" / "results" / f"harness_{args.preset}.json", {
        "rows": rows, "identical_groups": groups, "check": report.to_dict() if report else None,
        "python": platform.python_version(), "machine": platform.machine(), "cpu_count": os.cpu_count()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
