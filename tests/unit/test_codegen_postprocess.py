"""The post-processing of the network output (tkws_postprocess.c) against its numpy
definition (tinykws.codegen.postprocess.smooth_decisions), and that definition on a
sequence worked out by hand."""

from __future__ import annotations

import subprocess
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from tinykws.codegen.cformat import c_array
from tinykws.codegen.frontends.host import HOST_CFLAGS
from tinykws.codegen.host import host_compiler
from tinykws.codegen.postprocess import POSTPROCESS_FILES, smooth_decisions
from tinykws.errors import ConfigError

DRIVER = """#include <stdio.h>
#include "tkws_postprocess.h"

int main(void)
{
    static int8_t history[WINDOW * CLASSES];
    static int32_t sums[CLASSES];
    tkws_smoother s;
    tkws_decision d;
    int t;
    if (tkws_smoother_init(&s, history, sums, CLASSES, WINDOW) != 0) return 2;
    if (tkws_smoother_init(&s, history, sums, CLASSES, 0) != -1) return 3;
    if (tkws_postprocess(&s, 0, &d) != -1) return 4;
    for (t = 0; t < STEPS; ++t) {
        if (tkws_postprocess(&s, outputs + t * CLASSES, &d) != 0) return 5;
        printf("%d %d %d %d %d\\n", (int)d.top, (int)d.top_score, (int)d.smoothed_top, (int)d.smoothed_score,
               (int)d.held);
    }
    return 0;
}
"""


def _c_decisions(outputs: np.ndarray, window: int, folder: Path) -> np.ndarray:
    package = resources.files("tinykws.codegen") / "c"
    for name in POSTPROCESS_FILES:
        (folder / name).write_text((package / name).read_text())
    steps, classes = outputs.shape
    head = f"#define WINDOW {window}\n#define CLASSES {classes}\n#define STEPS {steps}\n#include <stdint.h>\n"
    (folder / "driver.c").write_text(head + c_array("int8_t", "outputs", outputs.reshape(-1)) + "\n" + DRIVER)
    exe = folder / "driver"
    subprocess.run([host_compiler(), *HOST_CFLAGS, f"-I{folder}", "-o", str(exe), str(folder / "driver.c"),
                    str(folder / "tkws_postprocess.c")], check=True)
    done = subprocess.run([str(exe)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    return np.array([line.split() for line in done.stdout.splitlines()], dtype=np.int32)


@pytest.mark.parametrize("window", [1, 3, 7])
def test_c_equals_numpy(tmp_path: Path, window: int) -> None:
    rng = np.random.default_rng(window)
    # few distinct values, so ties in the scores and in the sums are common; negative sums
    # exercise the rounding down of the mean
    outputs = rng.choice(np.array([-128, -127, -3, 0, 5, 127], np.int8), size=(40, 12))
    assert np.array_equal(_c_decisions(outputs, window, tmp_path), smooth_decisions(outputs, window))


def test_numpy_definition_by_hand() -> None:
    outputs = np.array([[-128, 10, 0], [-128, -20, 0], [100, -128, -128], [-1, -1, -2]], np.int8)
    got = smooth_decisions(outputs, window=2)
    # window sums: (-128, 10, 0) -> class 1; (-256, -10, 0) -> class 2, mean 0;
    # (-28, -148, -128) -> class 0, floor(-28 / 2) = -14; (99, -129, -130) -> floor(99 / 2) = 49
    assert got.tolist() == [[1, 10, 1, 10, 1], [2, 0, 2, 0, 2], [0, 100, 0, -14, 2], [0, -1, 0, 49, 2]]
    with pytest.raises(ConfigError, match="window"):
        smooth_decisions(outputs, window=0)
    with pytest.raises(ConfigError, match="int8"):
        smooth_decisions(outputs.astype(np.int16))
