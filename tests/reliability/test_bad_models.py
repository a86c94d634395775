"""The bad-input catalogue, models: malformed .tflite files, engines that crash or hang,
forged or diverged checkpoints, training that diverges. Every case is a clean tinykws
error (exit 2, one line naming the file) and leaves no output behind."""

from __future__ import annotations

import ctypes
import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FUZZ_CORPUS, tree

from tinykws.audio.frontends import build_frontend
from tinykws.data.labels import MLPERF_LABELS
from tinykws.errors import ModelFormatError, TrainingDivergedError
from tinykws.formats.tflite_builder import TFLiteGraphBuilder
from tinykws.formats.tflite_reader import read_tflite
from tinykws.formats.tflite_writer import write_tflite
from tinykws.export.engines import TFLMEngine
from tinykws.intmodel import intmodel_from_tflite, run
from tinykws.isolation import IsolatedObject
from tinykws.models import build_model
from tinykws.train.batches import FEATURES, ArraySource, TrainData
from tinykws.train.checkpoint import Checkpoint, save_checkpoint
from tinykws.train.config import RunConfig
from tinykws.train.loop import train

SEED_MODEL = FUZZ_CORPUS / "tflite" / "tiny_conv.tflite"


# --- .tflite files ---------------------------------------------------------------------
def _conv_graph(path, out_scale=0.1, out_zero_point=2, weight_scales=(0.01, 0.02, 0.03), out_shape=(1, 4, 4, 3),
                x_shape=(1, 4, 4, 2), omit_weights=False, outputs=None):
    b = TFLiteGraphBuilder()
    x = b.tensor(x_shape, scale=0.05, zero_point=-3)
    w = b.tensor((3, 3, 3, 2), data=np.ones((3, 3, 3, 2)), scale=list(weight_scales), quantized_dimension=0)
    y = b.tensor(out_shape, scale=out_scale, zero_point=out_zero_point)
    b.operator("CONV_2D", [x, -1 if omit_weights else w], [y], version=3, padding="SAME", stride_h=1, stride_w=1)
    path.write_bytes(b.to_bytes([x], [y] if outputs is None else outputs))
    return path


def _assert_refused(path: Path, problem: str) -> None:
    """Importing the .tflite at `path` is a ModelFormatError naming the file and `problem`."""
    with pytest.raises(ModelFormatError) as info:
        intmodel_from_tflite(read_tflite(path))
    assert str(path) in str(info.value) and problem in str(info.value)


@pytest.mark.parametrize("case, options, problem", [
    ("scale_zero", {"out_scale": 0.0}, "scale 0.0"),
    ("scale_negative", {"out_scale": -1.0}, "scale -1.0"),
    ("scale_inf", {"out_scale": float("inf")}, "scale inf"),
    ("scale_nan", {"out_scale": float("nan")}, "scale nan"),
    ("scale_huge", {"out_scale": 1e38}, "not a finite number in (0, 1e+12]"),
    ("zero_point_out_of_range", {"out_zero_point": 300}, "zero point 300"),
    ("per_channel_count", {"weight_scales": (0.01, 0.02)}, "2 per-channel scales"),
    ("declared_petabytes", {"x_shape": (1, 1 << 20, 1 << 20, 2)}, "elements"),
    ("shape_against_op", {"out_shape": (1, 4, 4, 5)}, "differs from the computed"),
    ("weights_omitted", {"omit_weights": True}, "omitted"),
    ("no_outputs", {"outputs": []}, "0 outputs"),
])
def test_malformed_tflite_is_a_model_format_error(tmp_path, case, options, problem):
    path = _conv_graph(tmp_path / f"{case}.tflite", **options)
    _assert_refused(path, problem)


def _mutant(tmp_path, name, **quantization):
    """The seed model with the quantization of its output tensor replaced."""
    tfl = read_tflite(SEED_MODEL)
    sg = tfl.main
    out = sg.tensors[sg.outputs[0]]
    q = dataclasses.replace(out.quantization, **{k: np.asarray(v) for k, v in quantization.items()})
    tensors = tuple(dataclasses.replace(t, quantization=q) if t.index == out.index else t for t in sg.tensors)
    path = tmp_path / name
    write_tflite(dataclasses.replace(tfl, subgraphs=(dataclasses.replace(sg, tensors=tensors),)), path)
    return path


@pytest.mark.parametrize("runtime", ["reference", "tflm", "litert"])
def test_evaluate_refuses_a_malformed_tflite_in_every_runtime(tiny_folder_dataset, tmp_path, refused, runtime):
    model = _mutant(tmp_path, "zero_scale.tflite", scales=np.zeros(1, np.float32))
    out = tmp_path / "eval"
    refused(["evaluate", model, "--data", tiny_folder_dataset.root, "--runtime", runtime, "--no-progress",
             "--out", out, "--outputs", tmp_path / "o.npy"], model, "scale 0.0")
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["zero_scale.tflite"]


def test_a_model_that_crashes_tflite_micro_is_an_error_naming_engine_and_signal():
    # A depthwise graph of fuzz/corpus with one byte changed (found by mutating the corpus):
    # tinykws' checks accept it and its own runtime runs it, but TFLite Micro segfaults on it.
    path = Path(__file__).parent / "data" / "tflm_sigsegv.tflite"
    inputs = np.zeros((2, 4, 4, 2), np.int8)
    assert run(intmodel_from_tflite(path), inputs).output.shape == (2, 2, 2, 4)
    with pytest.raises(ModelFormatError, match=r"tflm_sigsegv.tflite: TFLite Micro crashed \(SIGSEGV\)"):
        TFLMEngine(path).run(inputs)


def test_an_engine_crash_names_the_engine_and_the_signal():
    with pytest.raises(ModelFormatError, match=r"m.tflite: TFLite Micro crashed \(SIGSEGV\)"):
        IsolatedObject(ctypes.string_at, (0,), engine="TFLite Micro", source="m.tflite")
    engine = IsolatedObject(ctypes.CDLL, (None,), engine="LiteRT", source="m.tflite")
    with pytest.raises(ModelFormatError, match=r"m.tflite: LiteRT crashed \(SIGABRT\)"):
        engine.call("abort")


def test_an_engine_hang_is_stopped_and_named():
    engine = IsolatedObject(threading.Event, (), engine="LiteRT", source="m.tflite")
    assert engine.call("is_set") is False
    with pytest.raises(ModelFormatError, match=r"m.tflite: LiteRT did not answer within 1 s"):
        engine.call("wait", 60, timeout_s=1)


# --- checkpoints -----------------------------------------------------------------------
def _payload(**changes):
    torch.manual_seed(0)
    model = build_model("tiny_conv", num_classes=12, input_shape=(49, 10), filters=2)
    kwargs = {k: v for k, v in model.model_kwargs.items() if k != "num_classes"}
    ckpt = Checkpoint("tiny_conv", kwargs, 12, model.state_dict(), build_frontend("mlperf_mfcc").to_dict(),
                      list(MLPERF_LABELS))
    payload = ckpt.to_payload()
    for key, value in changes.items():
        node = payload
        *parents, last = key.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    return payload


def _nan_weights():
    state = _payload()["state_dict"]
    first = next(iter(state))
    state[first] = state[first].clone().fill_(float("nan"))
    return state


@pytest.mark.parametrize("case, changes, problem", [
    ("epoch_text", {"epoch": "x"}, "'epoch' must be an integer"),
    ("classes_text", {"model.num_classes": "abc"}, "'model.num_classes' must be an integer"),
    ("two_labels", {"labels": ["yes", "no"]}, "2 labels for 12 classes"),
    ("dropout_7", {"model.kwargs.dropout": 7}, "invalid options"),
    ("width_text", {"model.kwargs.filters": "wide"}, "invalid options"),
    ("nan_weights", {"state_dict": _nan_weights()}, "NaN or Inf"),
])
def test_evaluate_refuses_a_forged_or_diverged_checkpoint(tiny_folder_dataset, tmp_path, refused, case, changes,
                                                          problem):
    path = tmp_path / f"{case}.pt"
    torch.save(_payload(**changes), path)
    refused(["evaluate", path, "--data", tiny_folder_dataset.root, "--no-progress", "--out", tmp_path / "e"],
            path, problem)
    assert not (tmp_path / "e").exists()


def _recipe(tmp_path: Path, data_root: Path, extra: str = "") -> Path:
    """A one-epoch tiny_conv recipe on `data_root`, plus `extra` YAML lines."""
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"data: {{sources: [{{path: {data_root}}}]}}\nmodel: {{name: tiny_conv}}\n"
                      f"frontend: {{name: mlperf_mfcc}}\n{extra}train: {{epochs: 1}}\n")
    return recipe


def test_quantize_and_teachers_refuse_non_finite_weights(tiny_raw_dataset, tmp_path, refused):
    path = tmp_path / "diverged.pt"
    torch.save(_payload(state_dict=_nan_weights()), path)
    refused(["quantize", path, "--data", tiny_raw_dataset.root, "--out", tmp_path / "int8", "--no-progress"],
            path, "NaN or Inf")
    assert not (tmp_path / "int8").exists()
    recipe = _recipe(tmp_path, tiny_raw_dataset.root, f"distill: {{teacher: {path}}}\n")
    refused(["train", recipe, "--out", tmp_path / "run", "--no-progress"], path, "NaN or Inf")


def test_save_checkpoint_never_writes_non_finite_weights(tmp_path):
    payload = _payload()
    ckpt = Checkpoint("tiny_conv", payload["model"]["kwargs"], 12, _nan_weights(), payload["frontend"],
                      payload["labels"])
    with pytest.raises(ModelFormatError, match="refusing to save"):
        save_checkpoint(ckpt, tmp_path / "best.pt")
    assert list(tmp_path.iterdir()) == []


# --- training --------------------------------------------------------------------------
def _cfg(**train):
    return RunConfig(name="diverge", model=dataclasses.replace(RunConfig().model, name="tiny_conv",
                                                               kwargs={"filters": 2}),
                     frontend=dataclasses.replace(RunConfig().frontend, name="mlperf_mfcc"),
                     train=dataclasses.replace(RunConfig().train, epochs=2, batch_size=4, progress=False, **train))


def test_a_diverging_run_stops_naming_epoch_and_step_and_saves_nothing(tmp_path):
    x = np.full((8, 49, 10), np.inf, np.float32)  # features no front-end gives: NaN loss at once
    data = TrainData([ArraySource(x, np.arange(8) % 12)], kind=FEATURES)
    run_dir = tmp_path / "run"
    with pytest.raises(TrainingDivergedError, match=r"epoch 1, step 1: loss nan"):
        train(_cfg(), data, run_dir)
    assert not {"best.pt", "last.pt", "metrics.jsonl"} & set(tree(run_dir))


def test_resume_refuses_a_diverged_last_checkpoint(tmp_path, refused, tiny_raw_dataset):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    torch.save(_payload(state_dict=_nan_weights()), run_dir / "last.pt")
    recipe = _recipe(tmp_path, tiny_raw_dataset.root)
    refused(["train", recipe, "--out", run_dir, "--resume", "--no-progress"], run_dir / "last.pt", "NaN or Inf")


@pytest.mark.parametrize("lr, problem", [(".inf", "expected a finite number"), ("1e30", "must be in (0, 10]")])
def test_learning_rates_that_cannot_train_are_refused_at_load(tmp_path, refused, lr, problem):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"optim: {{lr: {lr}}}\n")
    refused(["train", recipe, "--out", tmp_path / "run"], recipe, "optim.lr", problem)
    assert not (tmp_path / "run").exists()


def _gated_graph(path, split_out=(1, 1, 5), rhs_shape=(1, 13, 9), last_step_dtype=np.int8, omit_axis=False):
    """SPLIT of (1, 7, 5) into seven steps feeding a BATCH_MATMUL against a (1, 13, 9) input."""
    b = TFLiteGraphBuilder()
    x = b.tensor((1, 7, 5), scale=0.03, zero_point=4)
    axis = b.tensor((1,), np.int32, data=np.array([1], np.int32))
    steps = [b.tensor(split_out, np.int8 if k < 6 else last_step_dtype, scale=0.03, zero_point=4)
             for k in range(7)]
    b.operator("SPLIT", [-1 if omit_axis else axis, x], steps, version=2, num_splits=7)
    lhs = b.tensor((1, 1, 13), scale=1 / 256, zero_point=-128)
    rhs = b.tensor(rhs_shape, scale=0.01, zero_point=-7)
    y = b.tensor((1, 1, 9), scale=0.012, zero_point=3)
    b.operator("BATCH_MATMUL", [lhs, rhs], [y], version=1, adj_x=False, adj_y=False)
    path.write_bytes(b.to_bytes([x, lhs, rhs], [*steps, y]))
    return path


@pytest.mark.parametrize("case, options, problem", [
    ("split_part_shape", {"split_out": (1, 2, 5)}, "split"),
    ("matmul_inner_sizes", {"rhs_shape": (1, 12, 9)}, "(1, 12, 9)"),
    # Seen while seeding the fuzzer: only the first output's type was checked, and an omitted axis
    # (index -1) read the file's last tensor.
    ("split_output_type", {"last_step_dtype": np.int16}, "int16"),
    ("split_axis_omitted", {"omit_axis": True}, "input 0 is missing"),
])
def test_malformed_gated_operators_are_a_model_format_error(tmp_path, case, options, problem):
    path = _gated_graph(tmp_path / f"{case}.tflite", **options)
    _assert_refused(path, problem)


def test_a_well_formed_gated_graph_is_accepted_and_runs(tmp_path):
    model = intmodel_from_tflite(read_tflite(_gated_graph(tmp_path / "ok.tflite")))
    rng = np.random.default_rng(0)
    inputs = [rng.integers(-128, 128, size=t.shape).astype(np.int8) for t in model.input_tensors]
    outputs = run(model, inputs).outputs
    assert [o.shape for o in outputs] == [(1, 1, 5)] * 7 + [(1, 1, 9)]
    assert np.array_equal(np.concatenate(outputs[:7], axis=1), inputs[0])


@pytest.mark.parametrize("kind", ["ADD", "MUL", "SUB"])
def test_a_broadcast_that_builds_a_huge_tensor_is_refused(tmp_path, kind):
    """(1, 2048, 1) against (1, 1, 2048) declares a 4 Mi-element output from 4 K input
    elements; the validator refuses it before the kernels allocate it."""
    b = TFLiteGraphBuilder()
    x1 = b.tensor((1, 2048, 1), scale=0.05, zero_point=-3)
    x2 = b.tensor((1, 1, 2048), scale=0.02, zero_point=7)
    y = b.tensor((1, 2048, 2048), scale=0.08, zero_point=1)
    b.operator(kind, [x1, x2], [y], version=2, fused_activation_function="NONE")
    path = tmp_path / "broadcast.tflite"
    path.write_bytes(b.to_bytes([x1, x2], [y]))
    _assert_refused(path, "(1, 2048, 2048), more than 1,048,576 elements")


def test_a_fully_connected_output_declared_unlike_its_rows_is_refused(tmp_path):
    """Found by fuzzing (fuzz/crashes/tflite/tflite-exception-e6b9...): without keep_num_dims
    the kernel returns (rows, out) = (2, 4), not the declared (1, 2, 4); a SPLIT and an ADD
    further on then met arrays of other shapes than the validator had checked."""
    b = TFLiteGraphBuilder()
    x = b.tensor((1, 2, 10), scale=0.05, zero_point=-3)
    w = b.tensor((4, 10), data=np.arange(40).reshape(4, 10) - 20, scale=0.02)
    y = b.tensor((1, 2, 4), scale=0.2, zero_point=-1)
    b.operator("FULLY_CONNECTED", [x, w, -1], [y], version=4, keep_num_dims=False)
    path = tmp_path / "fc_rows.tflite"
    path.write_bytes(b.to_bytes([x], [y]))
    _assert_refused(path, "(1, 2, 4) differs from the computed (2, 4)")


def test_a_mean_output_declared_unlike_its_kernel_is_refused(tmp_path):
    """MEAN over (1, 2) with keep_dims makes (1, 1, 1, 2); a file declaring (1, 2) (the
    same size) fed a SPLIT along an axis of 1 element at run time (numpy ValueError)."""
    b = TFLiteGraphBuilder()
    x = b.tensor((1, 4, 4, 2), scale=0.05, zero_point=-3)
    axes = b.tensor((2,), np.int32, data=[1, 2])
    y = b.tensor((1, 2), scale=0.05, zero_point=-3)
    b.operator("MEAN", [x, axes], [y], version=2, keep_dims=True)
    path = tmp_path / "mean.tflite"
    path.write_bytes(b.to_bytes([x], [y]))
    _assert_refused(path, "(1, 2) differs from the computed (1, 1, 1, 2)")


def test_every_kernel_of_the_runtime_has_a_validator_check():
    # A kernel added without a check runs on whatever shapes a file declares (the merge of
    # the gated operators once left SUB unchecked: a KeyError instead of a clean error).
    from tinykws.intmodel import validate
    from tinykws.intmodel.runtime import KERNELS

    assert set(KERNELS) <= set(validate._CHECKS) | set(validate._MULTI_OUTPUT_CHECKS)
