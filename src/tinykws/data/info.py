"""`tinykws data info`: what a dataset folder holds, from file headers only (no decoding)."""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass

from tinykws.audio.io import audio_info
from tinykws.audio.scan import UnreadableFile, find_unreadable
from tinykws.data.layouts import load_index
from tinykws.data.splits import SPLITS
from tinykws.errors import AudioError


@dataclass(frozen=True)
class DatasetInfo:
    """Counts and durations of a dataset folder. "class" means the class folder (the word
    in the raw layout); durations are in seconds."""

    root: str
    layout: str
    split_source: str
    clips: int
    clips_per_class: dict[str, int]
    clips_per_split: dict[str, int]
    clips_per_class_and_split: dict[str, dict[str, int]]
    speakers: int
    speakers_per_word: dict[str, int]
    total_duration_s: float
    formats: dict[str, int]  # "16000 Hz, 1 ch, PCM_16" -> clips
    noise_files: int
    noise_duration_s: float
    unreadable: tuple[UnreadableFile, ...]
    skipped: tuple[str, ...]
    seconds: float  # how long gathering this took
    checked: bool = False  # every file decoded (not only its header read)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        d = asdict(self)
        d["unreadable"] = [asdict(u) for u in self.unreadable]
        d["skipped"] = list(self.skipped)
        return d


def dataset_info(root: str | os.PathLike, layout: str = "auto", folder_split: str = "test",
                 check: bool = False) -> DatasetInfo:
    """Index `root` and read every file's header (checked against the file's size).
    Unreadable files are listed, not fatal; a folder that is no dataset raises DataError.
    `check`: also decode every file whose header is readable, to find corrupt data."""
    t0 = time.perf_counter()
    index = load_index(root, layout=layout, folder_split=folder_split)
    unreadable: list[UnreadableFile] = []
    formats: Counter[str] = Counter()
    duration = 0.0
    for clip in index.clips:
        try:
            info = audio_info(clip.path)
        except AudioError as exc:
            unreadable.append(UnreadableFile(clip.path, exc.problem))
            continue
        duration += info.duration_s
        formats[f"{info.sample_rate} Hz, {info.channels} ch, {info.subtype}"] += 1
    noise_duration = 0.0
    for path in index.noise_files:
        try:
            noise_duration += audio_info(path).duration_s
        except AudioError as exc:
            unreadable.append(UnreadableFile(path, exc.problem))
    if check:
        named = {u.path for u in unreadable}
        unreadable += find_unreadable(p for p in [c.path for c in index.clips] + list(index.noise_files)
                                      if p not in named)
    per_class_split: dict[str, Counter[str]] = defaultdict(Counter)
    speakers_by_word: dict[str, set[str]] = defaultdict(set)
    for clip in index.clips:
        per_class_split[clip.folder][clip.split] += 1
        if clip.speaker is not None and clip.word:
            speakers_by_word[clip.word].add(clip.speaker)
    split_counts = index.counts("split")
    return DatasetInfo(
        root=index.root,
        layout=index.layout,
        split_source=index.split_source,
        clips=len(index.clips),
        clips_per_class=index.counts("folder"),
        clips_per_split={s: split_counts.get(s, 0) for s in SPLITS},
        clips_per_class_and_split={
            k: {s: v.get(s, 0) for s in SPLITS} for k, v in sorted(per_class_split.items())
        },
        speakers=len({c.speaker for c in index.clips if c.speaker is not None}),
        speakers_per_word={w: len(s) for w, s in sorted(speakers_by_word.items())},
        total_duration_s=round(duration, 3),
        formats=dict(formats.most_common()),
        noise_files=len(index.noise_files),
        noise_duration_s=round(noise_duration, 3),
        unreadable=tuple(unreadable),
        skipped=index.skipped,
        seconds=round(time.perf_counter() - t0, 3),
        checked=check,
    )


def format_info(info: DatasetInfo) -> str:
    """A human-readable report of `info`."""
    lines = [
        f"dataset   {info.root}",
        f"layout    {info.layout} (splits from {info.split_source})",
        f"clips     {info.clips:,}  ({info.total_duration_s / 3600:.2f} h)",
        f"speakers  {info.speakers:,}",
        f"noise     {info.noise_files} recordings, {info.noise_duration_s:.1f} s",
        "formats   " + "; ".join(f"{k}: {v:,}" for k, v in info.formats.items()),
        "",
        f"{'class':<14}{'clips':>8}" + "".join(f"{s:>12}" for s in SPLITS) + f"{'speakers':>10}",
    ]
    for name, count in info.clips_per_class.items():
        per = info.clips_per_class_and_split.get(name, {})
        spk = info.speakers_per_word.get(name)
        lines.append(
            f"{name:<14}{count:>8,}"
            + "".join(f"{per.get(s, 0):>12,}" for s in SPLITS)
            + f"{'' if spk is None else spk:>10}"
        )
    lines.append(f"{'total':<14}{info.clips:>8,}" + "".join(f"{info.clips_per_split[s]:>12,}" for s in SPLITS))
    folders = set(info.clips_per_class)
    extra = {w: n for w, n in info.speakers_per_word.items() if w not in folders}
    if extra:
        lines += ["", "speakers per word (inside other classes): " + ", ".join(f"{w} {n}" for w, n in extra.items())]
    how = "decoded" if info.checked else "from headers; --check decodes every file"
    lines += ["", f"unreadable files: {len(info.unreadable)} ({how})"]
    if info.unreadable:
        lines += [f"  {u.path}: {u.problem}" for u in info.unreadable]
    if info.skipped:
        lines += ["", f"skipped non-audio files: {len(info.skipped)}"]
    lines.append(f"\n(read in {info.seconds:.2f} s)")
    return "\n".join(lines)
