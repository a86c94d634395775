"""Fixtures of the microcontroller tests. They need arm-none-eabi-gcc, newlib and
qemu-system-arm: when those are missing the `toolchain` fixture raises the
EngineUnavailableError that names the apt line, so the tests fail (never skip) where
`make test` would have installed them."""

from __future__ import annotations

from pathlib import Path

import pytest

PROGRAMS = Path(__file__).resolve().parent / "programs"


@pytest.fixture(scope="session")
def toolchain():
    from tinykws.mcu.toolchain import find_toolchain

    return find_toolchain()


@pytest.fixture(scope="session")
def programs() -> Path:
    """Folder of the small C programs the platform tests build."""
    return PROGRAMS
