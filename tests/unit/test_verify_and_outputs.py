"""A written .tflite is verified in every engine (and a mismatch is found), and multi-file
outputs replace their folder whole."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from tinykws.errors import ConfigError
from tinykws.export import export_tflite
from tinykws.export.verify import VerificationError, verify_tflite
from tinykws.fileio import OUTPUT_MARKER, atomic_dir
from tinykws.intmodel import intmodel_from_tflite, quantize
from tinykws.intmodel.from_quantized import intmodel_from_quantized
from tinykws.models import build_model
from tinykws.quant import quantize_ptq

SMALL = dict(layers=[[8, 10, 4, 2, 2], [8, 3, 3, 1, 1]])


def _quantized(seed: int):
    torch.manual_seed(seed)
    model = build_model("ds_cnn", **SMALL).eval()
    return quantize_ptq(model, (np.random.default_rng(seed).normal(size=(6, 49, 10)) * 4).astype(np.float32))


def test_verification_passes_for_the_export_and_catches_another_network(tmp_path):
    qmodel = _quantized(0)
    path = export_tflite(qmodel, tmp_path / "m.tflite", {"kind": "test"}, [str(i) for i in range(12)],
                         arena=False).tflite_path
    im = intmodel_from_tflite(path)
    x = quantize((np.random.default_rng(3).normal(size=(20, 49, 10)) * 4).astype(np.float32),
                 im.input_tensors[0]).reshape(20, 49, 10, 1)
    good = verify_tflite(path, x, "noise", {"litert_ref": intmodel_from_quantized(qmodel)})
    assert good.ok and good.inputs == 20 and len(good.checks) == 3
    assert any(line.startswith("LiteRT BUILTIN_REF: identical int8 outputs on 20/20 inputs") for line in good.lines())
    good.raise_if_failed()
    # The file checked against a network it does not hold: the comparison must fail.
    bad = verify_tflite(path, x, "noise", {"litert_ref": intmodel_from_quantized(_quantized(7))})
    assert not bad.ok and bad.mismatches > 0
    with pytest.raises(VerificationError, match="mismatching outputs"):
        bad.raise_if_failed()


def test_atomic_dir_replaces_a_folder_whole(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out, "test") as tmp:
        (tmp / "a.txt").write_text("1")
        (tmp / "b.txt").write_text("1")
    assert sorted(p.name for p in out.iterdir()) == [OUTPUT_MARKER, "a.txt", "b.txt"]
    with atomic_dir(out, "test") as tmp:
        (tmp / "a.txt").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == [OUTPUT_MARKER, "a.txt"]  # no stale b.txt
    with pytest.raises(RuntimeError):
        with atomic_dir(out, "test") as tmp:
            (tmp / "a.txt").write_text("3")
            raise RuntimeError("failed half-way")
    assert (out / "a.txt").read_text() == "2"  # the earlier output stays whole
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no leftovers


def test_atomic_dir_refuses_a_users_folder_and_cleans_dead_runs(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    with pytest.raises(ConfigError, match="not an earlier tinykws output"):
        with atomic_dir(mine, "test"):
            pass
    assert (mine / "thesis.tex").read_text() == "precious"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    leftover = tmp_path / f".out.tmp-{pid}"
    leftover.mkdir()
    (leftover / "half.tflite").write_bytes(b"half")
    live = tmp_path / f".out.tmp-{os.getppid()}"
    live.mkdir()
    with atomic_dir(tmp_path / "out", "test"):
        pass
    assert not leftover.exists() and live.exists()  # a live process's folder is not touched
