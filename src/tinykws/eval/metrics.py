"""Classification metrics for keyword spotting, in numpy (no scikit-learn at run time).

Conventions: `labels` are integer class indices (N,), `scores` are per-class scores
(N, C), usually softmax probabilities. The confusion matrix has true classes as rows
and predicted classes as columns. A class with no clips has accuracy/recall/AUC `nan`
(undefined), which `EvalResult.to_dict()` writes as JSON `null`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from tinykws.errors import TinyKWSError


def _check(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    if scores.ndim != 2:
        raise TinyKWSError(f"scores must be (clips, classes), got shape {scores.shape}")
    if labels.shape != (scores.shape[0],):
        raise TinyKWSError(f"labels must be ({scores.shape[0]},), got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= scores.shape[1]):
        raise TinyKWSError(f"labels must lie in [0, {scores.shape[1]}), got {labels.min()}..{labels.max()}")
    return scores, labels.astype(np.int64)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) int64 counts: row = true class, column = predicted class."""
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    flat = labels * num_classes + predictions
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def top1_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Fraction (0..1) of clips whose highest score is the true class (first index wins ties)."""
    scores, labels = _check(scores, labels)
    if not len(labels):
        return math.nan
    return float(np.mean(np.argmax(scores, axis=1) == labels))


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """Accuracy within each true class (= recall): diagonal / row sum; nan for empty classes."""
    return _safe_divide(np.diag(confusion), confusion.sum(axis=1))


def precision_recall(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class precision (diagonal / column sum) and recall (diagonal / row sum); nan if undefined."""
    diag = np.diag(confusion)
    return _safe_divide(diag, confusion.sum(axis=0)), _safe_divide(diag, confusion.sum(axis=1))


def roc_curve(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binary ROC: (fpr, tpr, thresholds), one point per distinct score plus the (0, 0) start.

    A clip is called positive when its score >= threshold. Tied scores move together (one
    point per distinct value), so the curve is the same whatever the order of the clips.
    The first threshold is +inf (nothing called positive). Rates are nan when the clips
    hold no positives (tpr) or no negatives (fpr).
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    positive = np.asarray(positive, dtype=bool).ravel()
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    pos = positive[order]
    # The last index of each run of equal scores: where the threshold can sit.
    last_of_run = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1] if len(s) else np.zeros(0, np.int64)
    tps = np.cumsum(pos)[last_of_run]
    fps = (last_of_run + 1) - tps
    tps = np.r_[0, tps]
    fps = np.r_[0, fps]
    thresholds = np.r_[np.inf, s[last_of_run]]
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    tpr = tps / n_pos if n_pos else np.full(tps.shape, np.nan)
    fpr = fps / n_neg if n_neg else np.full(fps.shape, np.nan)
    return fpr.astype(np.float64), tpr.astype(np.float64), thresholds


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the binary ROC curve (trapezoids, so a tie between a positive and a
    negative counts one half); nan unless both classes are present."""
    fpr, tpr, _ = roc_curve(scores, positive)
    if np.isnan(fpr).any() or np.isnan(tpr).any():
        return math.nan
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def one_vs_rest_roc(scores: np.ndarray, labels: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For each class c: the ROC of scores[:, c] with 'label == c' as the positive set."""
    scores, labels = _check(scores, labels)
    return [roc_curve(scores[:, c], labels == c) for c in range(scores.shape[1])]


def one_vs_rest_auc(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(C,) one-vs-rest ROC AUC per class; nan for a class absent (or alone) in `labels`."""
    scores, labels = _check(scores, labels)
    return np.array([roc_auc(scores[:, c], labels == c) for c in range(scores.shape[1])])


# The thresholds of the MLPerf Tiny / EEMBC reference evaluation (eval_functions_eembc.py):
# np.arange(0, 1.01, 0.01), kept as the same floating-point values it produces.
EEMBC_THRESHOLDS = np.arange(0.0, 1.01, 0.01)


def eembc_simplified_auc(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(C,) per-class "simplified AUC" of the MLPerf Tiny reference (`calculate_auc`).

    Definition reproduced from the reference: for thresholds t_k = 0.00, 0.01, ..., 1.00,
    tpr_k and fpr_k count clips with score > t_k (strictly) among positives and negatives
    of class c, except that point k = 0 is forced to (1, 1); the area is the trapezoid sum
    over consecutive points, sum_k (tpr_k + tpr_{k+1}) / 2 * (fpr_k - fpr_{k+1}). The
    reference averages these (`mean`) and prints it as "Simplified average roc_auc".
    Scores are expected in [0, 1] (softmax outputs). A class with no positive or no
    negative clips gives nan (the reference would divide by zero).
    """
    scores, labels = _check(scores, labels)
    num_classes = scores.shape[1]
    out = np.full(num_classes, np.nan)
    above = scores[None, :, :] > EEMBC_THRESHOLDS[1:, None, None]  # (K-1, N, C)
    for c in range(num_classes):
        positive = labels == c
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        if n_pos == 0 or n_neg == 0:
            continue
        tpr = np.r_[1.0, above[:, positive, c].sum(axis=1) / float(n_pos)]
        fpr = np.r_[1.0, above[:, ~positive, c].sum(axis=1) / float(n_neg)]
        out[c] = float(np.sum(0.5 * (tpr[:-1] + tpr[1:]) * (fpr[:-1] - fpr[1:])))
    return out


def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else math.nan


def _json_float(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


@dataclass(frozen=True)
class EvalResult:
    """Everything one evaluation measured. Fractions are in 0..1.

    `per_class_accuracy`, `precision`, `recall`, `auc` and `eembc_auc` are per class, in
    the order of `labels`; entries are nan where undefined (no clips of that class).
    """

    labels: tuple[str, ...]
    num_clips: int
    top1: float
    confusion: np.ndarray
    per_class_accuracy: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    auc: np.ndarray
    eembc_auc: np.ndarray
    scores: np.ndarray | None = field(default=None, repr=False, compare=False)
    targets: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def macro_auc(self) -> float:
        """Mean one-vs-rest AUC over the classes where it is defined."""
        return _nanmean(self.auc)

    @property
    def eembc_auc_mean(self) -> float:
        """The MLPerf Tiny reference's "Simplified average roc_auc"."""
        return _nanmean(self.eembc_auc)

    @property
    def macro_accuracy(self) -> float:
        """Mean of per-class accuracies over the classes present."""
        return _nanmean(self.per_class_accuracy)

    def per_class_counts(self) -> np.ndarray:
        """(C,) number of clips of each true class."""
        return self.confusion.sum(axis=1)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (nan -> null). Per-class values are keyed by label."""

        def by_label(values: np.ndarray) -> dict[str, float | None]:
            return {name: _json_float(v) for name, v in zip(self.labels, values)}

        counts = self.per_class_counts()
        return {
            "num_clips": int(self.num_clips),
            "top1": _json_float(self.top1),
            "macro_accuracy": _json_float(self.macro_accuracy),
            "labels": list(self.labels),
            "per_class": {
                name: {
                    "clips": int(counts[i]),
                    "accuracy": _json_float(self.per_class_accuracy[i]),
                    "precision": _json_float(self.precision[i]),
                    "recall": _json_float(self.recall[i]),
                    "auc": _json_float(self.auc[i]),
                    "eembc_auc": _json_float(self.eembc_auc[i]),
                }
                for i, name in enumerate(self.labels)
            },
            "per_class_accuracy": by_label(self.per_class_accuracy),
            "confusion": self.confusion.astype(int).tolist(),
            "macro_auc": _json_float(self.macro_auc),
            "eembc_auc": _json_float(self.eembc_auc_mean),
        }


def compute_metrics(
    scores: np.ndarray, labels: np.ndarray, label_names: Sequence[str], keep_scores: bool = True
) -> EvalResult:
    """All metrics of `scores` (N, C) (softmax probabilities) against true `labels` (N,)."""
    scores, labels = _check(scores, labels)
    if scores.shape[1] != len(label_names):
        raise TinyKWSError(f"{scores.shape[1]} score columns but {len(label_names)} label names")
    num_classes = scores.shape[1]
    confusion = confusion_matrix(labels, np.argmax(scores, axis=1), num_classes)
    precision, recall = precision_recall(confusion)
    return EvalResult(
        labels=tuple(label_names),
        num_clips=int(len(labels)),
        top1=top1_accuracy(scores, labels),
        confusion=confusion,
        per_class_accuracy=per_class_accuracy(confusion),
        precision=precision,
        recall=recall,
        auc=one_vs_rest_auc(scores, labels),
        eembc_auc=eembc_simplified_auc(scores, labels),
        scores=scores if keep_scores else None,
        targets=labels if keep_scores else None,
    )
