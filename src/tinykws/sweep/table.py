"""The sweep's table: one row per setting, with ratios against the base setting and the
"10x" test (>= 10x fewer bytes as stored and >= 10x fewer MACs than the float32 base, with
top-1 >= 90 % of the base's)."""

from __future__ import annotations

from typing import Any

COLUMNS = (
    ("setting", "setting"), ("model", "model"), ("mode", "stored as"), ("top1", "top-1 %"),
    ("top1_of_base", "of base"), ("macro_auc", "AUC"), ("params", "params"), ("nonzero_params", "non-zero"),
    ("macs", "MACs"), ("macs_ratio", "MACs ÷"), ("file_bytes", "file B"), ("bytes_ratio", "bytes ÷"),
    ("weight_bytes", "weight B"), ("arena_bytes", "TFLM arena B"), ("latency_ms", "host ms"),
    ("mcu_instructions", "MCU instr"), ("meets_10x", "10x"),
)
# Measured on a shared machine: left out of comparisons of two runs of one sweep.
TIMING_COLUMNS = ("latency_ms",)


def table_rows(results: dict[str, dict[str, Any]], base: str) -> list[dict[str, Any]]:
    """Rows in setting order; ratios against `base` (whose file is its float32 .tflite)."""
    ref = results.get(base, {})
    rows = []
    for name, r in results.items():
        if "error" in r:
            rows.append({"setting": name, "error": r["error"]})
            continue
        row = {"setting": name, "model": _model(r), "mode": _mode(r), "top1": r["top1"],
               "macro_auc": r["macro_auc"], "params": r["params"], "nonzero_params": r["nonzero_params"],
               "macs": r["macs"], "file_bytes": r["file_bytes"], "weight_bytes": r["weight_bytes"],
               "arena_bytes": r.get("arena_bytes"),
               "latency_ms": None if not r.get("latency") else r["latency"]["median_ms"],
               "mcu_instructions": (r.get("mcu") or {}).get("instructions")}
        if ref:
            row["top1_of_base"] = round(r["top1"] / ref["top1"], 4) if ref["top1"] else None
            row["macs_ratio"] = round(ref["macs"] / r["macs"], 2)
            row["bytes_ratio"] = (round(ref["file_bytes"] / r["file_bytes"], 2)
                                  if r["file_bytes"] and ref.get("file_bytes") else None)
            row["meets_10x"] = bool(row["bytes_ratio"] and row["bytes_ratio"] >= 10 and row["macs_ratio"] >= 10
                                    and row["top1_of_base"] is not None and row["top1_of_base"] >= 0.9)
        rows.append(row)
    return rows


def _model(r: dict[str, Any]) -> str:
    kwargs = r["model"]["kwargs"]
    keys = ("layers", "hidden", "attention", "conv_channels", "time_stride")
    shown = {k: kwargs[k] for k in keys if k in kwargs}
    if "layers" in shown:
        shown["layers"] = "/".join(str(row[0]) for row in shown["layers"])
    return r["model"]["name"] + ("" if not shown else " (" + ", ".join(f"{k} {v}" for k, v in shown.items()) + ")")


def _mode(r: dict[str, Any]) -> str:
    q = r["quant"]
    if r["mode"] in ("float32", "fp16"):
        return r["mode"]
    scheme = "" if q["weight_symmetric"] and not q["act_symmetric"] else \
        f" w-{'sym' if q['weight_symmetric'] else 'asym'} a-{'sym' if q['act_symmetric'] else 'asym'}"
    return f"{r['mode']} w{q['weight_bits']}a{q['act_bits']}{scheme}"


def cell(value: Any) -> str:
    """One table cell: thousands separated, 4 significant digits, '-' for missing."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table (errors on their own line)."""
    head = "| " + " | ".join(title for _, title in COLUMNS) + " |"
    lines = [head, "|" + "---|" * len(COLUMNS)]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['setting']} | failed: {row['error']} |")
            continue
        lines.append("| " + " | ".join(cell(row.get(key)) for key, _ in COLUMNS) + " |")
    return "\n".join(lines)
