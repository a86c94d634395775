"""Seeded tiny datasets for tests, in both layouts tinykws reads.

Clips are short synthetic signals (a tone per word, shifted per speaker, with a chirp and a
little noise), written as WAV or FLAC. Everything is a deterministic function of the
arguments, so two calls with the same arguments write identical files.

    spec = make_raw_dataset(tmp_path / "sc", words=("yes", "no", "bed"), speakers_per_word=4)
    spec = make_folder_dataset(tmp_path / "sc12", clips_per_class=3)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16_000
MLPERF_WORDS = ("down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes")


@dataclass
class DatasetSpec:
    """What a generator wrote. Paths in `files` are relative to `root` (POSIX)."""

    root: Path
    layout: str  # "raw" or "folders"
    files: dict[str, str] = field(default_factory=dict)  # relpath -> folder (class)
    speakers: dict[str, str | None] = field(default_factory=dict)  # relpath -> speaker
    split_of: dict[str, str] = field(default_factory=dict)  # relpath -> split (when lists were written)
    noise_files: list[str] = field(default_factory=list)  # relpaths
    validation_list: list[str] = field(default_factory=list)
    testing_list: list[str] = field(default_factory=list)

    def count(self, folder: str) -> int:
        return sum(1 for f in self.files.values() if f == folder)

    def path(self, relpath: str) -> Path:
        return self.root / relpath


def _seed_of(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:8], "little")


def speaker_ids(n: int, seed: int = 0) -> list[str]:
    """`n` distinct 8-hex-digit speaker ids, like Speech Commands'."""
    rng = np.random.default_rng(_seed_of("speakers", seed))
    ids: list[str] = []
    while len(ids) < n:
        s = f"{int(rng.integers(0, 2**32)):08x}"
        if s not in ids:
            ids.append(s)
    return ids


def word_clip(word: str, speaker: str, n: int, seconds: float = 1.0, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A float32 clip standing in for `speaker` saying `word`: a tone whose pitch depends on
    the word (and slightly on the speaker), a short chirp, and low noise."""
    rng = np.random.default_rng(_seed_of("clip", word, speaker, n))
    length = int(round(seconds * sample_rate))
    t = np.arange(length) / sample_rate
    base = 200.0 + (_seed_of("word", word) % 40) * 60.0
    f0 = base * (1.0 + 0.03 * ((_seed_of("spk", speaker) % 7) - 3))
    onset = int(rng.integers(0, max(1, length // 5)))
    env = np.zeros(length)
    dur = max(1, length // 2)
    env[onset : onset + dur] = np.hanning(dur)[: max(0, min(dur, length - onset))]
    sweep = np.sin(2 * np.pi * (f0 * t + 400.0 * t**2))
    x = 0.4 * env * (0.7 * np.sin(2 * np.pi * f0 * t) + 0.3 * sweep) + 0.003 * rng.standard_normal(length)
    return np.clip(x, -1, 1).astype(np.float32)


def noise_recording(kind: str, seconds: float, seed: int = 0, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Background noise: "white", "pink" (1/f) or "hum" (50 Hz and harmonics plus hiss)."""
    rng = np.random.default_rng(_seed_of("noise", kind, seed))
    n = int(round(seconds * sample_rate))
    white = rng.standard_normal(n)
    if kind == "white":
        x = white
    elif kind == "pink":
        spec = np.fft.rfft(white)
        f = np.arange(spec.size)
        spec[1:] /= np.sqrt(f[1:])
        x = np.fft.irfft(spec, n)
    elif kind == "hum":
        t = np.arange(n) / sample_rate
        x = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in range(1, 5)) + 0.2 * white
    else:
        raise ValueError(f"unknown noise kind {kind!r}")
    x = x / (np.max(np.abs(x)) + 1e-12) * 0.5
    return x.astype(np.float32)


def frontend_signals(rng: np.random.Generator, sample_rate: int = SAMPLE_RATE) -> dict[str, np.ndarray]:
    """1 s float64 test signals for front-ends, by name: silence, tones, a chirp, noise,
    bursts, a full-scale square wave (hits -32768 and 32767 as int16), clipping, an
    impulse, a DC offset. Random ones draw from `rng` in this order."""
    n = sample_rate
    t = np.arange(n) / sample_rate
    return {
        "silence": np.zeros(n),
        "tone_440": 0.5 * np.sin(2 * np.pi * 440 * t),
        "tone_3k_quiet": 0.001 * np.sin(2 * np.pi * 3000 * t),
        "two_tones": 0.3 * np.sin(2 * np.pi * 250 * t) + 0.3 * np.sin(2 * np.pi * 6100 * t),
        "chirp": 0.6 * np.sin(2 * np.pi * (50 * t + 3900 * t**2)),
        "white_noise": 0.2 * rng.standard_normal(n),
        "noise_bursts": rng.standard_normal(n) * np.repeat(rng.uniform(0, 0.5, 20), n // 20),
        "full_scale_square": np.sign(np.sin(2 * np.pi * 1000 * t)),
        "clipped_noise": np.clip(3 * rng.standard_normal(n), -1, 1),
        "impulse": np.eye(1, n, n // 2)[0],
        "dc_offset": np.full(n, 0.25) + 0.01 * rng.standard_normal(n),
    }


def write_audio(path: Path, x: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write 16-bit PCM WAV or FLAC according to the suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, sample_rate, subtype="PCM_16", format="FLAC" if path.suffix == ".flac" else "WAV")


def write_corrupt(path: Path) -> None:
    """A file with an audio suffix that is not audio."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(range(40)))


def _ext(fmt: str, k: int) -> str:
    if fmt == "mixed":
        return ".flac" if k % 2 else ".wav"
    return "." + fmt


def make_raw_dataset(
    root: str | Path,
    words: Sequence[str] = ("yes", "no", "left", "bed", "cat"),
    speakers_per_word: int = 4,
    clips_per_speaker: int = 2,
    fmt: str = "wav",
    with_lists: bool = True,
    noise: Sequence[str] = ("white", "pink"),
    noise_seconds: float = 12.0,
    seed: int = 0,
    short_every: int = 3,
) -> DatasetSpec:
    """Raw Speech Commands layout: `<word>/<speaker>_nohash_<n>.<ext>`, `_background_noise_/`.

    The same `speakers_per_word` speakers say every word. With `with_lists`, speaker 0's
    clips are listed in validation_list.txt and speaker 1's in testing_list.txt (others:
    train); without, no list files exist and the hash rule applies. `fmt`: "wav", "flac"
    or "mixed". Every `short_every`-th clip lasts 0.8 s instead of 1 s (0 = none).
    """
    root = Path(root)
    spec = DatasetSpec(root, "raw")
    speakers = speaker_ids(speakers_per_word, seed)
    k = 0
    for word in words:
        for si, spk in enumerate(speakers):
            for n in range(clips_per_speaker):
                rel = f"{word}/{spk}_nohash_{n}{_ext(fmt, k)}"
                seconds = 0.8 if short_every and k % short_every == short_every - 1 else 1.0
                write_audio(root / rel, word_clip(word, spk, n, seconds))
                spec.files[rel] = word
                spec.speakers[rel] = spk
                if with_lists:
                    split = "validation" if si == 0 else "test" if si == 1 else "train"
                    spec.split_of[rel] = split
                    if split == "validation":
                        spec.validation_list.append(rel)
                    elif split == "test":
                        spec.testing_list.append(rel)
                k += 1
    for j, kind in enumerate(noise):
        rel = f"_background_noise_/{kind}_noise.{'flac' if fmt == 'flac' else 'wav'}"
        write_audio(root / rel, noise_recording(kind, noise_seconds, seed + j))
        spec.noise_files.append(rel)
    if with_lists:
        (root / "validation_list.txt").write_text("".join(r + "\n" for r in spec.validation_list))
        (root / "testing_list.txt").write_text("".join(r + "\n" for r in spec.testing_list))
    return spec


def make_folder_dataset(
    root: str | Path,
    classes: Sequence[str] = MLPERF_WORDS,
    clips_per_class: int = 3,
    unknown_words: Sequence[str] = ("bed", "cat", "dog"),
    unknown_clips: int = 3,
    silence_clips: int = 3,
    speakers: int = 3,
    fmt: str = "flac",
    seed: int = 0,
    with_lists: bool = False,
) -> DatasetSpec:
    """Class folders as the MLPerf 12-class test set: `<class>/<speaker>_nohash_<n>.<ext>`,
    `_unknown_/<word>_<speaker>_nohash_<n>.<ext>`, `_silence_/<k>.<ext>` (noise cuts).

    With `with_lists`, the first speaker's clips go to validation_list.txt, the rest train.
    """
    root = Path(root)
    spec = DatasetSpec(root, "folders")
    spk = speaker_ids(speakers, seed)
    k = 0

    def add(rel: str, folder: str, x: np.ndarray, speaker: str | None) -> None:
        nonlocal k
        write_audio(root / rel, x)
        spec.files[rel] = folder
        spec.speakers[rel] = speaker
        if with_lists:
            split = "validation" if speaker == spk[0] else "train"
            spec.split_of[rel] = split
            if split == "validation":
                spec.validation_list.append(rel)
        k += 1

    for word in classes:
        for c in range(clips_per_class):
            s = spk[c % speakers]
            add(f"{word}/{s}_nohash_{c // speakers}{_ext(fmt, k)}", word, word_clip(word, s, c), s)
    for c in range(unknown_clips):
        word, s = unknown_words[c % len(unknown_words)], spk[c % speakers]
        add(f"_unknown_/{word}_{s}_nohash_{c}{_ext(fmt, k)}", "_unknown_", word_clip(word, s, c), s)
    for c in range(silence_clips):
        x = noise_recording(("white", "pink", "hum")[c % 3], 1.0, seed + c) * (0.05 + 0.3 * c / max(1, silence_clips))
        add(f"_silence_/{1000 + c}{_ext(fmt, k)}", "_silence_", x, None)
    if with_lists:
        (root / "validation_list.txt").write_text("".join(r + "\n" for r in spec.validation_list))
        (root / "testing_list.txt").write_text("")
    return spec
