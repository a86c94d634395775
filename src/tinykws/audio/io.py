"""Reading and writing audio: any file soundfile reads (WAV, FLAC, OGG; integer or float
samples) in, mono float32 in [-1, 1] at 16 kHz out.

Every problem with an input file raises `AudioError` naming the file and the problem, so
that the CLI can print one clear line instead of a traceback from inside libsndfile.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from tinykws.errors import AudioError
from tinykws.fileio import atomic_path

DEFAULT_SAMPLE_RATE = 16_000
MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 768_000
MAX_CHANNELS = 64
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif")
# The longest recording decoded whole (noise recordings are minutes long); longer files
# are refused instead of filling memory. Clips with a target length read only that much.
MAX_DECODE_SECONDS = 2 * 3600
# Headers are checked against the file size before decoding. Uncompressed samples take
# their full size; no lossless or lossy codec stores more than this many frames per byte
# (a FLAC frame of constant subframes needs about 10 bytes for up to 65,535 samples).
COMPRESSED_MAX_FRAMES_PER_BYTE = 16_384
_BLOCK_FRAMES = 16_384
_MAX_FLOAT_SAMPLE = 1e6
_UNCOMPRESSED_CONTAINERS = {"WAV", "WAVEX", "AIFF", "AU", "RAW", "W64", "RF64"}
_PCM_BYTES = {"PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8,
              "ULAW": 1, "ALAW": 1}


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says, without decoding it."""

    path: str
    frames: int  # samples per channel
    sample_rate: int  # Hz
    channels: int
    subtype: str  # e.g. PCM_16, FLOAT
    container: str = ""  # e.g. WAV, FLAC, OGG

    @property
    def duration_s(self) -> float:
        """Duration in seconds."""
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def is_audio_file(path: str | os.PathLike) -> bool:
    """True if the name ends in an audio extension that tinykws reads."""
    return str(path).lower().endswith(AUDIO_EXTENSIONS)


def _check_exists(p: Path) -> None:
    if not p.exists():
        raise AudioError(p, "file not found")
    if p.is_dir():
        raise AudioError(p, "is a directory, not an audio file")
    if p.stat().st_size == 0:
        raise AudioError(p, "empty file (0 bytes)")


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Header information of an audio file (cheap: no decoding)."""
    p = Path(path)
    _check_exists(p)
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OverflowError) as exc:
        raise AudioError(p, f"not a readable audio file ({_short(exc)})") from None
    found = AudioInfo(str(p), int(info.frames), int(info.samplerate), int(info.channels), str(info.subtype),
                      str(info.format))
    check_header(found, p.stat().st_size)
    return found


def check_header(info: AudioInfo, file_bytes: int) -> None:
    """AudioError when a header is impossible: no channels or too many, a rate outside
    1 Hz..768 kHz, or more frames than `file_bytes` can hold (see COMPRESSED_MAX_FRAMES_PER_BYTE)."""
    if not 1 <= info.channels <= MAX_CHANNELS:
        raise AudioError(info.path, f"header claims {info.channels} channels (1..{MAX_CHANNELS} are readable)")
    if not 0 < info.sample_rate <= MAX_SAMPLE_RATE:
        raise AudioError(info.path, f"header claims a sample rate of {info.sample_rate} Hz")
    per_frame = _PCM_BYTES.get(info.subtype) if info.container in _UNCOMPRESSED_CONTAINERS else None
    if per_frame is not None:
        limit = file_bytes // (per_frame * info.channels)
    else:
        limit = file_bytes * COMPRESSED_MAX_FRAMES_PER_BYTE
    if info.frames < 0 or info.frames > limit:
        raise AudioError(info.path, f"header claims {info.frames:,} samples, impossible for a file of "
                                    f"{file_bytes:,} bytes ({info.container} {info.subtype})")


def load_audio(
    path: str | os.PathLike,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    length: int | None = None,
) -> np.ndarray:
    """Decode `path` to mono float32 in [-1, 1] at `sample_rate` Hz.

    Stereo is averaged to mono; other rates are resampled with soxr (high quality).
    `length` (samples) zero-pads or trims the end. Raises `AudioError` for a missing,
    empty, corrupt or truncated file, zero samples, NaN/Inf samples, or a rate under 8 kHz.
    """
    p = Path(path)
    _check_exists(p)
    try:
        with sf.SoundFile(str(p)) as fh:
            info = AudioInfo(str(p), int(fh.frames), int(fh.samplerate), int(fh.channels), str(fh.subtype),
                             str(fh.format))
            check_header(info, p.stat().st_size)
            rate = info.sample_rate
            if rate < MIN_SAMPLE_RATE:
                raise AudioError(p, f"sample rate {rate} Hz is below the minimum of {MIN_SAMPLE_RATE} Hz")
            wanted = None
            if length is not None:
                # One extra second keeps the resampler's output identical to a whole-file resample.
                wanted = length if rate == sample_rate else -(-length * rate // sample_rate) + rate
            data = _read_blocks(fh, p, wanted)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OverflowError, MemoryError) as exc:
        raise AudioError(p, f"cannot decode audio: corrupt, truncated or not audio ({_short(exc)})") from None
    _check_truncated(p)
    return prepare_samples(data, rate, sample_rate=sample_rate, length=length, source=p)


def _read_blocks(fh: "sf.SoundFile", p: Path, wanted: int | None) -> np.ndarray:
    """Decode up to `wanted` frames (None: the whole file) in blocks, so a header that lies
    about its length costs no more memory than the samples really present."""
    limit = MAX_DECODE_SECONDS * fh.samplerate
    blocks: list[np.ndarray] = []
    total = 0
    while wanted is None or total < wanted:
        n = _BLOCK_FRAMES if wanted is None else min(_BLOCK_FRAMES, wanted - total)
        block = fh.read(n, dtype="float32", always_2d=True)
        if len(block) == 0:
            break
        blocks.append(block)
        total += len(block)
        if total > limit:
            raise AudioError(p, f"longer than the {MAX_DECODE_SECONDS // 3600} h tinykws decodes at once")
        if len(block) < n:
            break
    if not blocks:
        return np.zeros((0, fh.channels), np.float32)
    return np.concatenate(blocks)


def prepare_samples(
    data: np.ndarray,
    rate: int,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    length: int | None = None,
    source: str | os.PathLike | None = None,
) -> np.ndarray:
    """Validate and convert decoded samples ((n,) or (n, channels)) like `load_audio`.

    `source` names the origin in error messages.
    """
    data = np.asarray(data)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise AudioError(source, f"expected (samples, channels), got shape {data.shape}")
    if rate < MIN_SAMPLE_RATE:
        raise AudioError(source, f"sample rate {rate} Hz is below the minimum of {MIN_SAMPLE_RATE} Hz")
    if data.shape[0] == 0:
        raise AudioError(source, "contains no samples")
    if np.issubdtype(data.dtype, np.integer):
        data = data.astype(np.float32) / float(-np.iinfo(data.dtype).min)
    data = data.astype(np.float32, copy=False)
    if not np.all(np.isfinite(data)):
        bad = int(np.count_nonzero(~np.isfinite(data)))
        raise AudioError(source, f"contains {bad} NaN or Inf sample(s)")
    # Float files may hold values near float32's limit: bounded first, the channel mean and
    # the resampler cannot overflow to Inf (and NaN). Full scale is 1, so nothing real is cut.
    data = np.clip(data, -_MAX_FLOAT_SAMPLE, _MAX_FLOAT_SAMPLE)
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if rate != sample_rate:
        mono = resample(mono, rate, sample_rate)
    # Float files may exceed full scale; clipping keeps the [-1, 1] contract of every reader.
    mono = np.clip(mono, -1.0, 1.0).astype(np.float32, copy=False)
    if length is not None:
        mono = pad_or_trim(mono, length)
    return mono


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling of a mono signal (soxr, high quality)."""
    import soxr

    if rate_in == rate_out:
        return np.asarray(x, dtype=np.float32)
    return soxr.resample(np.asarray(x, dtype=np.float32), rate_in, rate_out, quality="HQ").astype(np.float32)


def pad_or_trim(x: np.ndarray, length: int) -> np.ndarray:
    """Zero-pad or cut the end of `x` (last axis) to `length` samples."""
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}")
    n = x.shape[-1]
    if n == length:
        return x
    if n > length:
        return x[..., :length]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, length - n)]
    return np.pad(x, pad)


def write_wav(
    path: str | os.PathLike,
    samples: np.ndarray,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    subtype: str = "PCM_16",
) -> None:
    """Write mono (or (n, channels)) float samples in [-1, 1] as WAV (or FLAC by suffix), atomically."""
    samples = np.asarray(samples)
    if samples.size and not np.all(np.isfinite(samples)):
        raise AudioError(path, "refusing to write NaN or Inf samples")
    if np.issubdtype(samples.dtype, np.floating):
        samples = np.clip(samples, -1.0, 1.0)
    fmt = "FLAC" if str(path).lower().endswith(".flac") else "WAV"
    with atomic_path(path) as tmp:
        sf.write(str(tmp), samples, sample_rate, subtype=subtype, format=fmt)


def _check_truncated(p: Path) -> None:
    # libsndfile decodes a WAV whose data chunk is cut short without complaint (FLAC and
    # OGG fail to decode instead), so compare the declared chunk size with the file.
    if p.suffix.lower() == ".wav":
        _check_wav_data_chunk(p)


def _check_wav_data_chunk(p: Path) -> None:
    """Compare the RIFF data chunk's declared size with the bytes actually present."""
    import struct

    with open(p, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        size = p.stat().st_size
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk_id, chunk_len = struct.unpack("<4sI", fh.read(8))
            if chunk_id == b"data":
                if pos + 8 + chunk_len > size:
                    raise AudioError(
                        p, f"truncated: data chunk declares {chunk_len} bytes, only {size - pos - 8} present"
                    )
                return
            pos += 8 + chunk_len + (chunk_len & 1)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
