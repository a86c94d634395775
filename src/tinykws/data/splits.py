"""The Speech Commands split rule: list files first, else a hash of the speaker id.

A speaker's clips always land in the same split, so no voice leaks from training into
validation or testing.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath

from tinykws.errors import DataError

TRAIN = "train"
VALIDATION = "validation"
TEST = "test"
SPLITS: tuple[str, ...] = (TRAIN, VALIDATION, TEST)

VALIDATION_LIST = "validation_list.txt"
TESTING_LIST = "testing_list.txt"
NOHASH = "_nohash_"
# The dataset's rule buckets hashes modulo 2**27 (its maximum number of clips per class).
_HASH_BUCKETS = 2**27


def speaker_of(filename: str) -> str:
    """Speaker id of a clip name: the part of the base name before `_nohash_`.

    A name without `_nohash_` is its own speaker (the stem without extension).
    """
    base = PurePosixPath(filename).name
    if NOHASH in base:
        return base.split(NOHASH, 1)[0]
    return PurePosixPath(base).stem


def hash_percentage(speaker: str) -> float:
    """The rule's position of a speaker in [0, 100]."""
    digest = int(hashlib.sha1(speaker.encode("utf-8")).hexdigest(), 16)
    return (digest % _HASH_BUCKETS) * (100.0 / (_HASH_BUCKETS - 1))


def split_by_hash(speaker: str, validation_percent: float = 10.0, testing_percent: float = 10.0) -> str:
    """`validation` if p < 10, `test` if p < 20, else `train` (docs/architecture.md, Speech Commands split rule)."""
    p = hash_percentage(speaker)
    if p < validation_percent:
        return VALIDATION
    if p < validation_percent + testing_percent:
        return TEST
    return TRAIN


def list_key(relpath: str) -> str:
    """How a list entry is matched: POSIX path relative to the root, without extension.

    Ignoring the extension lets the official lists (`.wav`) describe a FLAC copy.
    """
    p = PurePosixPath(relpath.strip().replace("\\", "/"))
    while p.parts and p.parts[0] == ".":
        p = PurePosixPath(*p.parts[1:])
    return str(p.with_suffix(""))


def read_list_file(path: str | os.PathLike) -> frozenset[str]:
    """Entries of a list file (one relative path per line) as `list_key`s."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: cannot read split list ({exc.__class__.__name__}: {exc})") from None
    return frozenset(list_key(line) for line in text.splitlines() if line.strip())


class SplitLists:
    """The split lists of a dataset root, if any; `split_of` falls back to `fallback`."""

    def __init__(self, root: str | os.PathLike):
        root = Path(root)
        v, t = root / VALIDATION_LIST, root / TESTING_LIST
        self.present = v.is_file() or t.is_file()
        self.validation = read_list_file(v) if v.is_file() else frozenset()
        self.testing = read_list_file(t) if t.is_file() else frozenset()

    def split_of(self, relpath: str, fallback: str) -> str:
        """Split of a clip given its path relative to the root (lists take precedence)."""
        key = list_key(relpath)
        if key in self.validation:
            return VALIDATION
        if key in self.testing:
            return TEST
        return TRAIN if self.present else fallback
