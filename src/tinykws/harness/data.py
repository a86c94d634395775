"""A workload's test set as model inputs: the samples of its dataset read with the
MLPerf Tiny readers (`tinykws.data.mlperf_tiny`) or, for tinykws' audio workloads, made
by a front-end from the clips of a Speech Commands folder.

Every workload gives int8 model inputs in sample order with one label per sample. The
anomaly-detection set gives several inputs (windows) per file: `groups[i]` is the file
of input i, scored by the mean over its windows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinykws.data.mlperf_tiny import ad_windows, image_input, kws_input, read_labels
from tinykws.errors import DataError
from tinykws.eval.dataset import seeded_subset
from tinykws.fixedpoint.primitives import quantize_real
from tinykws.harness.registry import DatasetSpec, Workload, get_dataset, resolve

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


@dataclass(frozen=True, eq=False)
class WorkloadData:
    """Inputs (M, *input shape) int8, one per inference; `labels` (N,) per sample;
    `groups` (M,) the sample of each input (arange for one input per sample); `names`
    (N,) sample names; `windows` (M, 640) float32 of AD (the reals the score compares
    with), else None; `subsets` maps a subset name to a mask over the N samples."""

    inputs: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    names: tuple[str, ...]
    windows: np.ndarray | None = None
    subsets: dict[str, np.ndarray] | None = None

    @property
    def samples(self) -> int:
        return len(self.labels)

    def select(self, samples: np.ndarray) -> "WorkloadData":
        """The data of the given sample indices (sorted, in data order)."""
        samples = np.sort(np.asarray(samples, dtype=np.int64))
        keep = np.isin(self.groups, samples)
        remap = np.full(self.samples, -1, np.int64)
        remap[samples] = np.arange(len(samples))
        return WorkloadData(
            inputs=self.inputs[keep], labels=self.labels[samples], groups=remap[self.groups[keep]],
            names=tuple(self.names[i] for i in samples),
            windows=None if self.windows is None else self.windows[keep],
            subsets=None if self.subsets is None else {k: v[samples] for k, v in self.subsets.items()},
        )


def dataset_checksum(spec: DatasetSpec, folder: Path) -> str:
    """SHA-256 of a dataset as stored: an mlperf-tiny-bin set hashes its label file, then
    each listed sample's name and bytes in list order; a Speech Commands folder hashes
    every .wav file's relative path and bytes in sorted order."""
    h = hashlib.sha256()
    if spec.format == "mlperf-tiny-bin":
        h.update((folder / spec.label_file).read_bytes())
        for sample in read_labels(folder, spec.label_file):
            h.update(sample.path.name.encode() + b"\0")
            h.update(sample.path.read_bytes())
    else:
        for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
            h.update(path.relative_to(folder).as_posix().encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()


def verify_dataset(spec: DatasetSpec, root: Path) -> Path:
    """The dataset's folder under `root`, after checking its checksum (DataError naming
    the folder when the files are not the registered ones)."""
    folder = resolve(root, spec.path, f"dataset {spec.name}")
    found = dataset_checksum(spec, folder)
    if found != spec.sha256:
        raise DataError(f"{folder}: dataset {spec.name} has checksum {found[:16]}..., the registry says "
                        f"{spec.sha256[:16]}... (files changed, added or missing)")
    return folder


def _mlperf_inputs(workload: Workload, spec: DatasetSpec, folder: Path, input_scale: float | None,
                   input_zero_point: int, limit: int | None) -> WorkloadData:
    samples = read_labels(folder, spec.label_file)
    if len(samples) != spec.count:
        raise DataError(f"{folder / spec.label_file}: {len(samples)} samples, the registry says {spec.count}")
    chosen = seeded_subset(len(samples), limit)
    if chosen is not None:
        samples = [samples[i] for i in chosen]
    names = tuple(s.path.name for s in samples)
    labels = np.array([s.label for s in samples], np.int64)
    subsets = {}
    for subset, list_name in spec.subsets.items():
        chosen = {s.path.name for s in read_labels(folder, list_name)}
        subsets[subset] = np.array([n in chosen for n in names])
    fmt = workload.input.format
    windows = None
    if fmt == "int8":
        inputs = np.stack([kws_input(s.path).reshape(workload.input.shape) for s in samples])
        groups = np.arange(len(samples))
    elif fmt == "uint8_minus_128":
        side = workload.input.shape[0]
        inputs = np.stack([image_input(s.path, side) for s in samples])
        groups = np.arange(len(samples))
    else:  # float32_windows
        if input_scale is None:
            raise DataError(f"workload {workload.name}: float windows need the model's input scale")
        per_file = [ad_windows(s.path) for s in samples]
        windows = np.concatenate(per_file)
        inputs = quantize_real(windows, input_scale, input_zero_point, np.int8).reshape(
            (len(windows), *workload.input.shape))
        groups = np.concatenate([np.full(len(w), i) for i, w in enumerate(per_file)])
    return WorkloadData(inputs, labels, groups, names, windows, subsets or None)


def _audio_inputs(workload: Workload, folder: Path, labels: tuple[str, ...], input_scale: float | None,
                  input_zero_point: int, limit: int | None) -> WorkloadData:
    from tinykws.audio.frontends import build_frontend
    from tinykws.eval.dataset import dataset_features

    data = dataset_features(folder, "test", build_frontend(workload.input.frontend), labels, limit=limit,
                            progress=False)
    feats = data.features.reshape((len(data), *workload.input.shape))
    inputs = feats if input_scale is None else quantize_real(feats, input_scale, input_zero_point, np.int8)
    return WorkloadData(inputs, data.targets, np.arange(len(data)), data.clips)


def load_workload_data(workload: Workload, root: Path, *, input_scale: float | None = None,
                       input_zero_point: int = 0, verify: bool = True, limit: int | None = None) -> WorkloadData:
    """Every sample of `workload`'s dataset under `root` (or a seeded subset of `limit`)
    as int8 model inputs (the model's input quantization is needed for float windows and
    front-end features)."""
    spec = get_dataset(workload.dataset)
    folder = verify_dataset(spec, root) if verify else resolve(root, spec.path, f"dataset {spec.name}")
    if spec.format == "mlperf-tiny-bin":
        return _mlperf_inputs(workload, spec, folder, input_scale, input_zero_point, limit)
    return _audio_inputs(workload, folder, spec.labels, input_scale, input_zero_point, limit)
