"""The pipeline example: one generated C project that goes PCM -> front-end -> network ->
label, compiled and run on the host, against tinykws' numpy pipeline."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from c_cases import zoo_intmodel
from codegen_frontend_support import generated_clips
from tinykws.codegen.frontends import generate_pipeline_example
from tinykws.codegen.frontends.host import HOST_CFLAGS
from tinykws.codegen.host import host_compiler
from tinykws.data.labels import MLPERF_LABELS
from tinykws.errors import ConfigError


def _build_and_run(example) -> subprocess.CompletedProcess:
    project = example.project
    exe = project.out_dir / "pipeline"
    subprocess.run([host_compiler(), *HOST_CFLAGS, f"-I{project.out_dir}", "-o", str(exe),
                    *map(str, project.sources), str(project.main)], check=True)
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)


def test_microfrontend_pipeline_matches_numpy_exactly(tmp_path: Path) -> None:
    # the microfrontend and the network are both bit-exact, so the whole int8 output is
    model = zoo_intmodel("ds_cnn")
    labels = [f"class_{i}" for i in range(12)]
    clip = generated_clips()["noise_bursts"]
    example = generate_pipeline_example(model, "mltk_kws", tmp_path, clip, labels=labels)
    assert example.frontend.sources[0] in example.project.sources
    done = _build_and_run(example)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"keyword: {example.expected_label} (index {example.expected_index}," in done.stdout
    assert "identical to tinykws' numpy pipeline" in done.stdout


def test_mismatched_front_end_or_labels_are_refused(tmp_path: Path) -> None:
    model = zoo_intmodel("ds_cnn")
    clip = np.zeros(16000, np.int16)
    with pytest.raises(ConfigError, match="98x40 features"):
        generate_pipeline_example(model, "mww_40", tmp_path / "a", clip)
    with pytest.raises(ConfigError, match="3 labels"):
        generate_pipeline_example(model, "mltk_kws", tmp_path / "b", clip, labels=["a", "b", "c"])
    with pytest.raises(ConfigError, match="int16 PCM"):
        generate_pipeline_example(model, "mltk_kws", tmp_path / "c", clip.astype(np.float32))


@pytest.mark.shared
def test_reference_model_spots_yes(tmp_path: Path, sc12_test_dev: Path, ref_model_int8: Path) -> None:
    from tinykws.intmodel import intmodel_from_tflite

    path = sorted((sc12_test_dev / "yes").iterdir())[0]
    pcm, _ = sf.read(str(path), dtype="int16")
    example = generate_pipeline_example(intmodel_from_tflite(ref_model_int8), "mlperf_mfcc", tmp_path, pcm,
                                        labels=MLPERF_LABELS, clip_description=path.name)
    assert example.expected_label == "yes"
    done = _build_and_run(example)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "keyword: yes" in done.stdout
