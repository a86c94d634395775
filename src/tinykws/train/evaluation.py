"""Scoring a checkpoint on a dataset folder: `evaluate_checkpoint(...) -> EvalResult`.

It lives beside the checkpoint format (layer 5) because it opens checkpoints; the metrics
themselves are `tinykws.eval`. Features are computed with the front-end stored in the
checkpoint (its numpy path, the reference definition), from un-augmented clips.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Sequence

import numpy as np
from tqdm import tqdm

from tinykws.data.layouts import load_index
from tinykws.data.readable import screen_index
from tinykws.data.splits import SPLITS
from tinykws.data.view import MLPerfView, ViewConfig
from tinykws.errors import ConfigError, DataError
from tinykws.eval.evaluate import predict_scores
from tinykws.eval.metrics import EvalResult, compute_metrics
from tinykws.train.checkpoint import load_model

EVAL_SPLITS = ("test", "validation", "train", "all")


def dataset_views(
    data_dir: str | os.PathLike, split: str, labels: Sequence[str], layout: str = "auto"
) -> list[MLPerfView]:
    """The 12-class views of `split` ("all": every split) of a dataset folder.

    A class-folder dataset without list files (such as sc12_test_dev) is entirely in the
    requested split.
    """
    return screened_views(data_dir, split, labels, layout, screen=False)[0]


def screened_views(
    data_dir: str | os.PathLike, split: str, labels: Sequence[str], layout: str = "auto",
    screen: bool = True, skip_unreadable: bool = False,
) -> tuple[list[MLPerfView], tuple[str, ...]]:
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


def dataset_features(
    views: Sequence[MLPerfView], frontend, batch_size: int = 256, progress: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(features float32 (N, frames, features), labels int64 (N,)) of clean clips."""
    total = sum(len(v) for v in views)
    feats, labels = [], []
    with tqdm(total=total, unit="clip", desc="features", disable=not progress, leave=False) as bar:
        for view in views:
            for lo in range(0, len(view), batch_size):
                idx = range(lo, min(lo + batch_size, len(view)))
                clips = np.stack([view.clean_waveform(i) for i in idx])
                feats.append(np.asarray(frontend.compute_batch(clips), dtype=np.float32))
                labels.append(view.targets[lo : lo + len(idx)])
                bar.update(len(idx))
    return np.concatenate(feats), np.concatenate(labels)


def evaluate_checkpoint(
    checkpoint: str | os.PathLike,
    data_dir: str | os.PathLike,
    layout: str = "auto",
    split: str = "test",
    batch_size: int = 256,
    progress: bool = True,
    skip_unreadable: bool = False,
) -> EvalResult:
    """Top-1, per-class accuracy, confusion, ROC/AUC of a checkpoint on a dataset folder.

    layout: "auto", "raw" or "folders"; split: "test", "validation", "train" or "all".
    Every clip is decoded first: unreadable clips are all named in one DataError, or left
    out with `skip_unreadable` (listed in the result's `skipped`).
    """
    model, ckpt = load_model(checkpoint)
    frontend = ckpt.build_frontend()
    views, skipped = screened_views(data_dir, split, ckpt.labels, layout, skip_unreadable=skip_unreadable)
    features, labels = dataset_features(views, frontend, batch_size, progress)
    scores = predict_scores(model, features, batch_size)
    return dataclasses.replace(compute_metrics(scores, labels, ckpt.labels), skipped=skipped)
