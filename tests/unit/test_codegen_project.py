"""The generated project as a user and a firmware build see it: files, Makefile, example,
manifest, the header's contract, the profiling hooks, the Cortex-M compile, errors."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import replace

import numpy as np
import pytest

from c_cases import zoo_intmodel
from tinykws.codegen import CompileError, CompilerNotFoundError, generate_project, run_c_host
from tinykws.codegen.host import build_host
from tinykws.errors import ConfigError, UnsupportedOpError
from tinykws.intmodel import run

LABELS = ["down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "silence", "unknown"]


@pytest.fixture(scope="module")
def network():
    model = zoo_intmodel("tiny_conv")
    return replace(model, metadata={**model.metadata, "labels": LABELS, "frontend": {"kind": "mlperf_mfcc"}})


@pytest.fixture(scope="module")
def project(network, tmp_path_factory):
    return generate_project(network, tmp_path_factory.mktemp("proj") / "kws", name="kws")


def header_macros(path) -> dict[str, str]:
    return dict(re.findall(r"^#define (TKWS_\w+) (.+)$", path.read_text(), flags=re.M))


def test_files_manifest_and_header_agree(project, network):
    names = {p.name for p in project.out_dir.iterdir()}
    assert {"kws.h", "kws.c", "main.c", "Makefile", "manifest.json", "tkws_kernels.h", "tkws_conv.c"} <= names
    manifest = json.loads(project.manifest.read_text())
    macros = header_macros(project.header)
    assert int(macros["TKWS_ARENA_BYTES"]) == project.arena_bytes == manifest["arena_bytes"]
    assert int(macros["TKWS_INPUT_BYTES"]) == project.input_bytes == network.input_tensors[0].nbytes
    assert int(macros["TKWS_NUM_LAYERS"]) == len(network.ops) == len(manifest["layers"])
    assert int(macros["TKWS_MACS"]) == sum(layer.macs for layer in project.layers) > 0
    assert manifest["labels"] == LABELS and manifest["frontend"] == {"kind": "mlperf_mfcc"}
    assert manifest["arithmetic"] == "tflite_micro" and macros["TKWS_ARITHMETIC"] == '"tflite_micro"'
    assert all(name.startswith("tkws_") for name in re.findall(r"^\w[\w\s\*]*?(\w+)\(", project.header.read_text(),
                                                               flags=re.M))
    # the expected outputs are the numpy runtime's
    for case in manifest["expected"]:
        x = np.array(case["input_values"], np.int8).reshape(network.input_tensors[0].shape)
        assert run(network, x).output.reshape(-1).tolist() == case["output"]
    for path in project.out_dir.iterdir():
        if path.suffix in (".c", ".h"):
            assert max(len(line) for line in path.read_text().splitlines()) <= 120, path.name


def test_example_builds_and_runs_with_make(project):
    if shutil.which("make") is None:
        pytest.fail("make is part of the build tools this project needs")
    done = subprocess.run(["make", "-s", "-C", str(project.out_dir), "run", "CFLAGS=-O2 -std=c99 -Wall -Wextra -Werror"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is identical to the numpy runtime's" in done.stdout
    assert re.search(r"top: (\w+) \(index \d+", done.stdout).group(1) in LABELS


def test_hooks_surround_every_layer_in_order(project, tmp_path):
    hooks = tmp_path / "hooks.h"
    hooks.write_text("extern int trace[64]; extern int traced;\n"
                     "#define TKWS_LAYER_BEGIN(i) (trace[traced++] = (i))\n"
                     "#define TKWS_LAYER_END(i) (trace[traced++] = -1 - (i))\n")
    main = tmp_path / "main.c"
    main.write_text('#include <stdio.h>\n#include "kws.h"\nint trace[64]; int traced;\n'
                    "int main(void) { static int8_t x[TKWS_INPUT_BYTES], y[TKWS_OUTPUT_BYTES]; int i;\n"
                    "  if (tkws_invoke(x, y) != 0 || tkws_invoke(NULL, y) != -1) return 1;\n"
                    '  for (i = 0; i < traced; ++i) {\n    printf("%d ", trace[i]);\n  }\n  return 0;\n}\n')
    exe = tmp_path / "hooked"
    subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", f"-I{project.out_dir}",
                    f"-include{hooks}", *map(str, project.sources), str(main), "-o", str(exe)], check=True)
    trace = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    assert trace == [v for i in range(len(project.layers)) for v in (i, -1 - i)]


@pytest.mark.mcu
def test_library_compiles_for_cortex_m4_with_the_dsp_path(project, tmp_path):
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.fail("arm-none-eabi-gcc is missing (the mcu marker says the toolchain is installed)")
    build = tmp_path / "m4"
    shutil.copytree(project.out_dir, build)
    done = subprocess.run(["make", "-s", "-C", str(build), "CC=arm-none-eabi-gcc",
                           "CFLAGS=-O2 -std=c99 -Wall -Wextra -Werror"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (build / "kws.o").exists() and (build / "tkws_conv.o").exists()
    probe = subprocess.run([gcc, "-mcpu=cortex-m4", "-mthumb", "-dM", "-E", "-x", "c", "/dev/null"],
                           capture_output=True, text=True, check=True).stdout
    assert "__ARM_FEATURE_DSP 1" in probe  # so tkws_dsp.h took the intrinsics path


def test_run_c_host_on_a_model_and_extra_files(network, tmp_path):
    x = np.random.default_rng(5).integers(-128, 128, size=(7, *network.input_tensors[0].shape[1:]), dtype=np.int8)
    out = run_c_host(network, x, cache_dir=tmp_path / "cache")
    assert out.shape == (7, 12) and np.array_equal(out, run(network, x).output)
    extra = generate_project(network, tmp_path / "extra", extra_files={"board.c": "int tkws_board_ready = 1;\n"})
    assert extra.sources[-1].name == "board.c" and "board.c" in extra.makefile.read_text()


def test_errors_are_tinykws_errors(network, project, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="C identifier"):
        generate_project(network, tmp_path / "bad", name="my model")
    bad_op = replace(network, ops=(replace(network.ops[0], kind="lstm"), *network.ops[1:]))
    with pytest.raises(UnsupportedOpError, match="op 0 \\(lstm"):
        generate_project(bad_op, tmp_path / "lstm")
    broken = generate_project(network, tmp_path / "broken", name="kws")
    broken.sources[0].write_text(broken.sources[0].read_text() + "\nthis is not C;\n")
    with pytest.raises(CompileError, match="kws.c"):
        build_host(broken, cache_dir=tmp_path / "cache")
    monkeypatch.setenv("CC", "tinykws-no-such-compiler")
    with pytest.raises(CompilerNotFoundError, match="tinykws-no-such-compiler"):
        build_host(project, cache_dir=tmp_path / "cache")
