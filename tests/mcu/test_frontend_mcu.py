"""The generated front-ends on a Cortex-M4F (qemu mps2-an386): they compile warning-free
without library calls, and the device computes the same int8 features as the host build
(which the unit tests prove equal to numpy: bit-exact for the microfrontend, within 1 LSB
for the MFCC), so the numbers carry over to the microcontroller."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from codegen_frontend_support import REF_QUANT, generated_clips
from tinykws.codegen.frontends import generate_frontend
from tinykws.codegen.frontends.host import HOST_CFLAGS, build_host_harness, run_host_features
from tinykws.mcu.boards import get_board
from tinykws.profile.frontend_mcu import measure_frontend

pytestmark = pytest.mark.mcu
PRESETS = ("mlperf_mfcc", "mltk_kws", "micro_speech", "mww_40")


@pytest.mark.parametrize("preset", PRESETS)
def test_m4_build_is_warning_free_without_library_calls(toolchain, tmp_path: Path, preset: str) -> None:
    result = generate_frontend(preset, tmp_path, input_quant=REF_QUANT)
    obj = tmp_path / "frontend_m4.o"
    flags = get_board("mps2-an386").core.cflags
    subprocess.run([str(toolchain.gcc), *HOST_CFLAGS, *flags, "-c", "-o", str(obj), str(result.sources[0])],
                   check=True)
    out = subprocess.run([str(toolchain.nm), "-u", str(obj)], capture_output=True, text=True, check=True).stdout
    undefined = {line.split()[-1] for line in out.splitlines() if line.strip()}
    assert undefined <= {"memset", "memcpy"}  # string.h at most: no libm, no soft-float helpers


@pytest.mark.parametrize("preset", PRESETS)
def test_device_features_equal_host_features(toolchain, tmp_path: Path, preset: str) -> None:
    clips = generated_clips()
    pcm = np.stack([clips[n] for n in ("white_noise", "chirp", "silence", "clipped_noise", "negative_only")])
    result = generate_frontend(preset, tmp_path, input_quant=REF_QUANT)
    device = measure_frontend(result, pcm)
    assert np.array_equal(device.features, run_host_features(build_host_harness(result), pcm))
    assert np.all(device.instructions > 100_000) and np.all(device.stack_bytes > 0)
