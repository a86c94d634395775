"""Accuracy against weight bit width: PTQ for 8..2 bits, and QAT for 4 bits and below.

The float model (default: the MLPerf reference float .tflite imported as ds_cnn; or a
tinykws checkpoint with --model) is quantized with 8-bit activations and weights of
8, 7, ..., 2 bits (per-channel symmetric for convolutions, per tensor for the FC layer).
Calibration clips come from the training split of --data (speech_commands_partial by
default); for 4 bits and below the PTQ model is also fine-tuned with QAT (distilling the
float model's outputs on training clips, as the fine-tuning data lacks some classes).
Top-1 is measured on ../shared/data/sc12_test_dev with the integer network (narrow weights
are stored in int8, so every row is an exact int8 model run by the numpy runtime), beside
the fake-quant simulation's top-1.

    .venv/bin/python bench/bitwidth_sweep.py [--model M] [--calib 500] [--qat-epochs 4]

Prints a table, writes bench/results/bitwidth_sweep.json and bitwidth_sweep.png.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def top1(runner, test) -> float:
    """Top-1 (%) of a ModelRunner on labelled features."""
    from tinykws.eval.evaluate import evaluate_runner

    return round(100.0 * float(evaluate_runner(runner, test).result.top1), 2)


def int8_top1(qmodel, info, test) -> float:
    """Top-1 (%) of the integer network of `qmodel` in the numpy runtime."""
    from tinykws.eval.runner import open_runner
    from tinykws.intmodel.from_quantized import intmodel_from_quantized

    with open_runner("reference", intmodel_from_quantized(qmodel), frontend=info.frontend, labels=info.labels) as r:
        return top1(r, test)


def main() -> None:
    from tinykws.audio.frontends import frontend_from_dict
    from tinykws.eval.dataset import dataset_features
    from tinykws.eval.runner import open_runner
    from tinykws.fileio import write_json
    from tinykws.quant import QuantConfig, finetune_qat, quantize_ptq
    from tinykws.quant.runner import FakeQuantRunner

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(SHARED / "models/mlperf_kws_ref/kws_ref_model_float32.tflite"))
    ap.add_argument("--data", default=str(SHARED / "data/speech_commands_partial"))
    ap.add_argument("--test", default=str(SHARED / "data/sc12_test_dev"))
    ap.add_argument("--calib", type=int, default=500)
    ap.add_argument("--qat-epochs", type=int, default=4)
    ap.add_argument("--qat-clips", type=int, default=3000)
    ap.add_argument("--qat-lr", type=float, default=5e-4)
    ap.add_argument("--bits", default="8,7,6,5,4,3,2")
    ap.add_argument("--out", default=str(REPO / "bench/results/bitwidth_sweep.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)

    src = open_runner("torch", args.model)
    info, fe = src.info, frontend_from_dict(src.info.frontend)
    calib = dataset_features(args.data, "train", fe, info.labels, limit=args.calib, seed=0, progress=False)
    train = dataset_features(args.data, "train", fe, info.labels, limit=args.qat_clips, seed=1, progress=False)
    test = dataset_features(args.test, "test", fe, info.labels, progress=False)
    float_acc = top1(src, test)
    rows = []
    for bits in [int(b) for b in args.bits.split(",")]:
        start = time.time()
        q = quantize_ptq(src.model, calib.features, QuantConfig(weight_bits=bits))
        row = {"weight_bits": bits, "act_bits": 8, "ptq_top1": int8_top1(q, info, test),
               "ptq_fake_quant_top1": top1(FakeQuantRunner(q, info.labels, info.frontend, "ptq"), test)}
        if bits <= 4 and args.qat_epochs > 0:
            finetune_qat(q, train.features, train.targets, args.qat_epochs, lr=args.qat_lr, teacher=src.model)
            row["qat_top1"] = int8_top1(q, info, test)
        row["seconds"] = round(time.time() - start, 1)
        rows.append(row)
        print(row, flush=True)

    print(f"\nfloat top-1 {float_acc:.2f} % on {len(test)} clips ({Path(args.test).name}); int8 networks below")
    print(f"{'weight bits':>11} {'PTQ %':>7} {'QAT %':>7}")
    for r in rows:
        qat = f"{r['qat_top1']:7.2f}" if "qat_top1" in r else f"{'-':>7}"
        print(f"{r['weight_bits']:>11} {r['ptq_top1']:7.2f} {qat}")
    result = {"model": args.model, "calibration": {"data": args.data, "clips": len(calib)},
              "qat": {"epochs": args.qat_epochs, "clips": len(train), "lr": args.qat_lr,
                      "loss": "distillation from the float model (T=2)"},
              "test": {"data": args.test, "clips": len(test)}, "float_top1": float_acc,
              "measured_with": "the integer network in the tinykws numpy runtime", "rows": rows}
    out = Path(args.out)
    write_json(out, result)
    plot(rows, float_acc, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")


def plot(rows: list[dict], float_acc: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    bits = [r["weight_bits"] for r in rows]
    ax.plot(bits, [r["ptq_top1"] for r in rows], "o-", label="PTQ")
    qat = [(r["weight_bits"], r["qat_top1"]) for r in rows if "qat_top1" in r]
    if qat:
        ax.plot(*zip(*qat), "s-", label="QAT")
    ax.axhline(float_acc, color="gray", linestyle="--", label=f"float ({float_acc:.1f} %)")
    ax.set_xlabel("weight bits (activations 8 bits)")
    ax.set_ylabel("top-1 on sc12_test_dev (%)")
    ax.invert_xaxis()
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    from tinykws.fileio import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)


if __name__ == "__main__":
    main()
