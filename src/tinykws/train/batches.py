"""Training data as a deterministic stream of batches.

Sources are indexable clip sets that hand out either waveforms (float32 samples, then
batched through the front-end's torch module, with augmentation) or ready features
(frames, features) from a cache. Several sources with weights are mixed in one stream.

Everything random is a function of (seed, epoch, position): the epoch's plan of which
clips appear in which order, and the random numbers each clip's augmentation draws. So a
run resumed at an epoch boundary, or split across data-parallel ranks, sees exactly the
clips (and augmentations) of an uninterrupted single-process run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol, Sequence

import numpy as np
import torch

from tinykws.errors import DataError

WAVEFORM = "waveform"
FEATURES = "features"


class ClipSource(Protocol):
    """An indexable set of labelled clips (waveforms or features)."""

    def __len__(self) -> int: ...

    def label(self, index: int) -> int: ...

    def get(self, index: int, rng: np.random.Generator | None) -> np.ndarray:
        """Clip `index`: waveform (samples,) or features (frames, features), float32.
        `rng` drives augmentation; None means no augmentation (validation)."""
        ...


@dataclass
class ArraySource:
    """Clips held in one array (N, samples) or (N, frames, features), plus labels (N,).

    `augment(clip, rng) -> clip`, if given, is applied to training draws only.
    """

    data: np.ndarray
    labels: np.ndarray
    augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None

    def __post_init__(self) -> None:
        self.data = np.asarray(self.data, dtype=np.float32)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if len(self.data) != len(self.labels):
            raise DataError(f"{len(self.data)} clips but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    def label(self, index: int) -> int:
        return int(self.labels[index])

    def get(self, index: int, rng: np.random.Generator | None) -> np.ndarray:
        clip = self.data[index]
        if rng is not None and self.augment is not None:
            clip = np.asarray(self.augment(clip, rng), dtype=np.float32)
        return clip


@dataclass
class TrainData:
    """What the loop trains and validates on.

    kind: WAVEFORM (sources give samples; the front-end runs in the loop) or FEATURES.
    weights: relative share of each source per epoch. epoch_size: clips per epoch
    (0 = the sum of the sources' sizes).
    """

    sources: Sequence[ClipSource]
    kind: str = FEATURES
    weights: Sequence[float] = ()
    validation: ClipSource | None = None
    epoch_size: int = 0
    description: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in (WAVEFORM, FEATURES):
            raise DataError(f"training data kind must be {WAVEFORM!r} or {FEATURES!r}, got {self.kind!r}")
        if not self.sources or any(len(s) == 0 for s in self.sources):
            raise DataError("training needs at least one source, and no source may be empty")
        if not self.weights:
            self.weights = [1.0] * len(self.sources)
        if len(self.weights) != len(self.sources) or any(w <= 0 for w in self.weights):
            raise DataError(f"need one positive weight per source, got {list(self.weights)}")

    @property
    def clips_per_epoch(self) -> int:
        return self.epoch_size or sum(len(s) for s in self.sources)


def epoch_plan(sizes: Sequence[int], weights: Sequence[float], total: int, seed: int, epoch: int) -> np.ndarray:
    """(total, 2) int64 rows (source, index) for one epoch, shuffled.

    Source s contributes round(total * w_s / sum(w)) clips (the rounding remainder goes to
    the largest weights); it walks through fresh permutations of its clips, so a small
    source repeats only after each of its clips has appeared.
    """
    rng = np.random.default_rng([int(seed), int(epoch), 0x5EED])
    w = np.asarray(weights, dtype=np.float64)
    share = total * w / w.sum()
    counts = np.floor(share).astype(np.int64)
    remainder = total - int(counts.sum())
    for s in np.argsort(-(share - counts), kind="stable")[:remainder]:
        counts[s] += 1
    rows = []
    for s, (size, n) in enumerate(zip(sizes, counts)):
        reps = -(-int(n) // int(size)) if n else 0
        order = np.concatenate([rng.permutation(size) for _ in range(reps)])[:n] if reps else np.zeros(0, np.int64)
        rows.append(np.stack([np.full(len(order), s, np.int64), order.astype(np.int64)], axis=1))
    plan = np.concatenate(rows) if rows else np.zeros((0, 2), np.int64)
    return plan[rng.permutation(len(plan))]


def _item_rng(seed: int, epoch: int, position: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(epoch), int(position)])


def iterate_batches(
    data: TrainData,
    epoch: int,
    batch_size: int,
    seed: int,
    augment: bool = True,
    rank: int = 0,
    world_size: int = 1,
) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """Yield (clips, labels, global_batch_size) for this rank, one global batch at a time.

    A global batch of `batch_size` clips is cut into `world_size` contiguous parts; this
    rank gets part `rank` (parts differ by at most one clip). Clips are stacked float32.
    """
    plan = epoch_plan([len(s) for s in data.sources], data.weights, data.clips_per_epoch, seed, epoch)
    for start in range(0, len(plan), batch_size):
        rows = plan[start : start + batch_size]
        parts = np.array_split(np.arange(len(rows)), world_size)
        mine = parts[rank]
        clips, labels = [], []
        for j in mine:
            source_id, index = rows[j]
            source = data.sources[int(source_id)]
            rng = _item_rng(seed, epoch, start + int(j)) if augment else None
            clips.append(source.get(int(index), rng))
            labels.append(source.label(int(index)))
        if not len(mine):
            yield np.zeros((0,), np.float32), np.zeros(0, np.int64), len(rows)
            continue
        yield np.stack(clips).astype(np.float32, copy=False), np.asarray(labels, np.int64), len(rows)


def num_batches(data: TrainData, batch_size: int) -> int:
    """Global batches per epoch (the last one may be smaller)."""
    return -(-data.clips_per_epoch // batch_size)


def source_arrays(source: ClipSource) -> tuple[np.ndarray, np.ndarray]:
    """All clips of a source, unaugmented, stacked: (clips (N, ...), labels (N,))."""
    if isinstance(source, ArraySource):
        return source.data, source.labels
    clips = np.stack([source.get(i, None) for i in range(len(source))]).astype(np.float32)
    labels = np.asarray([source.label(i) for i in range(len(source))], np.int64)
    return clips, labels


def to_model_input(
    clips: np.ndarray, kind: str, frontend_module: torch.nn.Module | None
) -> torch.Tensor:
    """(B, 1, frames, features) float32 model input from stacked clips of `kind`."""
    x = torch.from_numpy(np.ascontiguousarray(clips))
    if kind == WAVEFORM:
        if frontend_module is None:
            raise DataError("waveform training data needs a front-end")
        with torch.no_grad():
            x = frontend_module(x)
    return x.float().unsqueeze(1)


def clip_features(clips: np.ndarray, kind: str, frontend_module: torch.nn.Module | None,
                  batch_size: int = 256) -> np.ndarray:
    """Features (N, frames, features) float32 of stacked clips of `kind` (waveforms go
    through the batched torch front-end, `batch_size` at a time)."""
    if kind != WAVEFORM:
        return np.asarray(clips, dtype=np.float32)
    parts = [to_model_input(clips[start:start + batch_size], kind, frontend_module)[:, 0].numpy()
             for start in range(0, len(clips), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, 0, 0), np.float32)
