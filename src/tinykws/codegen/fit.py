"""Does a generated project fit a board? The figures the generator knows before any
compiler runs, against the board's RAM and flash.

RAM needed: the network's arena, the static RAM of the other generated parts (a
front-end's state and buffers, say) and a stack allowance (the stack the board's linker
script reserves). Flash needed: the network's weights and fixed-point parameters and the
other parts' constant tables. Code is not counted (only the compiler knows it; `tinykws
profile --board` measures a linked firmware), so a project that passes can still miss by
its code size, but one that fails here cannot fit.

The board itself is described by the caller (`tinykws.mcu.boards` is a layer above the
code generator): a `MemoryBudget` of plain numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tinykws.errors import TargetError


@dataclass(frozen=True)
class MemoryBudget:
    """What a board gives one application, in bytes: RAM, flash, and the part of the RAM
    its stack takes (`stack_bytes`). `name` names the board in messages; `cflags` are the
    compiler flags of its core (written into the project's Makefile)."""

    name: str
    ram_bytes: int
    flash_bytes: int
    stack_bytes: int
    cflags: tuple[str, ...] = ()


@dataclass(frozen=True)
class PartCost:
    """A generated part besides the network: its static RAM and constant bytes."""

    name: str
    ram_bytes: int
    flash_bytes: int


@dataclass(frozen=True)
class FitCheck:
    """The bytes a project needs on `budget`'s board (code not counted) and what it has."""

    budget: MemoryBudget
    arena_bytes: int
    param_bytes: int
    parts: tuple[PartCost, ...]

    @property
    def ram_needed(self) -> int:
        """Arena + the parts' RAM + the stack allowance (bytes)."""
        return self.arena_bytes + sum(p.ram_bytes for p in self.parts) + self.budget.stack_bytes

    @property
    def flash_needed(self) -> int:
        """Weights and parameters + the parts' tables (bytes; code not counted)."""
        return self.param_bytes + sum(p.flash_bytes for p in self.parts)

    @property
    def fits(self) -> bool:
        return self.ram_needed <= self.budget.ram_bytes and self.flash_needed <= self.budget.flash_bytes

    def ram_terms(self) -> str:
        terms = [f"arena {self.arena_bytes:,}"] + [f"{p.name} {p.ram_bytes:,}" for p in self.parts if p.ram_bytes]
        return " + ".join(terms + [f"stack allowance {self.budget.stack_bytes:,}"])

    def flash_terms(self) -> str:
        terms = [f"weights and parameters {self.param_bytes:,}"]
        return " + ".join(terms + [f"{p.name} tables {p.flash_bytes:,}" for p in self.parts if p.flash_bytes])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (bytes)."""
        b = self.budget
        return {"board": b.name, "ram_bytes": b.ram_bytes, "flash_bytes": b.flash_bytes,
                "stack_allowance_bytes": b.stack_bytes, "arena_bytes": self.arena_bytes,
                "param_bytes": self.param_bytes,
                "parts": [{"name": p.name, "ram_bytes": p.ram_bytes, "flash_bytes": p.flash_bytes} for p in self.parts],
                "ram_needed_bytes": self.ram_needed, "flash_needed_bytes": self.flash_needed,
                "code_counted": False, "fits": self.fits}


def check_fit(model_name: str, budget: MemoryBudget, *, arena_bytes: int, param_bytes: int,
              parts: Sequence[PartCost] = ()) -> FitCheck:
    """The FitCheck of a project; raises TargetError (one line naming the model, the board
    and the numbers) when its RAM or flash need exceeds the board's."""
    check = FitCheck(budget, arena_bytes, param_bytes, tuple(parts))
    problems = []
    if check.ram_needed > budget.ram_bytes:
        problems.append(f"RAM needs {check.ram_needed:,} B ({check.ram_terms()}), the board has "
                        f"{budget.ram_bytes:,} B")
    if check.flash_needed > budget.flash_bytes:
        problems.append(f"flash needs {check.flash_needed:,} B before code ({check.flash_terms()}), the board has "
                        f"{budget.flash_bytes:,} B")
    if problems:
        raise TargetError(f"{model_name} does not fit board {budget.name}: {'; '.join(problems)}")
    return check
