"""`tinykws demo`: synthesize a corpus, train ds_cnn, evaluate, quantize, report."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    p = subparsers.add_parser(
        "demo", help="the main job: synthetic corpus -> ds_cnn -> evaluation -> int8 .tflite -> report",
        description="Synthesize a small 12-class corpus offline, train the MLPerf Tiny DS-CNN on it, "
                    "evaluate it (on held-out synthetic speakers, and on real speech when "
                    "../shared/data/sc12_test_dev or --real-test exists), quantize it to an int8 .tflite "
                    "and write plots and an HTML report.",
    )
    p.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    p.add_argument("--per-word", type=int, default=500, help="synthetic clips per keyword (default 500)")
    p.add_argument("--unknown-clips", type=int, default=2500, help="synthetic unknown-word clips (default 2500)")
    p.add_argument("--noise-dir", default=None, metavar="DIR",
                   help="noise recordings (no speech) to add to the generated noise (default: "
                   "../shared/data/speech_commands_partial/_background_noise_ if present; '' = none)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--real-test", default=None, metavar="DIR",
                   help="real speech to score on (default: ../shared/data/sc12_test_dev if present; '' = none)")
    p.add_argument("--no-quantize", action="store_true", help="skip the int8 export")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinykws.pipeline.demo import DemoOptions, run_demo

    threads = getattr(args, "threads", None) or 2
    result = run_demo(DemoOptions(
        out_dir=args.out, per_word=args.per_word, unknown_clips=args.unknown_clips, epochs=args.epochs,
        seed=args.seed, threads=threads, real_test=args.real_test, quantize=not args.no_quantize,
        noise_dir=args.noise_dir,
        progress=not args.no_progress,
    ))
    summary = result.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    for name, ev in result.evaluations.items():
        per_class = ", ".join(f"{label} {100 * float(acc):.0f}" for label, acc in
                              zip(ev.labels, ev.per_class_accuracy))
        print(f"{name}: top-1 {100 * float(ev.top1):.1f} % on {ev.num_clips} clips ({per_class})")
    for name, top1 in result.int8_top1.items():
        print(f"int8 export, {name}: top-1 {100 * top1:.1f} %")
    for line in result.verification:
        print(f"int8 check: {line}")
    print(f"corpus      {result.corpus_dir}")
    print(f"checkpoint  {result.checkpoint}")
    if result.tflite:
        print(f"int8 model  {result.tflite}")
    print(f"report      {result.report}")
    print("seconds     " + ", ".join(f"{k} {v:.0f}" for k, v in result.seconds.items()))
    return 0
