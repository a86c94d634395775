"""`tinykws data streams --keywords DIR --noise DIR --out DIR`: long evaluation streams
(keywords at stated SNRs in backgrounds of non-keyword speech and noise, and a negative
stream of at least two hours) for `tinykws stream-eval`."""

from __future__ import annotations

import argparse


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "streams",
        help="build long evaluation streams (keywords in speech and noise; a negative stream)",
        description=(
            "Place real keyword clips (the class folders of --keywords, a test set such as sc12_test_dev: never "
            "training data) at random times into long backgrounds: sentences of non-keyword words spoken by the "
            "offline engines, the --keywords folder's _unknown_ clips, and the noise recordings of --noise in "
            "blocks. One positive stream per SNR (keyword power over the noise bed), one negative stream "
            "without keywords. Deterministic for the seed; streams.json records every keyword's time."
        ),
    )
    p.add_argument("--keywords", required=True, metavar="DIR", help="class folders of keyword clips (+ _unknown_)")
    p.add_argument("--noise", required=True, metavar="DIR", help="noise recordings (.wav/.flac)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (replaced whole)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hours", type=float, default=2.0, help="length of the negative stream (default 2)")
    p.add_argument("--per-keyword", type=int, default=30, help="positives per keyword and SNR (default 30)")
    p.add_argument("--snrs", default="20,10,5", help="SNRs in dB, comma-separated (default 20,10,5)")
    p.add_argument("--sentences", type=int, default=300, help="background sentences to synthesize (default 300)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinykws.data.eval_streams import StreamRecipe, build_eval_streams
    from tinykws.errors import ConfigError

    try:
        snrs = tuple(float(v) for v in args.snrs.split(","))
    except ValueError:
        raise ConfigError(f"--snrs {args.snrs!r}: expected numbers separated by commas") from None
    recipe = StreamRecipe(seed=args.seed, snrs_db=snrs, positives_per_keyword=args.per_keyword,
                          negative_hours=args.hours, sentences=args.sentences)
    result = build_eval_streams(recipe, args.keywords, args.noise, args.out)
    for s in result.streams:
        kind = "negative" if s.snr_db is None else f"{len(s.events)} keywords at {s.snr_db:g} dB"
        print(f"{s.path}: {s.seconds / 60:.1f} min, {kind}")
    return 0
