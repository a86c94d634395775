"""Fuzz targets: each takes arbitrary bytes and drives one input format of tinykws as the
verbs do. A `TinyKWSError` is the expected answer to a bad input; any other exception, a
hang or a crash is a bug. `fuzz/run.py` runs them under atheris (coverage-guided);
`tests/test_fuzz_corpus.py` replays every saved input through them.

Targets:
  tflite      .tflite reader -> integer importer -> numpy runtime, plus the embedded manifest
  audio       audio header + decode (WAV, FLAC, OGG, AIFF by the first byte) -> a front-end
  recipe      YAML recipe loader (bounded YAML, strict keys, sanity bounds) + one --set override
  checkpoint  checkpoint loader on raw bytes, or on a valid payload with one field forged
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from tinykws.errors import TinyKWSError

def _scratch_folder() -> Path:
    """tinykws-fuzz-PID in /dev/shm (or the temp folder); those of dead fuzzers are removed
    here, since libFuzzer ends its process without running atexit handlers."""
    base = Path("/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir())
    for old in base.glob("tinykws-fuzz-*"):
        pid = old.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)
    folder = base / f"tinykws-fuzz-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    atexit.register(shutil.rmtree, folder, True)
    return folder


_TMP = _scratch_folder()
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff")
FRONTENDS = ("mlperf_mfcc", "logmel", "mltk_kws")


def _scratch(name: str, data: bytes) -> Path:
    path = _TMP / name
    path.write_bytes(data)
    return path


def fuzz_tflite(data: bytes) -> None:
    """Parse, import (both arithmetics) and run a model on a zero input."""
    from tinykws.audio.frontends import frontend_from_dict
    from tinykws.export.manifest import METADATA_NAME, embedded_manifest
    from tinykws.formats.tflite_reader import parse_tflite
    from tinykws.intmodel import intmodel_from_tflite, run

    try:
        model = parse_tflite(data, "fuzz.tflite")
    except TinyKWSError:
        return
    if METADATA_NAME in model.metadata:
        try:
            manifest = embedded_manifest(model.metadata, "fuzz.tflite")
            frontend_from_dict(manifest["frontend"])
        except TinyKWSError:
            pass
    arithmetic = "tflite_micro" if data[-1:] and data[-1] & 1 else "litert_ref"
    try:
        im = intmodel_from_tflite(model, arithmetic)
    except TinyKWSError:
        return
    inputs = [np.full(t.shape, t.zero_point, dtype=t.dtype) for t in im.input_tensors]
    try:
        result = run(im, inputs)
    except TinyKWSError:
        return
    for out, tensor in zip(result.outputs, im.output_tensors):
        assert out.dtype == tensor.dtype, (out.dtype, tensor.dtype)


def fuzz_audio(data: bytes) -> None:
    """Header, decode to one clip, then the features of one front-end."""
    from tinykws.audio.frontends import build_frontend
    from tinykws.audio.io import audio_info, load_audio

    if len(data) < 2:
        return
    suffix = AUDIO_SUFFIXES[data[0] % len(AUDIO_SUFFIXES)]
    frontend = build_frontend(FRONTENDS[data[1] % len(FRONTENDS)])
    path = _scratch("clip" + suffix, data[2:])
    try:
        audio_info(path)
    except TinyKWSError:
        pass
    try:
        clip = load_audio(path, frontend.sample_rate, length=frontend.clip_samples)
    except TinyKWSError:
        return
    assert clip.shape == (frontend.clip_samples,) and clip.dtype == np.float32
    assert np.all(np.abs(clip) <= 1.0)
    feats = frontend.compute(clip)
    assert feats.shape == tuple(frontend.output_shape), (feats.shape, frontend.output_shape)
    assert np.all(np.isfinite(feats))


def fuzz_recipe(data: bytes) -> None:
    """Load bytes as a recipe file, with the last line (if any) as a --set override."""
    from tinykws.train.recipe import load_recipe

    text, _, override = data.partition(b"\n#set ")
    path = _scratch("recipe.yaml", text)
    overrides = [override.decode("utf-8", "replace")] if override else []
    try:
        cfg = load_recipe(path, overrides)
    except TinyKWSError:
        return
    assert cfg.name and "/" not in cfg.name


def fuzz_checkpoint(data: bytes) -> None:
    """First byte even: the bytes are a checkpoint file. Odd: the rest forges one field of
    a valid checkpoint payload (which field and what value come from the bytes)."""
    import torch

    from tinykws.train.checkpoint import load_model

    if not data:
        return
    if data[0] % 2 == 0:
        path = _scratch("model.pt", data[1:])
    else:
        buffer = io.BytesIO()
        torch.save(_forged_payload(data[1:]), buffer)
        path = _scratch("model.pt", buffer.getvalue())
    try:
        model, ckpt = load_model(path)
        ckpt.build_frontend()
    except TinyKWSError:
        return
    for p in model.parameters():
        assert bool(torch.isfinite(p).all())


_VALUES = (
    lambda raw: raw.decode("utf-8", "replace"),
    lambda raw: int.from_bytes(raw[:8] or b"\0", "little", signed=True),
    lambda raw: float(np.frombuffer((raw + bytes(8))[:8], np.float64)[0]),
    lambda raw: [raw[:4].decode("latin-1")] * (raw[0] % 16 if raw else 0),
    lambda raw: {raw[:6].decode("latin-1"): int.from_bytes(raw[6:10] or b"\0", "little")},
    lambda raw: None,
    lambda raw: __import__("torch").frombuffer(bytearray((raw + bytes(4))[:len(raw) // 4 * 4 or 4]),
                                                dtype=__import__("torch").float32).clone(),
)


def _forged_payload(raw: bytes) -> dict:
    from tinykws.train.checkpoint import FORMAT, FORMAT_VERSION

    payload = _base_payload(FORMAT, FORMAT_VERSION)
    if len(raw) < 2:
        return payload
    paths = _leaf_paths(payload)
    where = paths[raw[0] % len(paths)]
    value = _VALUES[raw[1] % len(_VALUES)](raw[2:])
    node = payload
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    return payload


def _leaf_paths(node, prefix=()) -> list[tuple]:
    if isinstance(node, dict) and node:
        out = [prefix] if prefix else []
        for k, v in node.items():
            out += _leaf_paths(v, prefix + (k,))
        return out
    return [prefix]


_BASE: dict | None = None


def _base_payload(fmt: str, version: int) -> dict:
    """A small valid checkpoint payload (tiny_conv, 3 classes), built once."""
    global _BASE
    import torch

    if _BASE is None:
        from tinykws.audio.frontends import build_frontend
        from tinykws.models import build_model

        torch.manual_seed(0)
        model = build_model("tiny_conv", num_classes=3)
        kwargs = {k: v for k, v in model.model_kwargs.items() if k != "num_classes"}
        _BASE = {
            "format": fmt, "format_version": version, "tinykws_version": "fuzz",
            "model": {"name": "tiny_conv", "kwargs": kwargs, "num_classes": 3},
            "state_dict": {k: v.clone() for k, v in model.state_dict().items()},
            "frontend": build_frontend("mlperf_mfcc").to_dict(), "labels": ["yes", "no", "up"],
            "config": {}, "epoch": 1, "step": 10, "optimizer": None, "rng": None, "loop_state": {}, "metrics": {},
        }
    return _copy_dicts(_BASE)


def _copy_dicts(node):
    # Dicts are copied (a field is replaced in the copy), tensors shared (never mutated).
    return {k: _copy_dicts(v) for k, v in node.items()} if isinstance(node, dict) else node


TARGETS = {
    "tflite": fuzz_tflite,
    "audio": fuzz_audio,
    "recipe": fuzz_recipe,
    "checkpoint": fuzz_checkpoint,
}
