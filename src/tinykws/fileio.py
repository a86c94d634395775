"""Writing files safely: a temporary file beside the target, then an atomic rename,
so that an interrupted or failed write never leaves a half-written output."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed onto `path`.

    The temporary name keeps the suffix, so writers that append one (np.save) do not.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.stem}.tmp-{os.getpid()}{p.suffix}")
    try:
        yield tmp
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Atomically write `data` to `path`."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write UTF-8 `text` to `path`."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Atomically write `obj` as indented JSON."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


OUTPUT_MARKER = ".tinykws-output"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_leftovers(folder: Path, name: str) -> None:
    """Delete `.NAME.tmp-PID` / `.NAME.old-PID` folders beside a target left by runs whose
    process is gone (a killed run's half-written output is never picked up)."""
    import shutil

    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        for tag in (".tmp-", ".old-"):
            prefix = f".{name}{tag}"
            if entry.name.startswith(prefix) and entry.name[len(prefix):].isdigit():
                if not _pid_alive(int(entry.name[len(prefix):])):
                    shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, kind: str) -> Iterator[Path]:
    """Yield a fresh temporary folder beside `path`; on success it replaces `path` whole.

    The files of one output (a .tflite with its manifest and summary, say) then appear
    together or not at all, and never beside stale files of an earlier run. `kind` names
    the verb; an existing `path` is replaced only if it is empty or an earlier tinykws
    output (it holds the marker file), so `--out .` cannot wipe a user's folder.
    """
    import shutil

    from tinykws.errors import ConfigError

    target = Path(path)
    if target.exists():
        if not target.is_dir():
            raise ConfigError(f"{target}: exists and is not a folder")
        if any(target.iterdir()) and not (target / OUTPUT_MARKER).is_file():
            raise ConfigError(f"{target}: exists and is not an earlier tinykws output; choose another output folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_leftovers(target.parent, target.name)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        (tmp / OUTPUT_MARKER).write_text(kind + "\n", encoding="utf-8")
        if target.exists():
            old = target.parent / f".{target.name}.old-{os.getpid()}"
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
