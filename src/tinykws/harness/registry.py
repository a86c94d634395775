"""The registries of workloads and datasets: one YAML file per entry, shipped with the
package (`harness/workloads/*.yaml`, `harness/datasets/*.yaml`), the single source of
truth for what a benchmark runs, on what data, and what it must reach.

A workload names its model (a .tflite, with the SHA-256 of the file and of its weights
and graph), its dataset, how a sample becomes the model's input, the metric, the quality
target and the closed-division rules. A dataset names its folder, format, label file,
count and checksum. Paths are relative to a data root (`--data-root`, else
$TINYKWS_SHARED, else ../shared or ./shared from the working folder).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tinykws.config import from_dict, load_yaml
from tinykws.errors import ConfigError, DataError

PACKAGE_DIR = Path(__file__).resolve().parent
WORKLOAD_DIR = PACKAGE_DIR / "workloads"
DATASET_DIR = PACKAGE_DIR / "datasets"
ROOT_ENV = "TINYKWS_SHARED"
# How a stored sample becomes the model input (see harness.data).
INPUT_FORMATS = ("int8", "uint8_minus_128", "float32_windows", "frontend")
METRICS = ("top1", "auc")
DATASET_FORMATS = ("mlperf-tiny-bin", "speech-commands-folder")


@dataclass(frozen=True)
class DatasetSpec:
    """A test set. `path` is relative to the data root; `label_file` lists the samples
    (`file,classes,label[,window_bytes,stride_bytes]`) of an mlperf-tiny-bin set; `subsets`
    maps a name to another label file of the same folder (the AD short list); `sha256`
    covers the label file and every sample (`harness.data.dataset_checksum`)."""

    name: str
    description: str
    path: str
    format: str
    count: int
    sha256: str
    label_file: str = "y_labels.csv"
    sample_bytes: int = 0
    labels: tuple[str, ...] = ()
    subsets: dict[str, str] = field(default_factory=dict)
    subset_counts: dict[str, int] = field(default_factory=dict)
    licence: str = ""

    def __post_init__(self) -> None:
        if self.format not in DATASET_FORMATS:
            raise ValueError(f"format {self.format!r} is not one of {', '.join(DATASET_FORMATS)}")


@dataclass(frozen=True)
class ModelSpec:
    """The workload's model: a .tflite relative to the data root, the SHA-256 of the file
    and of its weights and graph (`harness.fingerprint.graph_sha256`), and an optional
    float twin."""

    path: str
    sha256: str
    graph_sha256: str
    float_path: str = ""
    size_bytes: int = 0


@dataclass(frozen=True)
class InputSpec:
    """How a sample becomes the model input: `format` (INPUT_FORMATS), the input `shape`
    without batch, its `dtype` and quantization (real = scale * (q - zero_point)), and the
    front-end preset when format is "frontend"."""

    format: str
    shape: tuple[int, ...]
    dtype: str = "int8"
    scale: float | None = None
    zero_point: int = 0
    frontend: str = ""

    def __post_init__(self) -> None:
        if self.format not in INPUT_FORMATS:
            raise ValueError(f"input format {self.format!r} is not one of {', '.join(INPUT_FORMATS)}")


@dataclass(frozen=True)
class ClosedDivision:
    """The rules `tinykws bench check` applies to a closed-division result: the reference
    model unchanged (its graph hash; so no retraining either), at least `performance_runs`
    performance runs of `min_run_seconds` each, accuracy on the whole registered set."""

    reference_model: bool = True
    performance_runs: int = 5
    min_run_seconds: float = 10.0
    full_accuracy_set: bool = True


@dataclass(frozen=True)
class Workload:
    """One benchmark: model, dataset, input, metric (top1 or auc), quality target (a
    fraction, or an AUC), and the rules of the closed division. `expected` records the
    exact figures of the reference int8 model (metric per set) that tests and benches
    reproduce."""

    name: str
    benchmark: str
    suite: str
    description: str
    model: ModelSpec
    dataset: str
    input: InputSpec
    metric: str
    quality_target: float
    closed_division: ClosedDivision = ClosedDivision()
    expected: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"metric {self.metric!r} is not one of {', '.join(METRICS)}")


def _names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.yaml"))


def workload_names() -> list[str]:
    """Every registered workload."""
    return _names(WORKLOAD_DIR)


def dataset_names() -> list[str]:
    """Every registered dataset."""
    return _names(DATASET_DIR)


def _load(cls, folder: Path, name: str, kind: str):
    path = folder / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(_names(folder))
        raise ConfigError(f"unknown {kind} {name!r}; registered: {known}")
    data = load_yaml(path)
    if data.get("name") != name:
        raise ConfigError(f"{path}: name {data.get('name')!r} differs from the file name {name!r}")
    return from_dict(cls, data, where=str(path))


@lru_cache(maxsize=None)
def get_workload(name: str) -> Workload:
    """The workload called `name` (ConfigError listing the registered ones)."""
    workload = _load(Workload, WORKLOAD_DIR, name, "workload")
    get_dataset(workload.dataset)  # a workload naming an unknown dataset is a registry error
    return workload


@lru_cache(maxsize=None)
def get_dataset(name: str) -> DatasetSpec:
    """The dataset called `name`."""
    return _load(DatasetSpec, DATASET_DIR, name, "dataset")


def data_root(explicit: str | os.PathLike | None = None) -> Path:
    """The folder the registries' paths are relative to: `explicit`, else $TINYKWS_SHARED,
    else ../shared or ./shared of the working folder. DataError names where it looked."""
    candidates = [Path(explicit)] if explicit else []
    if not candidates and os.environ.get(ROOT_ENV):
        candidates = [Path(os.environ[ROOT_ENV])]
    if not candidates:
        cwd = Path.cwd()
        candidates = [cwd.parent / "shared", cwd / "shared"]
    for path in candidates:
        if path.is_dir():
            return path.resolve()
    raise DataError(f"no data root: looked in {', '.join(map(str, candidates))}; pass --data-root or set {ROOT_ENV}")


def resolve(root: Path, relative: str, what: str) -> Path:
    """`root / relative`, which must exist (DataError naming `what` otherwise)."""
    path = root / relative
    if not path.exists():
        raise DataError(f"{path}: the {what} is missing under the data root {root}")
    return path
