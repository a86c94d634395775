"""Single stages of the generated C front-ends against their definitions, over input ranges
that audio rarely reaches: the microfrontend's rounded 64-bit square root (both range caps),
fixed-point log and PCAN gain lookup (against numpy), and the MFCC's libm-free float square
root (against IEEE's, numpy's float32 sqrt). A small C program includes the generated
frontend.c (its functions are static) and maps a file of inputs to a file of outputs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from codegen_frontend_support import REF_QUANT
from tinykws.audio.frontends import build_frontend
from tinykws.audio.frontends.micro.filterbank import sqrt_rounded
from tinykws.audio.frontends.micro.log_scale import fixed_log
from tinykws.audio.frontends.micro.pcan import wide_dynamic_function
from tinykws.codegen.frontends import generate_frontend
from tinykws.codegen.frontends.host import HOST_CFLAGS
from tinykws.codegen.host import host_compiler

STAGE_MAIN = r"""
#include <stdio.h>
#include <string.h>
#include "frontend.c"

/* stage IN OUT: IN holds uint64 inputs, OUT gets one uint64 result per input */
int main(int argc, char **argv)
{
    FILE *in, *out;
    uint64_t x, y;
    if (argc != 4 || !(in = fopen(argv[2], "rb")) || !(out = fopen(argv[3], "wb"))) return 2;
    while (fread(&x, sizeof x, 1, in) == 1) {
        if (0) y = 0;
#ifndef STAGE_MFCC
        else if (strcmp(argv[1], "sqrt") == 0) y = fe_sqrt_rounded(x);
        else if (strcmp(argv[1], "log") == 0) y = fe_log((uint32_t)x);
#endif
#ifdef STAGE_MFCC
        else if (strcmp(argv[1], "fsqrt") == 0) {
            float f, r;
            uint32_t b = (uint32_t)x;
            memcpy(&f, &b, sizeof f);
            r = fe_sqrtf(f);
            memcpy(&b, &r, sizeof b);
            y = b;
        }
#else
        else if (strcmp(argv[1], "gain") == 0) y = (uint64_t)(int64_t)fe_pcan_gain((uint32_t)x);
#endif
        else return 2;
        if (fwrite(&y, sizeof y, 1, out) != 1) return 2;
    }
    fclose(in);
    return fclose(out) == 0 ? 0 : 2;
}
"""


def _stage_program(folder: Path, preset: str, *flags: str) -> Path:
    generate_frontend(preset, folder, input_quant=REF_QUANT)
    (folder / "stages.c").write_text(STAGE_MAIN)
    exe = folder / "stages"
    subprocess.run([host_compiler(), *HOST_CFLAGS, *flags, f"-I{folder}", "-o", str(exe), str(folder / "stages.c")],
                   check=True)
    return exe


@pytest.fixture(scope="module")
def stage_program(tmp_path_factory) -> Path:
    return _stage_program(tmp_path_factory.mktemp("stages"), "mww_40")  # PCAN and log enabled


def _run(exe: Path, stage: str, values: np.ndarray) -> np.ndarray:
    src, dst = exe.parent / f"{stage}.in", exe.parent / f"{stage}.out"
    np.asarray(values, dtype=np.uint64).tofile(src)
    subprocess.run([str(exe), stage, str(src), str(dst)], check=True)
    return np.fromfile(dst, dtype=np.uint64)


def _edges(rng: np.random.Generator, top_bits: int, count: int) -> np.ndarray:
    """Random values of every bit length up to top_bits, and values around powers of two."""
    bits = rng.integers(1, top_bits + 1, count)
    random = (rng.random(count) * 2.0 ** bits).astype(np.float64)
    powers = np.array([2**b + d for b in range(1, top_bits) for d in (-1, 0, 1)], dtype=np.float64)
    return np.unique(np.concatenate([random, powers]).astype(np.uint64))


def test_sqrt_matches_numpy(stage_program) -> None:
    rng = np.random.default_rng(0)
    roots = rng.integers(0, 2**32, 4000, dtype=np.uint64)
    near_squares = np.concatenate([roots * roots + d for d in (np.uint64(0), roots, roots + np.uint64(1))])
    caps = np.array([65535**2 + 65535, 65535**2 + 65536, 2**32 - 1, 2**32, 2**64 - 1, (2**32 - 1) ** 2 + 2**32 - 1],
                    dtype=np.uint64)
    values = np.concatenate([near_squares, caps, rng.integers(0, 2**63, 4000, dtype=np.uint64) * np.uint64(2),
                             np.arange(70000, dtype=np.uint64)])
    assert np.array_equal(_run(stage_program, "sqrt", values).astype(np.int64), sqrt_rounded(values))


def test_log_matches_numpy(stage_program) -> None:
    values = _edges(np.random.default_rng(1), 32, 20000)
    values = values[(values >= 2) & (values < 2**32)]
    shift = build_frontend("mww_40").config.log_scale_shift
    assert np.array_equal(_run(stage_program, "log", values).astype(np.int64), fixed_log(values.astype(np.int64), shift))


def test_pcan_gain_matches_numpy(stage_program) -> None:
    values = np.concatenate([np.arange(4096, dtype=np.uint64), _edges(np.random.default_rng(2), 32, 20000)])
    values = values[values < 2**32]
    lut = build_frontend("mww_40").plan.pcan_lut
    got = _run(stage_program, "gain", values).view(np.int64)
    assert np.array_equal(got, wide_dynamic_function(values.astype(np.int64), lut))


@pytest.mark.parametrize("flags", [(), ("-DTKWS_FE_PORTABLE_SQRT",)], ids=["fpu", "portable"])
def test_mfcc_float_sqrt_is_correctly_rounded(tmp_path: Path, flags: tuple[str, ...]) -> None:
    exe = _stage_program(tmp_path, "mlperf_mfcc", "-DSTAGE_MFCC", *flags)
    rng = np.random.default_rng(3)
    bits = np.concatenate([
        np.arange(0, 5000),  # zero and the smallest subnormals
        rng.integers(0, 0x7F800000, 200_000),  # every exponent
        np.arange(0x3F7FF000, 0x3F801000),  # around 1
        [0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0x7F800000],  # subnormal/normal edge, largest, infinity
    ]).astype(np.uint32)
    got = _run(exe, "fsqrt", bits).astype(np.uint32)
    want = np.sqrt(bits.view(np.float32)).view(np.uint32)
    assert np.array_equal(got, want)
