"""The microcontroller profile as a table, a PNG (instructions and arena bytes per layer),
the split of one keyword decision (a table and a PNG) and an HTML page."""

from __future__ import annotations

import os
from pathlib import Path

from tinykws.profile.mcu import McuProfile
from tinykws.report.html import ReportSection, write_report
from tinykws.report.plots import pyplot, save_png

LAYER_COLUMNS = ("#", "layer", "op", "output", "params", "param B", "MACs", "instructions", "instr/MAC", "arena B")


def layer_rows(profile: McuProfile) -> list[tuple]:
    """The per-layer table: a header row, then one row per layer, then the totals."""
    rows: list[tuple] = [LAYER_COLUMNS]
    for layer in profile.layers:
        per_mac = layer.instructions_per_mac
        rows.append((layer.index, layer.name, layer.op, "x".join(map(str, layer.output_shape)),
                     f"{layer.params:,}", f"{layer.param_bytes:,}", f"{layer.macs:,}", f"{layer.instructions:,}",
                     f"{per_mac:.2f}" if per_mac is not None else "", f"{layer.arena_bytes:,}"))
    per_mac = profile.instructions_per_mac
    rows.append(("", "total (plain build)", "", "", f"{sum(x.params for x in profile.layers):,}",
                 f"{sum(x.param_bytes for x in profile.layers):,}", f"{profile.macs:,}", f"{profile.instructions:,}", f"{per_mac:.2f}" if per_mac is not None else "",
                 f"{profile.arena_bytes:,}" if profile.arena_bytes is not None else ""))
    return rows


DECISION_COLUMNS = ("stage", "what", "instructions", "share", "stack B", "static RAM B", "flash B")


def decision_rows(profile: McuProfile) -> list[tuple]:
    """The decision split: a header row, one row per stage, then the total."""
    split = profile.decision
    rows: list[tuple] = [DECISION_COLUMNS]
    if split is None:
        return rows
    for stage in split.stages:
        rows.append((stage.name, stage.what, f"{stage.instructions:,}", f"{100 * split.share(stage):.2f} %",
                     f"{stage.stack_bytes:,}", f"{stage.static_ram_bytes:,}", f"{stage.flash_bytes:,}"))
    rows.append(("decision", "the three stages", f"{split.instructions:,}", "100.00 %",
                 f"{max(s.stack_bytes for s in split.stages):,}", f"{sum(s.static_ram_bytes for s in split.stages):,}",
                 f"{sum(s.flash_bytes for s in split.stages):,}"))
    return rows


def decision_png(profile: McuProfile, path: str | os.PathLike) -> Path:
    """One horizontal bar per stage of the decision: instructions, labelled with the share."""
    split = profile.decision
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.0, 2.6))
    names = [s.name for s in split.stages]
    values = [s.instructions for s in split.stages]
    ax.barh(range(len(names)), values, color=["#73d216", "#3465a4", "#c17d11"])
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names)
    ax.invert_yaxis()
    for i, stage in enumerate(split.stages):
        ax.text(values[i], i, f" {values[i]:,} ({100 * split.share(stage):.2f} %)", va="center", fontsize=8)
    ax.set_xlim(0, 1.35 * max(values))
    ax.set_xlabel("instructions per decision")
    ax.set_title(f"one keyword decision on {profile.core} (qemu): {split.instructions:,} instructions", fontsize=9)
    return save_png(fig, path)


def summary_facts(profile: McuProfile) -> dict[str, str]:
    """The headline figures as label -> text."""
    m, f = profile.model_footprint, profile.firmware_footprint
    facts = {
        "emulated core": f"{profile.core} ({profile.emulated_board}, qemu: instructions, not cycles)",
        "instructions per inference": f"{profile.instructions:,}",
        "model flash (text + rodata + data)": f"{m.flash:,} B ({m.sections.text:,} + {m.sections.rodata:,} + "
                                              f"{m.sections.data:,})",
        "model RAM (data + bss + stack peak)": f"{m.ram:,} B ({m.sections.data:,} + {m.sections.bss:,} + {m.stack:,})",
        "whole firmware flash / RAM": f"{f.flash:,} B / {f.ram:,} B",
        "speed": f"{profile.inferences_per_second:,.1f} inferences/s, {profile.latency_ms:,.2f} ms at "
                 f"{profile.clock_hz / 1e6:g} MHz ({profile.clock_source}) with CPI {profile.cpi:g} (assumed)",
    }
    if profile.decision is not None:
        split = profile.decision
        facts["one keyword decision"] = (f"{split.instructions:,} instructions: " + ", ".join(
            f"{s.name} {100 * split.share(s):.2f} %" for s in split.stages) + f" ({split.per})")
    if profile.board_share is not None and profile.board is not None:
        facts[f"share of {profile.board['name']}"] = (f"flash {100 * profile.board_share['flash']:.2f} %, "
                                                      f"RAM {100 * profile.board_share['ram']:.2f} %")
    return facts


def layers_png(profile: McuProfile, path: str | os.PathLike) -> Path:
    """Two bar charts over the layers: instructions, and arena bytes live during the layer."""
    plt = pyplot()
    labels = [f"{layer.index} {layer.op}" for layer in profile.layers]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(6.0, 0.5 * len(labels) + 2), 6.5), sharex=True)
    top.bar(range(len(labels)), [layer.instructions for layer in profile.layers], color="#3465a4")
    top.set_ylabel("instructions")
    top.set_title(f"{profile.model} on {profile.core} (qemu {profile.emulated_board})")
    bottom.bar(range(len(labels)), [layer.arena_bytes for layer in profile.layers], color="#c17d11")
    bottom.set_ylabel("arena bytes")
    bottom.set_xticks(range(len(labels)))
    bottom.set_xticklabels(labels, rotation=60, ha="right", fontsize=8)
    return save_png(fig, path)


def write_profile_html(profile: McuProfile, path: str | os.PathLike) -> Path:
    """An HTML page with the summary, the layer table and the PNG (written beside it)."""
    p = Path(path)
    png = layers_png(profile, p.with_suffix(".png"))
    sections = [
        ReportSection("Summary", facts=summary_facts(profile)),
        ReportSection("Per layer", table=layer_rows(profile), images=[png]),
    ]
    notes = list(profile.notes)
    if profile.decision is not None:
        chart = decision_png(profile, p.with_name(p.stem + "_decision.png"))
        sections.append(ReportSection(f"One keyword decision ({profile.decision.clip})", table=decision_rows(profile),
                                      images=[chart]))
        notes += profile.decision.notes
    sections.append(ReportSection("Notes", preformatted="\n".join(notes)))
    return write_report(p, f"tinykws profile: {profile.model}", sections)
