"""`tinykws bench check`: the compliance checker of a submission folder.

For every system and workload it applies the workload's closed-division rules and gives
a reason for every failure:
- both modes present, each with results.txt, results.json and log.txt, and the system's
  systems/<system>.json;
- the reference model unchanged: the hash of its weights and graph is the registry's;
- the quality target met on the full set (the registered dataset, checksum and count);
- the same code in both modes (the code identity of the runtime and its build);
- the performance runs: as many as the rules ask, each at least the minimum duration,
  each on a different input, and the reported medians equal to the medians of the runs.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinykws.errors import ConfigError
from tinykws.harness.registry import Workload, get_dataset, get_workload
from tinykws.harness.results import RESULT_FILES, ResultEntry, read_results, read_system


@dataclass(frozen=True)
class Finding:
    """One rule on one system and workload: `passed`, and the reason when it did not."""

    system: str
    workload: str
    rule: str
    passed: bool
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"system": self.system, "workload": self.workload, "rule": self.rule, "passed": self.passed,
                "reason": self.reason}


@dataclass(frozen=True)
class CheckReport:
    """Every finding of a submission."""

    root: str
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = ()

    @property
    def failures(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.passed)

    @property
    def passed(self) -> bool:
        return bool(self.findings) and not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root, "passed": self.passed, "notes": list(self.notes),
                "findings": [f.to_dict() for f in self.findings]}

    def text(self) -> str:
        lines = []
        pairs = sorted({(f.system, f.workload) for f in self.findings})
        for system, workload in pairs:
            mine = [f for f in self.findings if (f.system, f.workload) == (system, workload)]
            bad = [f for f in mine if not f.passed]
            lines.append(f"{'FAIL' if bad else 'PASS'}  {system} / {workload}  ({len(mine) - len(bad)} of "
                         f"{len(mine)} rules)")
            lines += [f"      {f.rule}: {f.reason}" for f in bad]
        lines += list(self.notes)
        lines.append(f"submission {self.root}: {'PASSES' if self.passed else 'FAILS'} the checks "
                     f"({len(self.failures)} failure(s))")
        return "\n".join(lines)


class _Rules:
    """Collects findings of one system and workload."""

    def __init__(self, system: str, workload: str):
        self.system, self.workload = system, workload
        self.findings: list[Finding] = []

    def add(self, rule: str, ok: bool, reason: str = "") -> bool:
        self.findings.append(Finding(self.system, self.workload, rule, bool(ok), "" if ok else reason))
        return bool(ok)


def _files(r: _Rules, entry: ResultEntry) -> bool:
    missing = [name for name in RESULT_FILES if not (entry.folder / name).is_file()]
    if entry.data is None and not (entry.folder.is_dir()):
        return r.add(f"{entry.mode} run present", False, f"no {entry.mode} run ({entry.folder} is missing)")
    if missing or entry.data is None:
        what = ", ".join(missing) if missing else entry.problem
        return r.add(f"{entry.mode} run present", False, f"{entry.folder}: {what or 'unreadable'}")
    return r.add(f"{entry.mode} run present", True)


def _model_rule(r: _Rules, workload: Workload, data: dict[str, Any], mode: str) -> None:
    model = data.get("model", {})
    if not workload.closed_division.reference_model:
        return
    ok = model.get("graph_sha256") == workload.model.graph_sha256
    r.add(f"reference model ({mode})", ok,
          f"modified reference model: the weights and graph of {model.get('path', '?')} hash to "
          f"{str(model.get('graph_sha256'))[:16]}..., the registry's {workload.name} model to "
          f"{workload.model.graph_sha256[:16]}...")


def _accuracy_rules(r: _Rules, workload: Workload, data: dict[str, Any]) -> None:
    if workload.closed_division.full_accuracy_set:
        spec = get_dataset(workload.dataset)
        dataset = data.get("dataset", {})
        full = (dataset.get("sha256") == spec.sha256 and dataset.get("samples_run") == spec.count
                and dataset.get("verified") is True)
        r.add("full accuracy set", full,
              f"accuracy ran on {dataset.get('samples_run')} of the {spec.count} samples of {spec.name} "
              f"(checksum {'verified' if dataset.get('verified') else 'not verified'}, "
              f"{'registered' if dataset.get('sha256') == spec.sha256 else 'another'} dataset)")
    result = data.get("result", {})
    value = result.get("value")
    target = workload.quality_target
    ok = isinstance(value, (int, float)) and math.isfinite(value) and value >= target
    what = "top-1" if workload.metric == "top1" else "AUC"
    r.add("quality target", ok, f"accuracy under the target: {what} {value} < {target} for {workload.name}")


def _performance_rules(r: _Rules, workload: Workload, data: dict[str, Any], min_run_seconds: float | None) -> None:
    rules = workload.closed_division
    if min_run_seconds is not None:
        rules = dataclasses.replace(rules, min_run_seconds=min_run_seconds)
    result = data.get("result", {})
    runs = result.get("runs") or []
    r.add("performance runs", len(runs) >= rules.performance_runs,
          f"missing performance run: {len(runs)} run(s), the rules ask for {rules.performance_runs}")
    short = [(i, run.get("seconds")) for i, run in enumerate(runs)
             if not isinstance(run.get("seconds"), (int, float)) or run["seconds"] < rules.min_run_seconds]
    r.add("run duration", not short and bool(runs),
          "run(s) shorter than {:g} s: ".format(rules.min_run_seconds)
          + ", ".join(f"run {i + 1} lasted {s:.3f} s" if isinstance(s, (int, float)) else f"run {i + 1} has no "
                      "duration" for i, s in short))
    samples = [run.get("sample") for run in runs]
    r.add("different inputs", len(set(samples)) == len(samples),
          f"performance runs repeat an input (samples {samples})")
    if runs:
        try:
            throughput = float(np.median([run["count"] / run["seconds"] for run in runs]))
            latency = float(np.median([run["seconds"] / run["count"] for run in runs]))
        except (KeyError, TypeError, ZeroDivisionError):
            r.add("medians", False, "a run lacks its count or duration")
            return
        reported = (result.get("median_inferences_per_second"), result.get("median_latency_s"))
        ok = all(isinstance(v, (int, float)) and math.isclose(v, want, rel_tol=1e-9)
                 for v, want in zip(reported, (throughput, latency)))
        r.add("medians", ok, f"the reported medians {reported} are not the medians of the runs "
                             f"({throughput:.6g}/s, {latency:.6g} s)")


def check_pair(system: str, workload_name: str, entries: dict[str, ResultEntry], root: str,
               min_run_seconds: float | None = None) -> list[Finding]:
    """The findings of one system on one workload (entries by mode)."""
    r = _Rules(system, workload_name)
    try:
        workload = get_workload(workload_name)
    except ConfigError as exc:
        r.add("registered workload", False, str(exc))
        return r.findings
    sysdata, problem = read_system(root, system)
    r.add("system description", sysdata is not None, f"systems/{system}.json: {problem}")
    present = {mode: _files(r, entry) for mode, entry in entries.items()}
    if present.get("accuracy"):
        _model_rule(r, workload, entries["accuracy"].data, "accuracy")
        _accuracy_rules(r, workload, entries["accuracy"].data)
    if present.get("performance"):
        _model_rule(r, workload, entries["performance"].data, "performance")
        _performance_rules(r, workload, entries["performance"].data, min_run_seconds)
    if present.get("accuracy") and present.get("performance"):
        codes = [entries[m].data.get("code_sha256") for m in ("accuracy", "performance")]
        r.add("same code in both modes", codes[0] is not None and codes[0] == codes[1],
              f"accuracy and performance ran different code (code identity {str(codes[0])[:12]} vs "
              f"{str(codes[1])[:12]})")
    return r.findings


def check_submission(root: str | os.PathLike, min_run_seconds: float | None = None) -> CheckReport:
    """Check every system and workload under `root` (see the module doc).
    `min_run_seconds` replaces the registry's minimum run duration (quick checks of short
    runs; the report says so)."""
    entries = read_results(root)
    pairs: dict[tuple[str, str], dict[str, ResultEntry]] = {}
    for e in entries:
        pairs.setdefault((e.system, e.workload), {})[e.mode] = e
    findings: list[Finding] = []
    for (system, workload), by_mode in sorted(pairs.items()):
        findings += check_pair(system, workload, by_mode, str(root), min_run_seconds)
    if not findings:
        findings.append(Finding("-", "-", "results present", False, f"{root}/results holds no results"))
    notes = () if min_run_seconds is None else (
        f"relaxed: performance runs of at least {min_run_seconds:g} s accepted instead of the registry's minimum",)
    return CheckReport(str(root), tuple(findings), notes)
