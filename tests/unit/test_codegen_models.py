"""Every quantizable zoo model as generated C, bit-exact with the numpy runtime: all of them
side by side in one network per configuration (arithmetic, C path, in-place planning), so
each configuration is one build. Quantized as in test_export_zoo (random weights and batch
norm statistics, PTQ on random calibration data)."""

from __future__ import annotations

import numpy as np
import pytest

from c_cases import compare_c_with_numpy, merge_models, zoo_intmodel
from tinykws.codegen import generate_project
from tinykws.models import model_info, model_names

ZOO = [name for name in model_names() if model_info(name).quantizable]


@pytest.fixture(scope="module")
def c_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("c_host_cache")


def feature_records(models, items: int, seed: int) -> np.ndarray:
    """Inputs quantized from feature-like values (normal, sd 3), not only uniform noise."""
    rng = np.random.default_rng(seed)
    records = []
    for _ in range(items):
        parts = []
        for m, name in zip(models, ZOO):
            t = m.input_tensors[0]
            x = rng.normal(size=model_info(name).input_shape) * 3
            parts.append(np.clip(np.round(x / t.scale) + t.zero_point, -128, 127).astype(np.int8).reshape(-1))
        records.append(np.concatenate(parts))
    return np.stack(records)


@pytest.mark.parametrize("arithmetic, in_place, paths", [
    ("tflite_micro", True, (False, True)),
    ("litert_ref", True, (False,)),
    ("tflite_micro", False, (False,)),
], ids=["tflite_micro", "litert_ref", "tflite_micro-no_in_place"])
def test_zoo_models_bit_exact(arithmetic, in_place, paths, tmp_path, c_cache):
    models = [zoo_intmodel(name, arithmetic) for name in ZOO]
    project = generate_project(merge_models(models), tmp_path / "zoo", in_place=in_place)
    assert bool(project.plan.in_place) == in_place
    records = feature_records(models, 5, seed=3)
    for emulate_dsp in paths:
        result = compare_c_with_numpy(models, tmp_path / "zoo", c_cache, records=records, emulate_dsp=emulate_dsp,
                                      project=project)
        assert result.differing(ZOO) == [], f"emulate_dsp={emulate_dsp}"
