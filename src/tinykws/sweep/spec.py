"""A sweep file: settings that each name a starting point, a student, and any of
distillation, pruning and quantization, trained from one recipe and scored on one test set.

    name: crnn_10x
    recipe: ../kws12_offline.yaml        # data, front-end, optimiser, schedule (paths relative to this file)
    overrides: [train.threads=1]          # applied to every training
    test_data: ../../../shared/data/sc12_test_dev   # the final score only (never used to select)
    base: base                            # the setting the others are compared with
    settings:
      - name: base                        # trained from the recipe
        model: crnn_gru_att
        quant: {mode: float32}
      - name: student
        model: crnn_gru_att
        model_kwargs: {hidden: 32}
        teacher: base                     # a setting or a checkpoint path
        distill: {alpha: 0.5, attention: 1.0}
        train: [train.epochs=12]
        quant: {mode: ptq}
      - name: pruned
        from: base                        # start from another setting's trained weights
        prune: {kind: structured, amount: 0.5, criterion: l1}
        train: [train.epochs=6]
        quant: {mode: qat, epochs: 2}

A setting without `teacher` keeps the recipe's distillation (`teacher: none` turns it off).
A setting trains when it has no `from` or lists `train` overrides; quant.mode is float32,
fp16 (float16 weights in LiteRT), ptq or qat (int8, verified in every engine; with
weight_bits/act_bits/symmetry other than TFLite's: the fake-quant simulation only).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinykws.config import from_dict, load_yaml, to_dict
from tinykws.errors import ConfigError

QUANT_MODES = ("float32", "fp16", "ptq", "qat")
PRUNE_KINDS = ("unstructured", "structured")


@dataclass(frozen=True)
class PruneSpec:
    """kind "unstructured" (magnitude, gradual while the setting trains; `scope` layer or
    global) or "structured" (channels removed before training, ranked by `criterion`)."""

    kind: str = "unstructured"
    amount: float = 0.5
    scope: str = "global"
    criterion: str = "l1"
    end_epoch: float = 0.0  # unstructured: epochs until the final sparsity (0: two thirds of the run)
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class DistillSpec:
    """Logit distillation weight `alpha`, `temperature`, attention-distillation weight."""

    alpha: float = 0.5
    temperature: float = 4.0
    attention: float = 0.0


@dataclass(frozen=True)
class QuantSpec:
    """How the trained model is stored and run (see the module docstring)."""

    mode: str = "ptq"
    weight_bits: int = 8
    act_bits: int = 8
    weight_symmetric: bool = True
    act_symmetric: bool = False
    epochs: int = 2  # QAT epochs
    clips: int = 3000  # QAT clips
    lr: float = 1e-4
    calib_clips: int = 500
    verify_clips: int = 400  # test clips run in all three engines (0: all)


@dataclass(frozen=True)
class SettingSpec:
    name: str
    description: str = ""
    model: str = ""
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    start: str = ""  # "from": a setting whose trained float model this one starts from
    teacher: str = ""
    distill: DistillSpec | None = None
    prune: PruneSpec | None = None
    train: tuple[str, ...] | None = None
    quant: QuantSpec = field(default_factory=QuantSpec)

    @property
    def trains(self) -> bool:
        return not self.start or self.train is not None

    @property
    def depends_on(self) -> tuple[str, ...]:
        return tuple(d for d in (self.start, self.teacher) if d and d != "none")


@dataclass(frozen=True)
class SweepSpec:
    name: str
    recipe: str
    test_data: str
    settings: tuple[SettingSpec, ...]
    base: str
    overrides: tuple[str, ...] = ()
    calib_data: str = ""
    latency_runs: int = 100
    mcu_target: str = ""  # e.g. cortex-m4: int8 settings also run as generated C on qemu (instructions, flash, RAM)
    path: str = ""

    def setting(self, name: str) -> SettingSpec:
        for s in self.settings:
            if s.name == name:
                return s
        raise ConfigError(f"{self.path}: no setting named {name!r}")

    def order(self) -> list[list[str]]:
        """Waves of setting names: each depends only on earlier waves."""
        done: set[str] = set()
        waves = []
        left = [s.name for s in self.settings]
        while left:
            wave = [n for n in left if all(d in done for d in self.setting(n).depends_on if d in self.names)]
            if not wave:
                raise ConfigError(f"{self.path}: settings depend on each other in a cycle: {', '.join(left)}")
            waves.append(wave)
            done.update(wave)
            left = [n for n in left if n not in done]
        return waves

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.settings]

    def fingerprint(self, name: str) -> str:
        """A hash of everything that decides setting `name`'s result: its spec, the shared
        settings, and the fingerprints of what it starts from (so a changed base re-runs it)."""
        return self._fingerprint(name, _read(self.recipe))

    def _fingerprint(self, name: str, recipe_data: Any) -> str:
        # The recipe is read once by the caller, not once per dependency.
        s = self.setting(name)
        data = {"setting": to_dict(s), "recipe": self.recipe, "recipe_data": recipe_data,
                "overrides": list(self.overrides), "test_data": self.test_data, "calib_data": self.calib_data,
                "deps": {d: self._fingerprint(d, recipe_data) for d in s.depends_on if d in self.names}}
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _read(path: str) -> Any:
    """The recipe's data (comments and layout do not count), or None when unreadable."""
    try:
        return load_yaml(path)
    except ConfigError:
        return None


def _absolute(value: str, base: Path) -> str:
    p = Path(os.path.expanduser(value))
    return str(p if p.is_absolute() else (base / p).resolve())


def _setting(raw: Any, where: str, base: Path) -> SettingSpec:
    if not isinstance(raw, dict) or not raw.get("name"):
        raise ConfigError(f"{where}: every setting needs a name")
    data = dict(raw)
    data["start"] = data.pop("from", "")
    if "train" in data and isinstance(data["train"], list):
        data["train"] = tuple(str(v) for v in data["train"])
    elif "train" in data and data["train"] is not None:
        raise ConfigError(f"{where}: setting {raw['name']}: train is a list of KEY=VALUE overrides")
    teacher = data.get("teacher", "")
    if not isinstance(teacher, str):
        raise ConfigError(f"{where}: setting {raw['name']}: teacher is one setting's name or one model file; an "
                          "ensemble of teachers goes in the recipe or in train: [\"distill.teacher=[A, B]\"]")
    if teacher and (teacher.endswith(".pt") or teacher.endswith(".tflite") or "/" in teacher):
        data["teacher"] = _absolute(teacher, base)
    spec = from_dict(SettingSpec, data, f"{where}: setting {raw['name']}")
    if spec.quant.mode not in QUANT_MODES:
        raise ConfigError(f"{where}: setting {spec.name}: quant.mode must be one of {', '.join(QUANT_MODES)}")
    if spec.prune is not None and spec.prune.kind not in PRUNE_KINDS:
        raise ConfigError(f"{where}: setting {spec.name}: prune.kind must be one of {', '.join(PRUNE_KINDS)}")
    if spec.prune is not None and spec.prune.kind == "unstructured" and not spec.trains:
        raise ConfigError(f"{where}: setting {spec.name}: unstructured pruning happens while training: add train")
    if spec.distill is not None and spec.teacher in ("", "none"):
        raise ConfigError(f"{where}: setting {spec.name}: distill needs a teacher")
    if bool(spec.start) == bool(spec.model):
        raise ConfigError(f"{where}: setting {spec.name}: name a model, or a setting to start `from` (not both)")
    return spec


def load_sweep(path: str | os.PathLike) -> SweepSpec:
    """Read and check a sweep file (paths resolved against its folder)."""
    p = Path(path)
    raw = load_yaml(p)
    where = str(p)
    base = p.resolve().parent
    unknown = set(raw) - {"name", "recipe", "test_data", "settings", "base", "overrides", "calib_data",
                          "latency_runs", "mcu_target", "description"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("recipe", "test_data", "settings"):
        if key not in raw:
            raise ConfigError(f"{where}: missing {key!r}")
    settings = tuple(_setting(s, where, base) for s in raw["settings"])
    names = [s.name for s in settings]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: setting names repeat")
    for s in settings:
        for dep in s.depends_on:
            if dep not in names and not Path(dep).is_file():
                raise ConfigError(f"{where}: setting {s.name} refers to {dep!r}, neither a setting nor a file")
    spec = SweepSpec(name=str(raw.get("name", p.stem)), recipe=_absolute(raw["recipe"], base),
                     test_data=_absolute(raw["test_data"], base), settings=settings,
                     base=str(raw.get("base", names[0])), overrides=tuple(str(o) for o in raw.get("overrides", [])),
                     calib_data=_absolute(raw["calib_data"], base) if raw.get("calib_data") else "",
                     latency_runs=int(raw.get("latency_runs", 100)), mcu_target=str(raw.get("mcu_target", "")),
                     path=where)
    spec.setting(spec.base)
    spec.order()
    return spec
