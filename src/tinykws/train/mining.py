"""Teacher-mined splices: new training clips cut from existing ones and labelled by a teacher.

A keyword with a dozen real recordings (go, on, off in the partial Speech Commands copy)
can borrow real speech from words that share its sounds: the onset of one clip ("g" of a
synthetic "go") joined to the rest of another (the vowel of a real "no") is often heard as
the keyword by a model trained on real speech. Candidates are drawn at random (a word, then
one of its clips, for the head and for the tail; random cut points), the teacher scores each
one, and a candidate is kept, in the folder of the teacher's top class, when that class has
probability >= `min_confidence` and its quota is not full. Everything else the teacher hears
(other keywords, non-words) fills the same quotas, so the corpus also holds near misses
labelled "unknown". The teacher scores exactly what is written (16-bit samples), so
re-scoring a file gives its label back.

The result is a raw Speech Commands folder (`<label>/splice<k>_nohash_0.wav`, empty list
files: every clip is training data; clips the teacher calls "unknown" go to `unknown_splice/`,
which the 12-class view reads as unknown) with `mine_manifest.json` (teacher, sources,
settings, and for each clip its two parents, cut points, placement and teacher probability).
Memory: the parents are cached as int16, 32 KB a clip (3.4 GB for all of Speech Commands). Train on it as one more
source, with the same teacher for distillation.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from tinykws.audio.frontends import build_frontend
from tinykws.audio.frontends.microfrontend import float_to_int16
from tinykws.audio.io import DEFAULT_SAMPLE_RATE, load_audio, write_wav
from tinykws.data.items import CLIP_SAMPLES
from tinykws.data.labels import MLPERF_LABELS, SILENCE_LABEL, UNKNOWN_LABEL
from tinykws.data.layouts import TESTING_LIST, VALIDATION_LIST, load_index
from tinykws.errors import ConfigError
from tinykws.fileio import atomic_dir, write_json
from tinykws.train.batches import WAVEFORM, to_model_input
from tinykws.train.distill import load_teacher

ONSET_WINDOW = 160  # samples (10 ms) of the energy envelope that finds where speech starts
ONSET_THRESHOLD = 0.1  # of the envelope's maximum
CROSSFADE = 80  # samples (5 ms) joining head and tail without a click
MIN_TAIL = 800  # samples (50 ms): a shorter rest is no word
LATEST_START = 12_000  # samples: a splice starts by 0.75 s, so that 0.25 s of it fits the clip
MANIFEST_NAME = "mine_manifest.json"
MANIFEST_KIND = "teacher-mined splices"


@dataclass(frozen=True)
class MineOptions:
    """What `mine_splices` does. Units: milliseconds for cut ranges, clips for counts."""

    teacher: str
    sources: tuple[str, ...]
    out_dir: str
    tail_sources: tuple[str, ...] = ()  # where the rests come from (default: `sources`)
    per_class: int = 1500  # clips kept per keyword; "unknown" keeps unknown_factor times as many
    unknown_factor: float = 2.0
    candidates: int = 100_000  # at most this many are drawn (a part too short is not scored)
    min_confidence: float = 0.6
    head_ms: tuple[float, float] = (15.0, 250.0)  # head length after its clip's onset
    skip_ms: tuple[float, float] = (20.0, 250.0)  # what the tail leaves out after its onset
    head_gain: tuple[float, float] = (0.4, 1.0)  # head peak relative to the tail's first 100 ms
    tflite_model: str = "ds_cnn"
    tflite_frontend: str = ""
    seed: int = 0
    batch: int = 256

    def validate(self) -> None:
        if not self.sources:
            raise ConfigError("data mine: give at least one source folder (--from)")
        if self.per_class < 1 or self.candidates < 1 or self.batch < 1:
            raise ConfigError("data mine: --per-class, --candidates and the batch must be >= 1")
        if not 0.0 < self.min_confidence <= 1.0:
            raise ConfigError(f"data mine: --min-confidence {self.min_confidence} is not in (0, 1]")
        if self.unknown_factor < 0:
            raise ConfigError("data mine: the unknown quota factor must be >= 0")
        for name, (lo, hi) in (("head_ms", self.head_ms), ("skip_ms", self.skip_ms), ("head_gain", self.head_gain)):
            if not 0.0 <= lo <= hi:
                raise ConfigError(f"data mine: {name} range ({lo}, {hi}) must satisfy 0 <= low <= high")


@dataclass(frozen=True)
class MineResult:
    """A mined corpus: clips kept per label, how many candidates were drawn, time (s)."""

    out_dir: str
    kept: dict[str, int]
    candidates_drawn: int
    seconds: float
    manifest: str
    quotas_filled: bool
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Cut:
    head: int  # parent indices into the head and the tail pools
    tail: int
    head_len: int  # samples
    skip: int  # samples
    gain: float


def speech_onset(x: np.ndarray) -> int:
    """First sample (index) where the 10 ms energy envelope reaches 10 % of its maximum."""
    envelope = np.convolve(x.astype(np.float64) ** 2, np.ones(ONSET_WINDOW) / ONSET_WINDOW, "same")
    above = np.flatnonzero(envelope > ONSET_THRESHOLD * envelope.max()) if envelope.max() > 0 else ()
    return int(above[0]) if len(above) else 0


@dataclass(frozen=True)
class Splice:
    """A spliced clip as the 16-bit samples written, where it starts and how much of the
    head it holds (samples)."""

    pcm: np.ndarray  # int16
    start: int
    head_samples: int

    @property
    def samples(self) -> np.ndarray:
        """The clip as float32 in [-1, 1): exactly what the file holds, as load_audio reads it."""
        return self.pcm.astype(np.float32) / 32768.0


def splice(head_clip: np.ndarray, tail_clip: np.ndarray, cut: _Cut,
           onsets: tuple[int, int] | None = None) -> Splice | None:
    """The head of one clip (from its onset, `cut.head_len` samples, fewer near the clip's
    end) joined by a 5 ms crossfade to the rest of another (from its onset + `cut.skip`),
    placed where the head's speech started (at the latest at LATEST_START), as a clip of the
    head clip's length; None when a part is too short or silent. `onsets`: the two clips'
    `speech_onset`s, when known."""
    n = len(head_clip)
    onset_h, onset_t = onsets if onsets is not None else (speech_onset(head_clip), speech_onset(tail_clip))
    head = head_clip[onset_h: onset_h + cut.head_len].astype(np.float32)
    tail = tail_clip[onset_t + cut.skip:].astype(np.float32)
    if len(head) <= CROSSFADE or len(tail) < MIN_TAIL:
        return None
    peak_tail = float(np.abs(tail[:1600]).max())
    peak_head = float(np.abs(head).max())
    if peak_tail <= 0 or peak_head <= 0:
        return None
    head = head * (peak_tail / peak_head * cut.gain)
    ramp = np.linspace(0.0, 1.0, CROSSFADE, dtype=np.float32)
    joined = np.concatenate([head[:-CROSSFADE], head[-CROSSFADE:] * ramp[::-1] + tail[:CROSSFADE] * ramp,
                             tail[CROSSFADE:]])
    start = min(onset_h, LATEST_START)
    out = np.zeros(n, np.float32)
    part = joined[: n - start]
    out[start: start + len(part)] = part
    # What is written is 16-bit: the teacher must score those very samples.
    return Splice(float_to_int16(out), start, len(head))


def _pools(sources: Sequence[str]) -> tuple[list[str], list[list[int]]]:
    """Training clips of speech (not silence cuts) of all sources, grouped by spoken word."""
    paths: list[str] = []
    by_word: dict[str, list[int]] = {}
    for source in sources:
        for clip in load_index(source).select("train"):
            if clip.word:
                by_word.setdefault(clip.word, []).append(len(paths))
                paths.append(clip.path)
    if not paths:
        raise ConfigError(f"data mine: no training clips of speech in {', '.join(sources)}")
    return paths, [by_word[w] for w in sorted(by_word)]


def _quotas(labels: Sequence[str], opts: MineOptions) -> dict[str, int]:
    quotas = {label: opts.per_class for label in labels if label != SILENCE_LABEL}
    if UNKNOWN_LABEL in quotas:
        quotas[UNKNOWN_LABEL] = int(round(opts.per_class * opts.unknown_factor))
    return quotas


def mine_splices(opts: MineOptions, on_batch: Callable[[int, dict[str, int]], None] | None = None) -> MineResult:
    """Mine a corpus of teacher-labelled splices of the training clips of `opts.sources`
    into `opts.out_dir` (replaced whole, atomically). Deterministic for the seed, the
    sources and the teacher. Raises ConfigError/DataError/AudioError naming the file."""
    opts.validate()
    t0 = time.perf_counter()
    teacher = load_teacher(opts.teacher, opts.tflite_model, opts.tflite_frontend)
    labels = tuple(teacher.labels or MLPERF_LABELS)
    frontend = build_frontend(teacher.frontend).torch_module() if teacher.frontend else None
    if frontend is None:
        raise ConfigError(f"data mine: the teacher {opts.teacher} names no front-end")
    width = teacher.logits(to_model_input(np.zeros((1, CLIP_SAMPLES), np.float32), WAVEFORM, frontend)).shape[1]
    if width != len(labels):
        raise ConfigError(f"data mine: the teacher {opts.teacher} has {width} outputs, not the "
                          f"{len(labels)} of its labels ({', '.join(labels)})")
    paths, groups = _pools(opts.sources)
    tail_paths, tail_groups = _pools(opts.tail_sources) if opts.tail_sources else (paths, groups)
    quotas = _quotas(labels, opts)
    kept = {label: 0 for label in quotas}
    rng = np.random.default_rng([int(opts.seed), 0x5911CE])
    audio: dict[str, tuple[np.ndarray, int]] = {}

    def clip(path: str) -> tuple[np.ndarray, int]:
        """A parent as int16-exact float32 samples and its speech onset (cached as int16)."""
        if path not in audio:
            x = load_audio(path, DEFAULT_SAMPLE_RATE, CLIP_SAMPLES)
            audio[path] = (float_to_int16(x), speech_onset(x))
        samples, onset = audio[path]
        return samples.astype(np.float32) / 32768.0, onset

    def make(cut: _Cut) -> Splice | None:
        (head, onset_h), (tail, onset_t) = clip(paths[cut.head]), clip(tail_paths[cut.tail])
        return splice(head, tail, cut, (onset_h, onset_t))

    def draw() -> _Cut:
        head = groups[rng.integers(len(groups))]
        tail = tail_groups[rng.integers(len(tail_groups))]
        return _Cut(
            head=int(head[rng.integers(len(head))]), tail=int(tail[rng.integers(len(tail))]),
            head_len=int(rng.uniform(*opts.head_ms) * DEFAULT_SAMPLE_RATE / 1000),
            skip=int(rng.uniform(*opts.skip_ms) * DEFAULT_SAMPLE_RATE / 1000),
            gain=float(rng.uniform(*opts.head_gain)),
        )

    records: list[dict] = []
    drawn = 0
    with atomic_dir(opts.out_dir, "data mine") as stage:
        for label in quotas:
            (stage / _folder(label)).mkdir()
        for name in (VALIDATION_LIST, TESTING_LIST):
            (stage / name).write_text("", encoding="utf-8")
        while drawn < opts.candidates and any(kept[k] < q for k, q in quotas.items()):
            cuts = [draw() for _ in range(min(opts.batch, opts.candidates - drawn))]
            drawn += len(cuts)
            made = [(cut, x) for cut, x in ((cut, make(cut)) for cut in cuts) if x is not None]
            if not made:
                continue
            features = to_model_input(np.stack([x.samples for _, x in made]), WAVEFORM, frontend)
            probs = torch.softmax(teacher.logits(features), dim=1).numpy()
            for (cut, x), p in zip(made, probs):
                top = int(p.argmax())
                label = labels[top]
                if label not in quotas or p[top] < opts.min_confidence or kept[label] >= quotas[label]:
                    continue
                name = f"{_folder(label)}/splice{len(records):06d}_nohash_0.wav"
                write_wav(stage / name, x.pcm, DEFAULT_SAMPLE_RATE)
                kept[label] += 1
                records.append({"file": name, "label": label, "p": round(float(p[top]), 4),
                                "head": paths[cut.head], "tail": tail_paths[cut.tail],
                                "start": x.start, "head_samples": x.head_samples, "skip_samples": cut.skip,
                                "gain": round(cut.gain, 4)})
            if on_batch is not None:
                on_batch(drawn, dict(kept))
        filled = all(kept[k] >= q for k, q in quotas.items())
        notes = () if filled else tuple(
            f"{k}: {kept[k]} of {q} after {drawn:,} candidates" for k, q in quotas.items() if kept[k] < q)
        settings = {k: v for k, v in asdict(opts).items() if k != "out_dir"}
        write_json(stage / MANIFEST_NAME, {
            "kind": MANIFEST_KIND, "labels": list(labels), "settings": settings,
            "kept": kept, "candidates_drawn": drawn, "clips": records,
        })
    out = Path(opts.out_dir)
    return MineResult(str(out), kept, drawn, time.perf_counter() - t0, str(out / MANIFEST_NAME), filled, notes)


def _folder(label: str) -> str:
    # Raw layout: the folder is the spoken word; a folder that is no keyword is "unknown".
    return "unknown_splice" if label == UNKNOWN_LABEL else label


def read_manifest(folder: str | Path) -> dict:
    """The manifest of a mined corpus."""
    return json.loads((Path(folder) / MANIFEST_NAME).read_text(encoding="utf-8"))
