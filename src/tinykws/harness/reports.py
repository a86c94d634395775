"""The human-readable summaries: results.txt of each mode, and the tables the CLI prints."""

from __future__ import annotations

from tinykws.harness.accuracy import AccuracyResult
from tinykws.harness.performance import PerformanceResult
from tinykws.harness.registry import Workload


def metric_text(metric: str, value: float) -> str:
    """"top-1 90.10 %" or "AUC 0.8595"."""
    return f"top-1 {100 * value:.2f} %" if metric == "top1" else f"AUC {value:.4f}"


def accuracy_summary(workload: Workload, system: str, result: AccuracyResult) -> str:
    """results.txt of accuracy mode."""
    verdict = "met" if result.passed else "NOT met"
    lines = [f"workload {workload.name} ({workload.benchmark}), system {system}, accuracy mode",
             f"{metric_text(result.metric, result.value)} on {result.samples:,} samples ({result.inferences:,} "
             f"inferences); quality target {metric_text(result.metric, result.target)}: {verdict}"]
    for name, value in result.subsets.items():
        lines.append(f"{name}: {metric_text(result.metric, value)}")
    if result.per_class:
        lines.append("per class: " + ", ".join(
            f"{k} {'-' if v is None else f'{100 * v:.1f} %'}" for k, v in result.per_class.items()))
    lines.append(f"outputs sha256 {result.outputs_sha256}")
    return "\n".join(lines)


def performance_summary(workload: Workload, system: str, result: PerformanceResult) -> str:
    """results.txt of performance mode."""
    kind = "estimated" if result.estimated else "measured"
    lines = [f"workload {workload.name} ({workload.benchmark}), system {system}, performance mode",
             f"median throughput {result.median_throughput:.3f} inferences/s, median latency "
             f"{1000 * result.median_latency:.4f} ms ({kind}; clock: {result.clock})"]
    if result.median_instructions is not None:
        lines.append(f"median instructions per inference {result.median_instructions:,.1f}")
    for r in result.runs:
        insns = "" if r.timing.instructions is None else f", {r.timing.instructions:,} instructions"
        lines.append(f"run on {r.name}: infer {r.timing.count} {r.warmup} -> {r.timing.seconds:.3f} s "
                     f"({r.throughput:.3f}/s){insns}")
    if result.single_stream is not None:
        s = result.single_stream
        lines.append(f"single stream: {s.queries} queries, p50 {1000 * s.percentile(50):.4f} ms, "
                     f"p90 {1000 * s.percentile(90):.4f} ms, p99 {1000 * s.percentile(99):.4f} ms")
    lines += list(result.notes)
    return "\n".join(lines)
