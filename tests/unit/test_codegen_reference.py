"""The MLPerf Tiny reference models (KWS, VWW, IC, AD) as generated C, bit-exact with the
numpy runtime on real samples: KWS on sc12_test_dev clips through the mlperf_mfcc
front-end (including a clip on which the two arithmetics differ), VWW/IC/AD on a few
samples of their test sets. The full sets are bench/codegen_bitexact.py."""

from __future__ import annotations

import numpy as np
import pytest

from c_cases import compare_c_with_numpy, merge_models
from tinykws.audio.frontends import build_frontend
from tinykws.audio.io import load_audio
from tinykws.codegen import generate_project
from tinykws.data.labels import MLPERF_LABELS, folder_name
from tinykws.data.mlperf_tiny import ad_windows, image_input, read_labels
from tinykws.intmodel import intmodel_from_tflite, quantize

pytestmark = pytest.mark.shared
DISAGREEING_CLIP = ("go", "0cb74144_nohash_1.flac")  # FULLY_CONNECTED rounding decides one output


@pytest.fixture(scope="module")
def c_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("c_host_cache")


@pytest.fixture(scope="module")
def kws_inputs(ref_model_int8, sc12_test_dev):
    paths = []
    for label in MLPERF_LABELS:
        paths += sorted((sc12_test_dev / folder_name(label)).glob("*.*"))[:2]
    clip = sc12_test_dev.joinpath(*DISAGREEING_CLIP)
    paths.append(clip) if clip.exists() else None
    fe = build_frontend("mlperf_mfcc")
    features = np.stack([fe.compute(load_audio(p, fe.sample_rate, length=fe.clip_samples)) for p in paths])
    return quantize(features[..., None], intmodel_from_tflite(ref_model_int8).input_tensors[0])


def test_kws_reference_model_on_real_clips(ref_model_int8, kws_inputs, tmp_path, c_cache):
    records = kws_inputs.reshape(len(kws_inputs), -1)
    outputs = {}
    for arithmetic in ("tflite_micro", "litert_ref"):
        model = intmodel_from_tflite(ref_model_int8, arithmetic)
        project = generate_project(model, tmp_path / arithmetic)
        for emulate_dsp in (False, True):
            result = compare_c_with_numpy([model], tmp_path / arithmetic, c_cache, records=records,
                                          emulate_dsp=emulate_dsp, project=project)
            assert np.array_equal(result.c, result.numpy), f"{arithmetic}, emulate_dsp={emulate_dsp}"
        outputs[arithmetic] = result.c
    # one 25x5x64 activation (the input lives in its tail but for 46 B) and the largest scratch
    assert project.arena_bytes <= 8000 + 48 + project.scratch_bytes
    # the last clip is one where TFLite Micro and LiteRT's reference kernels disagree
    assert not np.array_equal(outputs["tflite_micro"][-1], outputs["litert_ref"][-1])


@pytest.fixture(scope="module")
def tiny_models(shared_dir):
    root = shared_dir / "mlperf_tiny"
    if not root.exists():
        pytest.skip(f"{root} is absent")
    return {
        "vww": (root / "vww" / "vww_96_int8.tflite", root / "vww" / "vww01"),
        "ic": (root / "ic" / "pretrainedResnet_quant.tflite", root / "ic" / "ic01_v05"),
        "ad": (root / "ad" / "ad01_int8.tflite", root / "ad" / "ad01"),
    }


def test_vww_ic_ad_reference_models(tiny_models, tmp_path, c_cache):
    models, parts = [], []
    for name, (path, folder) in tiny_models.items():
        model = intmodel_from_tflite(path, "tflite_micro")
        samples = read_labels(folder)[:3]
        if name == "ad":  # three windows of one file, far apart
            windows = ad_windows(samples[0].path)[[0, 97, 195]]
            x = quantize(windows, model.input_tensors[0])
        else:
            x = np.stack([image_input(s.path, model.input_tensors[0].shape[1]) for s in samples])
        models.append(model)
        parts.append(x.reshape(3, -1))
    records = np.concatenate(parts, axis=1)
    project = generate_project(merge_models(models), tmp_path / "tiny")
    for emulate_dsp in (False, True):
        result = compare_c_with_numpy(models, tmp_path / "tiny", c_cache, records=records, emulate_dsp=emulate_dsp,
                                      project=project)
        assert result.differing(list(tiny_models)) == [], f"emulate_dsp={emulate_dsp}"
