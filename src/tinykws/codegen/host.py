"""Running generated C on the host: the project's library plus a harness main that
runs many inputs in one process (stdin -> stdout), built with the host C compiler and
cached by a hash of everything that goes into the executable.

    outputs = run_c_host(model, inputs)        # (N, ...) int8, one process for all N

The cache lives under `$TINYKWS_CACHE/c_host` (default ~/.cache/tinykws/c_host).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinykws.codegen.project import CodegenResult, generate_project
from tinykws.codegen.scaffold import host_harness
from tinykws.data.cache import default_cache_root
from tinykws.errors import EngineUnavailableError, TinyKWSError
from tinykws.fileio import atomic_path, write_text
from tinykws.intmodel.graph import IntModel

HOST_CFLAGS = ("-O2", "-std=c99", "-Wall", "-Wextra", "-Werror")


class CompilerNotFoundError(EngineUnavailableError):
    """No host C compiler (cc, gcc or clang, or $CC) on PATH."""


class CompileError(TinyKWSError):
    """The generated C did not compile or link; the message holds the compiler's output."""


class CExecutionError(TinyKWSError):
    """The compiled program failed while running inputs."""


@dataclass(frozen=True)
class HostBuild:
    """A host executable of a generated project: `path`, `cached` if it was reused."""

    path: Path
    cached: bool
    emulate_dsp: bool


def host_compiler() -> str:
    """$CC, else the first of cc, gcc, clang on PATH (CompilerNotFoundError if none)."""
    candidates = [os.environ["CC"]] if os.environ.get("CC") else ["cc", "gcc", "clang"]
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    raise CompilerNotFoundError(f"no C compiler found (tried {', '.join(candidates)}); install gcc or set CC")


def _compiler_identity(cc: str) -> str:
    try:
        done = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30)
        return done.stdout.splitlines()[0] if done.stdout else cc
    except (OSError, subprocess.SubprocessError):
        return cc


def build_host(project: CodegenResult, *, emulate_dsp: bool = False, cache_dir: str | os.PathLike | None = None,
               extra_flags: tuple[str, ...] = ()) -> HostBuild:
    """Compile `project`'s library with the harness main; reuse a cached executable when
    sources, flags and compiler are unchanged. `emulate_dsp` compiles the Cortex-M DSP
    path with C models of its intrinsics (-DTKWS_EMULATE_DSP)."""
    cc = host_compiler()
    flags = (*HOST_CFLAGS, *(("-DTKWS_EMULATE_DSP",) if emulate_dsp else ()), *extra_flags)
    harness = host_harness(project.name)
    key = hashlib.sha256("\0".join([project.source_hash, harness, " ".join(flags),
                                    _compiler_identity(cc)]).encode()).hexdigest()[:24]
    root = Path(cache_dir) if cache_dir is not None else default_cache_root() / "c_host"
    exe = root / key / f"{project.name}_host"
    if exe.exists():
        return HostBuild(exe, True, emulate_dsp)
    exe.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=exe.parent) as tmp:
        harness_path = Path(tmp) / "tkws_host_main.c"
        write_text(harness_path, harness)
        with atomic_path(exe) as out:
            command = [cc, *flags, *(f"-I{d}" for d in project.include_dirs), *map(str, project.sources),
                       str(harness_path), "-o", str(out)]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=600)
            except (OSError, subprocess.SubprocessError) as e:
                raise CompileError(f"{cc} could not be run on {project.out_dir}: {e}") from None
            if done.returncode != 0:
                raise CompileError(f"compiling {project.out_dir} failed ({' '.join(command[:len(flags) + 1])} ...):\n"
                                   f"{(done.stderr or done.stdout)[-4000:]}")
    return HostBuild(exe, False, emulate_dsp)


def _records(inputs, project: CodegenResult) -> np.ndarray:
    arrays = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
    if any(np.asarray(a).dtype != np.int8 for a in arrays):
        raise TinyKWSError("C host inputs must be int8 arrays (quantized with the model's input parameters)")
    n = len(arrays[0])
    flat = np.concatenate([np.asarray(a).reshape(n, -1) for a in arrays], axis=1)
    if flat.shape[1] != project.input_bytes:
        raise TinyKWSError(f"each input item must have {project.input_bytes} int8 values, got {flat.shape[1]}")
    return np.ascontiguousarray(flat)


def run_host_build(build: HostBuild, project: CodegenResult, inputs) -> np.ndarray:
    """(N, output bytes) int8 outputs of a built executable for a batch of inputs."""
    records = _records(inputs, project)
    try:
        done = subprocess.run([str(build.path)], input=records.tobytes(), capture_output=True, timeout=3600)
    except (OSError, subprocess.SubprocessError) as e:
        raise CExecutionError(f"{build.path} could not run: {e}") from None
    if done.returncode != 0:
        raise CExecutionError(f"{build.path} exited with status {done.returncode}: "
                              f"{done.stderr.decode(errors='replace')[-2000:]}")
    out = np.frombuffer(done.stdout, np.int8)
    if out.size != len(records) * project.output_bytes:
        raise CExecutionError(f"{build.path} wrote {out.size} bytes for {len(records)} inputs")
    return out.reshape(len(records), project.output_bytes).copy()


def run_c_host(project_or_model: CodegenResult | IntModel, inputs, *, emulate_dsp: bool = False,
               cache_dir: str | os.PathLike | None = None) -> np.ndarray:
    """Outputs of the generated C for a batch of int8 inputs (dimension 0 = items; a list
    of arrays for a model with several inputs), run in one host process.

    Returns (N, *output shape without the batch) for a one-output model, else
    (N, all output bytes). Raises CompilerNotFoundError, CompileError, CExecutionError.
    """
    if isinstance(project_or_model, IntModel):
        with tempfile.TemporaryDirectory(prefix="tinykws_c_") as tmp:
            project = generate_project(project_or_model, tmp)
            build = build_host(project, emulate_dsp=emulate_dsp, cache_dir=cache_dir)
            flat = run_host_build(build, project, inputs)
    else:
        project = project_or_model
        build = build_host(project, emulate_dsp=emulate_dsp, cache_dir=cache_dir)
        flat = run_host_build(build, project, inputs)
    if len(project.output_shapes) == 1:
        return flat.reshape(len(flat), *project.output_shapes[0][1:])
    return flat
