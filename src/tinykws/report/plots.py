"""PNG plots of an evaluation and of a training run (matplotlib, Agg back-end, atomic writes)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tinykws.eval.metrics import EvalResult, one_vs_rest_roc
from tinykws.fileio import atomic_path


def pyplot():
    """matplotlib.pyplot on the headless Agg back-end."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: str | os.PathLike) -> Path:
    """Write `fig` as a PNG atomically and close it; returns the path."""
    p = Path(path)
    with atomic_path(p) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    pyplot().close(fig)
    return p


def confusion_png(result: EvalResult, path: str | os.PathLike, title: str = "") -> Path:
    """Confusion matrix (rows: true class, columns: predicted), each row normalised to 1,
    with clip counts written in the cells."""
    plt = pyplot()
    cm = result.confusion.astype(np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    n = len(result.labels)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n, 0.8 + 0.5 * n))
    im = ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(n), result.labels, rotation=45, ha="right")
    ax.set_yticks(range(n), result.labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_title(title or f"top-1 {100 * result.top1:.2f} % on {result.num_clips} clips")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return save_png(fig, path)


def roc_png(result: EvalResult, path: str | os.PathLike, title: str = "") -> Path:
    """One-vs-rest ROC curve per class, with its AUC in the legend (needs result.scores).

    The false-positive axis is logarithmic (keyword spotting lives at low false-alarm
    rates); a rate of 0 is drawn at half of the smallest non-zero rate possible.
    """
    if result.scores is None or result.targets is None:
        raise ValueError("this EvalResult was computed without keeping its scores")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    colors = list(plt.get_cmap("tab10").colors) + ["black", "magenta", "lime", "navy"]
    floor = 0.5 / max(1, result.num_clips)
    curves = one_vs_rest_roc(result.scores, result.targets)
    for k, (name, (fpr, tpr, _), auc) in enumerate(zip(result.labels, curves, result.auc)):
        if np.isnan(auc):
            continue
        ax.plot(np.maximum(fpr, floor), tpr, lw=1.2, color=colors[k % len(colors)],
                label=f"{name} ({auc:.4f})")
    ax.set_xscale("log")
    ax.set_xlim(floor, 1.0)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false positive rate (log)")
    ax.set_ylabel("true positive rate")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="lower right", title="class (AUC)")
    ax.set_title(title or f"one-vs-rest ROC, macro AUC {result.macro_auc:.4f}")
    return save_png(fig, path)


def training_curves_png(history: Sequence[dict[str, Any]], path: str | os.PathLike, title: str = "") -> Path:
    """Loss and top-1 per epoch (training and, when present, validation)."""
    plt = pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(2, 1, figsize=(6.5, 6), sharex=True)
    ax_loss.plot(epochs, [h["train_loss"] for h in history], label="train")
    if any("val_loss" in h for h in history):
        ax_loss.plot(epochs, [h.get("val_loss", np.nan) for h in history], label="validation")
    ax_loss.set_ylabel("loss")
    ax_loss.legend()
    ax_loss.grid(alpha=0.3)
    ax_acc.plot(epochs, [h["train_top1"] for h in history], label="train")
    if any("val_top1" in h for h in history):
        ax_acc.plot(epochs, [h.get("val_top1", np.nan) for h in history], label="validation")
    ax_acc.set_ylabel("top-1")
    ax_acc.set_xlabel("epoch")
    ax_acc.legend()
    ax_acc.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return save_png(fig, path)


def evaluation_plots(result: EvalResult, out_dir: str | os.PathLike, prefix: str = "") -> dict[str, Path]:
    """confusion.png and roc.png (with an optional name prefix) in `out_dir`."""
    out = Path(out_dir)
    return {
        "confusion": confusion_png(result, out / f"{prefix}confusion.png"),
        "roc": roc_png(result, out / f"{prefix}roc.png"),
    }
