"""Accuracy against parameters, MACs and measured runtime for structured (L1 channels)
and unstructured (magnitude, per layer and global) pruning at several amounts.

The subject (default: the MLPerf reference float model imported as ds_cnn; or a tinykws
checkpoint with --model) is pruned one-shot, then fine-tuned for --epochs on --clips
training clips of --data distilling the unpruned model (pruned weights kept at zero).
Each row: parameters, non-zero parameters, dense MACs, float32 .tflite bytes, LiteRT
host latency of the float32 and the int8 file (median of --runs single inferences, one
thread, optimized kernels: measured, not estimated), and top-1 on sc12_test_dev one-shot,
fine-tuned (float) and fine-tuned in int8 (PTQ, the integer network in the numpy runtime).
Unstructured sparsity is stored and run densely: its MACs, bytes and latency stay those
of the dense model, and the table says so by measuring them.

    .venv/bin/python bench/pruning_curves.py [--amounts 0.25,0.5,0.75,0.9] [--epochs 1]

Prints a table, writes bench/results/pruning_curves.json and pruning_curves.png.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import copy  # noqa: E402
import math  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def finetune(model, teacher, features, epochs: int, lr: float, masks=None, seed: int = 0):
    """Adam on the teacher's softened outputs (T = 2), cosine decay; masked weights stay 0."""
    from tinykws.compress import prunable_parameters
    from tinykws.train.distill import distillation_kl

    if epochs < 1:
        return model
    gen = torch.Generator().manual_seed(seed)
    x_all = torch.as_tensor(features).unsqueeze(1)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(x_all) / 100)
    params = prunable_parameters(model) if masks else {}
    step = 0
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(x_all), generator=gen).split(100):
            for group in optimizer.param_groups:
                group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
            x = x_all[batch]
            with torch.no_grad():
                target = teacher(x)
            loss = distillation_kl(model(x), target, 2.0).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                for name, mask in (masks or {}).items():
                    params[name].mul_(mask)
            step += 1
    return model.eval()


def measure(model, info, test, calib, runs: int) -> dict:
    """Counts, bytes, LiteRT latency (float32 and int8) and top-1 (float and int8)."""
    from tinykws.compress import nonzero_parameters
    from tinykws.eval.evaluate import evaluate_runner
    from tinykws.eval.runner import open_runner
    from tinykws.export import export_tflite
    from tinykws.export.float_tflite import export_float_tflite
    from tinykws.profile.counts import count_model
    from tinykws.profile.latency import measure_latency
    from tinykws.quant import quantize_ptq
    from tinykws.train.runner import TorchRunner

    counts = count_model(model, info.input.shape[:2])
    row = {"params": counts.params, "nonzero_params": nonzero_parameters(model), "macs": counts.macs}
    runner = TorchRunner(model, info.labels, info.frontend, tuple(info.input.shape[:2]), "pruned")
    row["top1"] = round(100 * float(evaluate_runner(runner, test).result.top1), 2)
    with tempfile.TemporaryDirectory() as tmp:
        f32 = export_float_tflite(model, Path(tmp) / "f32.tflite", info.frontend, list(info.labels), "float32",
                                  arena=False)
        q = quantize_ptq(model, calib.features)
        i8 = export_tflite(q, Path(tmp) / "int8.tflite", info.frontend, list(info.labels), arena=False)
        row["float32_bytes"], row["int8_bytes"] = f32.size_bytes, i8.size_bytes
        row["float32_ms"] = measure_latency(f32.tflite_path, runs).median_ms
        row["int8_ms"] = measure_latency(i8.tflite_path, runs).median_ms
        with open_runner("reference", i8.tflite_path) as int_runner:
            row["int8_top1"] = round(100 * float(evaluate_runner(int_runner, test).result.top1), 2)
    return row


def main() -> None:
    from tinykws.audio.frontends import frontend_from_dict
    from tinykws.compress import magnitude_masks, prunable_parameters, prune_channels
    from tinykws.eval.dataset import dataset_features
    from tinykws.eval.evaluate import evaluate_runner
    from tinykws.eval.runner import open_runner
    from tinykws.fileio import write_json

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(SHARED / "models/mlperf_kws_ref/kws_ref_model_float32.tflite"))
    ap.add_argument("--data", default=str(SHARED / "data/speech_commands_partial"))
    ap.add_argument("--test", default=str(SHARED / "data/sc12_test_dev"))
    ap.add_argument("--amounts", default="0.25,0.5,0.75,0.9")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--clips", type=int, default=3000)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--test-limit", type=int, default=0, help="score on a seeded subset (0: every clip)")
    ap.add_argument("--out", default=str(REPO / "bench/results/pruning_curves.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)

    src = open_runner("torch", args.model)
    info, fe = src.info, frontend_from_dict(src.info.frontend)
    base = src.model.eval()
    train = dataset_features(args.data, "train", fe, info.labels, limit=args.clips, seed=1, progress=False)
    calib = dataset_features(args.data, "train", fe, info.labels, limit=500, seed=0, progress=False)
    test = dataset_features(args.test, "test", fe, info.labels, limit=args.test_limit or None, progress=False)
    rows = [dict(kind="dense", amount=0.0, **measure(base, info, test, calib, args.runs))]
    print(rows[-1], flush=True)
    for amount in [float(a) for a in args.amounts.split(",")]:
        for kind in ("structured", "unstructured-layer", "unstructured-global"):
            start = time.time()
            model = copy.deepcopy(base)
            masks = None
            if kind == "structured":
                model = prune_channels(model, amount, "l1")
            else:
                masks = magnitude_masks(prunable_parameters(model), amount, kind.split("-")[1])
                with torch.no_grad():
                    for name, p in prunable_parameters(model).items():
                        p.mul_(masks[name])
            from tinykws.train.runner import TorchRunner

            one_shot = TorchRunner(model, info.labels, info.frontend, tuple(info.input.shape[:2]), "one-shot")
            one_shot_top1 = round(100 * float(evaluate_runner(one_shot, test).result.top1), 2)
            model = finetune(model, base, train.features, args.epochs, args.lr, masks)
            row = dict(kind=kind, amount=amount, one_shot_top1=one_shot_top1,
                       **measure(model, info, test, calib, args.runs))
            row["seconds"] = round(time.time() - start, 1)
            rows.append(row)
            print(row, flush=True)

    print(f"\n{'kind':<20}{'amount':>7}{'params':>9}{'non-zero':>10}{'MACs':>11}{'f32 B':>9}{'int8 B':>8}"
          f"{'f32 ms':>8}{'int8 ms':>8}{'1-shot %':>9}{'tuned %':>8}{'int8 %':>7}")
    for r in rows:
        print(f"{r['kind']:<20}{r['amount']:>7.2f}{r['params']:>9,}{r['nonzero_params']:>10,}{r['macs']:>11,}"
              f"{r['float32_bytes']:>9,}{r['int8_bytes']:>8,}{r['float32_ms']:>8.3f}{r['int8_ms']:>8.3f}"
              f"{r.get('one_shot_top1', r['top1']):>9.2f}{r['top1']:>8.2f}{r['int8_top1']:>7.2f}")
    result = {"model": args.model, "finetune": {"epochs": args.epochs, "clips": len(train), "lr": args.lr,
                                                "loss": "distillation from the unpruned model (T=2)"},
              "test": {"data": args.test, "clips": len(test)},
              "latency": f"LiteRT optimized kernels, 1 thread, median of {args.runs} single inferences",
              "rows": rows}
    out = Path(args.out)
    write_json(out, result)
    plot(rows, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")


def plot(rows: list[dict], path: Path) -> None:
    from _common import finish_png

    from tinykws.report.plots import pyplot

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4), sharey=True)
    dense = next(r for r in rows if r["kind"] == "dense")
    for ax, (key, label) in zip(axes, (("nonzero_params", "non-zero parameters"), ("macs", "MACs (dense)"),
                                       ("float32_ms", "LiteRT float32 ms (measured)"))):
        for kind, style in (("structured", "o-"), ("unstructured-layer", "s-"), ("unstructured-global", "^-")):
            pts = [dense] + [r for r in rows if r["kind"] == kind]
            ax.plot([r[key] for r in pts], [r["top1"] for r in pts], style, label=f"{kind}, fine-tuned")
            ax.plot([r[key] for r in pts], [r.get("one_shot_top1", r["top1"]) for r in pts], style, alpha=0.35,
                    label=f"{kind}, one-shot")
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    finish_png(fig, path, "top-1 on sc12_test_dev (%)", axes)


if __name__ == "__main__":
    main()
