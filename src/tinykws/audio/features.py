"""Features of many audio files at once: expand paths, compute, stack, save.

`extract_features(["a.wav", "clips/"], "mlperf_mfcc")` returns a `FeatureSet`; `save_feature_set`
writes OUT.npy and, beside it, OUT.json with the file order and the front-end dict.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from tinykws.audio.frontends.base import Frontend, build_frontend
from tinykws.audio.io import is_audio_file, load_audio
from tinykws.audio.scan import UnreadableFile, describe_unreadable
from tinykws.errors import AudioError, DataError
from tinykws.fileio import staged_outputs, write_json

# Below this many files a progress bar is more noise than help.
PROGRESS_MIN_FILES = 20


@dataclass(frozen=True)
class FeatureStats:
    """Summary of a feature array."""

    shape: tuple[int, ...]
    minimum: float
    maximum: float
    mean: float


@dataclass(frozen=True)
class FeatureSet:
    """Features of `files` (in order): float32 (files, frames, features), and the front-end used."""

    features: np.ndarray
    files: tuple[str, ...]
    frontend: dict[str, Any]  # Frontend.to_dict()
    provenance: dict[str, Any] = field(default_factory=dict)  # Frontend.provenance()

    def stats(self) -> FeatureStats:
        """Shape and min / max / mean over every value (NaN for an empty set)."""
        f = self.features
        if f.size == 0:
            return FeatureStats(tuple(f.shape), float("nan"), float("nan"), float("nan"))
        return FeatureStats(tuple(f.shape), float(f.min()), float(f.max()), float(f.mean(dtype=np.float64)))

    def manifest(self) -> dict[str, Any]:
        """What OUT.json holds: file order, shape, dtype and the front-end dict."""
        return {
            "files": list(self.files),
            "shape": list(self.features.shape),
            "dtype": str(self.features.dtype),
            "frontend": self.frontend,
            "provenance": self.provenance,
        }


def expand_audio_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given, folders replaced by their audio files (recursive, sorted), in input order.

    A folder without audio files raises DataError; a missing path raises AudioError.
    """
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(
                (q for q in p.rglob("*") if q.is_file() and is_audio_file(q)),
                key=lambda q: q.relative_to(p).as_posix(),
            )
            if not found:
                raise DataError(f"{p}: no audio files in this folder")
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise AudioError(p, "file not found")
    return out


def extract_features(
    paths: Sequence[str | os.PathLike],
    frontend: str | Mapping[str, Any] | Frontend,
    full_length: bool = False,
    progress: bool = True,
) -> FeatureSet:
    """Features of audio files and folders (see `expand_audio_paths`), stacked in order.

    Each file is read as mono at the front-end's rate and, unless `full_length`, padded or cut
    to the front-end's clip length (`clip_samples`) so that every file has the same shape.
    With `full_length` the whole file is used and all files must give the same frame count.
    A progress bar goes to stderr when `progress` and there are many files.
    """
    fe = frontend if isinstance(frontend, Frontend) else build_frontend(frontend)
    files = expand_audio_paths(paths)
    if not files:
        raise DataError("no input files given")
    length = None if full_length else fe.clip_samples
    rows = []
    unreadable: list[UnreadableFile] = []
    for path in _progress(files, progress):
        try:
            clip = load_audio(path, sample_rate=fe.sample_rate, length=length)
        except AudioError as exc:  # go on, so that every bad file is named at once
            unreadable.append(UnreadableFile(str(path), exc.problem))
            continue
        if unreadable:
            continue
        feats = fe.compute(clip)
        if rows and feats.shape != rows[0].shape:
            raise AudioError(
                path,
                f"gives features of shape {feats.shape}, unlike {files[0]} {rows[0].shape}; "
                "files of different lengths need the default (fixed clip length), not full length",
            )
        rows.append(feats)
    if unreadable:
        raise DataError(describe_unreadable(tuple(unreadable)))
    return FeatureSet(np.stack(rows).astype(np.float32), tuple(str(f) for f in files), fe.to_dict(), fe.provenance())


def feature_output_paths(out: str | os.PathLike) -> tuple[Path, Path]:
    """(OUT.npy, OUT.json) for a requested output path; '.npy' is added when missing."""
    p = Path(out)
    npy = p if p.suffix == ".npy" else p.with_name(p.name + ".npy")
    return npy, npy.with_suffix(".json")


def save_feature_set(features: FeatureSet, out: str | os.PathLike) -> tuple[Path, Path]:
    """Atomically write OUT.npy and OUT.json (see `FeatureSet.manifest`); returns both paths."""
    npy, meta = feature_output_paths(out)
    # Both files or neither: a killed run never leaves new features beside an old file list.
    with staged_outputs(npy.parent, owned=(npy.name, meta.name)) as stage:
        with open(stage / npy.name, "wb") as fh:  # a file object: np.save adds no suffix
            np.save(fh, features.features, allow_pickle=False)
        write_json(stage / meta.name, features.manifest())
    return npy, meta


def _progress(files: list[Path], enabled: bool):
    if not enabled or len(files) < PROGRESS_MIN_FILES:
        return files
    from tqdm import tqdm

    return tqdm(files, desc="features", unit="file", file=sys.stderr, leave=False)
