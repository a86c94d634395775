"""`generate_project`: an IntModel becomes a self-contained C99 project folder.

Written files: `<name>.h` / `<name>.c` (the network), the kernel and post-processing
sources `tkws_*.c/h` (copied from the package), `main.c` (example), `Makefile` and
`manifest.json`, plus any extra files the caller adds (a front-end, board glue). Given a
board's `MemoryBudget`, a project that cannot fit it is refused before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from tinykws import __version__
from tinykws.codegen.fit import FitCheck, MemoryBudget, PartCost, check_fit
from tinykws.codegen.lower import DSP_BLOCK_PIXELS, KernelCall, lower_op
from tinykws.codegen.postprocess import POSTPROCESS_FILES
from tinykws.codegen.render import layer_label, render_header, render_source
from tinykws.codegen.scaffold import example_main, makefile
from tinykws.errors import ConfigError, UnsupportedOpError
from tinykws.fileio import write_json, write_text
from tinykws.intmodel.graph import IntModel
from tinykws.intmodel.memory import MemoryPlan, plan_memory
from tinykws.intmodel.runtime import run

PROJECT_FORMAT = "tinykws-c-project"
KERNEL_FILES = ("tkws_kernels.h", "tkws_fixedpoint.h", "tkws_broadcast.h", "tkws_dsp.h", "tkws_conv.c",
                "tkws_depthwise.c", "tkws_fc.c", "tkws_pool.c", "tkws_elementwise.c", "tkws_softmax.c",
                "tkws_slice.c", "tkws_gated.c", *POSTPROCESS_FILES)
_LISTED_INPUT_BYTES = 2048  # test inputs up to this size are listed in the manifest, larger ones only hashed


@dataclass(frozen=True)
class LayerInfo:
    """One op of the generated code: `name` is its output tensor's name, `kernel` the C
    function, `param_bytes` its constant arrays (weights, bias, multipliers, shifts) in
    bytes, `scratch_bytes` its kernel scratch, `in_place` whether it overwrites its input."""

    index: int
    name: str
    kind: str
    kernel: str
    summary: str
    output_shape: tuple[int, ...]
    macs: int
    param_bytes: int
    scratch_bytes: int
    in_place: bool

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "output_shape": list(self.output_shape)}


@dataclass(frozen=True)
class CodegenResult:
    """What `generate_project` wrote. `sources` are the library's C files (the network, the
    kernels, post-processing and extra files; not main.c), `include_dirs` what to pass as
    -I, sizes in bytes; `fit` what was checked against a board, if one was given."""

    out_dir: Path
    name: str
    sources: tuple[Path, ...]
    include_dirs: tuple[Path, ...]
    header: Path
    main: Path
    makefile: Path
    manifest: Path
    arena_bytes: int
    scratch_bytes: int
    input_bytes: int
    output_bytes: int
    output_shapes: tuple[tuple[int, ...], ...]
    param_bytes: int
    macs: int
    arithmetic: str
    layers: tuple[LayerInfo, ...]
    plan: MemoryPlan
    fit: FitCheck | None = None

    @property
    def source_hash(self) -> str:
        """SHA-256 over every source and header of the library (changes when any byte does)."""
        digest = hashlib.sha256()
        for path in sorted({*self.sources, *self.out_dir.glob("*.h")}):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()


def model_contract(model: IntModel) -> tuple[list[str] | None, Any]:
    """Labels and front-end from the model's metadata (direct keys, or the manifest
    tinykws embeds in its .tflite files)."""
    meta = model.metadata or {}
    labels, frontend = meta.get("labels"), meta.get("frontend")
    embedded = (meta.get("tflite_metadata") or {}).get("tinykws")
    if embedded is not None and (labels is None or frontend is None):
        try:
            data = json.loads(bytes(embedded).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, TypeError):
            data = {}
        labels = labels if labels is not None else data.get("labels")
        frontend = frontend if frontend is not None else data.get("frontend")
    return (list(labels) if labels else None), frontend


def split_inputs(model: IntModel, records: np.ndarray) -> list[np.ndarray]:
    """(N, input bytes) int8 records -> one array per model input, the records along
    dimension 0. A record holds whole tensors, so tensors whose dimension 0 is 1 stack to
    (N, ...) and others (a batch inside the network) need N = 1."""
    arrays, start = [], 0
    for t in model.input_tensors:
        n = t.nbytes
        part = records[:, start:start + n]
        arrays.append(part.reshape(len(records) * t.shape[0], *t.shape[1:]) if t.shape else part)
        start += n
    return arrays


def numpy_outputs(model: IntModel, records: np.ndarray, chunk: int = 64) -> np.ndarray:
    """(N, output bytes) int8 outputs of the numpy runtime for (N, input bytes) records,
    in batches of `chunk` when every input and output tensor is a single item."""
    records = np.asarray(records, np.int8).reshape(len(records), -1)
    single = all(t.shape[:1] == (1,) for t in (*model.input_tensors, *model.output_tensors))
    step = chunk if single else 1
    rows = []
    for start in range(0, len(records), step):
        part = records[start:start + step]
        outputs = run(model, split_inputs(model, part)).outputs
        rows.append(np.concatenate([o.reshape(len(part), -1) for o in outputs], axis=1))
    total = sum(t.nbytes for t in model.output_tensors)
    return np.concatenate(rows).astype(np.int8) if rows else np.zeros((0, total), np.int8)


def reference_inputs(model: IntModel) -> dict[str, tuple[str, np.ndarray]]:
    """Named test inputs (description, flat int8 record) written with their outputs."""
    n = sum(t.nbytes for t in model.input_tensors)
    zero_points = np.concatenate([np.full(t.nbytes, t.zero_point, np.int64) for t in model.input_tensors])
    index = np.arange(n)
    return {
        "pattern": ("(i * 37) % 256 - 128 for byte i", ((index * 37) % 256 - 128).astype(np.int8)),
        "zeros": ("every value the input zero point (real 0.0)", np.clip(zero_points, -128, 127).astype(np.int8)),
        "random": ("numpy default_rng(0).integers(-128, 128)",
                   np.random.default_rng(0).integers(-128, 128, size=n).astype(np.int8)),
    }


def _check_model(model: IntModel) -> None:
    if not model.ops or not model.inputs or not model.outputs:
        raise UnsupportedOpError("C code generation: the model has no ops, inputs or outputs")
    for t in (*model.input_tensors, *model.output_tensors):
        if np.dtype(t.dtype) != np.int8:
            raise UnsupportedOpError(f"C code generation: {t.name!r} is {np.dtype(t.dtype).name}; "
                                     "inputs and outputs must be int8")


def _copy_kernels(out_dir: Path) -> list[str]:
    package = resources.files("tinykws.codegen") / "c"
    for filename in KERNEL_FILES:
        write_text(out_dir / filename, (package / filename).read_text(encoding="utf-8"))
    return list(KERNEL_FILES)


def generate_project(model: IntModel, out_dir: str | os.PathLike, *, name: str = "model",
                     example_input: np.ndarray | None = None, example_description: str | None = None,
                     extra_files: Mapping[str, str | bytes] | None = None, in_place: bool = True,
                     example_main_c: str | None = None, block_pixels: int = DSP_BLOCK_PIXELS,
                     budget: MemoryBudget | None = None, parts: Sequence[PartCost] = (),
                     manifest_extra: Mapping[str, Any] | None = None) -> CodegenResult:
    """Write `model` as a C99 project into `out_dir` and return what was written.

    `name` names the network's files (`<name>.h`, `<name>.c`); `example_input` (int8, the
    model input's shape or flat) is what main.c runs (default: the "pattern" input);
    `extra_files` maps file names to contents written beside (their .c files join the
    library sources); `in_place=False` gives every tensor its own bytes; `example_main_c`
    replaces the example main.c (e.g. a whole keyword pipeline with a front-end);
    `block_pixels` trades arena for speed in the Cortex-M DSP convolutions (see lower_op).
    `budget`: a board's RAM, flash and stack; the project (its arena and weights, plus the
    RAM and tables of the extra `parts`, such as a front-end) is checked against it before
    anything is written (`tinykws.codegen.fit`), and the Makefile compiles for its core.
    `manifest_extra` adds keys to manifest.json.
    Raises UnsupportedOpError for an operator or tensor type the C kernels cannot run,
    TargetError for a project that does not fit `budget`.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name.startswith("tkws_") or name == "main":
        raise ConfigError(f"project name {name!r} must be a C identifier, not 'main' nor starting with 'tkws_'")
    _check_model(model)
    out = Path(out_dir)
    calls: list[KernelCall] = [lower_op(model, k, block_pixels) for k in range(len(model.ops))]
    plan = plan_memory(model, {k: c.scratch_bytes for k, c in enumerate(calls) if c.scratch_bytes},
                       in_place=in_place)
    labels, frontend = model_contract(model)
    own_bytes = _own_param_bytes(calls)
    fit = None
    if budget is not None:
        fit = check_fit(model_name(model), budget, arena_bytes=plan.arena_bytes, param_bytes=sum(own_bytes),
                        parts=parts)

    out.mkdir(parents=True, exist_ok=True)
    write_text(out / f"{name}.h", render_header(model, name, plan, calls, labels))
    write_text(out / f"{name}.c", render_source(model, name, plan, calls))
    kernel_files = _copy_kernels(out)
    extra_sources = []
    for filename, content in (extra_files or {}).items():
        if Path(filename).name != filename or filename in (*KERNEL_FILES, f"{name}.c", f"{name}.h", "main.c"):
            raise ConfigError(f"extra file name {filename!r} must be a plain file name not used by the project")
        write_text(out / filename, content) if isinstance(content, str) else (out / filename).write_bytes(content)
        if filename.endswith(".c"):
            extra_sources.append(filename)

    tests = reference_inputs(model)
    input_bytes = sum(t.nbytes for t in model.input_tensors)
    if example_input is not None:
        example = np.asarray(example_input)
        if example.dtype != np.int8 or example.size != input_bytes:
            raise ConfigError(f"example input must be {input_bytes} int8 values, got {example.size} {example.dtype}")
        tests = {"example": (example_description or "the example input given to the generator",
                             example.reshape(-1)), **tests}
    records = np.stack([record for _, record in tests.values()])
    expected = numpy_outputs(model, records)
    first = next(iter(tests))
    write_text(out / "main.c", example_main_c if example_main_c is not None
               else example_main(name, tests[first][1], expected[0], tests[first][0]))

    library_c = [f"{name}.c", *[f for f in kernel_files if f.endswith(".c")], *extra_sources]
    headers = [f"{name}.h", *[f for f in kernel_files if f.endswith(".h")]]
    write_text(out / "Makefile", makefile(name, library_c, headers, budget.cflags if budget else ()))

    in_place_ops = {op for op, _, _ in plan.in_place}
    layers = tuple(LayerInfo(k, model.tensors[op.outputs[0]].name, op.kind, calls[k].function, calls[k].summary,
                             tuple(model.tensors[op.outputs[0]].shape), calls[k].macs, own_bytes[k],
                             calls[k].scratch_bytes, k in in_place_ops) for k, op in enumerate(model.ops))
    result = CodegenResult(
        out_dir=out, name=name, sources=tuple(out / f for f in library_c), include_dirs=(out,),
        header=out / f"{name}.h", main=out / "main.c", makefile=out / "Makefile", manifest=out / "manifest.json",
        arena_bytes=plan.arena_bytes, scratch_bytes=plan.scratch_bytes, input_bytes=input_bytes,
        output_bytes=sum(t.nbytes for t in model.output_tensors),
        output_shapes=tuple(tuple(t.shape) for t in model.output_tensors), param_bytes=sum(own_bytes),
        macs=sum(c.macs for c in calls), arithmetic=model.arithmetic, layers=layers, plan=plan, fit=fit)
    write_json(result.manifest, {**_manifest(model, result, labels, frontend, tests, expected, headers),
                                 **(manifest_extra or {})})
    return result


def _own_param_bytes(calls: list[KernelCall]) -> list[int]:
    """Constant bytes per call: its own arrays, plus the arrays it shares with later calls
    (weights of every GRU step, activation tables) counted once, for the first user."""
    own_bytes, seen = [], set()
    for call in calls:
        own_bytes.append(call.param_bytes + sum(n for name, n in call.shared if name not in seen))
        seen.update(name for name, _ in call.shared)
    return own_bytes


def model_name(model: IntModel) -> str:
    """The file a network came from (its name), for messages; "the model" when unknown."""
    source = str((model.metadata or {}).get("source") or "")
    return Path(source).name if source and not source.startswith("<") else "the model"


def _io(model: IntModel, indices: Sequence[int]) -> list[dict[str, Any]]:
    return [{"name": model.tensors[i].name, "shape": list(model.tensors[i].shape), "dtype": "int8",
             "scale": model.tensors[i].scale, "zero_point": model.tensors[i].zero_point,
             "bytes": model.tensors[i].nbytes} for i in indices]


def _manifest(model: IntModel, result: CodegenResult, labels, frontend, tests, expected, headers) -> dict[str, Any]:
    plan = result.plan
    return {
        "format": PROJECT_FORMAT,
        "format_version": 1,
        "tinykws_version": __version__,
        "name": result.name,
        "source": str(model.metadata.get("source", "")),
        "arithmetic": model.arithmetic,
        "input": _io(model, model.inputs),
        "output": _io(model, model.outputs),
        "labels": labels,
        "frontend": frontend,
        "arena_bytes": result.arena_bytes,
        "scratch_bytes": result.scratch_bytes,
        "param_bytes": result.param_bytes,
        "macs": result.macs,
        "board_fit": result.fit.to_dict() if result.fit else None,
        "api": {
            "invoke": "int tkws_invoke(const int8_t *input, int8_t *output); returns 0 on success",
            "hooks": "TKWS_LAYER_BEGIN(i) / TKWS_LAYER_END(i) around layer i, no-ops unless defined "
                     "(e.g. -include hooks.h)",
            "postprocess": "tkws_postprocess.h: tkws_smoother_init(&s, history, sums, classes, window), then "
                           "tkws_postprocess(&s, output, &decision) per network output: argmax and the argmax "
                           "of the mean over the last `window` outputs",
            "macros": ["TKWS_ARENA_BYTES", "TKWS_SCRATCH_BYTES", "TKWS_INPUT_BYTES", "TKWS_OUTPUT_BYTES",
                       "TKWS_NUM_LAYERS", "TKWS_MACS", "TKWS_INPUT_SCALE", "TKWS_INPUT_ZERO_POINT",
                       "TKWS_OUTPUT_SCALE", "TKWS_OUTPUT_ZERO_POINT", "TKWS_LAYER_NAMES", "TKWS_LAYER_MACS"],
        },
        "files": {"sources": [p.name for p in result.sources], "headers": headers, "header": result.header.name,
                  "example": result.main.name, "makefile": result.makefile.name},
        "memory_plan": {
            "strategy": plan.strategy, "naive_bytes": plan.naive_bytes, "alignment": plan.alignment,
            "in_place": [{"op": op, "input": model.tensors[i].name, "output": model.tensors[o].name}
                         for op, i, o in plan.in_place],
            "tensors": [{"name": model.tensors[p.tensor].name, "offset": p.offset, "bytes": p.nbytes,
                         "live_ops": [p.first, p.last]} for p in plan.placements],
            "scratch": [{"op": k, "offset": off, "bytes": n}
                        for k, (off, n) in enumerate(zip(plan.scratch_offsets, plan.scratch_sizes)) if n],
        },
        "layers": [{**layer.to_dict(), "label": layer_label(model, layer.index)} for layer in result.layers],
        "expected": [{"input": key, "description": what, "input_sha256": hashlib.sha256(record.tobytes()).hexdigest(),
                      **({"input_values": [int(v) for v in record]} if record.size <= _LISTED_INPUT_BYTES else {}),
                      "output": [int(v) for v in out]}
                     for (key, (what, record)), out in zip(tests.items(), expected)],
    }
