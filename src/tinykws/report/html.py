"""A short, self-contained HTML report of a run: headline numbers, per-class accuracy,
plots (linked PNGs beside the page) and the resolved config.

Only the standard library: the page is built from escaped strings, so nothing a data
set or a recipe contains can inject markup.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from tinykws.eval.metrics import EvalResult
from tinykws.fileio import write_text

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.25em .7em;border:1px solid #ddd;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #eee;margin:.3em 0}pre{background:#f7f7f7;padding:.8em;overflow:auto}
.low{color:#b00}
"""


@dataclass(frozen=True)
class ReportSection:
    """One titled part of the page: key/value facts, tables of evaluations, a table of rows
    (the first row is the header), images, text."""

    title: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    evaluations: Mapping[str, EvalResult] = field(default_factory=dict)
    table: Sequence[Sequence[Any]] = ()
    images: Sequence[str | os.PathLike] = ()
    preformatted: str = ""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _facts(facts: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
                   for k, v in facts.items())
    return f"<table>{rows}</table>"


def _table(rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(_fmt(v))}</th>" for v in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in rows[1:])
    return f"<table><tr>{head}</tr>{body}</table>"


def _percent(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f} %"  # nan-safe


def _evaluations(evals: Mapping[str, EvalResult]) -> str:
    """One table: a row per class, a column per evaluated data set."""
    names = list(evals)
    labels = list(next(iter(evals.values())).labels)
    head = "<tr><th>class</th>" + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr>"
    rows = []
    for i, label in enumerate(labels):
        cells = []
        for n in names:
            acc = float(evals[n].per_class_accuracy[i])
            cls = ' class="low"' if acc == acc and acc < 0.5 else ""
            cells.append(f"<td{cls}>{_percent(acc)}</td>")
        rows.append(f"<tr><td>{html.escape(label)}</td>{''.join(cells)}</tr>")
    total = "".join(f"<th>{_percent(float(evals[n].top1))}</th>" for n in names)
    clips = "".join(f"<td>{evals[n].num_clips}</td>" for n in names)
    return (f"<table>{head}{''.join(rows)}<tr><th>top-1</th>{total}</tr>"
            f"<tr><td>clips</td>{clips}</tr></table>")


def render_report(title: str, sections: Sequence[ReportSection], base_dir: str | os.PathLike) -> str:
    """The page as a string; image paths are written relative to `base_dir`."""
    base = Path(base_dir)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    for s in sections:
        parts.append(f"<h2>{html.escape(s.title)}</h2>")
        if s.facts:
            parts.append(_facts(s.facts))
        if s.evaluations:
            parts.append(_evaluations(s.evaluations))
        if s.table:
            parts.append(_table(s.table))
        for img in s.images:
            rel = os.path.relpath(Path(img), base)
            parts.append(f"<img src='{html.escape(rel, quote=True)}' alt='{html.escape(Path(img).stem)}'>")
        if s.preformatted:
            parts.append(f"<pre>{html.escape(s.preformatted)}</pre>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_report(path: str | os.PathLike, title: str, sections: Sequence[ReportSection]) -> Path:
    """Write the HTML report atomically to `path`; returns the path."""
    p = Path(path)
    write_text(p, render_report(title, sections, p.parent))
    return p
