"""`tinykws profile` on a C project folder: JSON with every figure, an HTML page with its
PNG, and a share of a real board."""

from __future__ import annotations

import json

import pytest

from tinykws.cli.main import main

pytestmark = pytest.mark.mcu


def test_profile_json_html_and_board_share(toolchain, programs, tmp_path, capsys):
    page = tmp_path / "out" / "dense.html"
    code = main(["profile", str(programs / "dense"), "--board", "nucleo-l4r5zi", "--cpi", "2",
                 "--html", str(page), "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["core"] == "cortex-m4" and data["emulated_board"] == "mps2-an386"
    assert [layer["index"] for layer in data["layers"]] == [0, 1]
    total = data["instructions_per_inference"]
    # The hooked layers cover the plain build's inference; the hooks' memory barriers make
    # the compiler keep fewer values in registers across them (62 instructions here).
    assert abs(data["layer_instructions_total"] - total) < 0.01 * total
    speed = data["speed"]
    assert speed["clock_hz"] == 120_000_000 and speed["cpi_assumed"] == 2.0
    assert speed["inferences_per_second"] == pytest.approx(120e6 / (2 * total))
    model = data["model_footprint"]
    assert model["bss"] == 32  # the program's static arena
    assert model["ram"] == model["data"] + model["bss"] + model["stack"] and model["stack"] > 0
    assert data["board_share"]["ram"] == pytest.approx(model["ram"] / (640 * 1024))
    assert page.is_file() and page.with_suffix(".png").stat().st_size > 1000
    assert json.loads(page.with_suffix(".json").read_text())["instructions_per_inference"] == total
