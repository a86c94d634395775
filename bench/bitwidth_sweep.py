"""PTQ against QAT for 8..2 bits, symmetric and asymmetric, weights alone and weights with
activations.

The float model (default: the MLPerf reference float .tflite imported as ds_cnn; or a
tinykws checkpoint with --model) is quantized to b bits, b = 8..2, in three schemes:
"tflite" (symmetric weights with zero point 0, asymmetric activations: TFLite's int8
scheme), "symmetric" (weights and activations with zero point 0) and "asymmetric"
(weights and activations mapped min..max with a zero point), and two families: weights at
b bits with 8-bit activations ("W"), and weights and activations both at b bits ("W+A").
Weights are per channel for convolutions, per tensor for the classifier. Every setting is
scored after PTQ (calibration on --calib training clips of --data) and after QAT (PTQ,
then --qat-epochs on --qat-clips training clips distilling the float model). Top-1 is on
../shared/data/sc12_test_dev with the fake-quant simulation (the float32 simulation of the
integer grid); rows that have an int8 TFLite form (tflite scheme, 8-bit activations) are
also scored with the integer network in the numpy runtime.

    .venv/bin/python bench/bitwidth_sweep.py [--model M] [--bits 8,7,6,5,4,3,2] [--qat-epochs 1]

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
# scheme -> (weights symmetric, activations symmetric)
SCHEMES = {"tflite": (True, False), "symmetric": (True, True), "asymmetric": (False, False)}


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
    ap.add_argument("--qat-epochs", type=int, default=1)
    ap.add_argument("--qat-clips", type=int, default=2000)
    ap.add_argument("--qat-lr", type=float, default=5e-4)
    ap.add_argument("--bits", default="8,7,6,5,4,3,2")
    ap.add_argument("--schemes", default=",".join(SCHEMES))
    ap.add_argument("--families", default="W,W+A")
    ap.add_argument("--test-limit", type=int, default=0, help="score on a seeded subset (0: every clip)")
    ap.add_argument("--out", default=str(REPO / "bench/results/bitwidth_sweep.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)

    src = open_runner("torch", args.model)
    info, fe = src.info, frontend_from_dict(src.info.frontend)
    calib = dataset_features(args.data, "train", fe, info.labels, limit=args.calib, seed=0, progress=False)
    train = dataset_features(args.data, "train", fe, info.labels, limit=args.qat_clips, seed=1, progress=False)
    test = dataset_features(args.test, "test", fe, info.labels, limit=args.test_limit or None, progress=False)
    float_acc = top1(src, test)
    rows = []
    for family in args.families.split(","):
        for scheme in args.schemes.split(","):
            w_sym, a_sym = SCHEMES[scheme]
            for bits in [int(b) for b in args.bits.split(",")]:
                start = time.time()
                config = QuantConfig(weight_bits=bits, act_bits=bits if family == "W+A" else 8,
                                     weight_symmetric=w_sym, act_symmetric=a_sym)
                q = quantize_ptq(src.model, calib.features, config)
                row = {"family": family, "scheme": scheme, "weight_bits": config.weight_bits,
                       "act_bits": config.act_bits,
                       "ptq_top1": top1(FakeQuantRunner(q, info.labels, info.frontend, "ptq"), test)}
                if config.exportable:
                    row["ptq_int8_top1"] = int8_top1(q, info, test)
                if args.qat_epochs > 0:
                    finetune_qat(q, train.features, train.targets, args.qat_epochs, lr=args.qat_lr,
                                 teacher=src.model)
                    row["qat_top1"] = top1(FakeQuantRunner(q, info.labels, info.frontend, "qat"), test)
                    if config.exportable:
                        row["qat_int8_top1"] = int8_top1(q, info, test)
                row["seconds"] = round(time.time() - start, 1)
                rows.append(row)
                print(row, flush=True)

    print(f"\nfloat top-1 {float_acc:.2f} % on {len(test)} clips ({Path(args.test).name}); fake-quant simulation "
          "(int8 network where it exists)")
    print(f"{'family':<7}{'scheme':<12}{'W':>3}{'A':>3}{'PTQ %':>8}{'QAT %':>8}{'PTQ int8':>10}{'QAT int8':>10}")
    for r in rows:
        cells = [f"{r[k]:>{w}.2f}" if k in r else f"{'-':>{w}}" for k, w in
                 (("ptq_top1", 8), ("qat_top1", 8), ("ptq_int8_top1", 10), ("qat_int8_top1", 10))]
        print(f"{r['family']:<7}{r['scheme']:<12}{r['weight_bits']:>3}{r['act_bits']:>3}" + "".join(cells))
    result = {"model": args.model, "calibration": {"data": args.data, "clips": len(calib)},
              "qat": {"epochs": args.qat_epochs, "clips": len(train), "lr": args.qat_lr,
                      "loss": "distillation from the float model (T=2)"},
              "schemes": {k: {"weights_symmetric": w, "activations_symmetric": a} for k, (w, a) in SCHEMES.items()},
              "test": {"data": args.test, "clips": len(test)}, "float_top1": float_acc,
              "measured_with": "the fake-quant simulation; *_int8_top1: the integer network in the numpy runtime",
              "rows": rows}
    out = Path(args.out)
    write_json(out, result)
    plot(rows, float_acc, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")


def plot(rows: list[dict], float_acc: float, path: Path) -> None:
    from _common import finish_png

    from tinykws.report.plots import pyplot

    plt = pyplot()
    families = sorted({r["family"] for r in rows}, key=len)
    fig, axes = plt.subplots(1, len(families), figsize=(6 * len(families), 4.2), sharey=True, squeeze=False)
    for ax, family in zip(axes[0], families):
        for scheme, color in zip(SCHEMES, ("#1f77b4", "#2ca02c", "#d62728")):
            pts = [r for r in rows if r["family"] == family and r["scheme"] == scheme]
            if not pts:
                continue
            bits = [r["weight_bits"] for r in pts]
            ax.plot(bits, [r["ptq_top1"] for r in pts], "o--", color=color, label=f"{scheme} PTQ")
            if all("qat_top1" in r for r in pts):
                ax.plot(bits, [r["qat_top1"] for r in pts], "s-", color=color, label=f"{scheme} QAT")
        ax.axhline(float_acc, color="gray", linestyle=":", label=f"float ({float_acc:.1f} %)")
        ax.set_title("weights at b bits, activations 8" if family == "W" else "weights and activations at b bits")
        ax.set_xlabel("bits")
        ax.invert_xaxis()
        ax.grid(alpha=0.3)
    finish_png(fig, path, "top-1 on sc12_test_dev (%)", axes[0])


if __name__ == "__main__":
    main()
