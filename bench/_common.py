"""What several benchmark scripts share: where the repo and ../shared are, and the
labelled `mlperf_mfcc` features of a dataset folder (sc12_test_dev) made by the library's
own evaluation path (`tinykws.eval.dataset`).

Scripts import it as `from _common import ...` (the script's folder is on sys.path)."""

from __future__ import annotations

from pathlib import Path

from tinykws.audio.frontends import build_frontend
from tinykws.data.labels import MLPERF_LABELS
from tinykws.eval.dataset import LabelledFeatures, dataset_features

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def reference_features(data_dir: Path, limit: int | None = None, frontend: str = "mlperf_mfcc") -> LabelledFeatures:
    """Features of every clip of a dataset folder's test split (a seeded subset of `limit`
    clips when given) in MLPerf label order, with the targets and clip names."""
    return dataset_features(data_dir, "test", build_frontend(frontend), MLPERF_LABELS, limit=limit, progress=False)


def finish_png(fig, path: Path, ylabel: str, axes) -> None:
    """Label the first axes, lay out, write `fig` to `path` (PNG, atomically) and close it."""
    from tinykws.report.plots import save_png

    axes[0].set_ylabel(ylabel)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    save_png(fig, path)
