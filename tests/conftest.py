"""Shared fixtures. Tests that need ../shared (real audio, the MLPerf reference model)
are marked `shared` and skip cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TINYKWS_SHARED", REPO.parent / "shared")).resolve()


def _shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared is only beside CI and developer clones)")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder; skips the test when it is absent."""
    return _shared_path()


@pytest.fixture(scope="session")
def sc12_test_dev() -> Path:
    return _shared_path("data", "sc12_test_dev")


@pytest.fixture(scope="session")
def speech_commands_partial() -> Path:
    return _shared_path("data", "speech_commands_partial")


@pytest.fixture(scope="session")
def ref_model_int8() -> Path:
    return _shared_path("models", "mlperf_kws_ref", "kws_ref_model.tflite")


@pytest.fixture(scope="session")
def ref_model_float() -> Path:
    return _shared_path("models", "mlperf_kws_ref", "kws_ref_model_float32.tflite")


@pytest.fixture(autouse=True, scope="session")
def _few_threads():
    # Small test models run fastest, and reproducibly, on one thread; CI has only 2 cores.
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


# --- tiny generated datasets (tests/datagen.py) -------------------------------------------
@pytest.fixture(scope="session")
def tiny_raw_dataset(tmp_path_factory):
    """A seeded raw Speech Commands folder with list files (read-only: do not modify it).

    Words yes/no/left/bed/cat, 4 speakers x 2 clips each, two 12 s noise recordings.
    Returns a `datagen.DatasetSpec`.
    """
    from datagen import make_raw_dataset

    return make_raw_dataset(tmp_path_factory.mktemp("tiny_raw") / "sc")


@pytest.fixture(scope="session")
def tiny_folder_dataset(tmp_path_factory):
    """A seeded 12-class folder dataset like sc12_test_dev (read-only), 3 clips per class."""
    from datagen import make_folder_dataset

    return make_folder_dataset(tmp_path_factory.mktemp("tiny_folders") / "sc12")


@pytest.fixture(scope="session")
def tone_model(tmp_path_factory):
    """A tiny keyword spotter (yes, no, silence, unknown) trained on datagen's tone words,
    as a checkpoint and an int8 .tflite (tests/tone_kws.py; a few seconds)."""
    from tone_kws import train_tone_model

    model = train_tone_model(tmp_path_factory.mktemp("tone_model"))
    assert model.accuracy >= 0.95, f"the tone model did not learn its words ({model.accuracy:.2f})"
    return model
