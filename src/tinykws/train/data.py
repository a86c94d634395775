"""From the recipe's `data` section to `TrainData`, through the data layer.

Each source folder is indexed (`tinykws.data.layouts.load_index`) and seen through the
MLPerf 12-class view (`tinykws.data.view.MLPerfView`) of its training split. With
`data.cache: true` the un-augmented features of every clip come from the feature cache
(`tinykws.data.cache.cached_features`); otherwise clips are read as waveforms and
augmented in the loop (time shift, background noise) with a generator drawn from
(seed, epoch, position in the epoch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from tinykws.audio.augment import AugmentConfig as WaveAugmentConfig
from tinykws.audio.augment import augment_clip
from tinykws.audio.io import is_audio_file
from tinykws.audio.perturb import ChannelBank, channel_bank
from tinykws.data.cache import cached_features
from tinykws.data.items import load_noise
from tinykws.data.labels import MLPERF_LABELS
from tinykws.data.layouts import load_index
from tinykws.data.splits import TRAIN, VALIDATION
from tinykws.data.view import MLPerfView, ViewConfig
from tinykws.errors import DataError
from tinykws.train.batches import FEATURES, WAVEFORM, ArraySource, TrainData
from tinykws.train.config import AugmentConfig, DataConfig, DataSourceConfig


@dataclass
class ViewSource:
    """A `ClipSource` over an MLPerfView: clean waveforms, augmented when given a generator."""

    view: MLPerfView
    augmentation: WaveAugmentConfig
    enabled: bool = True
    bank: ChannelBank | None = None  # rooms and microphone colourings for the channel options
    # Decoded clean clips, filled on first use: without it every epoch decodes every file
    # again (about 1 ms a clip, as much as a training step costs). float32, 64 KB a clip.
    _clean: dict[int, np.ndarray] = field(default_factory=dict, init=False, repr=False)

    def __len__(self) -> int:
        return len(self.view)

    def label(self, index: int) -> int:
        return int(self.view.items[index].label)

    def get(self, index: int, rng: np.random.Generator | None) -> np.ndarray:
        clean = self._clean.get(index)
        if clean is None:
            clean = self.view.clean_waveform(index)
            clean.setflags(write=False)  # shared by every epoch: augmentation must copy
            self._clean[index] = clean
        if rng is None or not self.enabled:
            return clean
        noises = [load_noise(p, self.view.config.sample_rate) for p in self.view.noise_files]
        return augment_clip(clean, noises, self.augmentation, rng, self.bank)


def _view(
    source: DataSourceConfig, split: str, data: DataConfig, seed: int, labels: Sequence[str], folder_split: str
) -> MLPerfView:
    # A class-folder dataset without list files has no split of its own: `folder_split`
    # says what all of its clips are (training data in a training source; validation data
    # when listed under data.validation). Raw folders use their lists or the speaker hash.
    index = load_index(source.path, source.layout, folder_split=folder_split)
    config = ViewConfig(
        silence_share=data.silence_percentage / 100.0,
        unknown_share=data.unknown_percentage / 100.0,
        augment=False,  # the loop augments, with its own per-position generators
        seed=seed,
    )
    noise = noise_files_in(source.noise) if source.noise else None
    return MLPerfView(index, split, config, labels, noise_files=noise)


def noise_files_in(folders: Sequence[str]) -> list[str]:
    """Every audio file directly inside `folders`, sorted per folder (noise recordings)."""
    files: list[str] = []
    for folder in folders:
        p = Path(folder)
        if not p.is_dir():
            raise DataError(f"{p}: noise folder not found")
        found = sorted(str(f) for f in p.iterdir() if f.is_file() and is_audio_file(f))
        if not found:
            raise DataError(f"{p}: no audio files to use as noise")
        files += found
    return files


def wave_augmentation(aug: AugmentConfig, seed: int) -> tuple[WaveAugmentConfig, ChannelBank | None]:
    """The waveform augmentation of a recipe's `data.augment`, and its simulated rooms and
    microphone colourings (drawn from the run seed; none when both options are off)."""
    config = WaveAugmentConfig(
        background_frequency=aug.background_frequency,
        background_volume=aug.background_volume,
        time_shift_ms=aug.time_shift_ms,
        speed_range=tuple(aug.speed_range) or None,
        reverb_probability=aug.reverb_probability,
        eq_probability=aug.eq_probability,
        snr_db_range=tuple(aug.snr_db) or None,
    )
    if aug.reverb_probability <= 0 and aug.eq_probability <= 0:
        return config, None
    from tinykws.audio.rir import RoomRanges, rir_bank

    rirs = rir_bank(aug.reverb_rooms, seed, RoomRanges(rt60_s=tuple(aug.reverb_rt60_s))) if aug.reverb_probability > 0 else []
    colourings = aug.reverb_rooms if aug.eq_probability > 0 else 0
    return config, channel_bank(rirs, colourings, seed)


def _cached_source(view: MLPerfView, frontend, cache_dir: str, progress: bool) -> ArraySource:
    cached = cached_features(view.items, frontend, cache_root=cache_dir or None, progress=progress)
    return ArraySource(cached.features, view.targets)


def build_train_data(
    data: DataConfig,
    frontend,
    seed: int = 0,
    labels: Sequence[str] = MLPERF_LABELS,
    progress: bool = True,
) -> TrainData:
    """TrainData for the `data` section: one source per folder, weights and validation."""
    if not data.sources:
        raise DataError("the recipe lists no data.sources to train on")
    train_views = [_view(s, TRAIN, data, seed, labels, TRAIN) for s in data.sources]
    for s, v in zip(data.sources, train_views):
        if len(v) == 0:
            raise DataError(f"{s.path}: no training clips (layout {v.index.layout}, split source {v.index.split_source})")
    if data.validation:
        val_views = [_view(s, VALIDATION, data, seed, labels, VALIDATION) for s in data.validation]
    else:
        val_views = [_view(s, VALIDATION, data, seed, labels, TRAIN) for s in data.sources]
    val_views = [v for v in val_views if len(v)]
    augmentation, bank = (wave_augmentation(data.augment, seed) if not data.cache and data.augment.enabled
                          else (WaveAugmentConfig(), None))
    if data.cache:
        sources = [_cached_source(v, frontend, data.cache_dir, progress) for v in train_views]
        val_parts = [_cached_source(v, frontend, data.cache_dir, progress) for v in val_views]
        kind = FEATURES
    else:
        sources = [ViewSource(v, augmentation, data.augment.enabled, bank) for v in train_views]
        val_parts = [_stack_clean(v) for v in val_views]
        kind = WAVEFORM
    validation = None
    if val_parts:
        validation = ArraySource(
            np.concatenate([p.data for p in val_parts]), np.concatenate([p.labels for p in val_parts])
        )
    description = {
        "train": {s.path: v.class_counts() for s, v in zip(data.sources, train_views)},
        "validation_clips": 0 if validation is None else len(validation),
    }
    return TrainData(
        sources=sources, kind=kind, weights=[s.weight for s in data.sources], validation=validation,
        epoch_size=data.epoch_size, description=description,
    )


def _stack_clean(view: MLPerfView) -> ArraySource:
    waves = np.stack([view.clean_waveform(i) for i in range(len(view))]).astype(np.float32)
    return ArraySource(waves, view.targets)
