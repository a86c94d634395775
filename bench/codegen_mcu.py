"""Instructions per layer of the generated C for the MLPerf KWS reference model on an
emulated Cortex-M4, for several DSP block sizes, beside TFLite Micro's anchors.

For each --blocks value (output pixels the DSP convolutions prepare at once; more is
faster and needs more arena), the reference model is generated in TFLite Micro arithmetic
and profiled on qemu mps2-an386 (gcc -O2, tinykws.profile.mcu: exact -icount counts,
per layer with the TKWS_LAYER hooks) on the first kws01 input and two more; the model's
flash, arena and stack peak come from the same profile. The Cortex-M3 (mps2-an385, the
portable C path) is profiled once. Then every kws01 input runs through the default build
on the M4 and its outputs are compared with the numpy runtime.

    .venv/bin/python bench/codegen_mcu.py [--blocks 8,16,32] [--jobs N] [--out FILE]

Prints a table and writes JSON (default bench/results/codegen_mcu.json).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, SHARED  # noqa: E402
from mcu import TFLM_ARENA, TFLM_LAYERS, TFLM_TOTAL, kws01_inputs  # noqa: E402

from tinykws.codegen import generate_project  # noqa: E402
from tinykws.codegen.lower import DSP_BLOCK_PIXELS  # noqa: E402
from tinykws.fileio import write_json  # noqa: E402
from tinykws.intmodel import intmodel_from_tflite, run  # noqa: E402
from tinykws.mcu.project import from_codegen  # noqa: E402
from tinykws.mcu.runner import QemuModel  # noqa: E402
from tinykws.profile.mcu import profile_project  # noqa: E402

REF_MODEL = SHARED / "models" / "mlperf_kws_ref" / "kws_ref_model.tflite"


def profiled(intmodel, inputs: np.ndarray, block: int, target: str, work: Path) -> dict:
    result = generate_project(intmodel, work / f"project_{target}_{block}", block_pixels=block)
    profile = profile_project(from_codegen(result, intmodel), name=f"kws_ref block {block}", target=target,
                              inputs=inputs, work_dir=work)
    row = profile.to_dict()
    row.update(block_pixels=block, target=target, generator_arena_bytes=result.arena_bytes,
               generator_scratch_bytes=result.scratch_bytes, param_bytes=result.param_bytes)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", default="8,16,32", help="DSP block sizes to profile (default 8,16,32)")
    parser.add_argument("--jobs", type=int, default=1, help="qemu processes for the kws01 run (default 1)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "codegen_mcu.json")
    args = parser.parse_args(argv)

    intmodel = intmodel_from_tflite(REF_MODEL, "tflite_micro")
    inputs, labels = kws01_inputs()
    few = inputs[:3]
    rows = []
    with tempfile.TemporaryDirectory(prefix="tkws_codegen_mcu_") as tmp:
        work = Path(tmp)
        for block in (int(b) for b in args.blocks.split(",")):
            rows.append(profiled(intmodel, few, block, "cortex-m4", work))
        rows.append(profiled(intmodel, few, DSP_BLOCK_PIXELS, "cortex-m3", work))
        default = from_codegen(generate_project(intmodel, work / "kws01"), intmodel)
        start = time.perf_counter()
        result = QemuModel(default, "mps2-an386", jobs=args.jobs).run(inputs)
        seconds = time.perf_counter() - start
    expected = run(intmodel, inputs.reshape(len(inputs), 49, 10, 1)).output.reshape(len(inputs), -1)
    kws01 = {"inputs": len(inputs), "identical_to_numpy": int(np.sum(np.all(result.outputs == expected, axis=1))),
             "top1_percent": round(100.0 * float(np.mean(result.outputs.argmax(1) == labels)), 2),
             "instructions_min": int(result.instructions.min()), "instructions_max": int(result.instructions.max()),
             "stack_bytes_max": int(result.stack_bytes.max()), "seconds": round(seconds, 1)}

    m4 = [r for r in rows if r["target"] == "cortex-m4"]
    print(f"MLPerf KWS reference model (2,656,768 MACs), generated C, qemu; first kws01 input ({few.shape[0]} "
          "profiled). Instructions per layer:")
    header = f"{'#':>3} {'op':<17}" + "".join(f"{'M4 block ' + str(r['block_pixels']):>15}" for r in m4)
    print(header + f"{'M3 portable':>14}{'TFLM+CMSIS-NN':>15}{'TFLM ref':>20}")
    m3 = [r for r in rows if r["target"] == "cortex-m3"][0]
    for i, layer in enumerate(m4[0]["layers"]):
        ref, cmsis = TFLM_LAYERS.get(i, ("", ""))
        print(f"{i:>3} {layer['op']:<17}" + "".join(f"{r['layers'][i]['instructions']:>15,}" for r in m4)
              + f"{m3['layers'][i]['instructions']:>14,}{cmsis:>15}{ref:>20}")
    print(f"{'':>3} {'total':<17}" + "".join(f"{r['instructions_per_inference']:>15,}" for r in m4)
          + f"{m3['instructions_per_inference']:>14,}{TFLM_TOTAL['cmsis_nn']:>15,}{TFLM_TOTAL['reference']:>20,}")
    print(f"{'':>3} {'instr/MAC':<17}" + "".join(f"{r['instructions_per_mac']:>15.2f}" for r in m4)
          + f"{m3['instructions_per_mac']:>14.2f}{TFLM_TOTAL['cmsis_nn'] / 2656768:>15.2f}"
          f"{TFLM_TOTAL['reference'] / 2656768:>20.2f}")
    print(f"{'':>3} {'arena B':<17}" + "".join(f"{r['generator_arena_bytes']:>15,}" for r in m4)
          + f"{m3['generator_arena_bytes']:>14,}{TFLM_ARENA['cmsis_nn']:>15,}{TFLM_ARENA['reference']:>20,}")
    for key, name in (("flash", "model flash B"), ("ram", "model RAM B"), ("stack", "stack peak B")):
        print(f"{'':>3} {name:<17}" + "".join(f"{r['model_footprint'][key]:>15,}" for r in m4)
              + f"{m3['model_footprint'][key]:>14,}")
    print(f"kws01 on the M4 (block {DSP_BLOCK_PIXELS}): {kws01['identical_to_numpy']}/{kws01['inputs']} outputs "
          f"identical to the numpy runtime, top-1 {kws01['top1_percent']:.2f} %, instructions "
          f"{kws01['instructions_min']:,}-{kws01['instructions_max']:,}, stack {kws01['stack_bytes_max']} B, "
          f"{kws01['seconds']} s")
    write_json(args.out, {"model": str(REF_MODEL), "profiles": rows, "kws01": kws01,
                          "tflm_anchor": {"total": TFLM_TOTAL, "arena": TFLM_ARENA}})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
