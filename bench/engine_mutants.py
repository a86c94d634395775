""".tflite mutants that tinykws' own checks accept, run in TFLite Micro and LiteRT: how many
crash or hang those engines, and that every such case comes back as a clean error.

    PYTHONPATH=src nice -n 19 python bench/engine_mutants.py [--accepted 300] [--seed 0]

Mutants: 1 to 4 random bytes changed in a seed of fuzz/corpus/tflite. Each mutant is read
and imported by tinykws (refused ones are counted and skipped), then run on a zero input
by each engine in its isolated child process. Prints a table and writes
bench/results/engine_mutants.json.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tinykws.errors import TinyKWSError
from tinykws.export.engines import LiteRTEngine, TFLMEngine
from tinykws.fileio import write_json
from tinykws.formats.tflite_reader import parse_tflite
from tinykws.intmodel import intmodel_from_tflite

ROOT = Path(__file__).resolve().parents[1]
ENGINES = {"tflm": TFLMEngine, "litert": LiteRTEngine}


def outcome(engine_cls, path: Path, inputs: np.ndarray) -> str:
    """"ok", "crash", "hang" or "refused" (a clean error that is neither)."""
    try:
        engine = engine_cls(path)
        try:
            engine.run(inputs)
        finally:
            engine.close()
    except TinyKWSError as exc:
        text = str(exc)
        return "crash" if "crashed (" in text else "hang" if "did not answer" in text else "refused"
    return "ok"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accepted", type=int, default=300, help="mutants accepted by tinykws to run (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    seeds = [p.read_bytes() for p in sorted((ROOT / "fuzz" / "corpus" / "tflite").iterdir())]
    counts: dict[str, collections.Counter] = {name: collections.Counter() for name in ENGINES}
    made = refused = accepted = 0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        while accepted < args.accepted:
            made += 1
            data = bytearray(rng.choice(seeds))
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            try:
                model = intmodel_from_tflite(parse_tflite(bytes(data), "mutant"))
            except TinyKWSError:
                refused += 1
                continue
            accepted += 1
            path = Path(tmp) / f"mutant{made}.tflite"
            path.write_bytes(bytes(data))
            inputs = np.stack([np.zeros(t.shape[1:], t.dtype) for t in model.input_tensors[:1]])
            for name, engine_cls in ENGINES.items():
                counts[name][outcome(engine_cls, path, inputs)] += 1
            path.unlink()
    seconds = time.perf_counter() - t0
    print(f"{made:,} mutants: {refused:,} refused by tinykws' checks, {accepted:,} accepted and run ({seconds:.0f} s)")
    for name, c in counts.items():
        print(f"{name:<7} ok {c['ok']:>4}  clean refusal {c['refused']:>4}  crash {c['crash']:>3}  hang {c['hang']:>3}"
              "  (every crash and hang reported as a ModelFormatError; tinykws kept running)")
    write_json(ROOT / "bench" / "results" / "engine_mutants.json", {
        "mutants": made, "refused_by_tinykws": refused, "accepted": accepted, "seconds": round(seconds, 1),
        "engines": {k: dict(v) for k, v in counts.items()}, "python": sys.version.split()[0]})


if __name__ == "__main__":
    main()
