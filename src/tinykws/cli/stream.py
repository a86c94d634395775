"""`tinykws stream MODEL AUDIO... [--runtime R] [--hop-ms MS] [--out DIR]`: always-on keyword
spotting over long audio or a microphone (`-`: standard input), detections printed as they
happen; with --out, the per-hop probabilities (JSON, NPY) and a plot per input."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    from tinykws.eval.runner import runner_names

    p = subparsers.add_parser(
        "stream",
        help="spot keywords in long audio or a live stream (stdin), printing detections as they happen",
        description=(
            "Listen to audio files or standard input ('-': raw 16-bit 16 kHz mono PCM, e.g. `arecord -t raw -f "
            "S16_LE -r 16000 -c 1 | tinykws stream MODEL -`, or a WAV stream) and print each keyword when it is "
            "detected. A model that streams exactly (built with time_valid=True; crnn_gru_att with its state "
            "carried) runs frame by frame: its float streaming step in PyTorch for a checkpoint, its int8 "
            "streaming step (state as extra inputs and outputs) for a .tflite, in any runtime. Other models run "
            "the whole window at every hop, and the output says so. Detection: probabilities averaged over "
            "--smoothing-ms, per-keyword thresholds, a refractory period; silence and unknown never fire."
        ),
    )
    p.add_argument("model", metavar="MODEL", help="a .pt checkpoint or run folder, a .tflite, or a quantize folder")
    p.add_argument("audio", nargs="+", metavar="AUDIO", help="audio files (16 kHz), or - for standard input")
    p.add_argument("--runtime", choices=runner_names(), default=None,
                   help="torch (float checkpoints; default), reference (numpy integer runtime; default for "
                        ".tflite), litert, tflm, or any runtime that runs models with several inputs")
    p.add_argument("--arithmetic", choices=["litert_ref", "tflite_micro"], default=None,
                   help="integer arithmetic of --runtime reference (default litert_ref)")
    p.add_argument("--hop-ms", type=float, default=None, metavar="MS",
                   help="report a row of probabilities every MS milliseconds (default: every feature frame, "
                        "20 ms for the MLPerf MFCC); a whole number of feature frames")
    p.add_argument("--mode", choices=["auto", "incremental", "window"], default="auto",
                   help="incremental: frame by frame or an error; window: the whole window at every hop; "
                        "auto (default): incremental when the model streams exactly")
    p.add_argument("--threshold", type=float, default=0.5, help="detection threshold of every keyword (default 0.5)")
    p.add_argument("--keyword-threshold", action="append", default=[], metavar="WORD=T",
                   help="threshold of one keyword (repeatable), e.g. --keyword-threshold go=0.8")
    p.add_argument("--smoothing-ms", type=float, default=100.0, help="posterior smoothing window (default 100)")
    p.add_argument("--refractory-ms", type=float, default=1000.0,
                   help="a keyword is not detected again within this time (default 1000)")
    p.add_argument("--chunk-ms", type=float, default=100.0, help="audio read per chunk (default 100)")
    p.add_argument("--out", metavar="DIR", help="write <input>.probabilities.npy/.json and <input>.png here")
    p.add_argument("--json", action="store_true", help="print detections as JSON lines")
    p.set_defaults(func=run)


def _thresholds(items: list[str]) -> dict[str, float]:
    from tinykws.errors import ConfigError

    out = {}
    for item in items:
        word, sep, value = item.partition("=")
        try:
            out[word] = float(value)
        except ValueError:
            raise ConfigError(f"--keyword-threshold {item!r}: expected WORD=NUMBER") from None
        if not sep or not word:
            raise ConfigError(f"--keyword-threshold {item!r}: expected WORD=NUMBER")
    return out


def run(args: argparse.Namespace) -> int:
    from tinykws.audio.stream_io import STDIN_NAME, file_chunks, stdin_chunks
    from tinykws.stream.detector import Detector, DetectorConfig
    from tinykws.stream.run import listen

    config = DetectorConfig(threshold=args.threshold, thresholds=_thresholds(args.keyword_threshold),
                            smoothing_ms=args.smoothing_ms, refractory_ms=args.refractory_ms)
    options = {"arithmetic": args.arithmetic} if args.arithmetic else {}
    with Detector(args.model, runtime=args.runtime, config=config, hop_ms=args.hop_ms, mode=args.mode,
                  **options) as detector:
        stream = detector.stream
        chunk = max(1, int(round(args.chunk_ms * stream.sample_rate / 1000)))
        print(f"# {stream.mode}: {stream.description}; a row every {1000 * stream.hop_samples / stream.sample_rate:g} "
              f"ms", file=sys.stderr)
        results = []
        for name in args.audio:
            source = STDIN_NAME if name == "-" else name
            chunks = stdin_chunks(sys.stdin.buffer, chunk, stream.sample_rate) if name == "-" else \
                file_chunks(name, chunk, stream.sample_rate)

            def show(d, source=source):
                if args.json:
                    print(json.dumps({"input": source, **d.to_dict()}), flush=True)
                else:
                    print(f"{source}  {d.time_s:9.2f} s  {d.label:<10} {d.score:.3f}", flush=True)

            result = listen(detector, chunks, source, on_detection=show, keep_rows=bool(args.out))
            results.append((name, result))
            print(f"# {source}: {result.seconds:.1f} s of audio, {len(result.detections)} detection(s), "
                  f"{result.real_time_factor:.0f}x real time" + (" (interrupted)" if result.interrupted else ""),
                  file=sys.stderr)
        if args.out:
            _write(Path(args.out), results, detector, config)
    return 0


def _write(out: Path, results, detector, config) -> None:
    import numpy as np

    from tinykws.fileio import atomic_dir, write_json
    from tinykws.report.stream_plots import probabilities_png

    with atomic_dir(out, "stream output") as tmp:
        for name, r in results:
            stem = "stdin" if name == "-" else Path(name).stem
            np.save(tmp / f"{stem}.probabilities.npy", np.column_stack([r.times, r.probs]).astype(np.float32))
            write_json(tmp / f"{stem}.probabilities.json", {
                "input": name, "labels": list(r.labels), "mode": detector.stream.mode,
                "description": detector.stream.description, "seconds": r.seconds,
                "columns": ["time_s", *r.labels],
                "detections": [d.to_dict() for d in r.detections],
                "rows": [[round(float(t), 4), *(round(float(v), 5) for v in row)] for t, row in zip(r.times, r.probs)],
            })
            if len(r.times):
                probabilities_png(r.times, r.probs, r.labels, tmp / f"{stem}.png", r.detections,
                                  threshold=config.threshold, title=f"{name}: {len(r.detections)} detection(s)")
    print(f"wrote {out}", file=sys.stderr)
