"""`tinykws codegen --board`: a model that cannot fit the board's RAM or flash is refused
with one line naming the model, the board and the numbers, and nothing is written; a
model that fits is written with the check in its manifest and the board's core in its
Makefile."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from c_cases import zoo_intmodel, zoo_quantized
from tinykws.audio.frontends import build_frontend
from tinykws.cli.main import main
from tinykws.codegen import generate_project
from tinykws.codegen.fit import MemoryBudget, PartCost, check_fit
from tinykws.errors import TargetError
from tinykws.export.tflite import export_tflite
from tinykws.mcu.boards import get_board

LABELS = [f"word{i}" for i in range(12)]
C_TYPE_BYTES = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4, "uint32_t": 4, "float": 4}
F103 = get_board("nucleo-f103rb")  # 20 KiB RAM (4 KiB of it stack), 128 KiB flash


def _exported(name: str, folder: Path) -> Path:
    export_tflite(zoo_quantized(name), folder / "model.tflite", build_frontend("mlperf_mfcc").to_dict(), LABELS,
                  arena=False)
    return folder


def test_check_fit_counts_arena_parts_and_stack() -> None:
    budget = MemoryBudget("tiny", ram_bytes=10_000, flash_bytes=5_000, stack_bytes=1_000)
    ok = check_fit("m.tflite", budget, arena_bytes=6_000, param_bytes=3_000, parts=[PartCost("fe", 3_000, 2_000)])
    assert (ok.ram_needed, ok.flash_needed, ok.fits) == (10_000, 5_000, True)
    with pytest.raises(TargetError) as err:
        check_fit("m.tflite", budget, arena_bytes=6_001, param_bytes=3_000, parts=[PartCost("fe", 3_000, 2_000)])
    assert str(err.value) == ("m.tflite does not fit board tiny: RAM needs 10,001 B (arena 6,001 + fe 3,000 + "
                              "stack allowance 1,000), the board has 10,000 B")


def test_model_too_big_for_the_board_is_refused_and_nothing_written(tmp_path: Path, capsys) -> None:
    model = _exported("ds_cnn_m", tmp_path / "q")  # arena 46 KB, weights 147 KB
    out = tmp_path / "c"
    assert main(["codegen", str(model), "--out", str(out), "--board", "nucleo-f103rb"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "model.tflite does not fit board nucleo-f103rb: RAM needs" in err
    assert f"stack allowance {F103.stack_bytes:,}), the board has {F103.ram_bytes:,} B" in err
    assert f"the board has {F103.flash_bytes:,} B" in err  # the weights do not fit the flash either
    assert not out.exists() and not list(tmp_path.glob(".c*"))


def test_model_that_fits_is_written_for_the_board(tmp_path: Path, capsys) -> None:
    model = _exported("ds_cnn", tmp_path / "q")
    out = tmp_path / "c"
    assert main(["codegen", str(model), "--out", str(out), "--board", "nucleo-f103rb", "--json"]) == 0
    fit = json.loads(capsys.readouterr().out)["board_fit"]
    assert fit["board"] == "nucleo-f103rb" and fit["fits"] is True
    assert fit["ram_needed_bytes"] == fit["arena_bytes"] + F103.stack_bytes <= F103.ram_bytes
    assert json.loads((out / "manifest.json").read_text())["board_fit"] == fit
    assert "ARCH ?= -mcpu=cortex-m3 -mthumb -mfloat-abi=soft" in (out / "Makefile").read_text()


def test_library_refuses_before_writing(tmp_path: Path) -> None:
    budget = MemoryBudget("small", ram_bytes=8_192, flash_bytes=1 << 20, stack_bytes=1_024)
    with pytest.raises(TargetError, match="does not fit board small: RAM needs"):
        generate_project(zoo_intmodel("ds_cnn"), tmp_path / "c", budget=budget)
    assert not (tmp_path / "c").exists()


@pytest.mark.shared
def test_vww_reference_model_does_not_fit_a_small_board(tmp_path: Path, shared_dir: Path, capsys) -> None:
    vww = shared_dir / "mlperf_tiny" / "vww" / "vww_96_int8.tflite"
    assert main(["codegen", str(vww), "--out", str(tmp_path / "c"), "--board", "nucleo-f103rb"]) == 2
    err = capsys.readouterr().err
    assert "vww_96_int8.tflite does not fit board nucleo-f103rb: RAM needs" in err and "flash needs" in err
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("name", ["ds_cnn", "crnn_gru_att"])
def test_board_check_counts_every_constant_array_once(tmp_path: Path, name: str) -> None:
    # Arrays shared between calls (FULLY_CONNECTED weights, a GRU's weights at every step,
    # activation tables) are flash too: the check counts what the project's summary counts.
    big = MemoryBudget("big", ram_bytes=1 << 24, flash_bytes=1 << 24, stack_bytes=1_024)
    result = generate_project(zoo_intmodel(name), tmp_path / "c", budget=big)
    # Counted independently of the generator's accounting: every constant array model.c declares.
    declared = sum(C_TYPE_BYTES[ctype] * int(length) for ctype, length
                   in re.findall(r"static const (\w+) \w+\[(\d+)\]", (tmp_path / "c" / "model.c").read_text()))
    assert result.fit.param_bytes == result.param_bytes == declared
    assert sum(layer.param_bytes for layer in result.layers) == declared
    assert result.fit.flash_needed == result.param_bytes
