"""`tinykws bench grade`: an autograder for course use.

For every system and workload of a submission it re-runs a seeded sample of the accuracy
set with the same system under test (runtime and options from results.json), compares
each sample's logged prediction (or anomaly score) with the re-run, and checks the
targets: quality, model size, latency. Each check is worth points; the table sums them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinykws.errors import TinyKWSError
from tinykws.eval.dataset import seeded_subset
from tinykws.eval.runner import run_batches
from tinykws.harness.accuracy import model_inputs, score
from tinykws.harness.check import check_submission
from tinykws.harness.data import load_workload_data
from tinykws.harness.registry import Workload, data_root, get_workload, resolve
from tinykws.harness.results import read_results
from tinykws.harness.run import registered_input
from tinykws.harness.sut import SutSpec, open_sut

POINTS = {"reproduced": 40, "quality": 30, "size": 15, "latency": 15}


@dataclass(frozen=True)
class GradeTargets:
    """Course targets: the model file under `max_model_bytes`, the median latency under
    `max_latency_ms` (None: not graded, the points are given)."""

    max_model_bytes: int = 100 * 1024
    max_latency_ms: float | None = None


@dataclass(frozen=True)
class GradeRow:
    """The grade of one system on one workload: each check's outcome and points."""

    system: str
    workload: str
    checks: dict[str, bool]
    details: dict[str, str]
    compliance_failures: int = 0

    @property
    def points(self) -> int:
        return sum(POINTS[k] for k, ok in self.checks.items() if ok)

    def to_dict(self) -> dict[str, Any]:
        return {"system": self.system, "workload": self.workload, "checks": self.checks, "details": self.details,
                "points": self.points, "of": sum(POINTS.values()), "compliance_failures": self.compliance_failures}


@dataclass(frozen=True)
class GradeReport:
    root: str
    rows: tuple[GradeRow, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root, "rows": [r.to_dict() for r in self.rows],
                "total": sum(r.points for r in self.rows), "of": sum(POINTS.values()) * len(self.rows)}

    def text(self) -> str:
        head = f"{'system':<24}{'workload':<10}" + "".join(f"{k:>12}" for k in POINTS) + f"{'points':>9}"
        lines = [head]
        for r in self.rows:
            cells = "".join(f"{('yes' if r.checks[k] else 'NO'):>12}" for k in POINTS)
            lines.append(f"{r.system:<24}{r.workload:<10}{cells}{r.points:>5}/{sum(POINTS.values())}")
            lines += [f"    {k}: {v}" for k, v in r.details.items()]
        total = self.to_dict()
        lines.append(f"total {total['total']} of {total['of']}")
        return "\n".join(lines)


def _workload_data(workload: Workload, root, loaded: dict[str, tuple]) -> tuple:
    """(registered int8 input, the whole dataset) of `workload`, read and checksummed once
    per grading however many systems ran it."""
    if workload.name not in loaded:
        base = data_root(root)
        int8_spec = registered_input(workload, resolve(base, workload.model.path, "reference model"))
        loaded[workload.name] = (int8_spec, load_workload_data(workload, base, input_scale=int8_spec.scale,
                                                               input_zero_point=int8_spec.zero_point))
    return loaded[workload.name]


def _rerun(data: dict[str, Any], samples: int, root, loaded: dict[str, tuple]) -> tuple[bool, str]:
    """Re-run `samples` logged samples; (all identical, what was compared)."""
    workload = get_workload(data["workload"])
    detail = data["result"].get("samples_detail") or {}
    names, values = detail.get("names") or [], detail.get("values") or []
    if not names or len(names) != len(values):
        return False, "results.json has no per-sample results to compare"
    int8_spec, full = _workload_data(workload, root, loaded)
    index = {n: i for i, n in enumerate(full.names)}
    if any(n not in index for n in names):
        return False, "the logged samples are not samples of the workload's dataset"
    picked = seeded_subset(len(names), samples)
    picked = np.arange(len(names)) if picked is None else picked
    chosen = full.select(np.array([index[names[i]] for i in picked]))
    sut = SutSpec(data["sut"]["runtime"], dict(data["sut"].get("options") or {}), data["sut"].get("system", ""))
    model = data["model"]["path"]
    with open_sut(sut, workload, model) as runner:
        outputs = run_batches(runner, model_inputs(chosen, int8_spec, runner.info.input))
        scored = score(workload, chosen, outputs, runner.info)
    # An anomaly score is the mean over a file's windows: compare the files' scores.
    logged = {names[i]: values[i] for i in picked}
    fresh = dict(zip(chosen.names, scored["per_sample"]))
    differ = [n for n in fresh if fresh[n] != logged[n]]
    return not differ, (f"{len(fresh)} samples re-run, {len(differ)} differ"
                        + (f" (first {differ[0]}: logged {logged[differ[0]]}, re-run {fresh[differ[0]]})"
                           if differ else ""))


def grade_submission(submission: str | os.PathLike, *, samples: int = 50, root: str | os.PathLike | None = None,
                     targets: GradeTargets = GradeTargets()) -> GradeReport:
    """Grade every system and workload of `submission`; `root` is the data root."""
    entries = read_results(submission)
    compliance = check_submission(submission)
    rows = []
    loaded: dict[str, tuple] = {}
    for e in entries:
        if e.mode != "accuracy":
            continue
        checks, details = {k: False for k in POINTS}, {}
        failures = sum(1 for f in compliance.failures if (f.system, f.workload) == (e.system, e.workload))
        details["compliance"] = f"{failures} failure(s) in tinykws bench check"
        if e.data is None:
            details["accuracy"] = e.problem or "no accuracy results"
            rows.append(GradeRow(e.system, e.workload, checks, details, failures))
            continue
        try:
            checks["reproduced"], details["reproduced"] = _rerun(e.data, samples, root, loaded)
        except TinyKWSError as exc:
            details["reproduced"] = f"the re-run failed: {exc}"
        result = e.data["result"]
        checks["quality"] = bool(result.get("passed"))
        details["quality"] = f"{result.get('metric')} {result.get('value')} (target {result.get('target')})"
        size = int(e.data.get("model", {}).get("size_bytes", 0))
        checks["size"] = 0 < size < targets.max_model_bytes
        details["size"] = f"model {size:,} B (target under {targets.max_model_bytes:,} B)"
        perf = next((p for p in entries if (p.system, p.workload, p.mode) == (e.system, e.workload, "performance")),
                    None)
        latency = perf.data["result"].get("median_latency_s") if perf is not None and perf.data else None
        if targets.max_latency_ms is None:
            checks["latency"] = True
            details["latency"] = "not graded (no --max-latency-ms)"
        else:
            checks["latency"] = latency is not None and 1000 * latency < targets.max_latency_ms
            details["latency"] = (f"median {1000 * latency:.3f} ms (target under {targets.max_latency_ms} ms)"
                                  if latency is not None else "no performance results")
        rows.append(GradeRow(e.system, e.workload, checks, details, failures))
    return GradeReport(str(submission), tuple(rows))
