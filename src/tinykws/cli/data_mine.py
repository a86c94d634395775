"""`tinykws data mine --teacher T --from DIR --out DIR`: teacher-labelled splices of clips."""

from __future__ import annotations

import argparse
import json

from tinykws.cli._types import count, positive_float, positive_int


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "mine",
        help="make training clips by joining the start of one clip to the rest of another, "
        "labelled by a teacher model",
        description="Join the onset of one training clip to the rest of another (random words, "
        "clips and cut points), score each candidate with the teacher, and keep it in the folder "
        "of the teacher's top class when that class is confident and its quota not full. Gives "
        "keywords with few real recordings real-sounding examples (the vowel of a real 'no' after "
        "the 'g' of a 'go'), and near misses labelled unknown. Writes a raw Speech Commands "
        "folder (all training clips) with mine_manifest.json, replaced whole. Deterministic for a seed.",
    )
    p.add_argument("--teacher", required=True, metavar="MODEL",
                   help="a tinykws checkpoint (.pt) or a float .tflite (12 MLPerf classes)")
    p.add_argument("--from", dest="sources", action="append", required=True, metavar="DIR",
                   help="a dataset folder whose training clips are cut (repeatable)")
    p.add_argument("--tail-from", dest="tail_sources", action="append", default=[], metavar="DIR",
                   help="take the rests (what follows the joined onset) only from these folders' training "
                   "clips, e.g. real recordings (repeatable; default: the --from folders)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--per-class", type=positive_int, default=1500, metavar="N",
                   help="clips kept per keyword; 'unknown' keeps twice as many (default 1500)")
    p.add_argument("--candidates", type=positive_int, default=100_000, metavar="N",
                   help="draw at most N candidates (default 100000)")
    p.add_argument("--min-confidence", type=positive_float, default=0.6, metavar="P",
                   help="keep a candidate when the teacher's top class has at least P (default 0.6)")
    p.add_argument("--tflite-model", default="ds_cnn", metavar="NAME",
                   help="zoo model a .tflite teacher is imported into (default ds_cnn)")
    p.add_argument("--tflite-frontend", default="", metavar="NAME",
                   help="front-end of a .tflite teacher (default: that model's own)")
    p.add_argument("--seed", type=count, default=0, help="random seed (default 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from tinykws.train.mining import MineOptions, mine_splices

    opts = MineOptions(
        teacher=args.teacher, sources=tuple(args.sources), tail_sources=tuple(args.tail_sources), out_dir=args.out, per_class=args.per_class,
        candidates=args.candidates, min_confidence=args.min_confidence, tflite_model=args.tflite_model,
        tflite_frontend=args.tflite_frontend, seed=args.seed,
    )
    bar = tqdm(total=opts.candidates, unit="cand", disable=args.no_progress, dynamic_ncols=True)

    def on_batch(scored: int, kept: dict[str, int]) -> None:
        bar.update(scored - bar.n)
        bar.set_postfix(kept=sum(kept.values()))

    try:
        result = mine_splices(opts, on_batch)
    finally:
        bar.close()
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        kept = ", ".join(f"{k} {v}" for k, v in result.kept.items())
        print(f"{result.out_dir}: {sum(result.kept.values()):,} clips from {result.candidates_drawn:,} "
              f"candidates in {result.seconds:.1f} s ({kept})")
        print(f"manifest: {result.manifest}")
        for note in result.notes:
            print(f"note: quota not filled: {note}")
    return 0
