"""Cortex-M cores, the emulated qemu boards and a table of real boards.

A board is a core (compiler flags), a memory map (one flash and one RAM region for the
linker) and, for real boards, the clock. The three qemu boards share the MPS2 memory map
(QEMU 7.2, hw/arm/mps2.c): ZBT SSRAM1, 4 MiB at 0x00000000, holds code and constants;
ZBT SSRAM2/3, 4 MiB at 0x20000000, holds data, bss and the stack; the CMSDK APB timer 0
at 0x40000000 counts a 25 MHz PCLK, which `-icount` ties to executed instructions.
Real boards are build targets for size and fit checks (and later for the device); they
cannot run under qemu.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinykws.errors import ConfigError

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class Core:
    """A Cortex-M core: its gcc flags and what it has (`dsp`: the SIMD/saturating
    instructions such as SMLAD; `fpu`: a hardware single-precision FPU)."""

    name: str
    cflags: tuple[str, ...]
    dsp: bool
    fpu: bool


CORES: dict[str, Core] = {
    c.name: c
    for c in (
        Core("cortex-m0plus", ("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"), dsp=False, fpu=False),
        Core("cortex-m3", ("-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"), dsp=False, fpu=False),
        Core("cortex-m4", ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"),
             dsp=True, fpu=True),
        # fpv5-sp-d16: single precision, which every M7 board below has (the STM32F746 has
        # no double-precision unit), so one binary runs on all of them.
        Core("cortex-m7", ("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"),
             dsp=True, fpu=True),
    )
}


@dataclass(frozen=True)
class Board:
    """A build target. Sizes in bytes, addresses as integers, clock in Hz (0: not fixed).

    `qemu_machine` is the `-M` name for emulated boards and None for real ones;
    `stack_bytes` is the stack the linker reserves (the harness measures what is used);
    `counter_hz` is the clock of the instruction counter (CMSDK timer PCLK) on qemu boards.
    """

    name: str
    core: Core
    flash_origin: int
    flash_bytes: int
    ram_origin: int
    ram_bytes: int
    clock_hz: int
    description: str
    qemu_machine: str | None = None
    stack_bytes: int = 16 * KIB
    counter_hz: int = 0

    @property
    def emulated(self) -> bool:
        return self.qemu_machine is not None

    def to_dict(self) -> dict:
        """A JSON-ready record."""
        return {
            "name": self.name, "core": self.core.name, "flash_bytes": self.flash_bytes,
            "ram_bytes": self.ram_bytes, "clock_hz": self.clock_hz, "emulated": self.emulated,
            "description": self.description,
        }


def _mps2(name: str, core: str, what: str) -> Board:
    # The FPGA runs the core at 25 MHz (the same SYSCLK that clocks the timer); qemu does
    # not model it, so clock_hz stays 0 and speeds come from a clock the user states.
    return Board(
        name=name, core=CORES[core], flash_origin=0x00000000, flash_bytes=4 * MIB,
        ram_origin=0x20000000, ram_bytes=4 * MIB, clock_hz=0, description=what,
        qemu_machine=name, stack_bytes=64 * KIB, counter_hz=25_000_000,
    )


QEMU_BOARDS: dict[str, Board] = {
    b.name: b
    for b in (
        _mps2("mps2-an385", "cortex-m3", "Arm MPS2 AN385 (Cortex-M3), emulated by qemu"),
        _mps2("mps2-an386", "cortex-m4", "Arm MPS2 AN386 (Cortex-M4F), emulated by qemu"),
        _mps2("mps2-an500", "cortex-m7", "Arm MPS2 AN500 (Cortex-M7), emulated by qemu"),
    )
}

# Real boards: flash and RAM usable by one application image, in the vendor's memory map.
REAL_BOARDS: dict[str, Board] = {
    b.name: b
    for b in (
        # STM32L4R5ZI (NUCLEO-L4R5ZI, the MLPerf Tiny reference board): 2 MiB flash at
        # 0x08000000; SRAM1 192 KiB + SRAM2 64 KiB + SRAM3 384 KiB = 640 KiB, contiguous from
        # 0x20000000; Cortex-M4F up to 120 MHz. Source: ST datasheet DS12023 (STM32L4R5xx),
        # memory map and features table; ST UM2179 (Nucleo-144 L4R5ZI).
        Board("nucleo-l4r5zi", CORES["cortex-m4"], 0x08000000, 2 * MIB, 0x20000000, 640 * KIB,
              120_000_000, "ST NUCLEO-L4R5ZI (STM32L4R5ZI, Cortex-M4F 120 MHz)"),
        # STM32F746NG (32F746GDISCOVERY): 1 MiB flash at 0x08000000; DTCM 64 KiB + SRAM1
        # 240 KiB + SRAM2 16 KiB = 320 KiB, contiguous from 0x20000000; Cortex-M7 up to
        # 216 MHz, single-precision FPU. Source: ST datasheet DS10916 (STM32F745xx/746xx),
        # memory map; ST UM1907 (32F746GDISCOVERY).
        Board("stm32f746-disco", CORES["cortex-m7"], 0x08000000, 1 * MIB, 0x20000000, 320 * KIB,
              216_000_000, "ST 32F746GDISCOVERY (STM32F746NG, Cortex-M7 216 MHz)"),
        # STM32F103RB (NUCLEO-F103RB): 128 KiB flash at 0x08000000, 20 KiB SRAM at
        # 0x20000000, Cortex-M3 up to 72 MHz. Source: ST datasheet DS5319 (STM32F103x8/xB).
        # A 4 KiB stack: 16 KiB would leave almost nothing of its RAM.
        Board("nucleo-f103rb", CORES["cortex-m3"], 0x08000000, 128 * KIB, 0x20000000, 20 * KIB,
              72_000_000, "ST NUCLEO-F103RB (STM32F103RB, Cortex-M3 72 MHz)", stack_bytes=4 * KIB),
        # nRF52840: 1 MiB flash at 0x00000000, 256 KiB RAM at 0x20000000, Cortex-M4F 64 MHz.
        # Source: Nordic nRF52840 Product Specification v1.7, memory chapter.
        Board("nrf52840-dk", CORES["cortex-m4"], 0x00000000, 1 * MIB, 0x20000000, 256 * KIB,
              64_000_000, "Nordic nRF52840 DK (nRF52840, Cortex-M4F 64 MHz)"),
        # Arduino Nano 33 BLE: the same nRF52840, but its bootloader keeps the first 64 KiB of
        # flash, so sketches start at 0x10000 (960 KiB). Source: Arduino Nano 33 BLE
        # datasheet (ABX00030) and the ArduinoCore-mbed linker script for ARDUINO_NANO33BLE.
        Board("arduino-nano-33-ble", CORES["cortex-m4"], 0x00010000, 960 * KIB, 0x20000000, 256 * KIB,
              64_000_000, "Arduino Nano 33 BLE (nRF52840, Cortex-M4F 64 MHz, 64 KiB bootloader)"),
        # RP2040: dual Cortex-M0+ at 133 MHz (no DSP, no FPU); 264 KiB SRAM at 0x20000000
        # (four striped 64 KiB banks + two 4 KiB banks); the Pico has 2 MiB of QSPI flash
        # executed in place at 0x10000000, the first 256 B of which are the boot2 stage.
        # Source: Raspberry Pi RP2040 datasheet, address map; Raspberry Pi Pico datasheet.
        Board("rpi-pico", CORES["cortex-m0plus"], 0x10000100, 2 * MIB - 256, 0x20000000, 264 * KIB,
              133_000_000, "Raspberry Pi Pico (RP2040, Cortex-M0+ 133 MHz)"),
    )
}

BOARDS: dict[str, Board] = {**QEMU_BOARDS, **REAL_BOARDS}

# `--target cortex-mN` picks the emulated board with that core.
TARGET_BOARDS = {"cortex-m3": "mps2-an385", "cortex-m4": "mps2-an386", "cortex-m7": "mps2-an500"}


def get_board(name: str) -> Board:
    """The board called `name` (case-insensitive); ConfigError lists the known ones."""
    key = name.lower()
    if key not in BOARDS:
        raise ConfigError(f"unknown board {name!r}; known boards: {', '.join(BOARDS)}")
    return BOARDS[key]


def board_for_target(target: str) -> Board:
    """The qemu board that emulates the core `target` (cortex-m3, cortex-m4, cortex-m7)."""
    key = target.lower()
    if key not in TARGET_BOARDS:
        raise ConfigError(f"unknown target {target!r}; known targets: {', '.join(TARGET_BOARDS)}")
    return QEMU_BOARDS[TARGET_BOARDS[key]]
