"""`environment.json` of a run folder: what the run's numbers depend on besides the recipe.

The same recipe, seed and thread count give the same checkpoint bytes when these agree:
the package versions, the numeric ISA settings (`tinykws.environment`), and the data
itself — for a synthetic corpus its manifest (engines, their versions, every clip's
settings), for any other folder a fingerprint of its file list. Each start and resume of a
run appends one entry, so a resumed run says where it continued.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from tinykws.data.synth.manifest import MANIFEST_NAME
from tinykws.train.mining import MANIFEST_NAME as MINED_MANIFEST
from tinykws.train.mining import read_manifest
from tinykws.environment import describe_environment
from tinykws.fileio import write_json
from tinykws.train.config import RunConfig

PROVENANCE_NAME = "environment.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_fingerprint(folder: str | os.PathLike) -> dict[str, Any]:
    """A synthetic corpus: its manifest's SHA-256 and engine versions. A mined corpus: its
    manifest's SHA-256 (the manifest names the teacher, the sources and every clip's parents)
    and its clip count. Any other folder:
    the number of files and a SHA-256 over their relative paths and sizes (cheap: no file
    is read), which changes when a clip is added, removed or rewritten with another size."""
    root = Path(folder)
    manifest = root / MANIFEST_NAME
    if manifest.is_file():
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        engines = {name: e.get("version", "") for name, e in doc.get("engines", {}).items()}
        return {"path": str(root), "kind": "synthetic corpus", "manifest_sha256": _sha256(manifest),
                "engines": engines, "clips": len(doc.get("clips", {}))}
    mined = root / MINED_MANIFEST
    if mined.is_file():
        doc = read_manifest(root)
        return {"path": str(root), "kind": "mined corpus", "manifest_sha256": _sha256(mined),
                "clips": len(doc.get("clips", []))}
    digest = hashlib.sha256()
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            digest.update(f"{path.relative_to(root).as_posix()}\0{path.stat().st_size}\n".encode())
            count += 1
    return {"path": str(root), "kind": "folder", "files": count, "listing_sha256": digest.hexdigest()}


def run_provenance(cfg: RunConfig) -> dict[str, Any]:
    """The environment of this process and the fingerprints of the run's data and teacher."""
    folders = {s.path for s in cfg.data.sources + cfg.data.validation}
    entry = {"environment": describe_environment(), "threads": cfg.train.threads, "seed": cfg.train.seed,
             "data": [data_fingerprint(f) for f in sorted(folders) if Path(f).is_dir()]}
    teachers = [{"path": t, "sha256": _sha256(Path(t))} for t in cfg.distill.teachers if Path(t).is_file()]
    if teachers:
        entry["teacher"] = teachers[0] if isinstance(cfg.distill.teacher, str) else teachers
    return entry


def record_provenance(cfg: RunConfig, run_dir: Path, resumed_at_epoch: int | None = None) -> Path:
    """Append this session's provenance to run_dir/environment.json (a fresh run starts it)."""
    path = run_dir / PROVENANCE_NAME
    sessions: list[dict[str, Any]] = []
    if resumed_at_epoch is not None and path.is_file():
        try:
            sessions = list(json.loads(path.read_text(encoding="utf-8")).get("sessions", []))
        except (ValueError, AttributeError):
            sessions = []
    entry = run_provenance(cfg)
    entry["started_at_epoch"] = resumed_at_epoch or 0
    write_json(path, {"sessions": sessions + [entry]})
    return path
