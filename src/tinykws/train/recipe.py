"""YAML recipes: read strictly, apply `--set key=value` overrides, resolve, save.

Relative data paths in a recipe are resolved against the recipe's folder, so a recipe
works from any current directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from tinykws.config import apply_overrides, from_dict, load_yaml, to_dict
from tinykws.errors import ConfigError
from tinykws.fileio import write_text
from tinykws.train.config import RunConfig


def config_from_dict(data: Mapping[str, Any], where: str = "recipe") -> RunConfig:
    """A validated RunConfig from a nested dict; errors name `where` and the key."""
    try:
        cfg = from_dict(RunConfig, data)
        cfg.validate()
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return cfg


def _absolute(value: str, base: Path) -> str:
    p = Path(os.path.expanduser(value))
    return str(p if p.is_absolute() else (base / p).resolve())


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    section = data.get("data")
    if isinstance(section, dict):
        for key in ("sources", "validation"):
            items = section.get(key)
            for item in items if isinstance(items, list) else ():
                if isinstance(item, dict) and isinstance(item.get("path"), str):
                    item["path"] = _absolute(item["path"], base)
                if isinstance(item, dict) and isinstance(item.get("noise"), list):
                    item["noise"] = [_absolute(n, base) if isinstance(n, str) else n for n in item["noise"]]
        if isinstance(section.get("cache_dir"), str) and section["cache_dir"]:
            section["cache_dir"] = _absolute(section["cache_dir"], base)
    for name, key in (("distill", "teacher"), ("model", "init"), ("quant", "calib_data"), ("export", "test_data")):
        part = data.get(name)
        if isinstance(part, dict) and isinstance(part.get(key), str) and part[key]:
            part[key] = _absolute(part[key], base)
        elif isinstance(part, dict) and isinstance(part.get(key), list):  # an ensemble of teachers
            part[key] = [_absolute(v, base) if isinstance(v, str) and v else v for v in part[key]]
    return data


def load_recipe(path: str | os.PathLike, overrides: Sequence[str] = ()) -> RunConfig:
    """Read recipe YAML `path`, apply `key=value` overrides, and validate.

    The run name defaults to the recipe's file stem.
    """
    p = Path(path)
    data = load_yaml(p)
    data.setdefault("name", p.stem)
    data = apply_overrides(data, list(overrides))
    data = _resolve_paths(data, p.resolve().parent)
    cfg = config_from_dict(data, where=str(p))
    _check_names(cfg, str(p))
    return cfg


def _check_names(cfg: RunConfig, where: str) -> None:
    """Registered model and front-end names, checked up front so the error names the recipe."""
    from tinykws.audio.frontends import FRONTEND_KINDS, FRONTEND_PRESETS
    from tinykws.models.registry import model_names

    models = model_names()
    if cfg.model.name not in models:
        raise ConfigError(f"{where}: model.name {cfg.model.name!r} is not a registered model; known: {', '.join(models)}")
    name = cfg.frontend.name
    if name and name not in FRONTEND_PRESETS and name not in FRONTEND_KINDS:
        known = sorted(set(FRONTEND_PRESETS.names()) | set(FRONTEND_KINDS.names()))
        raise ConfigError(f"{where}: frontend.name {name!r} is not a front-end preset or kind; known: {', '.join(known)}")
    _check_model(cfg, where)


def _check_model(cfg: RunConfig, where: str) -> None:
    """The front-end and the model's options, tried (the model on torch's meta device) so
    that a bad `frontend.overrides` or `model.kwargs` names the recipe before any work."""
    from tinykws.data.labels import MLPERF_LABELS
    from tinykws.models.registry import check_model_options
    from tinykws.train.setup import resolve_frontend

    try:
        frontend = resolve_frontend(cfg)
        kwargs = dict(cfg.model.kwargs)
        kwargs.setdefault("input_shape", tuple(frontend.output_shape))
        if "num_classes" in kwargs:
            raise ConfigError("model.kwargs.num_classes is set by the labels; remove it")
        check_model_options(cfg.model.name, len(MLPERF_LABELS), **kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def config_to_yaml(cfg: RunConfig) -> str:
    """The resolved config as YAML text (readable back with `load_recipe`)."""
    return yaml.safe_dump(_plain(to_dict(cfg)), sort_keys=False, default_flow_style=False)


def save_config(cfg: RunConfig, path: str | os.PathLike) -> None:
    """Write the resolved config atomically to `path` (config.yaml of a run folder)."""
    write_text(path, config_to_yaml(cfg))


def _plain(obj: Any) -> Any:
    # safe_dump cannot write tuples; lists read back into tuples through from_dict.
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj
