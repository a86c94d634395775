"""The MLPerf reference float .tflite imported into tinykws' `ds_cnn`, checked against LiteRT.

Imports ../shared/models/mlperf_kws_ref/kws_ref_model_float32.tflite into
`ds_cnn(batch_norm=False)` (tinykws.models.tflite_import), computes `mlperf_mfcc` features of
every clip of ../shared/data/sc12_test_dev and reports:
- top-1 accuracy of the imported PyTorch model (overall and per class);
- the same for ai-edge-litert running the .tflite file itself. That file is a dynamic-range
  model (its regular and 1x1 convolutions hold int8 weights), so LiteRT quantizes the
  activations on the fly in those layers: its outputs are not plain float arithmetic;
- the largest output differences between PyTorch and LiteRT, both on the file as it is and on
  a copy with the int8 weights stored as the float32 values they stand for (every kernel in
  float: the comparison that proves the import exact). Probabilities (after SOFTMAX) and
  logits (the FULLY_CONNECTED output) are both compared.

    .venv/bin/python bench/ref_float_import.py [--data DIR] [--model M.tflite] [--limit N]

Prints a table and writes JSON (default bench/results/ref_float_import.json).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _common, also when imported by path
from _common import REPO, SHARED, reference_features  # noqa: E402



def litert_outputs(model_bytes: bytes, features: np.ndarray, logits_tensor: int,
                   resolver: str) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, logits) from LiteRT, one clip per invocation."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # preserve_all_tensors (to read the logits) warns that it is meant for debugging: it is.
    warnings.filterwarnings("ignore", message=".*experimental_preserve_all_tensors.*")
    interp = Interpreter(model_content=model_bytes, num_threads=1,
                         experimental_op_resolver_type=getattr(OpResolverType, resolver),
                         experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    probs = np.empty((len(features), out["shape"][-1]), np.float32)
    logits = np.empty_like(probs)
    for i, x in enumerate(features):
        interp.set_tensor(inp["index"], x.reshape(inp["shape"]))
        interp.invoke()
        probs[i] = interp.get_tensor(out["index"])[0]
        logits[i] = interp.get_tensor(logits_tensor).reshape(-1)
    return probs, logits


def torch_outputs(model_path: Path, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, logits) of the model imported into PyTorch (runtime "torch")."""
    from tinykws.eval.runner import open_runner, output_scores, run_batches

    with open_runner("torch", model_path) as runner:
        logits = run_batches(runner, features)
        return output_scores(logits, runner.info).astype(np.float32), logits


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> tuple[float, dict[str, float]]:
    """Top-1 accuracy and per-class accuracy, percent."""
    from tinykws.data.labels import MLPERF_LABELS

    pred = outputs.argmax(axis=1)
    per_class = {name: float(100 * np.mean(pred[labels == i] == i)) for i, name in enumerate(MLPERF_LABELS)
                 if np.any(labels == i)}
    return float(100 * np.mean(pred == labels)), per_class


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=SHARED / "data" / "sc12_test_dev")
    ap.add_argument("--model", type=Path,
                    default=SHARED / "models" / "mlperf_kws_ref" / "kws_ref_model_float32.tflite")
    ap.add_argument("--limit", type=int, default=None, help="a seeded subset of N clips (default: all)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ref_float_import.json")
    args = ap.parse_args(argv)

    import torch

    from tinykws.data.labels import MLPERF_LABELS
    from tinykws.fileio import write_json
    from tinykws.formats.tflite_reader import read_tflite
    from tinykws.formats.tflite_writer import tflite_bytes
    from tinykws.models.tflite_import import import_float_tflite, with_float_weights

    torch.set_num_threads(1)
    imported = import_float_tflite(args.model, "ds_cnn")
    tfl = read_tflite(args.model)
    fc_op = next(op for op in tfl.main.operators if op.opcode == "FULLY_CONNECTED")
    variants = {
        "file": args.model.read_bytes(),
        "float_weights": tflite_bytes(with_float_weights(tfl)),
    }

    t0 = time.perf_counter()
    data = reference_features(args.data, args.limit)
    features, labels = data.features, data.targets
    feature_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    torch_probs, torch_logits = torch_outputs(args.model, features)
    torch_seconds = time.perf_counter() - t0
    results = {"pytorch_import": {"accuracy": accuracy(torch_probs, labels)[0],
                                  "per_class": accuracy(torch_probs, labels)[1],
                                  "seconds": torch_seconds}}
    for variant, blob in variants.items():
        for resolver in ("BUILTIN_REF", "AUTO"):
            t0 = time.perf_counter()
            probs, logits = litert_outputs(blob, features, fc_op.outputs[0], resolver)
            acc, per_class = accuracy(probs, labels)
            results[f"litert_{variant}_{resolver}"] = {
                "accuracy": acc,
                "per_class": per_class,
                "max_abs_prob_diff_vs_pytorch": float(np.abs(probs - torch_probs).max()),
                "max_abs_logit_diff_vs_pytorch": float(np.abs(logits - torch_logits).max()),
                "top1_disagreements_vs_pytorch": int(np.sum(probs.argmax(1) != torch_probs.argmax(1))),
                "seconds": time.perf_counter() - t0,
            }

    print(f"{args.model.name} imported into ds_cnn(batch_norm=False): {len(imported.layers)} layers, "
          f"{sum(l.dequantized for l in imported.layers)} dequantized from int8")
    print(f"{len(labels)} clips of {args.data}, front-end mlperf_mfcc")
    names = list(results)
    print(f"{'class':<10}" + "".join(f"{n:>32}" for n in names))
    for name in MLPERF_LABELS:
        print(f"{name:<10}" + "".join(f"{results[n]['per_class'].get(name, float('nan')):>31.1f}%" for n in names))
    print(f"{'overall':<10}" + "".join(f"{results[n]['accuracy']:>31.2f}%" for n in names))
    for n in names[1:]:
        r = results[n]
        print(f"{n}: max |dprob| {r['max_abs_prob_diff_vs_pytorch']:.2e}, max |dlogit| "
              f"{r['max_abs_logit_diff_vs_pytorch']:.2e}, top-1 disagreements {r['top1_disagreements_vs_pytorch']}")

    report = {
        "benchmark": "ref_float_import",
        "data": str(args.data),
        "model": str(args.model),
        "frontend": "mlperf_mfcc",
        "clips": int(len(labels)),
        "feature_seconds": feature_seconds,
        "imported_layers": [vars(layer) | {"weight_shape": list(layer.weight_shape)} for layer in imported.layers],
        "results": results,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "command": " ".join([os.path.relpath(sys.argv[0], REPO)] + (argv if argv is not None else sys.argv[1:])),
    }
    write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
