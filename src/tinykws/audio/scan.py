"""Finding every unreadable audio file of a set at once, instead of one per run.

`find_unreadable(paths)` decodes each file the way training and evaluation do (header
checked against the file size, samples decoded in bounded blocks) and returns the files
that fail with the reason; nothing is raised for a bad file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable

from tinykws.audio.io import DEFAULT_SAMPLE_RATE, load_audio
from tinykws.errors import AudioError


@dataclass(frozen=True)
class UnreadableFile:
    """A file that could not be used, and why."""

    path: str
    problem: str


def find_unreadable(paths: Iterable[str | os.PathLike], sample_rate: int = DEFAULT_SAMPLE_RATE,
                    length: int | None = None) -> tuple[UnreadableFile, ...]:
    """Every file of `paths` that `load_audio(path, sample_rate, length)` refuses, in order.

    `length` (samples) limits decoding to what a clip of that length needs; None decodes
    whole files.
    """
    found = []
    for path in paths:
        try:
            load_audio(path, sample_rate=sample_rate, length=length)
        except AudioError as exc:
            found.append(UnreadableFile(os.fspath(path), exc.problem))
    return tuple(found)


def describe_unreadable(files: tuple[UnreadableFile, ...], limit: int = 5) -> str:
    """One line naming the first `limit` unreadable files and their problems."""
    shown = "; ".join(f"{u.path}: {u.problem}" for u in files[:limit])
    more = f"; and {len(files) - limit} more" if len(files) > limit else ""
    return f"{len(files)} unreadable audio file(s): {shown}{more}"
