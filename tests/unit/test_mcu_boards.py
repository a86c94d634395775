"""The board table and toolchain lookup (no toolchain needed)."""

from __future__ import annotations

import pytest

from tinykws.errors import ConfigError, EngineUnavailableError
from tinykws.mcu import toolchain
from tinykws.mcu.boards import BOARDS, QEMU_BOARDS, REAL_BOARDS, board_for_target, get_board
from tinykws.mcu.firmware import linker_script


def test_qemu_boards_and_targets():
    assert {b.core.name for b in QEMU_BOARDS.values()} == {"cortex-m3", "cortex-m4", "cortex-m7"}
    for target in ("cortex-m3", "cortex-m4", "cortex-m7"):
        board = board_for_target(target)
        assert board.emulated and board.core.name == target and board.counter_hz == 25_000_000
    assert "-mfpu=fpv4-sp-d16" in get_board("MPS2-AN386").core.cflags
    with pytest.raises(ConfigError, match="known boards: mps2-an385"):
        get_board("esp32")
    with pytest.raises(ConfigError, match="known targets"):
        board_for_target("cortex-a53")


def test_real_boards_have_memory_and_clock():
    for name in ("nucleo-l4r5zi", "stm32f746-disco", "nrf52840-dk", "arduino-nano-33-ble", "rpi-pico",
                 "nucleo-f103rb"):
        board = REAL_BOARDS[name]
        assert not board.emulated and board.clock_hz > 0 and board.flash_bytes > board.ram_bytes > 0
    assert get_board("nucleo-l4r5zi").ram_bytes == 640 * 1024
    assert get_board("rpi-pico").core.name == "cortex-m0plus"
    assert set(BOARDS) == set(QEMU_BOARDS) | set(REAL_BOARDS)


def test_linker_script_carries_the_board_memory_map():
    script = linker_script(get_board("stm32f746-disco"))
    assert "ORIGIN = 0x08000000, LENGTH = 0x100000" in script
    assert "ORIGIN = 0x20000000, LENGTH = 0x50000" in script
    assert "INCLUDE tkws_sections.ld" in script


def test_missing_toolchain_names_the_install_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(toolchain.BIN_ENV, raising=False)
    toolchain.find_toolchain.cache_clear()
    try:
        with pytest.raises(EngineUnavailableError) as info:
            toolchain.find_toolchain()
    finally:
        toolchain.find_toolchain.cache_clear()
    assert "arm-none-eabi-gcc is not installed" in str(info.value)
    assert toolchain.APT_LINE in str(info.value)
    assert toolchain.APT_LINE.endswith("gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm")
