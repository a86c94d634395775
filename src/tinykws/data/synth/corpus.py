"""`synthesize_corpus`: a keyword corpus made offline by text-to-speech, in the raw Speech
Commands layout (`<word>/<speaker>_nohash_<n>.wav`, `_background_noise_/`,
`validation_list.txt`, `testing_list.txt`), so every other verb reads it like the real one.

Resumable (clips already on disk are kept), deterministic for a seed (same options ->
byte-identical files), parallel over worker processes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tinykws.data.synth.engine import engine_names, get_engine
from tinykws.data.synth.manifest import write_manifest
from tinykws.data.synth.noise import copy_noise_dir, make_noise_files
from tinykws.data.synth.plan import VARIATIONS, ClipPlan, holdout_speakers, plan_word, stable_int
from tinykws.data.synth.words import check_words, unknown_words_for
from tinykws.data.synth.worker import ClipOutcome, WorkUnit, close_engines, run_unit
from tinykws.errors import ConfigError, EngineUnavailableError, TinyKWSError
from tinykws.fileio import ensure_folder, recover_folder, write_json

# The default mix: share of clips per engine, renormalised over the installed engines.
# espeak brings the speaker variety (360 voices), the others realism: the MLPerf reference
# model, trained on real speech, recognised 65 % of espeak keywords, 77-84 % of festival
# and flite ones, 89 % of piper ones. piper costs the most (about 60 ms of one core per
# clip against 7-25 ms), so it gets 15 % to keep a 15,000-clip corpus within 5 min on 2 cores.
DEFAULT_ENGINE_WEIGHTS = {"espeak": 0.4, "piper": 0.15, "festival": 0.25, "flite": 0.2}
# Costly units first, so the cheap espeak units fill the gaps at the end.
_UNIT_ORDER = {"piper": 0, "festival": 1, "flite": 2, "espeak": 3}
# Written first into an output folder: the options its clips were made with.
OPTIONS_STAMP = ".tinykws-synth-options.json"


@dataclass(frozen=True)
class SynthOptions:
    """What to synthesize. `engines`: (name, weight) pairs; None = every installed engine
    with the default weights. `unknown_words`: None = the built-in list. `unknown_clips`:
    total over all unknown words; None = half of the keyword clips."""

    words: tuple[str, ...]
    out_dir: str
    per_word: int = 1000
    unknown_words: tuple[str, ...] | None = None
    unknown_clips: int | None = None
    engines: tuple[tuple[str, float], ...] | None = None
    seed: int = 0
    workers: int = 1
    noise_dir: str | None = None
    noise_seconds: float = 60.0  # per generated noise recording (babble gets 1.5x)
    progress: bool = True
    voices: str = "curated"  # "all": also each engine's extra_voices()
    variation: str = "default"  # a name of plan.VARIATIONS
    # A folder holding a corpus of other options is refused (False) or emptied and made
    # again (True: for folders a pipeline owns, such as the demo's, whose corpus changes
    # whenever the defaults or the word lists of a new version do).
    replace_other: bool = False


@dataclass(frozen=True)
class SynthResult:
    """What `synthesize_corpus` made."""

    out_dir: str
    manifest: str
    clips_planned: int
    clips_written: int
    clips_kept: int  # already on disk from an earlier run
    clips_per_word: dict[str, int]
    speakers: int
    validation_speakers: int
    testing_speakers: int
    engines: dict[str, str]  # name -> version
    noise_files: list[str]
    fitted: dict[str, int]  # clips that had to be sped up / cut to fit 1 s
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # Default engines that are not installed: the corpus differs from one made where they are.
    missing_engines: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def parse_engine_mix(text: str) -> tuple[tuple[str, float], ...]:
    """'espeak:0.6,flite,piper:0.2' -> ((espeak, 0.6), (flite, default), (piper, 0.2))."""
    mix = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, _, weight = part.partition(":")
        try:
            w = float(weight) if weight else DEFAULT_ENGINE_WEIGHTS.get(name, 0.15)
        except ValueError:
            raise ConfigError(f"--engines: weight {weight!r} of {name!r} is not a number") from None
        if w <= 0:
            raise ConfigError(f"--engines: weight of {name!r} must be > 0")
        mix.append((name.strip(), w))
    if not mix:
        raise ConfigError("--engines: no engine given")
    return tuple(mix)


VOICE_SELECTIONS = ("curated", "all")


def resolve_engines(
    mix: tuple[tuple[str, float], ...] | None, selection: str = "curated"
) -> tuple[tuple[tuple[str, float], ...], dict]:
    """The engine mix to use and, per engine, its version, voices and settings.

    An engine asked for by name that is missing raises `EngineUnavailableError`; the
    default mix silently uses the installed engines (and fails only if there are none).
    """
    if mix is None:
        found = []
        problems = []
        for name in engine_names():
            if name not in DEFAULT_ENGINE_WEIGHTS:
                continue
            try:
                get_engine(name).close()
                found.append((name, DEFAULT_ENGINE_WEIGHTS[name]))
            except EngineUnavailableError as exc:
                problems.append(str(exc))
        if not found:
            raise EngineUnavailableError("no speech engine is installed:\n  " + "\n  ".join(problems))
        mix = tuple(found)
    info = {}
    for name, weight in mix:
        eng = get_engine(name)
        try:
            voices = eng.voices() + (eng.extra_voices() if selection == "all" else [])
            info[name] = {
                "weight": weight, "version": eng.version(), "voices": voices,
                "settings": eng.settings_doc(), "batch_size": eng.batch_size,
                "order_dependent": eng.order_dependent,
            }
        finally:
            eng.close()
    return tuple(sorted(mix)), info


def _units(plans: list[ClipPlan], info: dict, seed: int, out_dir: str) -> list[WorkUnit]:
    """Batches of clips per engine, in plan order (so an order-dependent batch is always the same)."""
    by_engine: dict[str, list[ClipPlan]] = {}
    for p in plans:
        by_engine.setdefault(p.voice.engine, []).append(p)
    units = []
    for name in sorted(by_engine, key=lambda n: _UNIT_ORDER.get(n, 9)):
        clips = by_engine[name]
        size = info[name]["batch_size"]
        for start in range(0, len(clips), size):
            batch = tuple(clips[start : start + size])
            units.append(WorkUnit(name, batch, stable_int("batch", seed, name, batch[0].relpath),
                                  out_dir, info[name]["order_dependent"]))
    return units


def _run_units(units: list[WorkUnit], workers: int, total: int, progress: bool) -> list[ClipOutcome]:
    from tqdm import tqdm

    outcomes: list[ClipOutcome] = []
    with tqdm(total=total, unit="clip", desc="synth", disable=not progress, dynamic_ncols=True) as bar:
        if workers <= 1 or len(units) <= 1:
            try:
                for unit in units:
                    done = run_unit(unit)
                    outcomes.extend(done)
                    bar.update(len(done))
            finally:
                close_engines()
            return outcomes
        # spawn: workers start clean (no inherited threads or engine handles).
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [pool.submit(run_unit, u) for u in units]
            try:
                for fut in as_completed(futures):
                    done = fut.result()
                    outcomes.extend(done)
                    bar.update(len(done))
            except BrokenProcessPool:
                raise TinyKWSError(
                    "a synthesis worker process died (out of memory or an engine crash); "
                    "the clips written so far are kept: run the same command again to resume"
                ) from None
    return outcomes


def _check_options(opts: SynthOptions) -> tuple[tuple[str, ...], tuple[str, ...], int]:
    words = check_words(opts.words, "--words")
    unknown_given = None if opts.unknown_words is None else check_words(opts.unknown_words, "--unknown-words")
    unknown = unknown_words_for(words, unknown_given)
    if opts.per_word < 1:
        raise ConfigError(f"--per-word must be >= 1, got {opts.per_word}")
    if opts.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {opts.workers}")
    if opts.voices not in VOICE_SELECTIONS:
        raise ConfigError(f"--voices must be one of {', '.join(VOICE_SELECTIONS)}, got {opts.voices!r}")
    if opts.variation not in VARIATIONS:
        raise ConfigError(f"--variation must be one of {', '.join(VARIATIONS)}, got {opts.variation!r}")
    n_unknown = opts.per_word * len(words) // 2 if opts.unknown_clips is None else opts.unknown_clips
    if n_unknown < 0:
        raise ConfigError(f"--unknown-clips must be >= 0, got {n_unknown}")
    if n_unknown and not unknown:
        raise ConfigError("--unknown-words: every unknown word is also a keyword; nothing left to synthesize")
    return words, unknown, n_unknown


def plan_corpus(opts: SynthOptions, mix, info) -> list[ClipPlan]:
    """Every clip of the corpus: keywords first, then the unknown words."""
    words, unknown, n_unknown = _check_options(opts)
    voices = {name: info[name]["voices"] for name, _ in mix}
    plans: list[ClipPlan] = []
    variation = VARIATIONS[opts.variation]
    for w in words:
        plans.extend(plan_word(w, opts.per_word, opts.seed, mix, voices, variation))
    for j, w in enumerate(unknown):
        count = n_unknown // len(unknown) + (1 if j < n_unknown % len(unknown) else 0)
        if count:
            plans.extend(plan_word(w, count, opts.seed, mix, voices, variation))
    return plans


def _write_lists(out: Path, plans: list[ClipPlan], validation: set[str], testing: set[str]) -> None:
    from tinykws.fileio import write_text

    for fname, held in (("validation_list.txt", validation), ("testing_list.txt", testing)):
        lines = sorted(p.relpath for p in plans if p.voice.speaker_id in held)
        write_text(out / fname, "".join(f"{line}\n" for line in lines))


def _make_noise(out: Path, opts: SynthOptions, info: dict, words: tuple[str, ...]) -> list[Path]:
    """Generated noise; the babble is spoken by espeak (cheapest, most voices) when it is
    installed, otherwise by the first engine of the mix."""
    try:
        eng = get_engine("espeak")
    except EngineUnavailableError:
        eng = get_engine(sorted(info)[0])
    try:
        return make_noise_files(out, opts.seed, opts.noise_seconds, (eng, eng.voices()), words or ("hello",))
    finally:
        eng.close()


def _options_doc(opts: SynthOptions, words, unknown, n_unknown: int, mix) -> dict:
    return {
        "words": list(words), "unknown_words": list(unknown), "per_word": opts.per_word,
        "unknown_clips": n_unknown, "engines": [list(m) for m in mix], "seed": opts.seed,
        "noise_dir": _folder_identity(opts.noise_dir), "noise_seconds": opts.noise_seconds,
        "voices": opts.voices, "variation": opts.variation,
    }


def _claim_folder(out: Path, options: dict, replace_other: bool) -> None:
    """Mark `out` as the corpus of `options` before writing into it. A folder that holds a
    corpus of other options is refused, or emptied when `replace_other`: resuming keeps the
    clips on disk, so clips of two different corpora would otherwise end up mixed. Leftovers
    of a killed run (temporary clips) are removed."""
    stamp = out / OPTIONS_STAMP
    wanted = json.loads(json.dumps(options))  # as it reads back from JSON
    stamped = stamp.is_file()
    earlier = _read_stamp(stamp) if stamped else None
    if stamped and (earlier is None or _comparable(earlier) != wanted):
        # An unreadable stamp (None) is never taken as leave to delete.
        if not replace_other or earlier is None or out.is_symlink():
            raise ConfigError(f"{out}: holds a synthetic corpus made with other options ({stamp.name}); "
                              "use another --out folder, or delete this one to start over")
        shutil.rmtree(out)  # only ever a folder stamped as a tinykws corpus
        earlier = None
    ensure_folder(out)
    for folder in [out, *(d for d in out.iterdir() if d.is_dir() and not d.is_symlink())]:
        recover_folder(folder)
    if earlier != wanted:
        write_json(stamp, options)  # new, or a stamp of the same options in an older form


def _folder_identity(folder: str | None) -> str | None:
    # The folder itself, not how it was spelt: "../shared/x" from one directory and the
    # absolute path from another are the same noise; the same relative text from two
    # directories is not.
    return str(Path(folder).resolve()) if folder else folder


def _read_stamp(stamp: Path) -> dict | None:
    """The options a stamp records; None when it cannot be read."""
    try:
        earlier = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return earlier if isinstance(earlier, dict) else None


def _comparable(earlier: dict) -> dict:
    """A stamp's options in today's form. Stamps written before the noise folder was
    recorded resolved hold it as typed, which the command that made them read from the
    working directory."""
    if isinstance(earlier.get("noise_dir"), str):
        return {**earlier, "noise_dir": _folder_identity(earlier["noise_dir"])}
    return earlier


def synthesize_corpus(opts: SynthOptions) -> SynthResult:
    """Make (or complete) the synthetic corpus described by `opts` in `opts.out_dir`."""
    t0 = time.perf_counter()
    words, unknown, n_unknown = _check_options(opts)
    mix, info = resolve_engines(opts.engines, opts.voices)
    out = Path(opts.out_dir)
    plans = plan_corpus(opts, mix, info)
    _claim_folder(out, _options_doc(opts, words, unknown, n_unknown, mix), opts.replace_other)
    existing = sum(1 for p in plans if (out / p.relpath).exists())
    units = _units(plans, info, opts.seed, str(out))
    outcomes = _run_units(units, opts.workers, len(plans) - existing, opts.progress)

    noise = []
    if opts.noise_dir:
        noise += copy_noise_dir(opts.noise_dir, out)
    noise += _make_noise(out, opts, info, unknown)

    validation, testing = holdout_speakers({n: info[n]["voices"] for n, _ in mix}, opts.seed)
    _write_lists(out, plans, validation, testing)
    engines_doc = {
        name: {**{k: v for k, v in d.items() if k != "voices"},
               "voices": [v.key for v in d["voices"]]}
        for name, d in info.items()
    }
    options_doc = _options_doc(opts, words, unknown, n_unknown, mix)
    manifest = write_manifest(out, options_doc, engines_doc, plans, validation, testing, noise,
                              VARIATIONS[opts.variation])
    per_word = Counter(p.word for p in plans)
    failures = [f"{o.relpath}: {o.error}" for o in outcomes if o.error]
    return SynthResult(
        out_dir=str(out),
        manifest=str(manifest),
        clips_planned=len(plans),
        clips_written=sum(1 for o in outcomes if o.written),
        clips_kept=existing,
        clips_per_word=dict(per_word),
        speakers=len({p.voice.speaker_id for p in plans}),
        validation_speakers=len(validation & {p.voice.speaker_id for p in plans}),
        testing_speakers=len(testing & {p.voice.speaker_id for p in plans}),
        engines={name: d["version"] for name, d in info.items()},
        noise_files=[os.fspath(p) for p in noise],
        fitted=dict(Counter(o.fitted for o in outcomes if o.fitted)),
        failures=failures,
        seconds=round(time.perf_counter() - t0, 2),
        missing_engines=[] if opts.engines is not None else sorted(set(DEFAULT_ENGINE_WEIGHTS) - set(info)),
    )
