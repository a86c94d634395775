"""Generated C (tinykws.codegen) on the emulated Cortex-M3, M4 and M7: outputs equal the
numpy runtime's, through run_c_qemu and through the "c-qemu-*" ModelRunners. The M4 and M7
builds run the kernels' DSP path (SMLAD and friends) on the emulated core; the M3 build
the portable C path."""

from __future__ import annotations

import functools
import subprocess

import numpy as np
import pytest
import torch
from torch import nn

from tinykws.codegen import generate_project
from tinykws.intmodel import run
from tinykws.intmodel.from_quantized import intmodel_from_quantized
from tinykws.mcu.project import from_codegen
from tinykws.mcu.runner import QemuModel
from tinykws.models import build_model, model_info

pytestmark = pytest.mark.mcu


@functools.cache
def _quantized_ds_cnn():
    """ds_cnn with random weights and batch-norm statistics, PTQ on random features."""
    from tinykws.quant import quantize_ptq

    torch.manual_seed(0)
    model = build_model("ds_cnn")
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    calib = (np.random.default_rng(0).normal(size=(6, *model_info("ds_cnn").input_shape)) * 3).astype(np.float32)
    return quantize_ptq(model.eval(), calib)


def _inputs(intmodel, count: int, seed: int) -> np.ndarray:
    t = intmodel.input_tensors[0]
    x = np.random.default_rng(seed).normal(size=(count, *t.shape[1:])) * 3
    return np.clip(np.round(x / t.scale) + t.zero_point, -128, 127).astype(np.int8)


@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an385", "mps2-an500"])
def test_generated_ds_cnn_equals_numpy_runtime(toolchain, tmp_path, board):
    intmodel = intmodel_from_quantized(_quantized_ds_cnn(), "tflite_micro")
    project = from_codegen(generate_project(intmodel, tmp_path / "project"), intmodel)
    inputs = _inputs(intmodel, 4, seed=sum(map(ord, board)))
    model = QemuModel(project, board)
    outputs, instructions = model.run(inputs)
    expected = run(intmodel, inputs).output
    assert np.array_equal(outputs.reshape(expected.shape), expected)
    disassembly = subprocess.run([str(toolchain.objdump), "-d", str(model.firmware.elf)], capture_output=True,
                                 text=True, check=True).stdout
    assert ("\tsmlad\t" in disassembly) == (board != "mps2-an385")  # the DSP path, where the core has one
    assert project.num_layers == len(intmodel.ops) and project.arena_bytes > 0
    # 2.66 M MACs: more than one instruction each, far fewer than TFLite Micro's reference
    # kernels (16.2 per MAC on the M4, anchors/tflm_m4).
    assert np.all(instructions > 2_656_768) and np.all(instructions < 16 * 2_656_768)


def test_c_qemu_runner_on_an_exported_tflite(toolchain, tmp_path):
    from tinykws.eval.runner import open_runner, runner_names
    from tinykws.export.tflite import export_tflite

    assert {"c-qemu-m3", "c-qemu-m4", "c-qemu-m7"} <= set(runner_names())
    path = export_tflite(_quantized_ds_cnn(), tmp_path / "model.tflite", {"kind": "test"},
                         [str(i) for i in range(12)]).tflite_path
    with open_runner("reference", path, arithmetic="tflite_micro") as reference:
        inputs = _inputs(reference.intmodel, 3, seed=5)
        expected = reference.run(inputs)
    with open_runner("c-qemu-m4", path) as runner:
        assert runner.info.arithmetic == "tflite_micro" and runner.info.facts["board"] == "mps2-an386"
        outputs = runner.run(inputs)
        assert np.array_equal(outputs, expected)
        assert len(runner.instructions) == 3
