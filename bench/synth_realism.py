"""How real does synthetic speech sound to a model trained on real speech?

Runs the MLPerf Tiny reference KWS model (int8, trained on real Speech Commands) on the
clips of a synthetic corpus and reports, per keyword and per engine, the share it
recognises as the right word (and, for unknown words, as "unknown"). A listen-free proxy
of realism: a word the reference model hears correctly sounds like real speech to it.

    .venv/bin/python bench/synth_realism.py CORPUS [--per-word N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

LABELS = ["down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "silence", "unknown"]
MODEL = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "mlperf_kws_ref" / "kws_ref_model.tflite"


def classify(paths: list[Path]) -> np.ndarray:
    """Predicted label index per clip (int8 reference model on LiteRT's reference kernels,
    MLPerf MFCC), run the way every tinykws model is run."""
    from tinykws.audio.features import extract_features
    from tinykws.audio.frontends import build_frontend
    from tinykws.eval.runner import open_runner, run_batches, runner_inputs

    features = extract_features(paths, build_frontend("mlperf_mfcc"), progress=False).features
    with open_runner("litert", MODEL) as runner:
        return run_batches(runner, runner_inputs(features, runner.info.input)).argmax(1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--per-word", type=int, default=200, help="clips checked per keyword (default 200)")
    ap.add_argument("--unknown", type=int, default=400, help="unknown-word clips checked (default 400)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    manifest = json.loads((args.corpus / "synth_manifest.json").read_text())
    clips = manifest["clips"]
    rng = np.random.default_rng(0)
    chosen: list[tuple[str, str]] = []  # (relpath, expected label)
    by_word = defaultdict(list)
    for rel in sorted(clips):
        by_word[rel.split("/")[0]].append(rel)
    unknown_pool = []
    for word, rels in by_word.items():
        if word in LABELS[:10]:
            pick = rng.permutation(len(rels))[: args.per_word]
            chosen += [(rels[i], word) for i in sorted(pick)]
        else:
            unknown_pool += rels
    pick = rng.permutation(len(unknown_pool))[: args.unknown]
    chosen += [(unknown_pool[i], "unknown") for i in sorted(pick)]
    chosen = [(r, w) for r, w in chosen if (args.corpus / r).exists()]
    preds = classify([args.corpus / r for r, _ in chosen])
    table: dict[str, dict[str, list[int]]] = {"word": defaultdict(list), "engine": defaultdict(list),
                                              "voice": defaultdict(list)}
    for (rel, want), pred in zip(chosen, preds):
        ok = int(LABELS[pred] == want)
        c = clips[rel]
        table["word"][want].append(ok)
        if want != "unknown":
            table["engine"][c["engine"]].append(ok)
            table["voice"][f"{c['engine']}/{c['voice']}" + (f"+{c['variant']}" if c["variant"] else "")].append(ok)
    result = {k: {n: {"clips": len(v), "recognised": round(float(np.mean(v)), 3)} for n, v in sorted(t.items())}
              for k, t in table.items()}
    keyword_oks = [ok for w, v in table["word"].items() if w != "unknown" for ok in v]
    result["keywords_overall"] = round(float(np.mean(keyword_oks)), 3) if keyword_oks else None
    for key in ("word", "engine"):
        print(f"\n{key:>10s} | clips | recognised")
        for name, r in result[key].items():
            print(f"{name:>10s} | {r['clips']:5d} | {100 * r['recognised']:6.1f} %")
    print(f"\nkeywords overall: {100 * result['keywords_overall']:.1f} %")
    if args.json:
        from tinykws.fileio import write_json

        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
