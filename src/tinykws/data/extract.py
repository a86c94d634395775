"""Extracting a tar archive without letting any member escape the target folder.

Every member is checked before it is written: absolute names, `..` components, links
(symbolic or hard) whose target resolves outside the folder, and device or FIFO entries
are refused with a `DataError` naming the member, and so is an archive that would unpack
to more than a bound (a decompression bomb). Extraction goes to a staging folder inside
the target and is moved into place only when every member succeeded and every
destination was checked, so a refused archive leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tinykws.errors import DataError
from tinykws.fileio import ensure_folder, recover_folder


@dataclass(frozen=True)
class ExtractResult:
    """What an extraction wrote: the target folder, file and folder counts, bytes."""

    out_dir: str
    files: int
    dirs: int
    bytes: int


def _inside(root: str, path: str) -> bool:
    root = os.path.realpath(root)
    path = os.path.realpath(path)
    return path == root or path.startswith(root + os.sep)


def check_member(member: tarfile.TarInfo, root: str) -> None:
    """Raise DataError if writing `member` under `root` could touch anything outside it."""
    name = member.name
    pure = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or pure.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise DataError(f"archive member {name!r}: absolute path refused")
    if ".." in pure.parts:
        raise DataError(f"archive member {name!r}: '..' in path refused (would leave {root})")
    dest = os.path.join(root, *pure.parts) if pure.parts else root
    if not _inside(root, dest):
        raise DataError(f"archive member {name!r}: resolves outside {root} (through a link)")
    if member.issym():
        target = member.linkname
        if os.path.isabs(target) or target.startswith(("/", "\\")):
            raise DataError(f"archive member {name!r}: symlink to absolute path {target!r} refused")
        # realpath (in _inside) follows links already extracted, so chains are caught.
        if not _inside(root, os.path.join(os.path.dirname(dest), target)):
            raise DataError(f"archive member {name!r}: symlink to {target!r} points outside {root}")
    elif member.islnk():
        target = member.linkname
        if os.path.isabs(target) or ".." in PurePosixPath(target).parts:
            raise DataError(f"archive member {name!r}: hard link to {target!r} points outside {root}")
        if not _inside(root, os.path.join(root, target)):
            raise DataError(f"archive member {name!r}: hard link to {target!r} points outside {root}")
    elif not (member.isfile() or member.isdir()):
        raise DataError(f"archive member {name!r}: special file (device or FIFO) refused")


# Bounds on what one archive may unpack to, checked member by member before writing it:
# a decompression bomb stops at the first member past a bound, not when the disk is full.
# Speech Commands v0.02 unpacks 2.4 GB to about 3.8 GB (ratio 1.6); audio barely compresses.
MAX_EXTRACT_BYTES = 64 << 30
MAX_EXTRACT_RATIO = 100
MAX_EXTRACT_MEMBERS = 2_000_000
_RATIO_SLACK = 1 << 20  # small archives of tiny files have large ratios without being bombs


def extraction_budget(archive_bytes: int, max_bytes: int = MAX_EXTRACT_BYTES,
                      max_ratio: float = MAX_EXTRACT_RATIO) -> int:
    """Bytes an archive of `archive_bytes` may unpack to."""
    return int(min(max_bytes, max_ratio * archive_bytes + _RATIO_SLACK))


def safe_extract(archive: str | os.PathLike, out_dir: str | os.PathLike, max_bytes: int = MAX_EXTRACT_BYTES,
                 max_ratio: float = MAX_EXTRACT_RATIO) -> ExtractResult:
    """Extract a (possibly compressed) tar archive into `out_dir`, all or nothing.

    Members go to a fresh staging folder; only when every member is in, and every place
    they go to in `out_dir` has been checked (no symlinked or mistyped folder on the way),
    are they moved into place. Raises DataError naming the first refused member, the bound
    a member would exceed (`max_bytes` in total, `max_ratio` times the archive's size), a
    conflicting path in `out_dir`, or the archive if it is not a readable tar file; `out_dir`
    then holds nothing from this archive.
    """
    out = ensure_folder(out_dir)
    recover_folder(out)  # staging folders of killed runs
    staging = out / f".tinykws-stage-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    budget = extraction_budget(os.path.getsize(archive), max_bytes, max_ratio)
    files = dirs = size = members = 0
    try:
        try:
            tar = tarfile.open(archive, "r:*")
        except (tarfile.TarError, OSError) as exc:
            raise DataError(f"{archive}: not a readable tar archive ({exc})") from None
        with tar:
            try:
                for member in tar:
                    members += 1
                    if members > MAX_EXTRACT_MEMBERS:
                        raise DataError(f"{archive}: more than {MAX_EXTRACT_MEMBERS:,} members; refused")
                    check_member(member, str(staging))
                    if member.isfile() and size + member.size > budget:
                        raise DataError(
                            f"{archive}: member {member.name!r} would bring the extracted size past "
                            f"{budget:,} bytes ({max_ratio:g} times the archive, at most {max_bytes:,}); "
                            "refused as a decompression bomb")
                    _extract_one(tar, member, str(staging))
                    files += member.isfile()
                    dirs += member.isdir()
                    size += member.size if member.isfile() else 0
            except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
                raise DataError(f"{archive}: corrupt or truncated archive ({exc})") from None
        moves = _merge_plan(staging, out)
        for src, dst in moves:
            os.replace(src, dst)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExtractResult(str(out), files, dirs, size)


def _extract_one(tar: tarfile.TarFile, member: tarfile.TarInfo, root: str) -> None:
    # Python's own "data" filter (3.11.4+) repeats our checks; keep it as a second guard.
    if hasattr(tarfile, "data_filter"):
        try:
            tar.extract(member, root, set_attrs=False, filter="data")
        except tarfile.FilterError as exc:
            raise DataError(f"archive member {member.name!r}: refused ({exc})") from None
    else:  # pragma: no cover - older Python
        tar.extract(member, root, set_attrs=False)


def _merge_plan(src: Path, dst: Path) -> list[tuple[Path, Path]]:
    """The renames that move everything under `src` into `dst` (folders merged, files
    replaced), computed and checked before any of them is made.

    A folder in `dst` that is a symbolic link, or a file where the archive has a folder (or
    the reverse), is a DataError naming it: merging through it would write outside `dst`
    or half-merge the archive."""
    moves: list[tuple[Path, Path]] = []
    for entry in sorted(src.iterdir()):
        target = dst / entry.name
        if target.is_symlink():
            raise DataError(f"{target}: is a symbolic link; extraction does not write through links "
                            "(remove it or extract elsewhere)")
        if entry.is_dir() and not entry.is_symlink():
            if target.is_dir():
                moves += _merge_plan(entry, target)
                continue
            if target.exists():
                raise DataError(f"{target}: is a file, but the archive has a folder there")
        elif target.is_dir():
            raise DataError(f"{target}: is a folder, but the archive has a file there")
        moves.append((entry, target))
    return moves
