"""Systems under test: a runtime of the one registry (`tinykws.eval.runner`) opened on a
workload's model, with a name for its results.

A system under test is a ModelRunner: it loads a model, says what it is (`info`: name,
version, arithmetic), runs a batch and times repeated inferences (`time_inferences`).
Plugins are runtimes: built in, or added through the `tinykws.runners` entry point group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinykws.config import parse_override
from tinykws.errors import ConfigError
from tinykws.eval.runner import ModelRunner, open_runner, runner_options
from tinykws.export.contract import NO_FRONTEND
from tinykws.harness.registry import Workload, get_dataset


@dataclass(frozen=True)
class SutSpec:
    """A runtime name, its options, and the system name its results are filed under."""

    runtime: str
    options: dict[str, Any] = field(default_factory=dict)
    system: str = ""

    @property
    def name(self) -> str:
        """The system name: given, else the runtime and its option values."""
        if self.system:
            return self.system
        parts = [self.runtime] + [f"{v}" for _, v in sorted(self.options.items())]
        return re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(parts))

    def to_dict(self) -> dict[str, Any]:
        return {"runtime": self.runtime, "options": dict(self.options), "system": self.name}


def parse_options(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """`key=value` strings (values read as YAML, as recipe overrides are: `dsp=emulated`,
    `jobs=2`) as a dict; a malformed one is a ConfigError naming it."""
    options: dict[str, Any] = {}
    for text in items:
        try:
            path, value = parse_override(text)
        except ConfigError as exc:
            raise ConfigError(f"SUT option: {exc}") from None
        options[".".join(path)] = value
    return options


def output_names(workload: Workload) -> list[str]:
    """Names of the model's outputs: the dataset's classes, or for an autoencoder (AUC
    workloads) one name per reconstructed input value."""
    if workload.metric == "auc":
        return [f"x{i}" for i in range(int(np.prod(workload.input.shape)))]
    return list(get_dataset(workload.dataset).labels)


def frontend_config(workload: Workload) -> dict[str, Any]:
    """The front-end config of the workload's inputs ({"kind": "none"} for images and
    stored features)."""
    if not workload.input.frontend:
        return {"kind": NO_FRONTEND}
    from tinykws.audio.frontends import build_frontend

    return build_frontend(workload.input.frontend).to_dict()


def open_sut(spec: SutSpec, workload: Workload, model: str | Path) -> ModelRunner:
    """Open runtime `spec.runtime` on `model` for `workload`: the dataset's labels, and
    the workload's front-end (or none for images and stored features) when the runtime
    takes them."""
    accepted = runner_options(spec.runtime)
    options = dict(spec.options)
    if "labels" in accepted:
        options.setdefault("labels", output_names(workload))
    if "frontend" in accepted:
        options.setdefault("frontend", frontend_config(workload))
    if "workload" in accepted:
        options.setdefault("workload", workload.name)
    return open_runner(spec.runtime, model, **options)
