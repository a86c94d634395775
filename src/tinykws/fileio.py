"""Writing files safely: outputs are whole or absent.

- `atomic_path` / `write_bytes` / `write_json`: one file, written to a temporary name beside
  the target and renamed onto it.
- `staged_outputs`: several files that belong together (a model and its manifest, features
  and their file list, a checkpoint and the metrics of its epoch) are written into a staging
  folder and moved into place as one commit. A journal written before the first rename lets
  the next writer in that folder finish an interrupted commit, so a killed run never leaves
  a new file beside a stale one.
- `atomic_dir`: a whole output folder built beside the target and renamed into place.
- Leftovers of killed runs (temporary files, staging folders, journals of a dead process)
  are recovered or removed by the next writer in the same folder.
- Every failure to write is an `OutputError` naming the path and the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterable, Iterator

from tinykws.errors import OutputError

# `.NAME.tmp-PID[.suffix]` / `.NAME.old-PID`: a temporary file or folder of process PID.
_TEMP = re.compile(r"^\..+\.(?:tmp|old)-(?P<pid>\d+)(\.[^.]*)?$")
_STAGE = re.compile(r"^\.tinykws-stage-(?P<pid>\d+)$")
_JOURNAL = re.compile(r"^\.tinykws-commit-(?P<pid>\d+)\.json$")


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # our own temporaries may still be in use
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    except OverflowError:
        return False
    return True


def ensure_folder(folder: str | os.PathLike) -> Path:
    """Create `folder` (and its parents); an OutputError names a parent that is a file."""
    p = Path(folder)
    if p.is_dir():
        return p
    for ancestor in [p, *p.parents]:
        if ancestor.exists() or ancestor.is_symlink():
            if not ancestor.is_dir():
                raise OutputError(p, f"{ancestor} is a file, not a folder")
            break
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(p, _reason(exc)) from None
    return p


def _check_target(p: Path) -> None:
    if p.is_dir():
        raise OutputError(p, "is a directory")
    ensure_folder(p.parent)


def recover_folder(folder: str | os.PathLike) -> None:
    """Finish interrupted commits and remove temporaries left in `folder` by dead processes.

    Journals go first: a journal lists renames whose sources are complete files, so
    replaying it yields the whole new set. Errors are ignored (best effort): a folder we
    cannot clean is reported by the write that follows.
    """
    p = Path(folder)
    try:
        names = os.listdir(p)
    except OSError:
        return
    for name in names:
        m = _JOURNAL.match(name)
        if m and not _pid_alive(int(m["pid"])):
            _replay_journal(p, p / name)
    for name in names:
        m = _TEMP.match(name) or _STAGE.match(name)
        if m and not _pid_alive(int(m["pid"])):
            _remove(p / name)


_RECOVERED: set[str] = set()


def _recover_once(folder: Path) -> None:
    # Once per folder and process: a writer of thousands of files into one folder (a
    # synthetic corpus) must not list it again for every file.
    key = os.path.abspath(folder)
    if key not in _RECOVERED:
        recover_folder(folder)
        _RECOVERED.add(key)


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()
    except OSError:
        pass


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed onto `path`.

    The temporary name keeps the suffix, so writers that append one (np.save) do not.
    OSErrors while writing become an OutputError naming `path`.
    """
    p = Path(path)
    _check_target(p)
    _recover_once(p.parent)
    tmp = p.with_name(f".{p.stem}.tmp-{os.getpid()}{p.suffix}")
    try:
        yield tmp
        os.replace(tmp, p)
    except OSError as exc:
        raise OutputError(p, _reason(exc)) from None
    finally:
        if tmp.exists():
            _remove(tmp)


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


@contextlib.contextmanager
def staged_outputs(folder: str | os.PathLike, owned: Iterable[str] = ()) -> Iterator[Path]:
    """Yield an empty staging folder inside `folder`; write the outputs there by name.

    On success every file in the staging folder replaces its namesake in `folder`, and
    every name in `owned` that this run did not produce is removed (so no stale output of
    an earlier run stays beside the new ones), as one journaled commit. On failure the
    staging folder is removed and `folder` is unchanged; a folder this call created is
    removed again when it is left empty.
    """
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise OutputError(out, "is a file, not a folder")
    created = not out.exists()
    ensure_folder(out)
    for name in owned:
        if (out / name).is_dir():
            raise OutputError(out / name, "is a directory")
    recover_folder(out)
    stage = out / f".tinykws-stage-{os.getpid()}"
    _remove(stage)
    try:
        stage.mkdir()
    except OSError as exc:
        raise OutputError(out, _reason(exc)) from None
    try:
        yield stage
        produced = sorted(e.name for e in stage.iterdir() if e.is_file())
        _commit(out, stage, produced, [n for n in owned if n not in produced])
    except OSError as exc:
        raise OutputError(out, _reason(exc)) from None
    finally:
        _remove(stage)
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()  # only succeeds when nothing was committed


def _commit(out: Path, stage: Path, produced: list[str], remove: list[str]) -> None:
    journal = out / f".tinykws-commit-{os.getpid()}.json"
    doc = {"stage": stage.name, "move": produced, "remove": remove}
    tmp = out / f".tinykws-commit.tmp-{os.getpid()}.json"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, journal)
    _apply(out, doc)
    journal.unlink()


def _apply(out: Path, doc: dict) -> None:
    stage = out / str(doc["stage"])
    for name in doc["move"]:
        src = stage / name
        if src.exists():
            os.replace(src, out / name)
    for name in doc["remove"]:
        with contextlib.suppress(FileNotFoundError):
            (out / name).unlink()


def _replay_journal(out: Path, journal: Path) -> None:
    try:
        doc = json.loads(journal.read_text(encoding="utf-8"))
        if not (isinstance(doc, dict) and isinstance(doc.get("stage"), str)
                and all(isinstance(doc.get(k), list) for k in ("move", "remove"))):
            raise ValueError("malformed journal")
        names = [n for n in doc["move"] + doc["remove"] + [doc["stage"]] if isinstance(n, str)]
        if any(os.sep in n or n in ("", ".", "..") for n in names):
            raise ValueError("journal names a path outside its folder")
        _apply(out, doc)
    except (OSError, ValueError, TypeError):  # a damaged journal: its temporaries are removed below
        pass
    with contextlib.suppress(OSError):
        journal.unlink()


OUTPUT_MARKER = ".tinykws-output"


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, kind: str) -> Iterator[Path]:
    """Yield a fresh temporary folder beside `path`; on success it replaces `path` whole.

    The files of one output (a .tflite with its manifest and summary, say) then appear
    together or not at all, and never beside stale files of an earlier run. `kind` names
    the verb; an existing `path` is replaced only if it is empty or an earlier tinykws
    output (it holds the marker file), so `--out .` cannot wipe a user's folder.
    """
    from tinykws.errors import ConfigError

    target = Path(path)
    if target.exists():
        if not target.is_dir():
            raise OutputError(target, "exists and is not a folder")
        if any(target.iterdir()) and not (target / OUTPUT_MARKER).is_file():
            raise ConfigError(f"{target}: exists and is not an earlier tinykws output; choose another output folder")
    ensure_folder(target.parent)
    recover_folder(target.parent)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
    except OSError as exc:
        raise OutputError(target, _reason(exc)) from None
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
    except OSError as exc:
        raise OutputError(target, _reason(exc)) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
