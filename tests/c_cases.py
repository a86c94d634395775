"""Helpers for the generated-C tests: many small integer networks merged into one (so
one C build checks them all), and the comparison of C against the numpy runtime that
names the sub-network that differs."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tinykws.codegen.host import build_host, run_host_build
from tinykws.codegen.project import CodegenResult, generate_project, numpy_outputs
from tinykws.intmodel.graph import IntModel


def merge_models(models: list[IntModel]) -> IntModel:
    """One IntModel running `models` side by side: inputs and outputs concatenated in order.
    All must share one arithmetic."""
    arithmetics = {m.arithmetic for m in models}
    assert len(arithmetics) == 1, arithmetics
    tensors, ops, inputs, outputs = [], [], [], []
    for number, m in enumerate(models):
        base = len(tensors)
        tensors += [replace(t, name=f"m{number}/{t.name}") for t in m.tensors]
        for op in m.ops:
            ops.append(replace(op, inputs=tuple(i + base if i >= 0 else i for i in op.inputs),
                               outputs=tuple(i + base for i in op.outputs)))
        inputs += [i + base for i in m.inputs]
        outputs += [i + base for i in m.outputs]
    return IntModel(tuple(tensors), tuple(ops), tuple(inputs), tuple(outputs), arithmetic=arithmetics.pop())


@dataclass(frozen=True)
class Comparison:
    """C and numpy outputs of a merged model, (items, output bytes) each."""

    c: np.ndarray
    numpy: np.ndarray
    slices: tuple[slice, ...]

    def differing(self, names: list[str]) -> list[str]:
        """Names of the sub-networks whose outputs differ on any item."""
        return [f"{name}: {int(np.count_nonzero(self.c[:, s] != self.numpy[:, s]))} values differ"
                for name, s in zip(names, self.slices) if not np.array_equal(self.c[:, s], self.numpy[:, s])]


def output_slices(models: list[IntModel]) -> tuple[slice, ...]:
    slices, start = [], 0
    for m in models:
        n = sum(t.nbytes for t in m.output_tensors)
        slices.append(slice(start, start + n))
        start += n
    return tuple(slices)


def random_records(model: IntModel, items: int, seed: int) -> np.ndarray:
    n = sum(t.nbytes for t in model.input_tensors)
    return np.random.default_rng(seed).integers(-128, 128, size=(items, n)).astype(np.int8)


def compare_c_with_numpy(models: list[IntModel], out_dir: Path, cache_dir: Path, records: np.ndarray | None = None,
                         items: int = 4, seed: int = 0, emulate_dsp: bool = False,
                         project: CodegenResult | None = None) -> Comparison:
    """Generate (or reuse `project`), build and run the merged network on random (or the
    given) input records; return both engines' outputs."""
    merged = merge_models(models) if len(models) > 1 else models[0]
    project = project or generate_project(merged, out_dir)
    records = random_records(merged, items, seed) if records is None else records
    build = build_host(project, emulate_dsp=emulate_dsp, cache_dir=cache_dir)
    return Comparison(run_host_build(build, project, records), numpy_outputs(merged, records), output_slices(models))


@functools.cache
def zoo_quantized(name: str):
    """A zoo model with random weights and batch-norm statistics, PTQ-quantized on random
    calibration data (as in test_export_zoo); cached for the whole test session."""
    from test_export_zoo import _randomized
    from tinykws.models import model_info
    from tinykws.quant import quantize_ptq

    shape = model_info(name).input_shape
    calib = (np.random.default_rng(0).normal(size=(6, *shape)) * 3).astype(np.float32)
    return quantize_ptq(_randomized(name), calib)


@functools.cache
def zoo_intmodel(name: str, arithmetic: str = "tflite_micro") -> IntModel:
    """The integer network of `zoo_quantized(name)` (cached)."""
    from tinykws.intmodel.from_quantized import intmodel_from_quantized

    return intmodel_from_quantized(zoo_quantized(name), arithmetic)
