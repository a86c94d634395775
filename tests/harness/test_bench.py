"""`tinykws bench`: the registries, the exact MLPerf Tiny figures, systems that agree bit
for bit where their arithmetic is the same, the submission layout, the compliance
checker (a complete folder passes; each broken rule fails with its reason) and the
autograder. Uses ../shared (skips without it)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tinykws.errors import DataError
from tinykws.harness.check import check_submission
from tinykws.harness.registry import get_dataset, get_workload, workload_names
from tinykws.harness.run import PerformanceSettings, bench_run
from tinykws.harness.sut import SutSpec

QUICK = PerformanceSettings(runs=5, min_seconds=0.2, warmup=1)


def test_registries_hold_the_four_benchmarks_and_their_targets():
    targets = {name: get_workload(name).quality_target for name in workload_names()}
    assert {"kws01": 0.90, "vww01": 0.80, "ic01": 0.85, "ad01": 0.85}.items() <= targets.items()
    assert get_workload("ad01").metric == "auc"
    assert get_dataset("ad01").subsets == {"short_list": "y_labels_alt.csv"}
    assert get_workload("kws_sc12").input.frontend == "mlperf_mfcc"


@pytest.mark.shared
def test_registered_models_have_the_registered_hashes(shared_dir):
    from tinykws.harness.model_hash import model_hashes

    for name in ("kws01", "vww01", "ic01", "ad01"):
        spec = get_workload(name).model
        found = model_hashes(shared_dir / spec.path)
        assert (found.file_sha256, found.graph_sha256, found.size_bytes) == (spec.sha256, spec.graph_sha256,
                                                                           spec.size_bytes)


def flipped_weight_copy(model: Path, out: Path) -> Path:
    """A copy of `model` with one byte of its largest constant changed."""
    from tinykws.formats.tflite_reader import read_tflite

    raw = bytearray(model.read_bytes())
    weights = max((t for t in read_tflite(model).main.tensors if t.data is not None), key=lambda t: t.data.nbytes)
    at = bytes(raw).find(np.ascontiguousarray(weights.data).tobytes())
    assert at > 0
    raw[at + 7] ^= 0x41
    out.write_bytes(bytes(raw))
    return out


@pytest.mark.shared
def test_graph_hash_follows_weights_not_serialisation(shared_dir, tmp_path):
    from tinykws.formats.tflite_reader import read_tflite
    from tinykws.formats.tflite_writer import write_tflite
    from tinykws.harness.model_hash import model_hashes

    ref = shared_dir / get_workload("kws01").model.path
    rewritten = tmp_path / "rewritten.tflite"
    write_tflite(read_tflite(ref), rewritten)
    a, b = model_hashes(ref), model_hashes(rewritten)
    assert a.file_sha256 != b.file_sha256 and a.graph_sha256 == b.graph_sha256
    assert model_hashes(flipped_weight_copy(ref, tmp_path / "flipped.tflite")).graph_sha256 != a.graph_sha256


@pytest.mark.shared
def test_a_changed_dataset_is_refused(shared_dir, tmp_path):
    from tinykws.harness.data import verify_dataset

    spec = get_dataset("ic01")
    copy = tmp_path / spec.path
    shutil.copytree(shared_dir / spec.path, copy)
    verify_dataset(spec, tmp_path)
    first = sorted(copy.glob("*.bin"))[0]
    first.write_bytes(bytes([first.read_bytes()[0] ^ 1]) + first.read_bytes()[1:])
    with pytest.raises(DataError, match="checksum"):
        verify_dataset(spec, tmp_path)


@pytest.mark.shared
def test_kws01_and_ic01_give_the_exact_reference_figures(shared_dir, tmp_path):
    for name, expected in (("kws01", 0.901), ("ic01", 0.865)):
        (run,) = bench_run(name, SutSpec("litert"), out=tmp_path, root=shared_dir)
        assert run.result.value == pytest.approx(expected, abs=1e-12)
        assert run.result.passed
        folder = tmp_path / "results" / "litert" / name / "accuracy"
        assert sorted(p.name for p in folder.iterdir()) == ["log.txt", "results.json", "results.txt"]
    system = json.loads((tmp_path / "systems" / "litert.json").read_text())
    assert {"cpu", "cores", "memory_bytes", "os", "python"} <= set(system["host"])
    assert {"packages", "compilers"} <= set(system["software"])


@pytest.mark.shared
def test_systems_with_the_same_arithmetic_give_identical_outputs(shared_dir, tmp_path):
    """TFLite Micro's arithmetic: the tflm interpreter, the numpy runtime and the generated
    C; LiteRT's reference kernels: LiteRT and the numpy runtime. 60 kws01 samples and 3
    ad01 files (588 windows). (Whole sets: bench/harness_suite.py accuracy.)"""
    groups = {
        "tflite_micro": [SutSpec("tflm"), SutSpec("reference", {"arithmetic": "tflite_micro"}), SutSpec("c-host")],
        "litert_ref": [SutSpec("litert"), SutSpec("reference", {"arithmetic": "litert_ref"})],
    }
    for workload, limit in (("kws01", 60), ("ad01", 3)):
        for arithmetic, suts in groups.items():
            hashes = {s.name: bench_run(workload, s, out=tmp_path, root=shared_dir, limit=limit)[0].result
                      for s in suts}
            assert len({r.outputs_sha256 for r in hashes.values()}) == 1, (workload, arithmetic, hashes)


class DegradedRunner:
    """A third-party system under test: LiteRT fed MFCCs whose frames are shifted by 10
    (a broken feature pipeline). Registered as a plugin runtime."""

    def __init__(self, inner):
        self.inner = inner
        self.info = dataclasses.replace(inner.info, runtime="degraded", description="LiteRT, frames shifted")

    def run(self, inputs):
        return self.inner.run(np.roll(inputs, 10, axis=1))

    def time_inferences(self, inputs, count, warmup=0):
        return self.inner.time_inferences(inputs, count, warmup)

    def close(self):
        self.inner.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_degraded(model, frontend=None, labels=None):
    from tinykws.eval.runner import open_runner

    return DegradedRunner(open_runner("litert", model, frontend=frontend, labels=labels))


@pytest.fixture(scope="module")
def complete_submission(shared_dir, tmp_path_factory):
    """kws01 on the generated C (host), both modes, five runs of at least 0.2 s."""
    root = tmp_path_factory.mktemp("submission")
    bench_run("kws01", SutSpec("c-host"), modes=("accuracy", "performance"), out=root, root=shared_dir,
              performance=QUICK)
    return root


def _copy(root: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(root, out)
    return out


def _reasons(report, rule):
    return [f.reason for f in report.failures if f.rule == rule]


@pytest.mark.shared
def test_check_passes_a_complete_folder(complete_submission):
    report = check_submission(complete_submission, min_run_seconds=0.2)
    assert report.passed, report.text()
    perf = json.loads((complete_submission / "results/c-host/kws01/performance/results.json").read_text())
    assert len(perf["result"]["runs"]) == 5 and all(r["seconds"] >= 0.2 for r in perf["result"]["runs"])


@pytest.mark.shared
def test_check_fails_runs_shorter_than_ten_seconds(complete_submission):
    report = check_submission(complete_submission)
    assert [f.rule for f in report.failures] == ["run duration"]
    assert "shorter than 10 s" in report.failures[0].reason


@pytest.mark.shared
def test_check_fails_a_missing_performance_run(complete_submission, tmp_path, shared_dir):
    copy = _copy(complete_submission, tmp_path)
    bench_run("kws01", SutSpec("c-host"), modes=("performance",), out=copy, root=shared_dir,
              performance=dataclasses.replace(QUICK, runs=4))
    report = check_submission(copy, min_run_seconds=0.2)
    assert _reasons(report, "performance runs") == ["missing performance run: 4 run(s), the rules ask for 5"]
    shutil.rmtree(copy / "results/c-host/kws01/performance")
    report = check_submission(copy, min_run_seconds=0.2)
    assert "no performance run" in _reasons(report, "performance run present")[0]


@pytest.mark.shared
def test_check_fails_a_modified_reference_model(shared_dir, tmp_path):
    model = flipped_weight_copy(shared_dir / get_workload("kws01").model.path, tmp_path / "m.tflite")
    bench_run("kws01", SutSpec("c-host"), modes=("accuracy", "performance"), out=tmp_path / "sub", root=shared_dir,
              model=model, performance=QUICK, limit=50)
    report = check_submission(tmp_path / "sub", min_run_seconds=0.2)
    reasons = _reasons(report, "reference model (accuracy)") + _reasons(report, "reference model (performance)")
    assert len(reasons) == 2 and all("modified reference model" in r for r in reasons)


@pytest.mark.shared
def test_check_fails_accuracy_under_the_target_of_a_plugin_system(shared_dir, tmp_path):
    from tinykws.eval.runner import register_runner

    register_runner("degraded", open_degraded)
    bench_run("kws01", SutSpec("degraded"), modes=("accuracy", "performance"), out=tmp_path, root=shared_dir,
              performance=QUICK)
    report = check_submission(tmp_path, min_run_seconds=0.2)
    assert [f.rule for f in report.failures] == ["quality target"]
    assert report.failures[0].reason.startswith("accuracy under the target: top-1 0.")


@pytest.mark.shared
def test_check_fails_different_code_in_the_two_modes(complete_submission, tmp_path, shared_dir):
    copy = _copy(complete_submission, tmp_path)
    bench_run("kws01", SutSpec("c-host", {"dsp": "emulated"}, system="c-host"), modes=("performance",), out=copy,
              root=shared_dir, performance=QUICK)
    report = check_submission(copy, min_run_seconds=0.2)
    assert [f.rule for f in report.failures] == ["same code in both modes"]


@pytest.mark.shared
def test_grade_reruns_samples_and_catches_a_changed_log(complete_submission, tmp_path, shared_dir):
    from tinykws.harness.grade import GradeTargets, grade_submission

    report = grade_submission(complete_submission, samples=20, root=shared_dir,
                              targets=GradeTargets(max_latency_ms=1000.0))
    (row,) = report.rows
    assert row.checks == {"reproduced": True, "quality": True, "size": True, "latency": True}, row.details
    copy = _copy(complete_submission, tmp_path)
    path = copy / "results/c-host/kws01/accuracy/results.json"
    data = json.loads(path.read_text())
    values = data["result"]["samples_detail"]["values"]
    data["result"]["samples_detail"]["values"] = [(v + 1) % 12 for v in values]
    path.write_text(json.dumps(data))
    (row,) = grade_submission(copy, samples=20, root=shared_dir).rows
    assert not row.checks["reproduced"] and "20 differ" in row.details["reproduced"]


def test_cli_lists_and_names_unknown_workloads(capsys):
    from tinykws.cli.main import main as cli

    assert cli(["bench", "list"]) == 0
    out = capsys.readouterr().out
    assert "kws01" in out and "c-qemu-serial" in out and "onnxruntime" in out
    assert cli(["bench", "run", "kws99", "--sut", "litert"]) == 2
    assert "unknown workload 'kws99'" in capsys.readouterr().err


@pytest.mark.shared
def test_cli_check_exit_status(complete_submission, capsys):
    from tinykws.cli.main import main as cli

    assert cli(["bench", "check", str(complete_submission), "--min-run-seconds", "0.2"]) == 0
    assert cli(["bench", "check", str(complete_submission)]) == 1
    assert "run duration: run(s) shorter than 10 s" in capsys.readouterr().out


def test_inputs_follow_the_quantization_of_the_system_under_test():
    """A model with the reference input grid gets the stored int8 samples; another int8
    grid gets them re-quantized from the reals; a float model the reals themselves."""
    from tinykws.eval.runner import TensorSpec
    from tinykws.harness.accuracy import model_inputs
    from tinykws.harness.data import WorkloadData

    stored = np.array([[-128, -1, 0, 5, 127]], np.int8)
    data = WorkloadData(stored, np.array([0]), np.array([0]), ("a",))
    ref = TensorSpec((5,), "int8", 0.5, 3)
    assert model_inputs(data, ref, ref) is stored
    reals = model_inputs(data, ref, TensorSpec((5,), "float32"))
    assert np.array_equal(reals, 0.5 * (stored.astype(np.float32) - 3))
    coarser = model_inputs(data, ref, TensorSpec((5,), "int8", 1.0, 0))
    assert np.array_equal(coarser, [[-66, -2, -2, 1, 62]])


def test_sut_options_are_read_like_recipe_overrides():
    from tinykws.errors import ConfigError
    from tinykws.harness.sut import parse_options

    assert parse_options(["dsp=emulated", "jobs=2", "scale=0.5", "name="]) == {
        "dsp": "emulated", "jobs": 2, "scale": 0.5, "name": ""}
    with pytest.raises(ConfigError, match="SUT option: override 'jobs' is not of the form key=value"):
        parse_options(["jobs"])
    with pytest.raises(ConfigError, match="SUT option: .* value is not valid YAML"):
        parse_options(["x=[1,"])
