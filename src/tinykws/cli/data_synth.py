"""`tinykws data synth --words yes,no --per-word N --out DIR`: a synthetic speech corpus."""

from __future__ import annotations

import argparse
import json
import os

from tinykws.cli._types import count, positive_float, positive_int


def _words(text: str) -> tuple[str, ...]:
    return tuple(w for w in (p.strip() for p in text.split(",")) if w)


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "synth",
        help="make a keyword corpus offline by text-to-speech (raw Speech Commands layout)",
        description="Synthesize every keyword (and unknown words, and background noise) with the "
        "installed speech engines, varied per clip (voice, pitch, speed, vocal-tract length, "
        "loudness, position, channel), into the raw Speech Commands layout. Resumable: clips "
        "already in DIR are kept. Deterministic for a seed.",
    )
    p.add_argument("--words", default=None, metavar="W1,W2,...", help="keywords, comma-separated")
    p.add_argument("--unknown-words", default=None, metavar="W1,W2,...",
                   help="unknown words (default: a built-in list of ~170 English words; keywords and words "
                   "that sound exactly like one, such as know for no, are removed)")
    p.add_argument("--unknown-clips", type=count, default=None, metavar="N",
                   help="clips over all unknown words (default: half the keyword clips)")
    p.add_argument("--per-word", type=positive_int, default=1000, metavar="N", help="clips per keyword (default 1000)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder")
    p.add_argument("--engines", default=None, metavar="E[:W],...",
                   help="engines and weights, e.g. espeak:0.6,flite,piper:0.2 "
                   "(default: every installed engine of espeak, piper, festival, flite)")
    p.add_argument("--seed", type=count, default=0, help="random seed (default 0)")
    p.add_argument("--workers", type=positive_int, default=os.cpu_count() or 1, metavar="K",
                   help="worker processes (default: all cores)")
    p.add_argument("--noise-dir", default=None, metavar="DIR",
                   help="also copy the recordings of DIR into _background_noise_")
    p.add_argument("--noise-seconds", type=positive_float, default=60.0, metavar="S",
                   help="length of each generated noise recording (default 60 s)")
    p.add_argument("--voices", choices=("curated", "all"), default="curated",
                   help="curated: the voices that sound most natural (default); all: also the "
                   "engines' other human-sounding voices (more speakers, less natural)")
    p.add_argument("--variation", choices=("default", "wide"), default="default",
                   help="ranges of speaker pitch, speed and vocal-tract length: default or wide")
    p.add_argument("--list-engines", action="store_true", help="list the installed engines and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinykws.data.synth.corpus import SynthOptions, parse_engine_mix, synthesize_corpus
    from tinykws.data.synth.engine import available_engines
    from tinykws.errors import ConfigError

    if args.list_engines:
        for name, version in available_engines().items():
            print(f"{name:10s} {version}")
        return 0
    if not args.words or not args.out:
        raise ConfigError("tinykws data synth needs --words and --out (or --list-engines)")
    opts = SynthOptions(
        words=_words(args.words),
        out_dir=args.out,
        per_word=args.per_word,
        unknown_words=None if args.unknown_words is None else _words(args.unknown_words),
        unknown_clips=args.unknown_clips,
        engines=None if args.engines is None else parse_engine_mix(args.engines),
        seed=args.seed,
        workers=args.workers,
        noise_dir=args.noise_dir,
        noise_seconds=args.noise_seconds,
        progress=not args.no_progress,
        voices=args.voices,
        variation=args.variation,
    )
    result = synthesize_corpus(opts)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(
            f"{result.out_dir}: {result.clips_planned:,} clips ({result.clips_written:,} written, "
            f"{result.clips_kept:,} kept) from {result.speakers} speakers "
            f"({result.validation_speakers} validation, {result.testing_speakers} testing) in {result.seconds:.1f} s"
        )
        print("engines: " + ", ".join(f"{k} {v}" for k, v in result.engines.items()))
        if result.missing_engines:
            print(f"note: not installed, so not in this corpus: {', '.join(result.missing_engines)} (the same "
                  "command where they are installed makes another corpus; pass --engines to make it an error)")
        if result.fitted:
            print("fitted to 1 s: " + ", ".join(f"{k} {v}" for k, v in result.fitted.items()))
        print(f"manifest: {result.manifest}")
    for failure in result.failures[:10]:
        print(f"warning: {failure}")
    if result.failures:
        print(f"warning: {len(result.failures)} clip(s) failed; run again to retry them")
        return 1
    return 0
