"""Where do two training runs of the same recipe diverge?

Trains one small recipe (ds_cnn, waveform augmentation, 3 epochs) in fresh processes that
differ in one thing each, and compares the trained weights and the checkpoint bytes with a
baseline run:
- nothing (the same command again), another PYTHONHASHSEED;
- the numeric instruction set: tinykws pins ATen, oneDNN and MKL to AVX2
  (`tinykws.environment`); each variant lets one of them pick its native path, as it would
  on another CPU;
- two threads instead of one.

    .venv/bin/python bench/determinism.py [--data DIR] [--epochs 3]

Without --data it trains on a generated Speech Commands folder. Prints a table and writes
JSON (default bench/results/determinism.json).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NATIVE = {"TINYKWS_NATIVE_ISA": "1"}
VARIANTS = [
    ("baseline", {}, ()),
    ("same command again", {}, ()),
    ("PYTHONHASHSEED=7", {"PYTHONHASHSEED": "7"}, ()),
    ("ATen native ISA", dict(NATIVE, ONEDNN_MAX_CPU_ISA="AVX2", MKL_CBWR="AVX2"), ()),
    ("oneDNN native ISA", dict(NATIVE, ATEN_CPU_CAPABILITY="avx2", MKL_CBWR="AVX2"), ()),
    ("MKL native path", dict(NATIVE, ATEN_CPU_CAPABILITY="avx2", ONEDNN_MAX_CPU_ISA="AVX2"), ()),
    ("all native", NATIVE, ()),
    ("2 threads", {}, ("train.threads=2",)),
]


def _digests(run_dir: Path) -> tuple[str, str]:
    import torch

    payload = torch.load(run_dir / "last.pt", weights_only=True)
    weights = b"".join(v.numpy().tobytes() for v in payload["state_dict"].values())
    return hashlib.sha256(weights).hexdigest()[:16], hashlib.sha256((run_dir / "last.pt").read_bytes()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="a raw Speech Commands folder (default: generated)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "determinism.json")
    args = ap.parse_args(argv)
    from tinykws.fileio import write_json

    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            sys.path.insert(0, str(REPO / "tests"))
            from datagen import make_raw_dataset

            data = make_raw_dataset(Path(tmp) / "sc").root
        recipe = Path(tmp) / "recipe.yaml"
        recipe.write_text(
            f"data:\n  sources: [{{path: {data}, layout: raw}}]\n  epoch_size: 64\n"
            "model: {name: ds_cnn, kwargs: {layers: [[16, 10, 4, 2, 2], [16, 3, 3, 1, 1]]}}\n"
            f"frontend: {{name: mlperf_mfcc}}\ntrain: {{epochs: {args.epochs}, batch_size: 16, seed: 0, threads: 1}}\n")
        rows = []
        for name, env_extra, sets in VARIANTS:
            run_dir = Path(tmp) / f"run{len(rows)}"
            env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA",
                                                                    "MKL_CBWR", "TINYKWS_NATIVE_ISA")}
            env.update(env_extra, PYTHONPATH=str(REPO / "src"))
            cmd = [sys.executable, "-m", "tinykws", "train", str(recipe), "--out", str(run_dir), "--no-progress"]
            for s in sets:
                cmd += ["--set", s]
            subprocess.run(cmd, env=env, check=True, capture_output=True)
            weights, file_bytes = _digests(run_dir)
            rows.append({"variant": name, "weights_sha256": weights, "checkpoint_sha256": file_bytes})
    base = rows[0]
    for r in rows:
        r["same_weights"] = r["weights_sha256"] == base["weights_sha256"]
        r["same_bytes"] = r["checkpoint_sha256"] == base["checkpoint_sha256"]
    print(f"{'variant':<22}{'weights':>18}{'same weights':>14}{'same bytes':>12}")
    for r in rows:
        print(f"{r['variant']:<22}{r['weights_sha256']:>18}{str(r['same_weights']):>14}{str(r['same_bytes']):>12}")
    write_json(args.out, {"epochs": args.epochs, "data": str(args.data or "generated"), "rows": rows})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
