"""The microcontroller profile as a table, a PNG (instructions and arena bytes per layer)
and an HTML page."""

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
        ReportSection("Notes", preformatted="\n".join(profile.notes)),
    ]
    return write_report(p, f"tinykws profile: {profile.model}", sections)
