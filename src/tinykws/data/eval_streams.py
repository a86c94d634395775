"""Long evaluation streams for always-on keyword spotting, built from the material at hand.

    streams = build_eval_streams(StreamRecipe(seed=0), "sc12_test_dev", "speech_commands_partial/"
                                 "_background_noise_", "streams/")

- Positive streams, one per SNR: real keyword clips (a test folder such as sc12_test_dev;
  never training data) at random times, each in a pause between background sentences, over
  a continuous noise bed (the Speech Commands noise recordings in blocks of 10-40 s). Each
  keyword is scaled so that its power over its 1 s clip is `snr_db` above the noise bed's
  (the background sentences are not counted in the SNR: they are where a keyword is not).
- One negative stream of `negative_hours` (>= 2 h): the same kind of background (noise
  blocks, digital near-silence, sentences from the offline speech engines with words that
  are neither keywords nor sound like them, and the unknown-word clips of the test folder)
  and no keyword. False accepts per hour are counted here.

Everything follows from the recipe and its seed; `streams.json` records the recipe, every
keyword's time and source clip, and the sentences spoken. Audio is 16-bit FLAC, written a
block at a time (memory stays small for hours of audio).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf

from tinykws.audio.io import load_audio
from tinykws.data.sentences import sentence_texts, synthesize_sentences, trim_silence
from tinykws.errors import ConfigError, DataError
from tinykws.fileio import atomic_dir, write_json

SR = 16_000
FORMAT = "tinykws evaluation streams"
NON_KEYWORD_FOLDERS = ("_silence_", "_unknown_")


@dataclass(frozen=True)
class StreamRecipe:
    """How the evaluation streams are made (levels in dBFS RMS, times in seconds)."""

    seed: int = 0
    snrs_db: tuple[float, ...] = (20.0, 10.0, 5.0)
    positives_per_keyword: int = 30  # per SNR, distinct clips across SNRs
    negative_hours: float = 2.0
    sentences: int = 300
    engines: dict[str, float] = field(default_factory=lambda: {"espeak": 0.7, "flite": 0.2, "festival": 0.1})
    noise_db: tuple[float, float] = (-50.0, -32.0)  # noise bed level range
    speech_db: tuple[float, float] = (-32.0, -18.0)  # background sentences and unknown words
    gap_s: tuple[float, float] = (1.0, 3.0)  # pauses around a keyword
    speech_probability: float = 0.6  # a background sentence before each keyword

    def validate(self) -> None:
        """Raise ConfigError for settings that cannot make the streams."""
        if self.negative_hours <= 0 or self.positives_per_keyword < 1 or not self.snrs_db:
            raise ConfigError("streams need negative_hours > 0, positives_per_keyword >= 1 and at least one SNR")
        if not self.engines or min(self.engines.values()) <= 0:
            raise ConfigError(f"engines need positive weights, got {self.engines}")


@dataclass(frozen=True)
class KeywordEvent:
    """A keyword in a stream: its 1 s clip spans start_s..end_s; `source` is the clip file."""

    label: str
    start_s: float
    end_s: float
    source: str


@dataclass(frozen=True)
class EvalStream:
    """One stream file: `snr_db` None for the negative stream."""

    name: str
    path: Path
    seconds: float
    snr_db: float | None
    events: tuple[KeywordEvent, ...]


@dataclass(frozen=True)
class StreamSet:
    root: Path
    recipe: dict
    keywords: tuple[str, ...]
    streams: tuple[EvalStream, ...]

    @property
    def negative(self) -> tuple[EvalStream, ...]:
        return tuple(s for s in self.streams if s.snr_db is None)

    @property
    def positive(self) -> tuple[EvalStream, ...]:
        return tuple(s for s in self.streams if s.snr_db is not None)


def _rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.asarray(x, np.float64) ** 2) + 1e-20))


def _at_level(x: np.ndarray, db: float) -> np.ndarray:
    return (x * 10 ** ((db - _rms_db(x)) / 20)).astype(np.float32)


class _Background:
    """Noise bed blocks and background speech, drawn from one random generator."""

    def __init__(self, recipe: StreamRecipe, noises: list[np.ndarray], speech: list[np.ndarray],
                 rng: np.random.Generator):
        self.recipe, self.noises, self.speech, self.rng = recipe, noises, speech, rng
        self.left = 0  # samples left in the current noise block
        self.noise: np.ndarray = noises[0]
        self.pos = 0
        self.gain = 0.0
        self.level = 0.0

    def noise_bed(self, n: int, allow_silence: bool) -> tuple[np.ndarray, float]:
        """n samples of the noise bed and its level (dBFS) at their start."""
        out, level = np.zeros(n, np.float32), None
        done = 0
        while done < n:
            if self.left == 0:
                self._new_block(allow_silence)
            take = min(n - done, self.left)
            idx = (self.pos + np.arange(take)) % len(self.noise)
            out[done:done + take] = self.noise[idx] * self.gain
            level = self.level if level is None else level
            self.pos, self.left, done = self.pos + take, self.left - take, done + take
        return out, float(level)

    def _new_block(self, allow_silence: bool) -> None:
        r = self.rng
        self.left = int(r.uniform(10, 40) * SR)
        if allow_silence and r.random() < 0.15:
            self.noise, self.level = self.noises[-1], -75.0  # digital near-silence: a faint white floor
        else:
            self.noise = self.noises[int(r.integers(len(self.noises) - 1))]
            self.level = float(r.uniform(*self.recipe.noise_db))
        self.pos = int(r.integers(len(self.noise)))
        self.gain = 10 ** ((self.level - _rms_db(self.noise)) / 20)

    def sentence(self) -> np.ndarray:
        x = self.speech[int(self.rng.integers(len(self.speech)))]
        return _at_level(x, float(self.rng.uniform(*self.recipe.speech_db)))

    def gap(self) -> int:
        return int(self.rng.uniform(*self.recipe.gap_s) * SR)


def _keyword_clips(folder: Path, keywords: tuple[str, ...]) -> dict[str, list[Path]]:
    clips = {k: sorted(p for p in (folder / k).iterdir() if p.suffix in (".wav", ".flac")) for k in keywords}
    empty = [k for k, v in clips.items() if not v]
    if empty:
        raise DataError(f"{folder}: no clips for keyword(s) {', '.join(empty)}")
    return clips


def _positive_blocks(bg: _Background, picks: list[tuple[str, Path]], snr: float, root: Path,
                     events: list[KeywordEvent]) -> Iterator[np.ndarray]:
    """Audio blocks of one positive stream; appends the keyword events as it goes."""
    t = 0
    for label, path in picks:
        parts = []
        if bg.rng.random() < bg.recipe.speech_probability:
            parts.append(np.zeros(bg.gap(), np.float32))
            parts.append(bg.sentence())
        parts.append(np.zeros(bg.gap(), np.float32))
        speech = np.concatenate(parts)
        before, _ = bg.noise_bed(len(speech), allow_silence=False)
        under, level = bg.noise_bed(SR, allow_silence=False)
        clip = load_audio(path, length=SR)
        block = np.concatenate([before + speech, under + _at_level(clip, level + snr)])
        start = (t + len(speech)) / SR
        events.append(KeywordEvent(label, round(start, 5), round(start + 1.0, 5), str(path.relative_to(root))))
        t += len(block)
        yield np.clip(block, -1, 1)
    tail, _ = bg.noise_bed(bg.gap(), allow_silence=False)
    yield tail


def _negative_blocks(bg: _Background, seconds: float) -> Iterator[np.ndarray]:
    total = int(seconds * SR)
    t = 0
    while t < total:
        speech = bg.sentence() if bg.rng.random() < 0.6 else np.zeros(0, np.float32)
        block, _ = bg.noise_bed(bg.gap() + len(speech), allow_silence=True)
        block[len(block) - len(speech):] += speech
        block = block[:total - t]
        t += len(block)
        yield np.clip(block, -1, 1)


def _write(path: Path, blocks: Iterator[np.ndarray]) -> float:
    samples = 0
    with sf.SoundFile(str(path), "w", SR, 1, subtype="PCM_16", format="FLAC") as fh:
        for block in blocks:
            fh.write(block)
            samples += len(block)
    return samples / SR


def build_eval_streams(recipe: StreamRecipe, keyword_dir: str | os.PathLike, noise_dir: str | os.PathLike,
                       out_dir: str | os.PathLike) -> StreamSet:
    """Write the streams of `recipe` into `out_dir` (replaced whole): keywords from the class
    folders of `keyword_dir` (its `_unknown_` clips join the background speech), noise from
    the recordings in `noise_dir`. Returns the StreamSet (also `load_stream_set(out_dir)`)."""
    recipe.validate()
    keyword_dir, noise_dir = Path(keyword_dir), Path(noise_dir)
    folders = sorted(p.name for p in keyword_dir.iterdir() if p.is_dir()) if keyword_dir.is_dir() else []
    keywords = tuple(f for f in folders if f not in NON_KEYWORD_FOLDERS)
    if not keywords:
        raise DataError(f"{keyword_dir}: no keyword class folders")
    noise_files = sorted(p for p in noise_dir.glob("*") if p.suffix in (".wav", ".flac"))
    if not noise_files:
        raise DataError(f"{noise_dir}: no noise recordings (.wav, .flac)")
    rng = np.random.default_rng(recipe.seed)
    noises = [load_audio(p) for p in noise_files] + [np.random.default_rng(recipe.seed).standard_normal(SR)
                                                      .astype(np.float32)]
    spoken = synthesize_sentences(sentence_texts(recipe.sentences, recipe.seed), recipe.engines, recipe.seed)
    unknown = sorted(p for p in (keyword_dir / "_unknown_").glob("*") if p.suffix in (".wav", ".flac"))
    speech = [s["audio"] for s in spoken if len(s["audio"])] + [
        a for a in (trim_silence(load_audio(p)) for p in unknown) if len(a)]
    clips = _keyword_clips(keyword_dir, keywords)
    order = {k: list(rng.permutation(len(v))) for k, v in clips.items()}
    need = recipe.positives_per_keyword * len(recipe.snrs_db)
    short = [k for k, v in clips.items() if len(v) < need]
    if short:
        raise DataError(f"{keyword_dir}: fewer than {need} clips for {', '.join(short)}")
    entries = []
    with atomic_dir(out_dir, "evaluation streams") as tmp:
        for i, snr in enumerate(recipe.snrs_db):
            picks = [(k, clips[k][order[k][i * recipe.positives_per_keyword + j]])
                     for k in keywords for j in range(recipe.positives_per_keyword)]
            picks = [picks[j] for j in rng.permutation(len(picks))]
            events: list[KeywordEvent] = []
            name = f"positive_snr{snr:g}db"
            bg = _Background(recipe, noises, speech, np.random.default_rng([recipe.seed, i]))
            seconds = _write(tmp / f"{name}.flac", _positive_blocks(bg, picks, snr, keyword_dir, events))
            entries.append({"name": name, "file": f"{name}.flac", "seconds": seconds, "snr_db": snr,
                            "events": [asdict(e) for e in events]})
        bg = _Background(recipe, noises, speech, np.random.default_rng([recipe.seed, 99]))
        seconds = _write(tmp / "negative.flac", _negative_blocks(bg, recipe.negative_hours * 3600))
        entries.append({"name": "negative", "file": "negative.flac", "seconds": seconds, "snr_db": None,
                        "events": []})
        write_json(tmp / "streams.json", {
            "format": FORMAT, "recipe": asdict(recipe), "keywords": list(keywords),
            "keyword_dir": str(keyword_dir), "noise_files": [p.name for p in noise_files],
            "sentences": [{k: s[k] for k in ("text", "engine", "voice")} for s in spoken],
            "unknown_clips": len(unknown), "streams": entries,
        })
    return load_stream_set(out_dir)


def load_stream_set(root: str | os.PathLike) -> StreamSet:
    """Read a folder written by `build_eval_streams` (DataError when it is not one)."""
    root = Path(root)
    index = root / "streams.json"
    if not index.is_file():
        raise DataError(f"{root}: no streams.json (make the streams with `tinykws data streams`)")
    try:
        data = json.loads(index.read_text())
        if data.get("format") != FORMAT:
            raise DataError(f"{index}: not a tinykws streams index")
        streams = tuple(
            EvalStream(e["name"], root / e["file"], float(e["seconds"]), e["snr_db"],
                       tuple(KeywordEvent(**ev) for ev in e["events"]))
            for e in data["streams"])
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{index}: unreadable ({exc})") from None
    missing = [str(s.path) for s in streams if not s.path.is_file()]
    if missing:
        raise DataError(f"{root}: missing stream file(s) {', '.join(missing)}")
    return StreamSet(root, data["recipe"], tuple(data["keywords"]), streams)
