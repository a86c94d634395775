"""`tinykws bench run|check|grade|list`: the MLPerf Tiny style benchmark harness."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "bench", help="MLPerf Tiny benchmarks: run a workload on a system under test, check and grade results",
        description="Run the registered workloads (the four MLPerf Tiny benchmarks kws01, vww01, ic01, ad01 and "
                    "tinykws' own) on any runtime (--sut), in accuracy and performance mode, written in the MLPerf "
                    "Tiny submission layout; check a submission against the closed-division rules; grade one.",
    )
    sub = p.add_subparsers(dest="bench_verb", metavar="ACTION")
    _add_run(sub)
    _add_check(sub)
    _add_grade(sub)
    _add_list(sub)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _add_run(sub) -> None:
    r = sub.add_parser("run", help="run a workload on a system under test and write its results")
    r.add_argument("workload", help="a registered workload (tinykws bench list)")
    r.add_argument("--sut", required=True, metavar="RUNTIME",
                   help="the system under test: a runtime name (reference, litert, tflm, c-host, onnxruntime, "
                        "c-qemu-serial, serial, ... or a plugin's)")
    r.add_argument("--sut-option", "-O", action="append", default=[], metavar="KEY=VALUE",
                   help="an option of the runtime (arithmetic=tflite_micro, kernels=optimized, dsp=emulated, "
                        "port=/dev/ttyACM0, ...); repeatable")
    r.add_argument("--system", default="", metavar="NAME", help="the system name of the results (default: the "
                   "runtime and its option values)")
    r.add_argument("--mode", default="accuracy", choices=["accuracy", "performance", "both"])
    r.add_argument("--out", default="submission", metavar="DIR", help="the submission folder (default submission)")
    r.add_argument("--data-root", metavar="DIR", help="the folder the registry's paths are relative to "
                   "(default $TINYKWS_SHARED, else ../shared)")
    r.add_argument("--model", metavar="TFLITE", help="another model with the same contract (open division)")
    r.add_argument("--limit", type=int, metavar="N", help="only a seeded subset of N samples (not compliant)")
    r.add_argument("--runs", type=int, default=5, help="performance runs, each on another input (default 5)")
    r.add_argument("--min-seconds", type=float, default=10.0,
                   help="minimum duration of a performance run in seconds (default 10, the closed-division rule)")
    r.add_argument("--warmup", type=int, default=10, help="warm-up inferences before each run (default 10)")
    r.add_argument("--stream-queries", type=int, default=0, metavar="N",
                   help="also run the single-stream scenario with at least N queries (default: not run)")
    r.add_argument("--stream-seconds", type=float, default=0.0, metavar="S",
                   help="minimum total latency of the single-stream scenario in seconds")
    r.add_argument("--no-verify-data", action="store_true", help="skip the dataset checksum")
    r.add_argument("--json", action="store_true", help="print the results as JSON")
    r.set_defaults(func=run_run)


def _add_check(sub) -> None:
    c = sub.add_parser("check", help="check a submission folder against the closed-division rules")
    c.add_argument("results_dir", metavar="RESULTS_DIR")
    c.add_argument("--min-run-seconds", type=float, metavar="S",
                   help="accept performance runs of S seconds (quick checks; default: the registry's 10 s)")
    c.add_argument("--json", action="store_true", help="print the findings as JSON")
    c.set_defaults(func=run_check)


def _add_grade(sub) -> None:
    g = sub.add_parser("grade", help="re-run a sample of a submission's results, compare, score (course use)")
    g.add_argument("submission_dir", metavar="SUBMISSION_DIR")
    g.add_argument("--samples", type=int, default=50, help="samples re-run per workload (default 50)")
    g.add_argument("--data-root", metavar="DIR")
    g.add_argument("--max-model-bytes", type=int, default=100 * 1024, help="model size target (default 100 KB)")
    g.add_argument("--max-latency-ms", type=float, default=None, help="latency target (default: none)")
    g.add_argument("--json", action="store_true")
    g.set_defaults(func=run_grade)


def _add_list(sub) -> None:
    ls = sub.add_parser("list", help="the registered workloads, datasets and systems under test")
    ls.set_defaults(func=run_list)


def _exit_on_sigterm() -> None:
    # SIGTERM would end Python without unwinding: raise instead, so the system under test
    # is closed (a device's emulator stopped) on the way out.
    import signal
    import sys

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def run_run(args: argparse.Namespace) -> int:
    from tinykws.harness.reports import metric_text
    from tinykws.harness.run import PerformanceSettings, bench_run
    from tinykws.harness.sut import SutSpec, parse_options

    _exit_on_sigterm()
    modes = ("accuracy", "performance") if args.mode == "both" else (args.mode,)
    spec = SutSpec(args.sut, parse_options(args.sut_option), args.system)
    settings = PerformanceSettings(args.runs, args.min_seconds, args.warmup, args.stream_queries, args.stream_seconds)
    runs = bench_run(args.workload, spec, modes=modes, out=args.out, root=args.data_root, model=args.model,
                     limit=args.limit, performance=settings, verify_data=not args.no_verify_data,
                     progress=not args.json)
    if args.json:
        print(json.dumps([r.record for r in runs], indent=2, default=str))
        return 0
    for r in runs:
        if r.mode == "accuracy":
            res = r.result
            extra = "".join(f", {k} {metric_text(res.metric, v)}" for k, v in res.subsets.items())
            print(f"{r.workload} on {r.system}: {metric_text(res.metric, res.value)}{extra} "
                  f"({res.samples} samples; target {metric_text(res.metric, res.target)} "
                  f"{'met' if res.passed else 'NOT met'})")
        else:
            res = r.result
            insns = "" if res.median_instructions is None else f", {res.median_instructions:,.0f} instructions"
            kind = "estimate" if res.estimated else "measured"
            print(f"{r.workload} on {r.system}: {res.median_throughput:.3f} inferences/s, "
                  f"{1000 * res.median_latency:.4f} ms per inference{insns} ({kind}; {res.clock})")
        print(f"  written to {r.folder}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from tinykws.harness.check import check_submission

    report = check_submission(args.results_dir, args.min_run_seconds)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.text())
    return 0 if report.passed else 1


def run_grade(args: argparse.Namespace) -> int:
    from tinykws.harness.grade import GradeTargets, grade_submission

    targets = GradeTargets(max_model_bytes=args.max_model_bytes, max_latency_ms=args.max_latency_ms)
    report = grade_submission(args.submission_dir, samples=args.samples, root=args.data_root, targets=targets)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.text())
    return 0


def run_list(args: argparse.Namespace) -> int:
    from tinykws.eval.runner import runner_names
    from tinykws.harness.registry import dataset_names, get_dataset, get_workload, workload_names
    from tinykws.harness.reports import metric_text

    print("workloads:")
    for name in workload_names():
        w = get_workload(name)
        print(f"  {name:<10} {w.suite:<12} {w.benchmark:<28} {w.dataset:<14} target "
              f"{metric_text(w.metric, w.quality_target)}")
    print("datasets:")
    for name in dataset_names():
        d = get_dataset(name)
        print(f"  {name:<14} {d.count:>6} samples  {d.path}")
    print("systems under test (runtimes): " + ", ".join(runner_names()))
    return 0
