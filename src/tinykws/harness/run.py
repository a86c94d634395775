"""`tinykws bench run`: a workload, by name, on a system under test, in accuracy and/or
performance mode, written in the submission layout (`harness.results`).

    runs = bench_run("kws01", SutSpec("reference"), modes=("accuracy",), out="submission")
    runs[0].result.value        # 0.901
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinykws.errors import ConfigError, DataError
from tinykws.eval.runner import ModelRunner, RunnerInfo, TensorSpec
from tinykws.export.contract import io_tensors, tensor_spec
from tinykws.formats.tflite_reader import read_tflite
from tinykws.harness.accuracy import AccuracyResult, model_inputs, run_accuracy
from tinykws.harness.data import WorkloadData, load_workload_data
from tinykws.harness.model_hash import model_hashes
from tinykws.harness.performance import PerformanceResult, run_performance
from tinykws.harness.registry import Workload, data_root, get_dataset, get_workload, resolve
from tinykws.harness.results import MODES, write_mode, write_system
from tinykws.harness.reports import accuracy_summary, performance_summary
from tinykws.harness.sut import SutSpec, open_sut
from tinykws.harness.system import system_description


@dataclass(frozen=True)
class PerformanceSettings:
    """Performance-mode settings: `runs` different inputs of at least `min_seconds` each
    (the closed division asks for 5 of 10 s; tests use less), `warmup` inferences before
    each, and the single-stream scenario's minimum queries and seconds (0: not run)."""

    runs: int = 5
    min_seconds: float = 10.0
    warmup: int = 10
    stream_queries: int = 0
    stream_seconds: float = 0.0


@dataclass(frozen=True, eq=False)
class BenchRun:
    """One mode of one workload on one system: the result and where it was written."""

    workload: str
    system: str
    mode: str
    folder: Path
    result: AccuracyResult | PerformanceResult
    record: dict[str, Any]


def code_identity(info: RunnerInfo, spec: SutSpec) -> str:
    """Hex SHA-256 naming the code that ran: runtime, options, engine description and
    version, arithmetic, and the build's own hash when the runtime reports one
    (`facts["code_sha256"]`: firmware, generated C). Both modes must give the same."""
    record = {"runtime": spec.runtime, "options": {k: str(v) for k, v in sorted(spec.options.items())},
              "description": info.description, "version": info.version, "arithmetic": info.arithmetic,
              "code": info.facts.get("code_sha256", "")}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def registered_input(workload: Workload, reference_path: Path) -> TensorSpec:
    """The reference model's input tensor, which must be the one the registry states (the
    stored samples are on its grid). DataError when the file disagrees."""
    spec = tensor_spec(io_tensors(read_tflite(reference_path), str(reference_path))[0])
    want = workload.input
    same = (spec.dtype == want.dtype and spec.zero_point == want.zero_point and spec.scale is not None
            and want.scale is not None and np.float32(spec.scale) == np.float32(want.scale))
    if not same:
        raise DataError(f"{reference_path}: input {spec.dtype} scale {spec.scale} zero point {spec.zero_point}, "
                        f"the registry's {workload.name} says {want.dtype} scale {want.scale} zero point "
                        f"{want.zero_point}")
    return spec


def _transcript(runner: ModelRunner) -> list[str]:
    # Device systems keep the serial exchange (an optional attribute of device runners).
    lines = getattr(runner, "transcript", None)
    return list(lines() if callable(lines) else lines or [])


def bench_run(workload_name: str, sut: SutSpec, *, modes: tuple[str, ...] = ("accuracy",),
              out: str | os.PathLike = "submission", root: str | os.PathLike | None = None,
              model: str | os.PathLike | None = None, limit: int | None = None,
              performance: PerformanceSettings = PerformanceSettings(), verify_data: bool = True,
              progress: bool = False) -> list[BenchRun]:
    """Run `workload_name` on `sut` in each of `modes` and write the results under `out`.

    model: another .tflite with the same contract (open division; the checker will see
    its hashes differ). limit: a seeded subset of that many samples (quick checks; not a
    compliant accuracy run)."""
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise ConfigError(f"unknown mode(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(MODES)}")
    workload = get_workload(workload_name)
    base = data_root(root)
    reference_path = resolve(base, workload.model.path, f"reference model of {workload.name}")
    model_path = Path(model) if model is not None else reference_path
    hashes = model_hashes(model_path)
    int8_spec = registered_input(workload, reference_path)
    start = time.perf_counter()
    data = load_workload_data(workload, base, input_scale=int8_spec.scale, input_zero_point=int8_spec.zero_point,
                              verify=verify_data, limit=limit)
    load_seconds = time.perf_counter() - start
    spec = get_dataset(workload.dataset)
    done = []
    with open_sut(sut, workload, model_path) as runner:
        common = {
            "workload": workload.name, "benchmark": workload.benchmark, "suite": workload.suite,
            "system": sut.name, "sut": sut.to_dict(), "runner": runner.info.to_dict(),
            "code_sha256": code_identity(runner.info, sut), "model": hashes.to_dict(),
            "dataset": {"name": spec.name, "count": spec.count, "sha256": spec.sha256, "verified": verify_data,
                        "samples_run": data.samples, "full_set": data.samples == spec.count},
            "tinykws_version": runner.info.version,
        }
        write_system(out, sut.name, system_description(sut.name, runner.info, sut.options))
        for mode in modes:
            log = [f"tinykws bench run {workload.name} --mode {mode} --sut {sut.runtime}",
                   f"system {sut.name}: {runner.info.description}",
                   f"model {model_path} sha256 {hashes.file_sha256} graph {hashes.graph_sha256}",
                   f"dataset {spec.name}: {data.samples} of {spec.count} samples, {len(data.inputs)} inputs, "
                   f"loaded in {load_seconds:.1f} s (checksum {'verified' if verify_data else 'not verified'})"]
            started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            if mode == "accuracy":
                result: AccuracyResult | PerformanceResult = run_accuracy(runner, workload, data, int8_spec,
                                                                          progress=progress)
                summary = accuracy_summary(workload, sut.name, result)
            else:
                result = _performance(runner, workload, data, int8_spec, performance)
                summary = performance_summary(workload, sut.name, result)
            log += [f"started {started}", *summary.splitlines(), *_transcript(runner)]
            record = {**common, "started": started, "result": result.to_dict()}
            folder = write_mode(out, sut.name, workload.name, mode, record, summary, log)
            done.append(BenchRun(workload.name, sut.name, mode, folder, result, record))
    return done


def _performance(runner: ModelRunner, workload: Workload, data: WorkloadData, int8_spec: TensorSpec,
                 settings: PerformanceSettings) -> PerformanceResult:
    inputs = model_inputs(data, int8_spec, runner.info.input)
    return run_performance(runner, workload.name, inputs, data.groups, data.names, runs=settings.runs,
                           min_seconds=settings.min_seconds, warmup=settings.warmup,
                           stream_queries=settings.stream_queries, stream_seconds=settings.stream_seconds)
