"""How fast and how big is tinykws' generated C on an emulated Cortex-M4?

For the MLPerf Tiny KWS reference model and a ds_cnn trained by tinykws, on qemu
mps2-an386 (gcc -O2, Cortex-M4F), instructions counted exactly with -icount:
- the profile (`tinykws profile`, `tinykws.profile.model`): instructions per inference and
  per layer, instructions per MAC, the model's flash and RAM (arena, data, bss, stack
  peak), against the issue's budgets (<= 7.7 M instructions, RAM <= 16 KiB, flash <= 48 KiB)
  and TFLite Micro; and the split of one keyword decision (the C front-end on the first
  "yes" clip of sc12_test_dev, the network on the device's features, post-processing);
- every kws01 input (1,000, reference model) through `run_c_qemu`: outputs compared with
  the numpy runtime in TFLite Micro arithmetic, top-1, the instruction range;
- the sc12_test_dev clips through the "c-qemu-m4" runner: bit-exactness, top-1, wall time;
- the -icount count of one inference against the execution trace (`tinykws.mcu.trace`).
Printed beside the TFLite Micro anchors of ../shared/anchors/tflm_m4/results.md, or
re-measured in the same run when --tflm-work names a folder where that anchor's build.sh
has run (its app/ is rebuilt and run for the reference and CMSIS-NN kernels at -O2, for
the reference model on the first kws01 input and for the trained model, in its own build
folders, on the decision clip's features).

    .venv/bin/python bench/mcu.py [--trained DIR] [--tflm-work DIR] [--jobs N] [--skip-sc12] [--skip-trace]

--trained: a `tinykws quantize` folder; default runs/bench_mcu/ds_cnn_int8, made on first
use by training recipes/ds_cnn_sc12.yaml for 3 epochs and quantizing it (a few minutes;
its accuracy does not matter for these figures, which depend on the architecture).
Writes JSON (default bench/results/mcu.json).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, SHARED, reference_features  # noqa: E402

from tinykws.codegen import generate_project  # noqa: E402
from tinykws.eval.runner import identical_count, open_runner, run_batches, runner_inputs  # noqa: E402
from tinykws.fileio import write_json  # noqa: E402
from tinykws.intmodel import intmodel_from_tflite, run  # noqa: E402
from tinykws.mcu.boards import get_board  # noqa: E402
from tinykws.mcu.firmware import build_firmware  # noqa: E402
from tinykws.mcu.harness import run_harness  # noqa: E402
from tinykws.mcu.project import from_codegen  # noqa: E402
from tinykws.mcu.runner import QemuModel  # noqa: E402
from tinykws.mcu.toolchain import find_toolchain  # noqa: E402
from tinykws.mcu.trace import trace_count  # noqa: E402
from tinykws.profile.model import profile_model  # noqa: E402

BOARD = "mps2-an386"
REF_MODEL = SHARED / "models" / "mlperf_kws_ref" / "kws_ref_model.tflite"
KWS01 = SHARED / "mlperf_tiny" / "kws" / "kws01"
ANCHOR_DIR = SHARED / "anchors" / "tflm_m4"
# TFLite Micro on the same emulated board and model, -O2 (anchors/tflm_m4/results.md,
# measured 2026-11-29): instructions per inference, and per layer (op index: reference,
# CMSIS-NN; a range where the four repeated layers differ).
TFLM_TOTAL = {"reference": 43_092_067, "cmsis_nn": 7_701_797}
TFLM_ARENA = {"reference": 22_772, "cmsis_nn": 22_820}
TFLM_LAYERS = {
    0: ("14,192,988", "1,118,444"), 1: ("3,032,825-3,040,616", "561,396"), 2: ("4,162,422-4,170,493", "1,069,289"),
    9: ("65,909", "51,015"), 10: ("216", "216"), 11: ("6,552", "2,502"), 12: ("5,898", "6,571"),
}
for _dw, _pw in ((3, 4), (5, 6), (7, 8)):
    TFLM_LAYERS[_dw], TFLM_LAYERS[_pw] = TFLM_LAYERS[1], TFLM_LAYERS[2]
# The issue's budgets for one inference on the M4: instructions, RAM (arena + data + bss +
# stack peak) and flash (code + weights + tables), the last two in KiB.
BUDGET = {"instructions": 7_700_000, "ram_bytes": 16 * 1024, "flash_bytes": 48 * 1024}


def kws01_inputs() -> tuple[np.ndarray, np.ndarray]:
    """(1000, 490) int8 inputs and their labels, in y_labels.csv order."""
    rows = [line.split(",") for line in (KWS01 / "y_labels.csv").read_text().splitlines() if line.strip()]
    inputs = np.stack([np.fromfile(KWS01 / name, dtype=np.int8) for name, _, _ in rows])
    return inputs, np.array([int(label) for _, _, label in rows])


def generated(model_path: Path, out_dir: Path):
    intmodel = intmodel_from_tflite(model_path, "tflite_micro")
    return intmodel, from_codegen(generate_project(intmodel, out_dir), intmodel)


def trained_model(path: Path | None, jobs: int) -> Path:
    """A quantize folder of a short ds_cnn training run (made once, then reused)."""
    folder = path or REPO / "runs" / "bench_mcu" / "ds_cnn_int8"
    if (folder / "model.tflite").is_file():
        return folder
    if path is not None:
        raise SystemExit(f"{path}: no model.tflite")
    run_dir = folder.parent / "ds_cnn"
    tinykws = [sys.executable, "-m", "tinykws", "--threads", str(jobs)]
    print("training a ds_cnn for 3 epochs (recipes/ds_cnn_sc12.yaml) ...", flush=True)
    subprocess.run(tinykws + ["train", str(REPO / "recipes" / "ds_cnn_sc12.yaml"), "--out", str(run_dir),
                              "--set", "train.epochs=3", "--set", f"train.threads={jobs}", "--no-progress"],
                   check=True)
    subprocess.run(tinykws + ["quantize", str(run_dir), "--data", str(SHARED / "data" / "speech_commands_partial"),
                              "--out", str(folder), "--calib", "300"], check=True)
    return folder


def decision_clip() -> Path:
    """The clip of the decision split: the first "yes" recording of sc12_test_dev."""
    return sorted((SHARED / "data" / "sc12_test_dev" / "yes").iterdir())[0]


def profile_row(path: Path, clip: Path) -> dict:
    """`tinykws profile MODEL --clip CLIP` as JSON, with the budgets checked."""
    profile = profile_model(path, target="cortex-m4", clip=clip).to_dict()
    m = profile["model_footprint"]
    profile["budget"] = {**BUDGET, "instructions_ok": profile["instructions_per_inference"] <= BUDGET["instructions"],
                         "ram_ok": m["ram"] <= BUDGET["ram_bytes"], "flash_ok": m["flash"] <= BUDGET["flash_bytes"]}
    return profile


def trace_check(project, inputs: np.ndarray, work: Path) -> dict:
    """The -icount count and the trace count of the same inference."""
    board = get_board(BOARD)
    firmware = build_firmware(project.c_project, board, work / "trace_fw")
    measured = run_harness(firmware, inputs[:1], input_bytes=project.input_bytes)
    run_dir = work / "trace_run"
    run_dir.mkdir(exist_ok=True)
    (run_dir / "tkws_in.bin").write_bytes(np.ascontiguousarray(inputs[:1]).tobytes())
    start = time.perf_counter()
    traced = trace_count(firmware.elf, board, watch=["tkws_invoke"], cwd=run_dir, timeout_s=3600)
    top = {k: v for k, v in list(traced.per_function.items())[:8]}
    return {"icount_instructions": int(measured.instructions[0]), "trace_instructions": int(traced.calls["tkws_invoke"][0]),
            "agree": int(measured.instructions[0]) == int(traced.calls["tkws_invoke"][0]),
            "trace_seconds": round(time.perf_counter() - start, 1), "trace_top_functions": top}


def kws01_run(intmodel, project, jobs: int) -> dict:
    inputs, labels = kws01_inputs()
    model = QemuModel(project, BOARD, jobs=jobs)
    start = time.perf_counter()
    result = model.run(inputs)
    seconds = time.perf_counter() - start
    expected = run(intmodel, inputs.reshape(len(inputs), *intmodel.input_tensors[0].shape[1:])).output
    same, lsb = identical_count(result.outputs, expected)
    return {"inputs": len(inputs), "identical_to_numpy_tflite_micro": same, "max_lsb": lsb,
            "top1_percent": round(100.0 * float(np.mean(result.outputs.argmax(1) == labels)), 2),
            "instructions_min": int(result.instructions.min()), "instructions_max": int(result.instructions.max()),
            "instructions_mean": round(float(result.instructions.mean()), 1),
            "stack_bytes_max": int(result.stack_bytes.max()), "seconds": round(seconds, 1), "jobs": jobs}


def sc12_run(model_path: Path, jobs: int) -> dict:
    data = reference_features(SHARED / "data" / "sc12_test_dev")
    with open_runner("reference", model_path, arithmetic="tflite_micro") as ref:
        expected = run_batches(ref, runner_inputs(data.features, ref.info.input))
    with open_runner("c-qemu-m4", model_path, jobs=jobs) as runner:
        inputs = runner_inputs(data.features, runner.info.input)
        start = time.perf_counter()
        outputs = run_batches(runner, inputs, batch_size=len(inputs))
        seconds = time.perf_counter() - start
        counts = np.array(runner.instructions)
    same, lsb = identical_count(outputs, expected)
    return {"clips": len(inputs), "identical_to_numpy_tflite_micro": same, "max_lsb": lsb,
            "top1_percent": round(100.0 * float(np.mean(outputs.argmax(1) == data.targets)), 2),
            "instructions_min": int(counts.min()), "instructions_max": int(counts.max()),
            "seconds": round(seconds, 1), "jobs": jobs}


def clip_input(model_path: Path, clip: Path) -> np.ndarray:
    """The int8 network input of `clip` as tinykws feeds the model (its numpy front-end,
    then TFLite's QUANTIZE with the input tensor's scale and zero point)."""
    from tinykws.codegen.frontends.generate import resolve_frontend
    from tinykws.codegen.frontends.pipeline import example_clip
    from tinykws.codegen.source import load_network
    from tinykws.intmodel.quantize_io import quantize

    source = load_network(model_path, with_frontend=True)
    frontend = resolve_frontend(source.frontend)
    pcm, _ = example_clip(clip, frontend)
    floats = (pcm.astype(np.float32) / np.float32(32768))[None]
    return quantize(frontend.compute_batch(floats), source.model.input_tensors[0]).reshape(-1)


def tflm_remeasure(work: Path, model: Path, model_input: Path, tag: str | None = None) -> dict:
    """Build and run the TFLite Micro anchor firmware (reference and CMSIS-NN kernels, -O2)
    of a build.sh work folder for `model` on `model_input` (int8 bytes); `tag` gives the
    builds their own folders (the default ones hold the MLPerf reference model)."""
    app = work / "app"
    env = {**os.environ, "MODEL": str(model), "KWSIN": str(model_input)}
    found = {}
    for kernels, key in (("ref", "reference"), ("cmsis", "cmsis_nn")):
        make = ["make", "-C", str(app), f"KERNELS={kernels}", "OPT=-O2", f"SRC={work / 'src'}"]
        if tag:
            make.append(f"BUILD=build/{tag}_{kernels}_O2")
        subprocess.run(make + ["-j2"], check=True, capture_output=True, env=env)
        out = subprocess.run(make + ["-s", "run"], check=True, capture_output=True, text=True, env=env, timeout=600)
        text = out.stdout + out.stderr
        total = re.search(r"invoke_insns\[kws01\]=(\d+)", text)
        arena = re.search(r"arena_used_bytes=(\d+)", text)
        layers = [int(n) for n in re.findall(r"^layer\s+\d+\s+\S+\s+insns=(\d+)", text, re.M)]
        found[key] = {"instructions": int(total.group(1)) if total else None,
                      "arena_bytes": int(arena.group(1)) if arena else None, "layers": layers}
    return found


def tflm_of(results: dict, name: str) -> dict:
    """TFLite Micro's figures for model `name`: re-measured in this run, else (the MLPerf
    reference model only) the recorded anchors, else {}."""
    if results["models"][name].get("tflm"):
        return results["models"][name]["tflm"]
    if name == "mlperf_ref":
        return {key: {"instructions": TFLM_TOTAL[key], "arena_bytes": TFLM_ARENA[key], "layers": []}
                for key in TFLM_TOTAL}
    return {}


def print_tables(results: dict) -> None:
    ref = results["models"]["mlperf_ref"]["profile"]
    tflm = results["models"]["mlperf_ref"].get("tflm") or {}
    print(f"\nMLPerf KWS reference (DS-CNN) on qemu {BOARD}, gcc -O2; instructions (qemu counts instructions, not cycles)")
    print(f"{'#':>2} {'op':<18} {'MACs':>9} {'tinykws C':>11} {'instr/MAC':>9} {'TFLM ref':>21} {'TFLM CMSIS-NN':>13}")
    for layer in ref["layers"]:
        anchor = TFLM_LAYERS.get(layer["index"], ("", ""))
        if tflm.get("cmsis_nn", {}).get("layers"):
            anchor = (f"{tflm['reference']['layers'][layer['index']]:,}", f"{tflm['cmsis_nn']['layers'][layer['index']]:,}")
        per_mac = f"{layer['instructions_per_mac']:.2f}" if layer["instructions_per_mac"] else ""
        print(f"{layer['index']:>2} {layer['op']:<18} {layer['macs']:>9,} {layer['instructions']:>11,} {per_mac:>9} "
              f"{anchor[0]:>21} {anchor[1]:>13}")
    ref_total = tflm_of(results, "mlperf_ref")["reference"]["instructions"]
    cmsis_total = tflm_of(results, "mlperf_ref")["cmsis_nn"]["instructions"]
    print(f"   {'total':<18} {ref['macs']:>9,} {ref['instructions_per_inference']:>11,} "
          f"{ref['instructions_per_mac']:>9.2f} {ref_total:>21,} {cmsis_total:>13,}")
    print(f"TFLM figures: {'re-measured in this run' if tflm else 'recorded anchors, ' + str(ANCHOR_DIR / 'results.md')}")
    print("\nmodel        instr/inference  instr/MAC  flash B (text+rodata+data)  RAM B (data+bss+stack)  arena B")
    for name, entry in results["models"].items():
        p = entry["profile"]
        m = p["model_footprint"]
        print(f"{name:<12} {p['instructions_per_inference']:>15,} {p['instructions_per_mac'] or 0:>10.2f} "
              f"{m['flash']:>10,} ({m['text']:,}+{m['rodata']:,}+{m['data']:,}) {m['ram']:>9,} "
              f"({m['data']:,}+{m['bss']:,}+{m['stack']:,}) {p['arena_bytes']:>8,}")
    print_budgets(results)
    print_decisions(results)
    for name, entry in results["models"].items():
        for key in ("quantize_summary", "kws01", "sc12", "trace"):
            if key in entry:
                print(f"{name} {key}: {entry[key]}")


def print_budgets(results: dict) -> None:
    print(f"\nagainst the budgets (<= {BUDGET['instructions'] / 1e6:.1f} M instructions, RAM <= "
          f"{BUDGET['ram_bytes']:,} B, flash <= {BUDGET['flash_bytes']:,} B) and TFLite Micro running the same "
          "model on the same board (-O2):")
    print(f"{'model':<16} {'MACs':>10} {'instructions':>13} {'budget':>6} {'RAM B':>7} {'budget':>6} {'flash B':>8} "
          f"{'budget':>6} {'arena B':>8} {'TFLM ref':>11} {'TFLM CMSIS-NN':>13} {'TFLM arena B':>12}")
    for name, entry in results["models"].items():
        p, b = entry["profile"], entry["profile"]["budget"]
        m = p["model_footprint"]
        tflm = tflm_of(results, name)
        ref, cmsis = (tflm.get(k, {}) for k in ("reference", "cmsis_nn"))
        print(f"{name:<16} {p['macs']:>10,} {p['instructions_per_inference']:>13,} "
              f"{'ok' if b['instructions_ok'] else 'OVER':>6} {m['ram']:>7,} {'ok' if b['ram_ok'] else 'OVER':>6} "
              f"{m['flash']:>8,} {'ok' if b['flash_ok'] else 'OVER':>6} {p['arena_bytes']:>8,} "
              f"{ref.get('instructions') or 0:>11,} {cmsis.get('instructions') or 0:>13,} "
              f"{cmsis.get('arena_bytes') or 0:>12,}")
    where = "re-measured in this run" if any(e.get("tflm") for e in results["models"].values()) else \
        "recorded anchors (" + str(ANCHOR_DIR / "results.md") + ")"
    print(f"TFLM figures: {where}; 0 where not measured")


def print_decisions(results: dict) -> None:
    for name, entry in results["models"].items():
        split = entry["profile"].get("decision")
        if not split:
            print(f"\n{name}: no decision split ({'; '.join(entry['profile']['notes'])})")
            continue
        print(f"\n{name}: one keyword decision on {split['clip']} ({split['per']}): {split['instructions']:,} "
              f"instructions, top class {split['label']}")
        for stage in split["stages"]:
            print(f"  {stage['name']:<16} {stage['instructions']:>11,} {100 * stage['share']:>7.2f} %  "
                  f"stack {stage['stack_bytes']:>4} B  static RAM {stage['static_ram_bytes']:>6,} B  "
                  f"flash {stage['flash_bytes']:>6,} B  {stage['what']}")
        print(f"  whole decision: flash {split['flash_bytes']:,} B (budget of one inference {BUDGET['flash_bytes']:,}), "
              f"RAM {split['ram_bytes']:,} B (static + deepest stack; budget {BUDGET['ram_bytes']:,})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trained", type=Path, default=None)
    parser.add_argument("--tflm-work", type=Path, default=None)
    parser.add_argument("--jobs", type=int, default=1, help="qemu processes for the batch runs (default 1)")
    parser.add_argument("--skip-sc12", action="store_true")
    parser.add_argument("--skip-trace", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "mcu.json")
    args = parser.parse_args(argv)

    tools = find_toolchain()
    results: dict = {"board": BOARD, "toolchain": tools.describe(), "models": {}}
    models = {"mlperf_ref": REF_MODEL, "tinykws_ds_cnn": trained_model(args.trained, args.jobs) / "model.tflite"}
    clip = decision_clip()
    with tempfile.TemporaryDirectory(prefix="tkws_bench_mcu_") as tmp:
        for name, path in models.items():
            work = Path(tmp) / name
            if name == "mlperf_ref":  # the kws01 run and the trace need the project; profile_row makes its own
                intmodel, project = generated(path, work / "project")
            entry = {"model": str(path), "profile": profile_row(path, clip)}
            summary = path.parent / "summary.json"
            if summary.is_file():  # a `tinykws quantize` folder: what the model scores
                facts = json.loads(summary.read_text())
                entry["quantize_summary"] = {k: facts.get(k) for k in ("accuracy", "test_source", "size_bytes")}
            if name == "mlperf_ref":
                entry["kws01"] = kws01_run(intmodel, project, args.jobs)
            if not args.skip_sc12:
                entry["sc12"] = sc12_run(path, args.jobs)
            if not args.skip_trace and name == "mlperf_ref":
                entry["trace"] = trace_check(project, kws01_inputs()[0], work)
            if args.tflm_work and name == "mlperf_ref":
                entry["tflm"] = tflm_remeasure(args.tflm_work, path, KWS01 / "tst_000000_Stop_7.bin")
            elif args.tflm_work:
                model_input = work / "clip_input.bin"
                model_input.write_bytes(clip_input(path, clip).tobytes())
                entry["tflm"] = tflm_remeasure(args.tflm_work, path, model_input, tag=name)
                entry["tflm"]["input"] = f"{clip.name}, numpy front-end, quantized as the model input"
            results["models"][name] = entry
    results["tflm_anchor"] = {"source": str(ANCHOR_DIR / "results.md"), "instructions": TFLM_TOTAL,
                              "arena_bytes": TFLM_ARENA}
    print_tables(results)
    write_json(args.out, results)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
