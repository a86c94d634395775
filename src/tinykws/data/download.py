"""Downloading Speech Commands: resumable, sha256-checked, extracted with a guard.

The official v0.02 archive and its checksum are those listed by TensorFlow Datasets
(`tensorflow_datasets/url_checksums/speech_commands.txt`): 2,428,923,189 bytes.
The archive has no top-level folder: it extracts to `<word>/...`, `_background_noise_/`
and the two list files directly under the output folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from tinykws.data.extract import safe_extract
from tinykws.errors import DataError
from tinykws.fileio import ensure_folder, write_json

SPEECH_COMMANDS_URL = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
SPEECH_COMMANDS_SHA256 = "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"
SPEECH_COMMANDS_BYTES = 2_428_923_189
DOWNLOAD_FOLDER = ".tinykws-download"
DONE_MARKER = ".tinykws-download.json"  # written after a verified, complete extraction
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DownloadResult:
    """What `download_and_extract` did (sizes in bytes)."""

    url: str
    out_dir: str
    archive: str  # where the verified archive was (removed unless kept)
    sha256: str
    archive_bytes: int
    resumed_from: int  # bytes already present in the partial file
    downloaded_bytes: int  # bytes fetched by this call
    extracted_files: int
    archive_kept: bool


def archive_path(out_dir: str | os.PathLike, url: str) -> Path:
    """Where the complete archive of `url` is kept while extracting."""
    name = os.path.basename(urllib.parse.urlparse(url).path) or "archive.tar.gz"
    return Path(out_dir) / DOWNLOAD_FOLDER / name


def partial_path(out_dir: str | os.PathLike, url: str) -> Path:
    """The partial file a download of `url` resumes from."""
    a = archive_path(out_dir, url)
    return a.with_name(a.name + ".part")


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def fetch(url: str, part: Path, progress: bool = True, timeout: float = 60.0) -> tuple[int, int]:
    """Append the rest of `url` to `part` (resuming from its size). Returns
    (bytes present before, bytes fetched now). HTTP resumes with a Range request;
    file:// URLs seek to the partial size."""
    part.parent.mkdir(parents=True, exist_ok=True)
    start = part.stat().st_size if part.exists() else 0
    scheme = urllib.parse.urlparse(url).scheme
    if scheme == "file":
        return _fetch_file(url, part, start, progress)
    if scheme in ("http", "https"):
        return _fetch_http(url, part, start, progress, timeout)
    raise DataError(f"{url}: unsupported URL scheme {scheme!r} (http, https or file)")


def _fetch_file(url: str, part: Path, start: int, progress: bool) -> tuple[int, int]:
    src = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
    if not src.is_file():
        raise DataError(f"{url}: file not found")
    total = src.stat().st_size
    if start > total:
        # A partial longer than the source belongs to something else: start over.
        part.unlink()
        start = 0
    with open(src, "rb") as fin, open(part, "ab") as fout:
        fin.seek(start)
        return start, _copy(fin, fout, start, total, progress, src.name)


def _fetch_http(url: str, part: Path, start: int, progress: bool, timeout: float) -> tuple[int, int]:
    request = urllib.request.Request(url, headers={"User-Agent": "tinykws"})
    if start:
        request.add_header("Range", f"bytes={start}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # the partial file is already complete
            return start, 0
        raise DataError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DataError(f"{url}: cannot connect ({getattr(exc, 'reason', exc)})") from None
    with response:
        if start and response.status != 206:  # server ignored Range: start over
            start = 0
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        mode = "ab" if start else "wb"
        try:
            with open(part, mode) as fout:
                return start, _copy(response, fout, start, total, progress, os.path.basename(url))
        except (urllib.error.URLError, OSError) as exc:
            raise DataError(f"{url}: download interrupted ({exc}); run again to resume") from None


def _copy(fin, fout, start: int, total: int | None, progress: bool, name: str) -> int:
    from tqdm import tqdm

    done = 0
    with tqdm(total=total, initial=start, unit="B", unit_scale=True, desc=name, disable=not progress) as bar:
        for block in iter(lambda: fin.read(_CHUNK), b""):
            fout.write(block)
            done += len(block)
            bar.update(len(block))
    return done


def download_and_extract(
    out_dir: str | os.PathLike,
    url: str = SPEECH_COMMANDS_URL,
    sha256: str | None = SPEECH_COMMANDS_SHA256,
    progress: bool = True,
    keep_archive: bool = False,
    force: bool = False,
) -> DownloadResult:
    """Download `url` into `out_dir` (resuming a partial file), check its sha256, and
    extract it with `safe_extract`.

    `sha256` None skips the check (only for archives you trust). A checksum mismatch
    raises DataError, deletes the bad download and extracts nothing. If `out_dir` already
    holds a complete extraction of the same archive (sha256), nothing is done unless `force`.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: exists and is not a folder")
    ensure_folder(out / DOWNLOAD_FOLDER)  # an unwritable place fails here, before any download
    done = _read_marker(out)
    if not force and done and sha256 is not None and done.get("sha256") == sha256.lower():
        return DownloadResult(url, str(out), done.get("archive", ""), done["sha256"], int(done.get("archive_bytes", 0)),
                              0, 0, 0, False)
    archive, part = archive_path(out, url), partial_path(out, url)
    resumed = fetched = 0
    if not archive.exists():
        resumed, fetched = fetch(url, part, progress=progress)
        os.replace(part, archive)
    digest = sha256_of(archive)
    if sha256 is not None and digest.lower() != sha256.lower():
        size = archive.stat().st_size
        archive.unlink()
        _remove_if_empty(archive.parent)
        raise DataError(
            f"{url}: sha256 mismatch: expected {sha256.lower()}, got {digest} ({size} bytes); "
            "the download was deleted and nothing was extracted"
        )
    size = archive.stat().st_size
    try:
        extracted = safe_extract(archive, out)
    except DataError:
        archive.unlink()  # a refused archive is of no further use
        _remove_if_empty(archive.parent)
        raise
    if not keep_archive:
        archive.unlink()
        _remove_if_empty(archive.parent)
    result = DownloadResult(
        url, str(out), str(archive), digest, size, resumed, fetched, extracted.files, keep_archive
    )
    write_json(out / DONE_MARKER, asdict(result))
    return result


def _read_marker(out: Path) -> dict | None:
    try:
        data = json.loads((out / DONE_MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "sha256" in data else None


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
