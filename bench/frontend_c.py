"""The generated C front-ends against the numpy front-ends on every clip of sc12_test_dev.

For each front-end, tinykws generates frontend.c with the MLPerf reference model's input
quantization, builds it with the host compiler and runs all clips in one process:
- mlperf_mfcc (float32 C vs float64 numpy): how many int8 features differ and by how much,
  the largest float difference, and top-1 of the reference int8 model (tinykws' numpy
  integer runtime) on the C features and on the numpy features;
- mltk_kws, micro_speech, mww_40 (integer): clips whose uint16 features are identical
  (array_equal), and clips whose int8 network inputs are identical;
- with --mcu N (default 12, 0 to skip): instructions per 1 s clip on qemu mps2-an386
  (Cortex-M4F, exact counts) for the first N clips, and whether the device's int8
  features equal the host build's.

    PYTHONPATH=src .venv/bin/python bench/frontend_c.py [--data DIR] [--model M.tflite] [--mcu N]

Prints a table and writes JSON (default bench/results/frontend_c.json).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _common, also when imported by path
from _common import labelled_clips  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MICRO_PRESETS = ("mltk_kws", "micro_speech", "mww_40")


def load_pcm(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """(float32 clips as tinykws reads them, the same clips as int16 PCM), 1 s each.

    Checks that the int16 -> float mapping is exactly s / 32768 for every sample."""
    from tinykws.audio.frontends.microfrontend import float_to_int16
    from tinykws.audio.io import load_audio

    floats = np.stack([load_audio(p, length=16000) for p in paths])
    pcm = float_to_int16(floats)
    if not np.array_equal(pcm.astype(np.float32) / np.float32(32768), floats):
        raise SystemExit("some clip is not 16-bit PCM read as s / 32768")
    return floats, pcm


def top1(model, int8_features: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """(accuracy in percent, int8 outputs) of the integer network on (N, 49, 10) features."""
    from tinykws.intmodel import run

    x = int8_features[..., None]
    outputs = np.concatenate([run(model, x[i:i + 128]).output for i in range(0, len(x), 128)])
    return 100.0 * float(np.mean(outputs.argmax(axis=1) == labels)), outputs


def mfcc_row(floats, pcm, labels, model, quant, work: Path) -> dict:
    from tinykws.audio.frontends import build_frontend
    from tinykws.codegen.frontends import generate_frontend
    from tinykws.codegen.frontends.host import build_host_harness, run_host_features
    from tinykws.codegen.frontends.quantize import input_quant

    frontend = build_frontend("mlperf_mfcc")
    t0 = time.perf_counter()
    numpy_float = frontend.compute_batch(floats)
    numpy_s = time.perf_counter() - t0
    build = build_host_harness(generate_frontend(frontend, work / "mlperf_mfcc", input_quant=quant))
    t0 = time.perf_counter()
    c_int8 = run_host_features(build, pcm)
    c_s = time.perf_counter() - t0
    c_float = run_host_features(build, pcm, raw=True)
    numpy_int8 = input_quant(quant).quantize(numpy_float)
    diff = np.abs(c_int8.astype(np.int64) - numpy_int8.astype(np.int64))
    acc_numpy, out_numpy = top1(model, numpy_int8, labels)
    acc_c, out_c = top1(model, c_int8, labels)
    return {
        "frontend": "mlperf_mfcc", "clips": len(pcm), "elements": int(diff.size),
        "elements_differing": int(np.count_nonzero(diff)), "fraction_differing": float(np.mean(diff > 0)),
        "max_lsb": int(diff.max()), "clips_identical": int(np.sum(~diff.reshape(len(diff), -1).any(axis=1))),
        "max_float_difference": float(np.abs(c_float - numpy_float).max()),
        "top1_numpy_percent": acc_numpy, "top1_c_percent": acc_c,
        "predictions_differing": int(np.sum(out_numpy.argmax(1) != out_c.argmax(1))),
        "outputs_identical": int(np.sum(np.all(out_numpy == out_c, axis=1))),
        "host_c_seconds": c_s, "numpy_seconds": numpy_s,
        "build": build,
    }


def micro_row(preset, floats, pcm, quant, work: Path) -> dict:
    from tinykws.audio.frontends import build_frontend
    from tinykws.codegen.frontends import generate_frontend
    from tinykws.codegen.frontends.host import build_host_harness, run_host_features
    from tinykws.codegen.frontends.quantize import input_quant

    frontend = build_frontend(preset)
    t0 = time.perf_counter()
    numpy_u16 = frontend.features_uint16(floats)
    numpy_int8 = input_quant(quant).quantize(frontend.compute_batch(floats))
    numpy_s = time.perf_counter() - t0
    build = build_host_harness(generate_frontend(frontend, work / preset, input_quant=quant))
    t0 = time.perf_counter()
    c_int8 = run_host_features(build, pcm)
    c_s = time.perf_counter() - t0
    c_u16 = run_host_features(build, pcm, raw=True)
    same_u16 = [bool(np.array_equal(a, b)) for a, b in zip(c_u16, numpy_u16)]
    same_int8 = [bool(np.array_equal(a, b)) for a, b in zip(c_int8, numpy_int8)]
    return {
        "frontend": preset, "clips": len(pcm), "shape": list(frontend.output_shape),
        "clips_identical_uint16": int(sum(same_u16)), "clips_identical_int8": int(sum(same_int8)),
        "all_bit_exact": bool(np.array_equal(c_u16, numpy_u16) and np.array_equal(c_int8, numpy_int8)),
        "host_c_seconds": c_s, "numpy_seconds": numpy_s,
        "build": build,
    }


def mcu_figures(build, pcm: np.ndarray) -> dict:
    from tinykws.codegen.frontends.host import run_host_features
    from tinykws.profile.frontend_mcu import measure_frontend

    device = measure_frontend(build.frontend, pcm)
    result = build.frontend
    return {
        **device.summary(),
        "device_equals_host": bool(np.array_equal(device.features, run_host_features(build, pcm))),
        "table_bytes": result.table_bytes, "state_bytes": result.state_bytes, "scratch_bytes": result.scratch_bytes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "sc12_test_dev")
    parser.add_argument("--model", type=Path, default=SHARED / "models" / "mlperf_kws_ref" / "kws_ref_model.tflite")
    parser.add_argument("--per-class", type=int, default=None, help="first N clips of each class (default: all)")
    parser.add_argument("--mcu", type=int, default=12, help="clips measured on qemu (0: skip)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "frontend_c.json")
    args = parser.parse_args(argv)

    from tinykws.fileio import write_json
    from tinykws.intmodel import intmodel_from_tflite

    paths, labels = labelled_clips(args.data, args.per_class)
    floats, pcm = load_pcm(paths)
    model = intmodel_from_tflite(args.model)
    tensor = model.input_tensors[0]
    quant = (float(tensor.scale), int(tensor.zero_point))
    rows = []
    with tempfile.TemporaryDirectory(prefix="frontend_c_") as tmp:
        work = Path(tmp)
        rows.append(mfcc_row(floats, pcm, labels, model, quant, work))
        rows += [micro_row(preset, floats, pcm, quant, work) for preset in MICRO_PRESETS]
        if args.mcu > 0:
            subset = pcm[np.linspace(0, len(pcm) - 1, min(args.mcu, len(pcm))).astype(int)]
            for row in rows:
                row["mcu"] = mcu_figures(row["build"], subset)
    for row in rows:
        row.pop("build")

    m = rows[0]
    print(f"sc12_test_dev: {len(pcm)} clips; network input quantization scale {quant[0]:.6g}, zero point {quant[1]}")
    print(f"mlperf_mfcc (C float32 vs numpy float64): {m['elements_differing']} of {m['elements']:,} int8 values "
          f"differ ({100 * m['fraction_differing']:.4f} %), at most {m['max_lsb']} LSB; "
          f"{m['clips_identical']} clips identical; largest float difference {m['max_float_difference']:.3g}")
    print(f"  reference int8 model top-1: numpy features {m['top1_numpy_percent']:.2f} %, C features "
          f"{m['top1_c_percent']:.2f} % ({m['predictions_differing']} predictions and "
          f"{len(pcm) - m['outputs_identical']} int8 outputs differ)")
    header = f"{'front-end':<13} {'uint16 identical':>17} {'int8 identical':>15} {'C s':>6} {'numpy s':>8}"
    print(header)
    for r in rows[1:]:
        print(f"{r['frontend']:<13} {r['clips_identical_uint16']:>10}/{r['clips']:<6} "
              f"{r['clips_identical_int8']:>8}/{r['clips']:<6} {r['host_c_seconds']:>6.2f} {r['numpy_seconds']:>8.2f}")
    if args.mcu > 0:
        print(f"\nCortex-M4F (qemu {rows[0]['mcu']['board']}, -O2), instructions per 1 s clip over "
              f"{rows[0]['mcu']['clips']} clips:")
        print(f"{'front-end':<13} {'min':>11} {'median':>11} {'max':>11} {'stack B':>8} {'tables B':>9} "
              f"{'RAM B':>6} {'= host':>7}")
        for r in rows:
            c = r["mcu"]
            print(f"{r['frontend']:<13} {c['instructions_min']:>11,} {c['instructions_median']:>11,} "
                  f"{c['instructions_max']:>11,} {c['stack_bytes_max']:>8} {c['table_bytes']:>9} "
                  f"{c['state_bytes'] + c['scratch_bytes']:>6} {str(c['device_equals_host']):>7}")
    write_json(args.out, {
        "data": str(args.data), "model": str(args.model), "clips": len(pcm),
        "input_quantization": {"scale": quant[0], "zero_point": quant[1]},
        "rows": rows, "python": platform.python_version(), "machine": platform.machine(),
    })
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
