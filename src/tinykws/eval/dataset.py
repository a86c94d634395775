"""The labelled features a model is scored on: clean clips of a dataset folder's split,
made with the model's own front-end (its numpy path, the reference definition), in a
fixed order, with the clip names that tie outputs back to files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from tinykws.data.items import SilenceCut
from tinykws.data.layouts import load_index
from tinykws.data.readable import screen_index
from tinykws.data.splits import SPLITS
from tinykws.data.view import MLPerfView, ViewConfig
from tinykws.errors import ConfigError, DataError

EVAL_SPLITS = ("test", "validation", "train", "all")


@dataclass(frozen=True, eq=False)
class LabelledFeatures:
    """Features (N, frames, coefficients) float32, true labels (N,) int64 and clip names
    (N,) (paths relative to the dataset folder; "silence:NOISE@START" for silence cuts)."""

    features: np.ndarray
    targets: np.ndarray
    clips: tuple[str, ...]
    skipped: tuple[str, ...] = ()  # unreadable clips left out (skip_unreadable)

    def __len__(self) -> int:
        return len(self.targets)


def dataset_views(data_dir: str | os.PathLike, split: str, labels: Sequence[str],
                  layout: str = "auto") -> list[MLPerfView]:
    """The 12-class views of `split` ("all": every split) of a dataset folder.

    A class-folder dataset without list files (such as sc12_test_dev) is entirely in the
    requested split.
    """
    return screened_views(data_dir, split, labels, layout, screen=False)[0]


def screened_views(data_dir: str | os.PathLike, split: str, labels: Sequence[str], layout: str = "auto",
                   screen: bool = True, skip_unreadable: bool = False) -> tuple[list[MLPerfView], tuple[str, ...]]:
    """`dataset_views`, with every clip decoded first when `screen`: unreadable clips are
    all named in one DataError, or with `skip_unreadable` left out (their paths returned)."""
    if split not in EVAL_SPLITS:
        raise ConfigError(f"split {split!r} is not one of {', '.join(EVAL_SPLITS)}")
    index = load_index(data_dir, layout, folder_split="test" if split == "all" else split)
    splits = SPLITS if split == "all" else (split,)
    skipped: tuple[str, ...] = ()
    if screen:
        screened = screen_index(index, splits, skip=skip_unreadable)
        index, skipped = screened.index, tuple(u.path for u in screened.skipped)
    views = [MLPerfView(index, s, ViewConfig(augment=False), labels) for s in splits]
    views = [v for v in views if len(v)]
    if not views:
        raise DataError(f"{data_dir}: no clips in split {split!r} (layout {index.layout})")
    return views, skipped


def _relative(path: str, root: Path) -> str:
    # Not resolved: a dataset made of symlinks keeps its own names.
    try:
        return Path(os.path.abspath(path)).relative_to(root).as_posix()
    except ValueError:
        return str(path)


def clip_name(source: str | SilenceCut, root: Path) -> str:
    """The name of a view item's source: its path relative to `root`, or the silence cut."""
    if isinstance(source, SilenceCut):
        noise = "digital" if source.noise_path is None else _relative(source.noise_path, root)
        return f"silence:{noise}@{source.start}"
    return _relative(source, root)


def seeded_subset(count: int, limit: int | None, seed: int = 0) -> np.ndarray | None:
    """Sorted indices of a random subset of `limit` of `count` items, chosen with `seed`
    (None: all of them). Raises DataError for a limit under 1."""
    if limit is None or limit >= count:
        return None
    if limit < 1:
        raise DataError(f"a subset needs at least 1 item, got {limit}")
    return np.sort(np.random.default_rng(seed).choice(count, size=limit, replace=False))


def dataset_features(data_dir: str | os.PathLike, split: str, frontend, labels: Sequence[str],
                     layout: str = "auto", limit: int | None = None, seed: int = 0, batch_size: int = 256,
                     progress: bool = True, skip_unreadable: bool = False) -> LabelledFeatures:
    """Features of the clean clips of `split` of `data_dir` made with `frontend` (a
    Frontend), in data order; `limit`: a random subset of that many clips (chosen with
    `seed`, kept in data order). Every clip is decoded first: unreadable clips are all
    named in one DataError, or left out with `skip_unreadable` (listed in `skipped`)."""
    views, skipped = screened_views(data_dir, split, labels, layout, skip_unreadable=skip_unreadable)
    refs = [(v, i) for v in views for i in range(len(v))]
    chosen = seeded_subset(len(refs), limit, seed)
    if chosen is not None:
        refs = [refs[j] for j in chosen]
    root = Path(os.path.abspath(views[0].index.root))
    feats, targets = [], []
    with tqdm(total=len(refs), unit="clip", desc="features", disable=not progress, leave=False) as bar:
        for start in range(0, len(refs), batch_size):
            part = refs[start:start + batch_size]
            clips = np.stack([v.clean_waveform(i) for v, i in part])
            feats.append(np.asarray(frontend.compute_batch(clips), dtype=np.float32))
            targets += [int(v.targets[i]) for v, i in part]
            bar.update(len(part))
    if not feats:
        raise DataError(f"{data_dir}: no clips in split {split!r}")
    names = tuple(clip_name(v.items[i].source, root) for v, i in refs)
    return LabelledFeatures(np.concatenate(feats), np.asarray(targets, np.int64), names, skipped)
