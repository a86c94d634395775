"""An independent instruction count: a qemu execution trace attributed to functions.

qemu runs the ELF without -icount, one instruction per translation block (`-singlestep`,
in qemu >= 8.1 `-accel tcg,one-insn-per-tb=on`) and logs every executed block
(`-d exec,nochain`), so the log has one line per executed instruction with its address.
The addresses are attributed to functions through the ELF symbol table (arm-none-eabi-nm).
For chosen functions, every call is also counted inclusively: from the function's first
instruction until control is back at the instruction after the call site, callees
included. This counts what tinykws.mcu.harness derives from the -icount timer, by other
means; the two agreeing is the check (bench/mcu.py and tests/mcu/test_platform.py).
The trace is streamed through a pipe, never stored: one line is about 90 bytes.
"""

from __future__ import annotations

import bisect
import os
import subprocess
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from tinykws.errors import TargetError
from tinykws.mcu.boards import Board
from tinykws.mcu.qemu import qemu_command
from tinykws.mcu.toolchain import find_toolchain


@dataclass(frozen=True)
class Symbol:
    name: str
    address: int
    size: int


@dataclass(frozen=True)
class TraceCount:
    """Instructions of a whole run: in total, per function (flat: each instruction counted
    in the function that holds it), and per call of each watched function (inclusive)."""

    total: int
    per_function: dict[str, int]
    calls: dict[str, tuple[int, ...]]
    exit_code: int


def function_symbols(elf: str | os.PathLike) -> list[Symbol]:
    """Function symbols of `elf` sorted by address (Thumb bit cleared)."""
    out = subprocess.run([str(find_toolchain().nm), "-S", "--defined-only", "-n", str(elf)],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise TargetError(f"{elf}: arm-none-eabi-nm failed: {out.stderr.strip()}")
    symbols = []
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in ("T", "t", "W", "w"):
            symbols.append(Symbol(parts[3], int(parts[0], 16) & ~1, int(parts[1], 16)))
    return symbols


class _Attributor:
    """Address -> function name by the symbol table (None outside every function)."""

    def __init__(self, symbols: Sequence[Symbol]):
        self.symbols = sorted(symbols, key=lambda s: s.address)
        self.starts = [s.address for s in self.symbols]

    def name(self, address: int) -> str | None:
        i = bisect.bisect_right(self.starts, address) - 1
        if i >= 0 and address < self.symbols[i].address + max(self.symbols[i].size, 1):
            return self.symbols[i].name
        return None


def _trace_flags(qemu_version: tuple[int, int, int]) -> list[str]:
    one_per_block = (["-accel", "tcg,one-insn-per-tb=on"] if qemu_version >= (8, 1, 0) else ["-singlestep"])
    return one_per_block + ["-d", "exec,nochain"]


def _count_stream(stream, watched: dict[bytes, str]) -> tuple[Counter, dict[str, list[int]], list[str]]:
    """Count a qemu exec log. Lines look like
    "Trace 0: 0x7f8e2c000100 [00800408/00000050/00000110/ff020201] name";
    the second field in brackets is the guest address. A "cpu_io_recompile: rewound"
    line means the block before it was abandoned and will run again: it is uncounted.
    Returns the count per address, the inclusive counts of watched calls, and the last
    lines that were neither (qemu's own messages)."""
    pcs: Counter = Counter()
    calls: dict[str, list[int]] = {name: [] for name in watched.values()}
    open_calls: list[tuple[str, set[bytes], int]] = []  # name, return addresses, index of entry
    previous = b""
    index = -1  # index of the current instruction in the run
    other: list[str] = []
    for line in stream:
        if line.startswith(b"cpu_io_recompile"):
            pcs[previous] -= 1
            index -= 1
            continue
        if not line.startswith(b"Trace"):
            other = (other + [line.decode("utf-8", "replace").strip()])[-5:]
            continue
        start = line.index(b"[") + 10
        pc = line[start:start + 8]
        pcs[pc] += 1
        index += 1
        if open_calls and pc in open_calls[-1][1]:
            name, _, entry = open_calls.pop()
            calls[name].append(index - entry)
        if pc in watched:
            # The call returns to the instruction after the call site: 2 bytes on
            # after a 16-bit `blx rN`, 4 after a 32-bit `bl`.
            site = int(previous, 16)
            open_calls.append((watched[pc], {b"%08x" % (site + 2), b"%08x" % (site + 4)}, index))
        previous = pc
    return pcs, calls, other


def trace_count(elf: str | os.PathLike, board: Board, *, watch: Sequence[str] = (),
                cwd: str | os.PathLike | None = None, timeout_s: float = 600.0) -> TraceCount:
    """Run `elf` on `board` under the exec trace and count its instructions (see module doc).

    watch: function names whose calls are counted inclusively. Host files the firmware
    opens are relative to `cwd`. Raises TargetError on a timeout or a missing symbol.
    """
    tools = find_toolchain()
    symbols = function_symbols(elf)
    by_name = {s.name: s for s in symbols}
    missing = [name for name in watch if name not in by_name]
    if missing:
        raise TargetError(f"{elf}: no function {', '.join(missing)} in the symbol table")
    watched = {b"%08x" % by_name[name].address: name for name in watch}
    # The log goes to qemu's stderr, read through a pipe: it ends when qemu ends, however
    # that happens, and the watchdog kills a run that outlives the timeout.
    cmd = qemu_command(elf, board, icount_shift=None, extra=_trace_flags(tools.qemu_version))
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, bufsize=1 << 20)
    watchdog = threading.Timer(timeout_s, proc.kill)
    watchdog.start()
    try:
        pcs, calls, other = _count_stream(proc.stderr, watched)
        exit_code = proc.wait()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    if exit_code < 0:
        raise TargetError(f"{elf} did not finish on {board.name} under the trace within {timeout_s:g} s")
    if exit_code != 0 and any(line.startswith("qemu-system-arm:") for line in other):
        raise TargetError(f"qemu could not trace {elf} on {board.name}: {' '.join(other)}")
    attributor = _Attributor(symbols)
    per_function: Counter = Counter()
    for pc, n in pcs.items():
        if n:
            per_function[attributor.name(int(pc, 16)) or "?"] += n
    return TraceCount(
        total=sum(per_function.values()),
        per_function=dict(per_function.most_common()),
        calls={name: tuple(counts) for name, counts in calls.items()},
        exit_code=exit_code,
    )
