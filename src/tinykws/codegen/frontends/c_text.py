"""C99 text for generated constants: exact float literals, integer defines, const tables.

A `CTable` is one `static const` array; `CUnit` collects the defines and tables of one
generated translation unit and renders them in order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# C element type -> (numpy dtype the values must fit, bytes per element)
C_TYPES = {
    "int8_t": np.int8, "uint8_t": np.uint8, "int16_t": np.int16, "uint16_t": np.uint16,
    "int32_t": np.int32, "uint32_t": np.uint32, "float": np.float32,
}


def c_float(value: float) -> str:
    """A float32 literal that parses back to exactly np.float32(value).

    Nine significant digits identify every binary32 value, and C compilers round decimal
    literals correctly, so the round trip is exact.
    """
    v = float(np.float32(value))
    if not math.isfinite(v):
        raise ValueError(f"cannot write {value!r} as a C float literal")
    text = f"{v:.9g}"
    if not any(ch in text for ch in ".e"):
        text += ".0"
    return text + "f"


def c_uint_suffix(value: int) -> str:
    """An integer literal; values beyond int32 get a u/ull suffix so C keeps their type wide."""
    if value < 0:
        return str(value) if value >= -(2**31) else f"({value + 1}LL - 1)"
    if value <= 2**31 - 1:
        return str(value)
    return f"{value}u" if value <= 2**32 - 1 else f"{value}ull"


@dataclass(frozen=True)
class CTable:
    """A `static const` C array: `ctype name[d0][d1]...` holding `values` (row-major)."""

    name: str
    ctype: str
    values: np.ndarray
    comment: str = ""

    def __post_init__(self) -> None:
        if self.ctype not in C_TYPES:
            raise ValueError(f"unsupported C type {self.ctype!r}")
        values = np.asarray(self.values)
        if values.size == 0:
            raise ValueError(f"C table {self.name} is empty; C has no zero-length arrays")
        if self.ctype != "float":
            info = np.iinfo(C_TYPES[self.ctype])
            if values.min() < info.min or values.max() > info.max:
                raise ValueError(f"C table {self.name}: values {values.min()}..{values.max()} do not fit {self.ctype}")

    @property
    def nbytes(self) -> int:
        """Bytes of read-only memory this table occupies."""
        return int(np.asarray(self.values).size * np.dtype(C_TYPES[self.ctype]).itemsize)

    def render(self, per_line: int = 12) -> str:
        """The C definition; rows of 2-D tables in their own braces (as -Wmissing-braces wants)."""
        values = np.asarray(self.values)
        if values.ndim > 2:
            raise ValueError(f"C table {self.name}: at most 2 dimensions, got {values.shape}")
        fmt = c_float if self.ctype == "float" else (lambda v: str(int(v)))
        if self.ctype == "float":
            per_line = min(per_line, 6)
        if values.ndim == 2:
            items = ["{" + ", ".join(fmt(v) for v in row) + "}" for row in values]
            per_line = max(1, per_line // values.shape[1])
        else:
            items = [fmt(v) for v in values]
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        dims = "".join(f"[{d}]" for d in values.shape)
        head = f"/* {self.comment} */\n" if self.comment else ""
        body = ",\n    ".join(lines)
        return f"{head}static const {self.ctype} {self.name}{dims} = {{\n    {body}\n}};\n"


@dataclass
class CUnit:
    """Defines and tables of one generated C file, in the order they were added."""

    defines: list[tuple[str, str, str]] = field(default_factory=list)  # (name, value, comment)
    tables: list[CTable] = field(default_factory=list)

    def define(self, name: str, value: int | float | bool | str, comment: str = "") -> None:
        """#define name value: ints and bools as integers, floats as exact float literals."""
        if isinstance(value, bool):
            text = "1" if value else "0"
        elif isinstance(value, (int, np.integer)):
            text = c_uint_suffix(int(value))
        elif isinstance(value, (float, np.floating)):
            text = c_float(float(value))
        else:
            text = str(value)
        self.defines.append((name, f"({text})" if text.startswith("-") else text, comment))

    def table(self, name: str, ctype: str, values: np.ndarray, comment: str = "") -> None:
        self.tables.append(CTable(name, ctype, np.asarray(values), comment))

    @property
    def table_bytes(self) -> int:
        """Bytes of all tables (read-only data)."""
        return sum(t.nbytes for t in self.tables)

    def render(self) -> str:
        width = max((len(n) for n, _, _ in self.defines), default=0)
        lines = []
        for name, value, comment in self.defines:
            tail = f" /* {comment} */" if comment else ""
            lines.append(f"#define {name.ljust(width)} {value}{tail}")
        return "\n".join(lines) + "\n\n" + "\n".join(t.render() for t in self.tables)
