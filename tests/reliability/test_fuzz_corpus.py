"""Every saved fuzz input (the seed corpus, the minimised corpus the fuzzer grew from it,
and each input that once crashed a target) replayed through its target: each must end in
a TinyKWSError or succeed, never in any other exception. `make fuzz` (bench/fuzz.py)
explores further; this keeps what it found."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"
sys.path.insert(0, str(FUZZ))

from targets import TARGETS  # noqa: E402


def _inputs() -> list:
    cases = []
    for name in TARGETS:
        for kind in ("corpus", "found", "crashes"):
            folder = FUZZ / kind / name
            if folder.is_dir():
                cases += [pytest.param(name, f, id=f"{name}/{kind}/{f.name[:40]}") for f in sorted(folder.iterdir())]
    return cases


def test_every_target_has_seeds_from_real_files():
    for name in TARGETS:
        seeds = list((FUZZ / "corpus" / name).iterdir())
        assert len(seeds) >= 3, name


@pytest.mark.parametrize("target, path", _inputs())
def test_saved_input_ends_in_a_clean_error_or_succeeds(target, path):
    TARGETS[target](path.read_bytes())
