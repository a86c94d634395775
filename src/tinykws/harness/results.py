"""Results in the MLPerf Tiny submission layout:

    SUBMISSION/results/<system>/<workload>/accuracy/{results.txt, results.json, log.txt}
    SUBMISSION/results/<system>/<workload>/performance/{results.txt, results.json, log.txt}
    SUBMISSION/systems/<system>.json

results.json holds everything the compliance checker needs (model hashes, the dataset's
checksum and count, the code identity, the runs); results.txt is the summary a person
reads; log.txt what happened (for a device, the serial transcript).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from tinykws.errors import DataError
from tinykws.fileio import write_json, write_text

MODES = ("accuracy", "performance")
RESULT_FILES = ("results.txt", "results.json", "log.txt")


@dataclass(frozen=True)
class ResultEntry:
    """One mode's folder of one system and workload, with its parsed results.json
    (None when absent or unreadable; `problem` says why)."""

    system: str
    workload: str
    mode: str
    folder: Path
    data: dict[str, Any] | None
    problem: str = ""


def mode_dir(root: str | os.PathLike, system: str, workload: str, mode: str) -> Path:
    """The folder of one mode's results."""
    return Path(root) / "results" / system / workload / mode


def system_path(root: str | os.PathLike, system: str) -> Path:
    return Path(root) / "systems" / f"{system}.json"


def write_mode(root: str | os.PathLike, system: str, workload: str, mode: str, data: dict[str, Any],
               summary: str, log: Iterable[str]) -> Path:
    """Write one mode's three files (each atomically); returns the folder."""
    folder = mode_dir(root, system, workload, mode)
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / "log.txt", "".join(line if line.endswith("\n") else line + "\n" for line in log))
    write_text(folder / "results.txt", summary.rstrip("\n") + "\n")
    write_json(folder / "results.json", data)
    return folder


def write_system(root: str | os.PathLike, system: str, description: dict[str, Any]) -> Path:
    """Write systems/<system>.json."""
    path = system_path(root, system)
    write_json(path, description)
    return path


def _read_json(path: Path) -> tuple[dict[str, Any] | None, str]:
    try:
        return json.loads(path.read_text(encoding="utf-8")), ""
    except FileNotFoundError:
        return None, f"{path} is missing"
    except (OSError, ValueError) as exc:
        return None, f"{path} cannot be read ({exc})"


def read_results(root: str | os.PathLike) -> list[ResultEntry]:
    """Every system/workload pair under `root`/results, one entry per mode (a missing
    mode folder gives an entry with data None)."""
    base = Path(root) / "results"
    if not base.is_dir():
        raise DataError(f"{root}: no results/ folder (not a tinykws bench submission)")
    entries = []
    for system_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        for workload_dir in sorted(p for p in system_dir.iterdir() if p.is_dir()):
            for mode in MODES:
                folder = workload_dir / mode
                data, problem = _read_json(folder / "results.json")
                entries.append(ResultEntry(system_dir.name, workload_dir.name, mode, folder, data, problem))
    return entries


def read_system(root: str | os.PathLike, system: str) -> tuple[dict[str, Any] | None, str]:
    """systems/<system>.json, or (None, why not)."""
    return _read_json(system_path(root, system))
