"""Readable C text: wrapped constant arrays, struct initialisers, comments and string literals."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence

import numpy as np

# (values per line, width of one value) so that array lines stay under 100 characters
_LAYOUT = {"int8_t": (16, 4), "uint8_t": (16, 4), "int16_t": (12, 6), "int32_t": (8, 11), "uint32_t": (8, 10)}


def c_array(ctype: str, name: str, values: np.ndarray | Sequence[int], *, static: bool = True,
            comment: str | None = None) -> str:
    """A `const` array definition, several values per line, one value per element."""
    flat = [int(v) for v in np.asarray(values).reshape(-1)]
    per_line, width = _LAYOUT[ctype]
    lines = []
    if comment:
        lines.append(c_comment(comment))
    storage = "static " if static else ""
    lines.append(f"{storage}const {ctype} {name}[{max(len(flat), 1)}] = {{")
    if not flat:
        flat = [0]
    for start in range(0, len(flat), per_line):
        chunk = flat[start:start + per_line]
        lines.append("   " + "".join(f"{_literal(v, ctype) + ',':>{width + 1}}" for v in chunk))
    lines.append("};")
    return "\n".join(lines)


def _literal(value: int, ctype: str) -> str:
    if ctype == "int32_t" and value == -(1 << 31):
        return "INT32_MIN"  # -2147483648 is not an int literal in C
    return str(value)


def c_struct(ctype: str, name: str, fields: Iterable[tuple[str, object]], *, comment: str | None = None) -> str:
    """A `static const` struct with designated initialisers, one field per line."""
    lines = [c_comment(comment)] if comment else []
    lines.append(f"static const {ctype} {name} = {{")
    lines += [f"    .{field} = {value}," for field, value in fields]
    lines.append("};")
    return "\n".join(lines)


def c_comment(text: str, indent: str = "", width: int = 96) -> str:
    """`text` as a C comment wrapped at `width` columns (no '*/' inside)."""
    text = text.replace("*/", "* /")
    wrapped = []
    for paragraph in text.split("\n"):
        wrapped += textwrap.wrap(paragraph, width - len(indent) - 3, break_long_words=True,
                                 break_on_hyphens=False) or [""]
    if len(wrapped) == 1:
        return f"{indent}/* {wrapped[0]} */"
    return "\n".join([f"{indent}/*"] + [f"{indent} * {line}".rstrip() for line in wrapped] + [f"{indent} */"])


def c_string(text: str) -> str:
    """A C string literal of printable ASCII (other characters escaped)."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.append("".join(f"\\{b:03o}" for b in ch.encode("utf-8")))
    return '"' + "".join(out) + '"'


def c_initializer(items: Sequence[str], indent: str = "    ", width: int = 96) -> str:
    """A brace initialiser of already formatted items, wrapped at `width` columns."""
    lines, line = [], indent
    for item in items:
        piece = item + ", "
        if len(line) + len(piece) > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += piece
    if line.strip():
        lines.append(line.rstrip().rstrip(","))
    return "{\n" + "\n".join(lines) + "\n}"


def c_float(value: float) -> str:
    """A float literal that reads back as the same float32."""
    return f"{float(np.float32(value))!r}f"


def short_name(name: str, limit: int = 60) -> str:
    """A tensor name fit for a one-line label: the first of TFLite's ';'-joined names, cut."""
    first = name.split(";")[0] or name
    return first if len(first) <= limit else first[: limit - 3] + "..."
