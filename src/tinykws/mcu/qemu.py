"""Running an ELF on an emulated board with qemu-system-arm, and the counter arithmetic.

qemu counts instructions, not cycles. With `-icount shift=S` every executed instruction
advances the virtual clock by exactly 2^S ns; the MPS2 timer the firmware reads ticks at
25 MHz (40 ns) of that clock, so an interval of t ticks is t * 40 / 2^S instructions up to
one tick of quantisation. tinykws uses S = 8 (256 ns, 6.4 ticks per instruction): the
quantisation is below 0.16 instruction, so rounding gives the exact count, the same on
every run. Semihosting console output goes to stdout; qemu's own messages to stderr.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

from tinykws.errors import TargetError
from tinykws.mcu.boards import Board
from tinykws.mcu.toolchain import find_toolchain

ICOUNT_SHIFT = 8
# Exit statuses of tinykws' own start-up code (tkws_startup.c).
FAULT_STATUS = 250
UNEXPECTED_INTERRUPT_STATUS = 251


@dataclass(frozen=True)
class QemuRun:
    """One emulator run: the program's exit status, its console output, qemu's messages,
    and the wall-clock time (s)."""

    exit_code: int
    stdout: str
    stderr: str
    seconds: float


def qemu_command(elf: str | os.PathLike, board: Board, *, icount_shift: int | None = ICOUNT_SHIFT,
                 extra: Sequence[str] = ()) -> list[str]:
    """The qemu-system-arm command line for `elf` on `board` (icount_shift None: no -icount)."""
    if not board.emulated:
        raise TargetError(f"board {board.name} is a real board; qemu emulates only "
                          "mps2-an385, mps2-an386 and mps2-an500")
    cmd = [
        str(find_toolchain().qemu), "-M", board.qemu_machine, "-display", "none",
        "-monitor", "none", "-serial", "none", "-nic", "none", "-no-reboot",
        "-chardev", "stdio,id=tkws_console",
        "-semihosting-config", "enable=on,target=native,chardev=tkws_console",
    ]
    if icount_shift is not None:
        cmd += ["-icount", f"shift={icount_shift},sleep=off"]
    return cmd + [*extra, "-kernel", str(elf)]


def run_elf(elf: str | os.PathLike, board: Board, *, timeout_s: float = 60.0,
            cwd: str | os.PathLike | None = None, icount_shift: int | None = ICOUNT_SHIFT,
            extra: Sequence[str] = ()) -> QemuRun:
    """Run `elf` on `board` until it exits; host files it opens are relative to `cwd`.

    A run that outlives `timeout_s` is killed and raises TargetError naming the ELF and the
    board; so does a fault (status 250) or an unexpected interrupt (251) in the firmware.
    Any other exit status is returned for the caller to judge.
    """
    cmd = qemu_command(elf, board, icount_shift=icount_shift, extra=extra)
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise TargetError(f"{elf} did not finish on {board.name} within {timeout_s:g} s "
                          "(the firmware hangs, or needs a longer timeout); qemu was stopped") from None
    run = QemuRun(
        exit_code=proc.returncode,
        stdout=proc.stdout.decode("utf-8", "replace"),
        stderr=proc.stderr.decode("utf-8", "replace"),
        seconds=time.monotonic() - start,
    )
    if run.exit_code in (FAULT_STATUS, UNEXPECTED_INTERRUPT_STATUS):
        raise TargetError(f"{elf} crashed on {board.name}: {run.stdout.strip() or run.stderr.strip()}")
    errors = [line for line in run.stderr.splitlines()
              if line.startswith("qemu-system-arm:") and "warning:" not in line]
    if run.exit_code != 0 and errors:
        raise TargetError(f"qemu could not run {elf} on {board.name}: {' '.join(errors)}")
    return run


def ticks_to_instructions(ticks, board: Board, icount_shift: int = ICOUNT_SHIFT) -> np.ndarray:
    """Counter ticks -> instructions (int64 array) for a run with `-icount shift=icount_shift`.

    Raises TargetError when a value is not within 0.25 of a whole instruction, which would
    mean the counter is not tied to instructions (no -icount, another shift or clock).
    """
    per_tick = Fraction(10**9, board.counter_hz) / 2**icount_shift  # instructions per tick
    exact = np.asarray(ticks, dtype=np.float64) * float(per_tick)
    counts = np.rint(exact)
    if np.any(np.abs(exact - counts) > 0.25):
        raise TargetError(f"counter ticks do not map to whole instructions on {board.name} "
                          f"(shift {icount_shift}): was the firmware run with -icount?")
    return counts.astype(np.int64)

