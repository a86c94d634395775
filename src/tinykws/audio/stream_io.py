"""Audio as a stream of chunks, with constant memory: a file read block by block, or standard
input (raw 16-bit little-endian PCM as `arecord -t raw -f S16_LE -r 16000 -c 1` writes, or
a WAV stream as `arecord -t wav` writes, whose header is checked).

A stream is not resampled: a keyword spotter listens at its front-end's rate, and a file or
a microphone at another rate is an AudioError that says so (convert it first, e.g.
`sox in.wav -r 16000 -c 1 out.wav`). Chunks are float32 mono in [-1, 1].
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import soundfile as sf

from tinykws.audio.io import DEFAULT_SAMPLE_RATE, _check_exists, _check_truncated, _short
from tinykws.errors import AudioError

STDIN_NAME = "standard input"


def _checked(block: np.ndarray, where: str | os.PathLike) -> np.ndarray:
    if block.ndim == 2:
        block = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
    if not np.all(np.isfinite(block)):
        raise AudioError(where, f"contains {int(np.count_nonzero(~np.isfinite(block)))} NaN or Inf sample(s)")
    return np.clip(block, -1.0, 1.0).astype(np.float32, copy=False)


def _wrong_rate(where, rate: int, sample_rate: int) -> AudioError:
    return AudioError(where, f"is {rate} Hz; the model listens at {sample_rate} Hz and a stream is not resampled "
                             f"(convert it first, e.g. sox IN -r {sample_rate} -c 1 OUT.wav)")


def file_chunks(path: str | os.PathLike, chunk_samples: int, sample_rate: int = DEFAULT_SAMPLE_RATE
                ) -> Iterator[np.ndarray]:
    """Chunks of `chunk_samples` float32 mono samples of an audio file (stereo averaged).

    Raises AudioError for a missing, empty, corrupt or truncated file, a file with no
    samples, NaN/Inf samples, or a sample rate other than `sample_rate`.
    """
    p = Path(path)
    _check_exists(p)
    try:
        handle = sf.SoundFile(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(p, f"cannot decode audio: corrupt, truncated or not audio ({_short(exc)})") from None
    with handle:
        if handle.samplerate != sample_rate:
            raise _wrong_rate(p, handle.samplerate, sample_rate)
        _check_truncated(p)
        if handle.frames == 0:
            raise AudioError(p, "contains no samples")
        while True:
            block = handle.read(chunk_samples, dtype="float32", always_2d=True)
            if not len(block):
                return
            yield _checked(block, p)


def _wav_header(head: bytes, stream: BinaryIO) -> tuple[int, int, int]:
    """(sample rate, channels, bits) of a WAV stream, its reader left at the data."""
    data = head
    def need(n: int) -> bytes:
        nonlocal data
        while len(data) < n:
            more = stream.read(n - len(data))
            if not more:
                raise AudioError(STDIN_NAME, "WAV header cut short")
            data += more
        return data
    need(12)
    pos, fmt = 12, None
    while True:
        need(pos + 8)
        chunk_id, size = struct.unpack("<4sI", data[pos:pos + 8])
        if chunk_id == b"data":
            if fmt is None:
                raise AudioError(STDIN_NAME, "WAV stream without a fmt chunk")
            rest = data[pos + 8:]
            stream.pending = rest  # type: ignore[attr-defined]
            return fmt
        need(pos + 8 + size)
        if chunk_id == b"fmt ":
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", data[pos + 8:pos + 24])
            if tag not in (1, 0xFFFE):
                raise AudioError(STDIN_NAME, f"WAV format tag {tag}: only 16-bit PCM is read from standard input")
            fmt = (rate, channels, bits)
        pos += 8 + size + (size & 1)


class _Reader:
    """A binary stream with bytes already read put back in front."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.pending = b""

    def read(self, n: int) -> bytes:
        if self.pending:
            out, self.pending = self.pending[:n], self.pending[n:]
            return out
        return self.stream.read(n)


def stdin_chunks(stream: BinaryIO, chunk_samples: int, sample_rate: int = DEFAULT_SAMPLE_RATE
                 ) -> Iterator[np.ndarray]:
    """Chunks of float32 samples from a binary stream of 16-bit little-endian mono PCM at
    `sample_rate`, raw or with a WAV header (checked: rate, one channel, 16 bits).

    Raises AudioError for a stream that gives no samples or a WAV header that does not fit.
    """
    reader = _Reader(stream)
    head = reader.read(12)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        rate, channels, bits = _wav_header(head, reader)
        if rate != sample_rate:
            raise _wrong_rate(STDIN_NAME, rate, sample_rate)
        if channels != 1 or bits != 16:
            raise AudioError(STDIN_NAME, f"is {channels} channel(s) of {bits} bits; record mono 16-bit "
                                         "(arecord -f S16_LE -c 1)")
    else:
        reader.pending = head
    leftover = b""
    total = 0
    while True:
        data = reader.read(2 * chunk_samples - len(leftover))
        if not data:
            break
        data = leftover + data
        whole = len(data) // 2 * 2
        leftover = data[whole:]
        if whole:
            total += whole // 2
            yield (np.frombuffer(data[:whole], dtype="<i2").astype(np.float32) / 32768.0)
    if total == 0:
        raise AudioError(STDIN_NAME, "gave no samples")
