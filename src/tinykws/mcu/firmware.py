"""Building firmware: a C project (a generated model, or any sources with the same
contract) linked with tinykws' start-up code, semihosting I/O and measuring harness into
an ELF for one board, and its section sizes from arm-none-eabi-size.

The contract of a project: a header (`model.h` unless named otherwise) on its include
path that defines TKWS_INPUT_BYTES, TKWS_OUTPUT_BYTES and TKWS_NUM_LAYERS and declares
`int tkws_invoke(const int8_t *input, int8_t *output);`. A profiling build force-includes
tkws_hooks.h into every file, which turns TKWS_LAYER_BEGIN(i)/TKWS_LAYER_END(i) into
counter reads.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from tinykws.errors import TargetError
from tinykws.fileio import write_text
from tinykws.mcu.boards import Board
from tinykws.mcu.toolchain import find_toolchain

CSRC = Path(__file__).resolve().parent / "csrc"
# The platform: start-up, semihosting, counter and harness (the main is chosen per build).
PLATFORM_SOURCES = ("tkws_startup.c", "tkws_semihost.c", "tkws_counter.c", "tkws_harness.c")
# "semihost": the measuring main (tkws_main_semihost.c); "project": the project brings main().
MAINS = {"semihost": "tkws_main_semihost.c", "project": None}
OPT_LEVELS = ("-O0", "-O1", "-O2", "-O3", "-Os")
COMMON_CFLAGS = (
    "-std=c99", "-Wall", "-ffunction-sections", "-fdata-sections", "-fno-common",
)
LDFLAGS = ("-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections")


@dataclass(frozen=True)
class CProject:
    """C sources to link with the harness: `sources` (.c files), `include_dirs` (one holds
    the model `header`), extra preprocessor `defines` (NAME or NAME=VALUE) and the static
    arena the project declares, when known (bytes; checked against the board before
    compiling)."""

    sources: tuple[Path, ...]
    include_dirs: tuple[Path, ...]
    defines: tuple[str, ...] = ()
    arena_bytes: int | None = None
    header: str = "model.h"

    @classmethod
    def from_dir(cls, folder: str | os.PathLike) -> "CProject":
        """Every .c file of `folder` except main.c (a generated project's example program),
        with `folder` as the include path; the header is model.h, else the one header that
        defines TKWS_INPUT_BYTES."""
        root = Path(folder)
        sources = tuple(sorted(p for p in root.glob("*.c") if p.name != "main.c"))
        if not sources:
            raise TargetError(f"{root}: no C sources")
        header = "model.h"
        if not (root / header).is_file():
            found = [h.name for h in sorted(root.glob("*.h")) if "TKWS_INPUT_BYTES" in h.read_text(errors="replace")]
            header = found[0] if len(found) == 1 else header
        return cls(sources=sources, include_dirs=(root,), header=header)

    def has_header(self) -> bool:
        return any((Path(d) / self.header).is_file() for d in self.include_dirs)


@dataclass(frozen=True)
class SectionSizes:
    """Bytes per output section of the ELF: code, constants, initialised data, zeroed data,
    and the stack the linker reserves."""

    text: int
    rodata: int
    data: int
    bss: int
    stack_reserved: int

    @property
    def flash(self) -> int:
        """Bytes of flash: code, constants, and the initial values of .data."""
        return self.text + self.rodata + self.data

    @property
    def static_ram(self) -> int:
        """Bytes of RAM taken before the stack: .data and .bss."""
        return self.data + self.bss

    def to_dict(self) -> dict[str, int]:
        return {"text": self.text, "rodata": self.rodata, "data": self.data, "bss": self.bss,
                "stack_reserved": self.stack_reserved, "flash": self.flash, "static_ram": self.static_ram}


@dataclass(frozen=True)
class Firmware:
    """A linked ELF for `board`; `profile_layers`: built with the per-layer hooks."""

    elf: Path
    board: Board
    sizes: SectionSizes
    profile_layers: bool
    cflags: tuple[str, ...]
    compiler_output: str


def linker_script(board: Board) -> str:
    """The per-board linker script: the board's regions and stack, then tkws_sections.ld."""
    return (
        f"/* tinykws firmware for {board.name} ({board.core.name}); generated from tinykws.mcu.boards */\n"
        "MEMORY\n{\n"
        f"  FLASH (rx) : ORIGIN = 0x{board.flash_origin:08X}, LENGTH = 0x{board.flash_bytes:X}\n"
        f"  RAM (rwx) : ORIGIN = 0x{board.ram_origin:08X}, LENGTH = 0x{board.ram_bytes:X}\n"
        "}\n"
        f"__tkws_stack_bytes = 0x{board.stack_bytes:X};\n"
        "INCLUDE tkws_sections.ld\n"
    )


def embedded_inputs_source(inputs: np.ndarray, input_bytes: int) -> str:
    """C source of `tkws_embedded_inputs` (a TKWS_EMBEDDED_INPUTS build) from int8 rows."""
    rows = np.ascontiguousarray(inputs, dtype=np.int8).reshape(len(inputs), -1)
    if rows.shape[1] != input_bytes:
        raise TargetError(f"embedded inputs have {rows.shape[1]} bytes each, the model takes {input_bytes}")
    body = ",\n".join(", ".join(str(int(v)) for v in row) for row in rows)
    return (
        "#include <stdint.h>\n"
        f"const uint32_t tkws_embedded_input_count = {len(rows)}u;\n"
        f"const int8_t tkws_embedded_inputs[{max(rows.size, 1)}] = {{\n{body}\n}};\n"
    )


def read_sizes(elf: str | os.PathLike) -> SectionSizes:
    """Section sizes of `elf` from `arm-none-eabi-size -A` (bytes)."""
    tools = find_toolchain()
    out = subprocess.run([str(tools.size), "-A", "-d", str(elf)], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise TargetError(f"{elf}: arm-none-eabi-size failed: {out.stderr.strip()}")
    sections: dict[str, int] = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            sections[parts[0]] = int(parts[1])
    return SectionSizes(
        text=sections.get(".text", 0),
        rodata=sections.get(".rodata", 0) + sections.get(".ARM.exidx", 0),
        data=sections.get(".data", 0),
        bss=sections.get(".bss", 0),
        stack_reserved=sections.get(".stack", 0),
    )


def check_arena_fits(project: CProject, board: Board) -> None:
    """Refuse a project whose declared arena cannot fit the board's RAM beside the stack."""
    if project.arena_bytes is None:
        return
    room = board.ram_bytes - board.stack_bytes
    if project.arena_bytes > room:
        raise TargetError(
            f"the model's arena of {project.arena_bytes:,} B does not fit board {board.name}: "
            f"{board.ram_bytes:,} B of RAM less a {board.stack_bytes:,} B stack leaves {room:,} B"
        )


def _overflow_message(stderr: str, board: Board) -> str | None:
    found = re.findall(r"region `(\w+)' overflowed by (\d+) bytes", stderr)
    if not found:
        return None
    what = "; ".join(f"{region} overflowed by {int(n):,} B" for region, n in found)
    return (f"the program does not fit board {board.name} "
            f"({board.flash_bytes:,} B flash, {board.ram_bytes:,} B RAM with a {board.stack_bytes:,} B stack): {what}")


def build_firmware(
    project: CProject,
    board: Board,
    out_dir: str | os.PathLike,
    *,
    profile_layers: bool = False,
    main: str = "semihost",
    opt: str = "-O2",
    embedded_inputs: np.ndarray | None = None,
    input_bytes: int | None = None,
    extra_cflags: Sequence[str] = (),
) -> Firmware:
    """Compile and link `project` with the harness into `out_dir/firmware.elf` for `board`.

    profile_layers: force-include tkws_hooks.h so every layer is timed (a few instructions
    per layer more than the plain build, which gives the exact totals). embedded_inputs:
    int8 rows compiled into the image instead of reading tkws_in.bin (needs input_bytes).
    Raises TargetError with the compiler's message, or naming the region that overflowed.
    """
    if main not in MAINS:
        raise TargetError(f"unknown firmware main {main!r}; known: {', '.join(MAINS)}")
    if opt not in OPT_LEVELS:
        raise TargetError(f"unknown optimisation level {opt!r}; known: {', '.join(OPT_LEVELS)}")
    if main == "semihost" and not project.has_header():
        raise TargetError(f"no {project.header} in {', '.join(map(str, project.include_dirs))}: the harness needs "
                          "the model contract (TKWS_INPUT_BYTES, TKWS_OUTPUT_BYTES, TKWS_NUM_LAYERS, tkws_invoke)")
    check_arena_fits(project, board)
    tools = find_toolchain()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    script = out / "board.ld"
    write_text(script, linker_script(board))
    sources = [CSRC / name for name in PLATFORM_SOURCES] + list(project.sources)
    if MAINS[main] is not None:
        sources.append(CSRC / MAINS[main])
    cflags = list(board.core.cflags) + [opt, *COMMON_CFLAGS, *extra_cflags]
    cflags += [f"-D{d}" for d in project.defines] + [f'-DTKWS_MODEL_HEADER="{project.header}"']
    if profile_layers:
        cflags += ["-DTKWS_PROFILE_LAYERS", "-include", str(CSRC / "tkws_hooks.h")]
    if embedded_inputs is not None:
        if input_bytes is None:
            raise TargetError("embedded inputs need input_bytes")
        inputs_c = out / "tkws_inputs.c"
        write_text(inputs_c, embedded_inputs_source(embedded_inputs, input_bytes))
        sources.append(inputs_c)
        cflags.append("-DTKWS_EMBEDDED_INPUTS")
    includes = [f"-I{d}" for d in (*project.include_dirs, CSRC)]
    elf = out / "firmware.elf"
    cmd = [str(tools.gcc), *cflags, *includes, *(str(s) for s in sources),
           *LDFLAGS, f"-L{CSRC}", "-T", str(script), f"-Wl,-Map,{out / 'firmware.map'}", "-o", str(elf)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        message = _overflow_message(result.stderr, board)
        if message:
            raise TargetError(message)
        raise TargetError(f"building firmware for {board.name} in {out} failed:\n{result.stderr.strip()[-4000:]}")
    return Firmware(elf=elf, board=board, sizes=read_sizes(elf), profile_layers=profile_layers,
                    cflags=tuple(cflags), compiler_output=result.stderr)
