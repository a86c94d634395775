"""Build a generated front-end with this machine's C compiler and run it on many clips.

`build_host_harness` compiles frontend.c with `c/frontend/frontend_harness.c` (a main that
reads clips from a file and writes their features), warnings as errors; `run_host_features`
pushes a whole (clips, samples) int16 array through it in one process. The compiler and
the errors are the network's (`tinykws.codegen.host`).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinykws.codegen.frontends.generate import FrontendCodegenResult, algorithm_source
from tinykws.codegen.host import HOST_CFLAGS as NETWORK_CFLAGS
from tinykws.codegen.host import CExecutionError, CompileError, host_compiler
from tinykws.fileio import write_text

# ISO C99 (-std=c99) also keeps GCC from fusing a*b+c (-ffp-contract=off), so the MFCC's
# floats are the same on every IEEE target; the front-ends are checked more strictly still.
HOST_CFLAGS = (*NETWORK_CFLAGS, "-Wshadow", "-Wdouble-promotion", "-pedantic")
HARNESS_NAME = "frontend_harness.c"


@dataclass(frozen=True)
class HostBuild:
    """A compiled harness for one generated front-end."""

    executable: Path
    compiler: str
    frontend: FrontendCodegenResult


def build_host_harness(
    frontend: FrontendCodegenResult, build_dir: str | os.PathLike | None = None, extra_flags: tuple[str, ...] = ()
) -> HostBuild:
    """Compile the front-end and the harness into `build_dir` (default: the front-end's
    folder), no library but libc's stdio for the harness. Raises CompilerNotFoundError or
    CompileError."""
    compiler = host_compiler()
    out = Path(build_dir) if build_dir is not None else frontend.out_dir
    harness = out / HARNESS_NAME
    write_text(harness, algorithm_source(HARNESS_NAME))
    exe = out / "frontend_harness"
    cmd = [compiler, *HOST_CFLAGS, *extra_flags, f"-I{frontend.out_dir}", "-o", str(exe),
           *(str(s) for s in frontend.sources), str(harness)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise CompileError(f"compiling {frontend.out_dir} failed ({' '.join(cmd)}):\n{proc.stderr[-4000:]}")
    return HostBuild(exe, compiler, frontend)


def run_host_features(build: HostBuild, pcm: np.ndarray, raw: bool = False) -> np.ndarray:
    """Features of each clip of `pcm` (clips, samples) int16 from the compiled C.

    Returns (clips, frames, features): int8 (the network's input), or with `raw` the
    features before quantization (float32 or uint16, `FrontendCodegenResult.raw_dtype`).
    """
    pcm = np.ascontiguousarray(pcm)
    if pcm.dtype != np.int16 or pcm.ndim != 2:
        raise ValueError(f"expected (clips, samples) int16, got {pcm.dtype} {pcm.shape}")
    dtype = np.dtype(build.frontend.raw_dtype if raw else np.int8)
    shape = (len(pcm), *build.frontend.output_shape)
    with tempfile.TemporaryDirectory(prefix="tinykws_fe_") as tmp:
        src, dst = Path(tmp) / "clips.bin", Path(tmp) / "features.bin"
        pcm.tofile(src)
        cmd = [str(build.executable), "raw" if raw else "int8", str(src), str(dst), str(pcm.shape[0]), str(pcm.shape[1])]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            raise CExecutionError(f"{' '.join(cmd)} exited with {proc.returncode}: {proc.stderr.strip()}")
        values = np.fromfile(dst, dtype=dtype)
    if values.size != int(np.prod(shape)):
        raise CExecutionError(f"harness wrote {values.size} values, expected {int(np.prod(shape))}")
    return values.reshape(shape)
