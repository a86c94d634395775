"""The sweep's plots and report: top-1 against MACs and against bytes as stored, with the
Pareto front marked; a Markdown and an HTML page with the table, the plots, and for every
setting its description, result, training curves, log and the command that reproduces it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tinykws.fileio import write_text
from tinykws.report.html import ReportSection, write_report
from tinykws.report.plots import pyplot, save_png
from tinykws.sweep.pareto import pareto_front
from tinykws.sweep.spec import SweepSpec
from tinykws.sweep.table import COLUMNS, cell, markdown_table

_AXES = {"macs": "MACs per inference (dense)", "file_bytes": "model bytes as stored (.tflite file)"}


def pareto_png(rows: list[dict[str, Any]], cost: str, path: Path, title: str) -> Path | None:
    """top-1 against `cost` (log scale), every setting named, the Pareto front joined."""
    points = [r for r in rows if "error" not in r and r.get(cost)]
    if not points:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    costs, tops = [float(r[cost]) for r in points], [float(r["top1"]) for r in points]
    front = pareto_front(costs, tops)
    ax.scatter(costs, tops, color="#888", zorder=2, label="setting")
    ax.plot([costs[i] for i in front], [tops[i] for i in front], "o-", color="#c0392b", zorder=3,
            drawstyle="steps-post", label="Pareto front")
    for r, c, t in zip(points, costs, tops):
        ax.annotate(r["setting"], (c, t), textcoords="offset points", xytext=(4, 3), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel(_AXES[cost])
    ax.set_ylabel("top-1 on the test set (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return save_png(fig, path)


def _reproduce(spec: SweepSpec, out: Path, name: str | None = None) -> str:
    command = f"tinykws sweep {os.path.relpath(spec.path)} --out {os.path.relpath(out)}"
    return command + (f" --only {name}" if name else "")


def _setting_text(name: str, r: dict[str, Any], out: Path) -> str:
    if "error" in r:
        return f"failed: {r['error']}"
    facts = {k: r.get(k) for k in ("mode", "top1", "macro_auc", "params", "nonzero_params", "macs", "file_bytes",
                                   "weight_bytes", "arena_bytes", "scored_with")}
    facts["latency"] = r.get("latency")
    facts["per_class_top1"] = r.get("per_class")
    facts["training"] = {k: v for k, v in (r.get("training") or {}).items() if k != "config"}
    if r.get("verification"):
        facts["verification"] = [c["engine"] + f": {c['identical']}/{c['total']} identical"
                                 for c in r["verification"]["checks"]]
    facts["log"] = os.path.relpath(out / "settings" / name / "log.txt", out)
    return json.dumps(facts, indent=2, default=str)


def epoch_log(out: Path, name: str) -> str:
    """The setting's training, epoch by epoch (its metrics.jsonl), as a small text table."""
    path = out / "settings" / name / "train" / "metrics.jsonl"
    if not path.is_file():
        return ""
    lines = ["epoch  train loss  train top-1  val top-1  sparsity"]
    for text in path.read_text(encoding="utf-8").splitlines():
        if text.strip():
            h = json.loads(text)
            lines.append(f"{h['epoch']:>5}  {h['train_loss']:>10.4f}  {h['train_top1']:>11.4f}  "
                         f"{h.get('val_top1', float('nan')):>9.4f}  {h.get('sparsity', 0.0):>8.3f}")
    return "\n".join(lines)


def write_sweep_report(spec: SweepSpec, out: Path, results: dict[str, dict[str, Any]],
                       rows: list[dict[str, Any]]) -> dict[str, str]:
    """Write the plots, report.md and report.html into `out`; returns name -> path."""
    files: dict[str, str] = {}
    plots = []
    for cost in ("macs", "file_bytes"):
        png = pareto_png(rows, cost, out / f"top1_vs_{cost}.png", f"{spec.name}: top-1 against {_AXES[cost]}")
        if png is not None:
            files[f"plot_{cost}"] = str(png)
            plots.append(png)
    table = markdown_table(rows)
    tens = [r["setting"] for r in rows if r.get("meets_10x")]
    headline = (f"Settings with >= 10x fewer bytes and MACs than the float32 base `{spec.base}` at >= 90 % of its "
                f"top-1: {', '.join(tens) if tens else 'none'}.")
    md = [f"# Sweep {spec.name}", "", headline, "", f"Reproduce: `{_reproduce(spec, out)}`", "", table, ""]
    md += [f"![{Path(p).stem}]({os.path.relpath(p, out)})" for p in plots]
    grid = [[title for _, title in COLUMNS]] + [[cell(r.get(key)) for key, _ in COLUMNS] if "error" not in r else
                                                 [r["setting"], f"failed: {r['error']}"] for r in rows]
    sections = [ReportSection("Results", facts={"reproduce": _reproduce(spec, out), "10x": headline}, table=grid,
                              images=plots)]
    for name, r in results.items():
        s = spec.setting(name)
        text = _setting_text(name, r, out)
        log = epoch_log(out, name)
        md += ["", f"## {name}", "", s.description or "", "", f"Reproduce: `{_reproduce(spec, out, name)}`", "",
               "```json", text, "```"] + (["", "Training log:", "", "```", log, "```"] if log else [])
        curves = r.get("curves")
        if curves:
            md.append(f"![curves of {name}]({os.path.relpath(curves, out)})")
        sections.append(ReportSection(name, facts={"description": s.description, "reproduce":
                                                   _reproduce(spec, out, name)},
                                      images=[curves] if curves else [],
                                      preformatted=text + ("\n\ntraining log\n" + log if log else "")))
    write_text(out / "report.md", "\n".join(md) + "\n")
    files["report_md"] = str(out / "report.md")
    files["report_html"] = str(write_report(out / "report.html", f"Sweep {spec.name}", sections))
    return files
