"""A C model project as the microcontroller side sees it: the sources to build, the sizes
its model.h declares, and what is known about its layers.

`as_model_project` accepts a generated project folder (model.h beside the .c files), a
CProject, or a ModelProject.
"""

from __future__ import annotations

import ast
import operator
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinykws.errors import TargetError
from tinykws.mcu.firmware import CProject
from tinykws.mcu.toolchain import find_toolchain

CONTRACT_MACROS = ("TKWS_INPUT_BYTES", "TKWS_OUTPUT_BYTES", "TKWS_NUM_LAYERS")
OPTIONAL_MACROS = ("TKWS_ARENA_BYTES",)


@dataclass(frozen=True)
class LayerInfo:
    """One layer of a generated model, in TKWS_LAYER_BEGIN/END index order: its name (the
    generator's one-line summary of it), op,
    output shape, parameters (weight and bias elements), their constant arrays in flash
    (bytes, with multipliers and shifts), MACs, and arena bytes (the union of the
    activation and scratch bytes that are live while it runs)."""

    name: str
    op: str
    output_shape: tuple[int, ...] = ()
    params: int = 0
    param_bytes: int = 0
    macs: int = 0
    arena_bytes: int = 0


@dataclass(frozen=True)
class ModelProject:
    """A buildable model: its CProject and the sizes from model.h (bytes), plus its layers
    when the code generator described them (else empty)."""

    c_project: CProject
    input_bytes: int
    output_bytes: int
    num_layers: int
    arena_bytes: int | None
    layers: tuple[LayerInfo, ...] = ()


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.FloorDiv: operator.floordiv, ast.LShift: operator.lshift, ast.RShift: operator.rshift}


def _int_expression(text: str) -> int:
    """Value of a preprocessed C integer constant expression (+ - * / << >>, parentheses)."""
    cleaned = re.sub(r"\b(\d+)[uUlL]+\b", r"\1", text).replace("/", "//")
    cleaned = re.sub(r"\((?:unsigned|int|uint32_t|size_t|long)\)", "", cleaned)

    def value(node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        raise ValueError(text)

    return value(ast.parse(cleaned.strip(), mode="eval").body)


def read_model_macros(c_project: CProject) -> dict[str, int]:
    """The TKWS_* sizes model.h defines, evaluated by the C preprocessor (bytes, counts)."""
    names = CONTRACT_MACROS + OPTIONAL_MACROS
    probe = f'#include "{c_project.header}"\n' + "".join(
        f"#ifdef {n}\ntkws_macro_{n} = {n}\n#endif\n" for n in names)
    cmd = [str(find_toolchain().gcc), "-E", "-P", "-x", "c", "-",
           *(f"-I{d}" for d in c_project.include_dirs), *(f"-D{d}" for d in c_project.defines)]
    out = subprocess.run(cmd, input=probe, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise TargetError(f"cannot read model.h in {', '.join(map(str, c_project.include_dirs))}: "
                          f"{out.stderr.strip()}")
    found = {}
    for line in out.stdout.splitlines():
        if line.startswith("tkws_macro_"):
            name, expr = line[len("tkws_macro_"):].split("=", 1)
            try:
                found[name.strip()] = _int_expression(expr)
            except (ValueError, SyntaxError):
                raise TargetError(f"model.h: {name.strip()} is not an integer constant ({expr.strip()})") from None
    missing = [n for n in CONTRACT_MACROS if n not in found]
    if missing:
        raise TargetError(f"model.h in {', '.join(map(str, c_project.include_dirs))} does not define "
                          f"{', '.join(missing)}")
    return found


def model_project(c_project: CProject, layers: tuple[LayerInfo, ...] = ()) -> ModelProject:
    """A ModelProject for `c_project`, with the sizes read from its model.h."""
    macros = read_model_macros(c_project)
    arena = macros.get("TKWS_ARENA_BYTES", c_project.arena_bytes)
    if layers and len(layers) != macros["TKWS_NUM_LAYERS"]:
        raise TargetError(f"{len(layers)} layers described, model.h says TKWS_NUM_LAYERS = {macros['TKWS_NUM_LAYERS']}")
    return ModelProject(
        c_project=CProject(c_project.sources, c_project.include_dirs, c_project.defines, arena, c_project.header),
        input_bytes=macros["TKWS_INPUT_BYTES"],
        output_bytes=macros["TKWS_OUTPUT_BYTES"],
        num_layers=macros["TKWS_NUM_LAYERS"],
        arena_bytes=arena,
        layers=layers,
    )


def _union_bytes(intervals: list[tuple[int, int]]) -> int:
    """Bytes covered by [start, end) intervals."""
    total, reach = 0, None
    for start, end in sorted(intervals):
        if reach is None or start >= reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


def _live_bytes(plan, op: int) -> int:
    """Arena bytes in use while op `op` runs: its live tensors and its scratch."""
    spans = [(p.offset, p.offset + p.nbytes) for p in plan.live_at(op)]
    scratch_at = plan.scratch_offsets[op] if op < len(plan.scratch_offsets) else None
    if scratch_at is not None:
        spans.append((scratch_at, scratch_at + plan.scratch_sizes[op]))
    return _union_bytes(spans)


def _op_params(intmodel, op: int) -> int:
    """Weight and bias elements of op `op` of an IntModel (its constant inputs, shapes excluded)."""
    ops = intmodel.ops[op]
    if ops.kind in ("reshape", "pad"):
        return 0
    return sum(int(intmodel.tensors[i].data.size) for i in ops.inputs
               if i >= 0 and intmodel.tensors[i].is_constant)


def from_codegen(result, intmodel=None) -> ModelProject:
    """A ModelProject from what tinykws.codegen.generate_project returned; `intmodel`
    (the network it was generated from) adds the parameter count of each layer."""
    layers = tuple(
        LayerInfo(
            name=layer.summary, op=layer.kind, output_shape=tuple(layer.output_shape),
            params=_op_params(intmodel, layer.index) if intmodel is not None else 0,
            param_bytes=layer.param_bytes, macs=layer.macs, arena_bytes=_live_bytes(result.plan, layer.index),
        )
        for layer in result.layers
    )
    c_project = CProject(sources=tuple(result.sources), include_dirs=tuple(result.include_dirs),
                         arena_bytes=result.arena_bytes, header=Path(result.header).name)
    return model_project(c_project, layers)


def as_model_project(obj) -> ModelProject:
    """A ModelProject from a ModelProject, a CProject, a codegen result (anything with
    `sources`, `include_dirs`, `header`, `layers` and `plan`), or a project folder."""
    if isinstance(obj, ModelProject):
        return obj
    if all(hasattr(obj, a) for a in ("sources", "include_dirs", "header", "layers", "plan")):
        return from_codegen(obj)
    if isinstance(obj, CProject):
        return model_project(obj)
    if isinstance(obj, (str, os.PathLike)):
        return model_project(CProject.from_dir(Path(obj)))
    raise TargetError(f"cannot build {type(obj).__name__}: give a generated project folder or a CProject")
