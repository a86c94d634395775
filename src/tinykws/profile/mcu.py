"""The cost of a generated C model on a Cortex-M, measured on qemu.

Per layer: op, output shape, parameters, MACs, instructions executed on the emulated core,
instructions per MAC and arena bytes. Totals: flash (text + rodata + data of the model,
from arm-none-eabi-size), RAM (the model's data and bss, its arena included, plus the
stack peak of an inference), instructions per inference, and inferences per second at a
stated clock under a stated cycles-per-instruction (CPI) assumption: qemu counts
instructions, not cycles, so the speed is an estimate whose assumption is part of it.

How each figure is measured:
- instructions per inference: the plain build (no hooks), exact (tinykws.mcu.harness);
- per layer: a second build with the TKWS_LAYER_BEGIN/END hooks, each layer's count less
  the calibrated cost of an empty hook pair; the hooks add a few instructions between
  layers, so the layers sum to slightly more or less than the plain total;
- the model's flash and static RAM: the firmware minus the same firmware built with an
  empty tkws_invoke (harness, start-up and semihosting code cancel out).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinykws.errors import ConfigError
from tinykws.fileio import write_text
from tinykws.mcu.boards import Board, board_for_target, get_board
from tinykws.mcu.firmware import CProject, SectionSizes, build_firmware
from tinykws.mcu.harness import run_harness
from tinykws.mcu.project import ModelProject

DEFAULT_CPI = 1.0
NULL_MODEL_C = """/* tinykws: an empty model, to measure the firmware around a model. */
#include <stdint.h>
int tkws_invoke(const int8_t *input, int8_t *output) {
  (void)input;
  (void)output;
  return 0;
}
"""


@dataclass(frozen=True)
class LayerCost:
    """One layer: what it is and what it cost on the emulated core (instructions)."""

    index: int
    name: str
    op: str
    output_shape: tuple[int, ...]
    params: int
    param_bytes: int
    macs: int
    instructions: int
    arena_bytes: int

    @property
    def instructions_per_mac(self) -> float | None:
        return self.instructions / self.macs if self.macs else None


@dataclass(frozen=True)
class Footprint:
    """Section sizes (bytes) and a measured stack peak: flash = text + rodata + data
    (initial values); ram = data + bss + stack."""

    sections: SectionSizes
    stack: int

    @property
    def flash(self) -> int:
        return self.sections.flash

    @property
    def ram(self) -> int:
        return self.sections.static_ram + self.stack

    def to_dict(self) -> dict[str, int]:
        s = self.sections
        return {"text": s.text, "rodata": s.rodata, "data": s.data, "bss": s.bss, "stack": self.stack,
                "flash": self.flash, "ram": self.ram}


@dataclass(frozen=True)
class McuProfile:
    """A model profiled on an emulated board; optionally sized for a real `board` too.

    model: the model's Footprint (stack: an inference's stack peak); firmware: the whole
    measuring firmware (stack: its peak since reset). instructions: per inference, from the
    plain build; layer_instructions_total: the sum over layers of the hooked build.
    clock_hz and cpi give the speed estimate; board_share: the model's flash and RAM as a
    fraction of the real board's. decision: reserved for the split of one keyword decision
    into front-end, network and post-processing (once the C front-end exists); None now.
    """

    model: str
    emulated_board: str
    core: str
    instructions: int
    instructions_range: tuple[int, int]
    inputs_measured: int
    layers: tuple[LayerCost, ...]
    layer_instructions_total: int
    macs: int
    model_footprint: Footprint
    firmware_footprint: Footprint
    arena_bytes: int | None
    clock_hz: int
    clock_source: str
    cpi: float
    board: dict[str, Any] | None = None
    board_share: dict[str, float] | None = None
    decision: dict[str, Any] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def cycles(self) -> float:
        """Estimated cycles per inference: instructions x CPI."""
        return self.instructions * self.cpi

    @property
    def latency_ms(self) -> float:
        return 1000.0 * self.cycles / self.clock_hz

    @property
    def inferences_per_second(self) -> float:
        return self.clock_hz / self.cycles if self.cycles else float("inf")

    @property
    def instructions_per_mac(self) -> float | None:
        return self.instructions / self.macs if self.macs else None

    def to_dict(self) -> dict[str, Any]:
        """Every figure, JSON-ready."""
        return {
            "model": self.model, "emulated_board": self.emulated_board, "core": self.core,
            "counts": "instructions executed on qemu (not cycles)",
            "instructions_per_inference": self.instructions,
            "instructions_range": list(self.instructions_range), "inputs_measured": self.inputs_measured,
            "macs": self.macs, "instructions_per_mac": self.instructions_per_mac,
            "layer_instructions_total": self.layer_instructions_total,
            "layers": [{**asdict(layer), "output_shape": list(layer.output_shape),
                        "instructions_per_mac": layer.instructions_per_mac} for layer in self.layers],
            "model_footprint": self.model_footprint.to_dict(),
            "firmware_footprint": self.firmware_footprint.to_dict(),
            "arena_bytes": self.arena_bytes,
            "speed": {"clock_hz": self.clock_hz, "clock_source": self.clock_source, "cpi_assumed": self.cpi,
                      "cycles_estimated": self.cycles, "latency_ms": self.latency_ms,
                      "inferences_per_second": self.inferences_per_second},
            "board": self.board, "board_share": self.board_share,
            "decision": self.decision, "notes": list(self.notes),
        }


def _model_sizes(project: ModelProject, board: Board, out: Path) -> tuple[SectionSizes, SectionSizes]:
    """Sizes of the firmware with the model and with an empty model, for `board`."""
    full = build_firmware(project.c_project, board, out / f"size_{board.name}").sizes
    null_dir = out / "null_model"
    null_dir.mkdir(parents=True, exist_ok=True)
    write_text(null_dir / "model.c", NULL_MODEL_C)
    null = CProject(sources=(null_dir / "model.c",), include_dirs=project.c_project.include_dirs,
                    defines=project.c_project.defines, header=project.c_project.header)
    empty = build_firmware(null, board, out / f"null_{board.name}").sizes
    return full, empty


def _difference(full: SectionSizes, empty: SectionSizes) -> SectionSizes:
    return SectionSizes(text=full.text - empty.text, rodata=full.rodata - empty.rodata,
                        data=full.data - empty.data, bss=full.bss - empty.bss, stack_reserved=0)


def _layer_costs(project: ModelProject, per_layer: np.ndarray) -> tuple[LayerCost, ...]:
    costs = []
    for i in range(project.num_layers):
        info = project.layers[i] if project.layers else None
        costs.append(LayerCost(
            index=i, name=info.name if info else f"layer {i}", op=info.op if info else "?",
            output_shape=tuple(info.output_shape) if info else (), params=info.params if info else 0,
            param_bytes=info.param_bytes if info else 0, macs=info.macs if info else 0,
            instructions=int(per_layer[i]),
            arena_bytes=info.arena_bytes if info else 0,
        ))
    return tuple(costs)


def default_inputs(input_bytes: int, count: int = 1, seed: int = 0) -> np.ndarray:
    """Seeded uniform int8 inputs (count, input_bytes): the profile's default workload."""
    return np.random.default_rng(seed).integers(-128, 128, size=(count, input_bytes), dtype=np.int8)


def profile_project(
    project: ModelProject,
    *,
    name: str = "model",
    target: str = "cortex-m4",
    board: Board | None = None,
    clock_hz: float | None = None,
    cpi: float = DEFAULT_CPI,
    inputs: np.ndarray | None = None,
    work_dir: str | os.PathLike | None = None,
) -> McuProfile:
    """Build and run `project` on the qemu board of `target` and profile it (module doc).

    board: a real board to size the model for (its core and memory map; a build that does
    not fit raises TargetError) and whose clock is the default. clock_hz: the clock for the
    speed estimate (default: the board's, else the reference board of the core). inputs:
    int8 rows (default: one seeded random input); counts are from the first, the range over
    all.
    """
    if cpi <= 0:
        raise ConfigError(f"cycles per instruction must be positive, got {cpi}")
    emulated = board_for_target(board.core.name if board is not None and board.core.name in
                                ("cortex-m3", "cortex-m4", "cortex-m7") else target)
    notes = ["qemu counts instructions, not cycles; speed = clock / (instructions x CPI), CPI assumed "
             f"{cpi:g}"]
    if board is not None and board.core.name != emulated.core.name:
        notes.append(f"{board.name} has a {board.core.name}, which qemu does not emulate: instructions were "
                     f"counted on {emulated.core.name} ({emulated.name})")
    clock, source = _clock(board, emulated, clock_hz)
    rows = default_inputs(project.input_bytes) if inputs is None else np.asarray(inputs, dtype=np.int8)
    with tempfile.TemporaryDirectory(prefix="tkws_profile_", dir=work_dir) as tmp:
        out = Path(tmp)
        plain_fw = build_firmware(project.c_project, emulated, out / "plain")
        plain = run_harness(plain_fw, rows, input_bytes=project.input_bytes)
        hooked = run_harness(build_firmware(project.c_project, emulated, out / "hooked", profile_layers=True),
                             rows[:1], input_bytes=project.input_bytes)
        if not np.array_equal(plain.outputs[:1], hooked.outputs):
            notes.append("the hooked build's outputs differ from the plain build's")
        full, empty = _model_sizes(project, emulated, out)
        model_sizes = _difference(full, empty)
        stack = int(plain.stack_bytes.max())
        model_fp = Footprint(model_sizes, stack)
        firmware_fp = Footprint(plain_fw.sizes, plain.stack_peak_bytes)
        board_info = share = None
        if board is not None and not board.emulated:
            real_full, real_empty = _model_sizes(project, board, out)
            model_fp = Footprint(_difference(real_full, real_empty), stack)
            board_info = board.to_dict()
            share = {"flash": model_fp.flash / board.flash_bytes, "ram": model_fp.ram / board.ram_bytes}
    layers = _layer_costs(project, hooked.layer_instructions[0])
    return McuProfile(
        model=name, emulated_board=emulated.name, core=emulated.core.name,
        instructions=int(plain.instructions[0]),
        instructions_range=(int(plain.instructions.min()), int(plain.instructions.max())),
        inputs_measured=len(rows), layers=layers,
        layer_instructions_total=int(hooked.layer_instructions[0].sum()),
        macs=sum(layer.macs for layer in layers),
        model_footprint=model_fp, firmware_footprint=firmware_fp, arena_bytes=project.arena_bytes,
        clock_hz=int(clock), clock_source=source, cpi=float(cpi),
        board=board_info, board_share=share, notes=tuple(notes),
    )


# The real board whose clock stands for each emulated core when none is given.
REFERENCE_BOARDS = {"cortex-m3": "nucleo-f103rb", "cortex-m4": "nucleo-l4r5zi", "cortex-m7": "stm32f746-disco"}


def _clock(board: Board | None, emulated: Board, clock_hz: float | None) -> tuple[float, str]:
    if clock_hz is not None:
        if clock_hz <= 0:
            raise ConfigError(f"the clock must be positive, got {clock_hz} Hz")
        return clock_hz, "given"
    if board is not None and board.clock_hz:
        return board.clock_hz, f"{board.name} maximum clock"
    reference = get_board(REFERENCE_BOARDS[emulated.core.name])
    return reference.clock_hz, f"{reference.name} maximum clock ({emulated.core.name} reference board)"
