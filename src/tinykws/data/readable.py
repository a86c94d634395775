"""Screening a dataset index for unreadable clips before a run uses it.

Training and evaluation decode clips lazily, so a corrupt file used to stop a run at the
first bad clip, after minutes of work, naming only that clip. `screen_index` decodes the
clips of the chosen splits and the noise recordings up front: with `skip=False` every
unreadable file is named in one DataError; with `skip=True` they are left out of the
index and listed in the result.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

from tinykws.audio.io import DEFAULT_SAMPLE_RATE
from tinykws.audio.scan import UnreadableFile, describe_unreadable, find_unreadable
from tinykws.data.layouts import DatasetIndex
from tinykws.errors import DataError

CLIP_SAMPLES = 16_000  # what a clip of the 12-class view is cut to


@dataclass(frozen=True)
class ScreenedIndex:
    """The index without its unreadable files, and the files that were left out."""

    index: DatasetIndex
    skipped: tuple[UnreadableFile, ...]


def screen_index(index: DatasetIndex, splits: Sequence[str] | None = None, skip: bool = False,
                 sample_rate: int = DEFAULT_SAMPLE_RATE) -> ScreenedIndex:
    """Decode the clips of `splits` (None: all) and every noise recording of `index`.

    Raises DataError naming every unreadable file (and the way out, `--skip-unreadable`)
    unless `skip`, in which case they are dropped from the returned index.
    """
    clips = [c for c in index.clips if splits is None or c.split in splits]
    bad = find_unreadable((c.path for c in clips), sample_rate, CLIP_SAMPLES)
    bad += find_unreadable(index.noise_files, sample_rate)
    if not bad:
        return ScreenedIndex(index, ())
    if not skip:
        raise DataError(f"{index.root}: {describe_unreadable(bad)}; fix or remove them, or pass "
                        "--skip-unreadable to go on without them")
    gone = {u.path for u in bad}
    kept = dataclasses.replace(index, clips=tuple(c for c in index.clips if c.path not in gone),
                               noise_files=tuple(p for p in index.noise_files if p not in gone))
    return ScreenedIndex(kept, bad)
