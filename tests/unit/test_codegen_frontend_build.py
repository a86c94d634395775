"""What the generated front-end C is, apart from its numbers: refused configurations, the
memory it reports against what a compiler allocates, and the C API's error returns
(the Cortex-M build: tests/mcu/test_frontend_mcu.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codegen_frontend_support import REF_QUANT
from tinykws.audio.frontends import build_frontend
from tinykws.codegen.frontends import generate_frontend
from tinykws.codegen.frontends.host import HOST_CFLAGS
from tinykws.codegen.host import host_compiler
from tinykws.errors import ConfigError

PRESETS = ("mlperf_mfcc", "mltk_kws", "micro_speech", "mww_40")


@pytest.mark.parametrize(
    "config, match",
    [
        ("logmel", "no C version"),
        ({"kind": "logmel", "num_mel_bins": 64}, "no C version"),
        (build_frontend("mlperf_mfcc", fft_length=500).to_dict(), "power of two"),
        ("no_such_frontend", "unknown front-end"),
        ({"kind": "mfcc", "num_coeffs": 0}, "num_coeffs"),
        (42, "preset name, a dict or a Frontend"),
    ],
)
def test_bad_configs_are_refused(tmp_path: Path, config, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        generate_frontend(config, tmp_path, input_quant=REF_QUANT)
    assert not any(tmp_path.iterdir())  # nothing half-written


@pytest.mark.parametrize("quant", [(0.0, 0), (-0.5, 3), (float("nan"), 0), (1e-50, 0), (0.5, 128), (0.5, 1.5), 0.5])
def test_bad_input_quantization_is_refused(tmp_path: Path, quant) -> None:
    with pytest.raises(ConfigError, match="input_quant"):
        generate_frontend("mltk_kws", tmp_path, input_quant=quant)


def _symbol_sizes(obj: Path, nm: str) -> dict[str, tuple[str, int]]:
    """name -> (nm type letter, size in bytes) of the sized symbols of an object file."""
    out = subprocess.run([nm, "-S", str(obj)], capture_output=True, text=True, check=True).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            sizes[parts[3]] = (parts[2], int(parts[1], 16))
    return sizes


@pytest.mark.parametrize("preset", PRESETS)
def test_reported_memory_is_what_the_compiler_allocates(tmp_path: Path, preset: str) -> None:
    result = generate_frontend(preset, tmp_path, input_quant=REF_QUANT)
    obj = tmp_path / "frontend.o"
    subprocess.run([host_compiler(), *HOST_CFLAGS, "-c", "-o", str(obj), str(result.sources[0])], check=True)
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm (binutils) is not installed")
    symbols = {k: v for k, v in _symbol_sizes(obj, nm).items() if k.startswith("fe_")}
    tables = sum(size for kind, size in symbols.values() if kind in "rR")
    buffers = sum(size for kind, size in symbols.values() if kind in "bB")
    assert tables == result.table_bytes
    assert buffers == result.ram_bytes
    assert result.output_shape == build_frontend(preset).output_shape


API_CHECK = r"""
#include <stdio.h>
#include "frontend.h"
int main(void)
{
    static int16_t pcm[TKWS_FEATURES_CLIP_SAMPLES];
    static int8_t out[TKWS_FEATURES_COUNT];
    static tkws_feature_raw_t raw[TKWS_FEATURES_COUNT];
    printf("%d %d %d %d %d %d\n", tkws_features(0, 10, out), tkws_features(pcm, -1, out),
           tkws_features(pcm, 10, 0), tkws_features_raw(pcm, -5, raw), tkws_features(pcm, 0, out),
           TKWS_FEATURES_FRAMES * 1000 + TKWS_FEATURES_PER_FRAME);
    return 0;
}
"""


@pytest.mark.parametrize("preset", ["mlperf_mfcc", "mww_40"])
def test_api_rejects_bad_arguments(tmp_path: Path, preset: str) -> None:
    result = generate_frontend(preset, tmp_path, input_quant=REF_QUANT)
    main = tmp_path / "main.c"
    main.write_text(API_CHECK)
    exe = tmp_path / "api_check"
    cc = host_compiler()
    subprocess.run([cc, *HOST_CFLAGS, f"-I{tmp_path}", "-o", str(exe), str(main), str(result.sources[0]), "-lm"],
                   check=True)
    codes = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    frames, features = result.output_shape
    assert codes == ["-1", "-1", "-1", "-1", "0", str(frames * 1000 + features)]


def test_generated_files_are_deterministic(tmp_path: Path) -> None:
    a = generate_frontend("mww_40", tmp_path / "a", input_quant=REF_QUANT)
    b = generate_frontend(build_frontend("mww_40"), tmp_path / "b", input_quant=REF_QUANT)
    for x, y in zip((a.header, *a.sources), (b.header, *b.sources)):
        assert x.read_bytes() == y.read_bytes()
    assert np.isclose(a.input_scale, REF_QUANT[0]) and a.input_zero_point == REF_QUANT[1]
