"""Config plumbing shared by every concern: strict dataclasses from dicts and YAML,
dotted `key=value` overrides, and stable content hashes.

Each concern (front-end, data, model, train, quant, export, bench) defines its own frozen
dataclass next to the code that uses it; this module only knows how to build, override,
serialise and hash them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

import yaml

from tinykws.errors import ConfigError

C = TypeVar("C")
_FLOAT_TEXT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def to_dict(cfg: Any) -> dict[str, Any]:
    """A plain, JSON-serialisable dict of a (nested) config dataclass."""
    if dataclasses.is_dataclass(cfg):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, (list, tuple)):
        return [to_dict(v) for v in cfg]  # type: ignore[return-value]
    if isinstance(cfg, Mapping):
        return {str(k): to_dict(v) for k, v in cfg.items()}
    if isinstance(cfg, Path):
        return str(cfg)  # type: ignore[return-value]
    return cfg


def stable_hash(obj: Any, length: int = 16) -> str:
    """Hex digest of a config (or any JSON-able object), independent of key order."""
    text = json.dumps(to_dict(obj), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin is typing.Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError as exc:
                # A list meant for a list member of the union: its item's error is the useful one.
                if isinstance(value, (list, tuple)) and typing.get_origin(arg) in (tuple, list):
                    errors.insert(0, str(exc))
                else:
                    errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: bad value {value!r}")
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
        return from_dict(annotation, value, where)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item_t = args[0] if args else Any
        items = [_coerce(v, item_t, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if annotation is float:
        # YAML 1.1 (PyYAML) reads `5e-4` (no dot) as a string; recipes use that form a lot.
        if isinstance(value, str) and _FLOAT_TEXT.match(value.strip()):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
        return number
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def from_dict(cls: type[C], data: Mapping[str, Any], where: str = "") -> C:
    """Build dataclass `cls` from `data`, refusing unknown keys and wrong types."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or cls.__name__}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"unknown key(s) {', '.join(prefix + k for k in unknown)}; "
            f"allowed: {', '.join(sorted(fields))}"
        )
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(value, hints[name], f"{where}.{name}" if where else name)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where or cls.__name__}: {exc}") from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """`train.lr=1e-3` -> (['train', 'lr'], 0.001); the value is read as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not of the form key=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override {text!r} has an empty key")
    try:
        value = parse_yaml(raw) if raw.strip() else ""
    except ConfigError as exc:
        raise ConfigError(f"override {text!r}: value is not valid YAML ({exc})") from None
    return key.split("."), value


def _step(node: Any, part: str, text: str, create: bool) -> Any:
    """The child `part` of a section (dict key) or list (index), for override `text`."""
    if isinstance(node, list):
        if not (part.lstrip("-").isdigit()):
            raise ConfigError(f"override {text!r}: {part!r} is not an index of a list of {len(node)}")
        index = int(part)
        if not -len(node) <= index < len(node):
            raise ConfigError(f"override {text!r}: index {index} is outside a list of {len(node)}")
        return node[index]
    if not isinstance(node, dict):
        raise ConfigError(f"override {text!r}: cannot go into {part!r} (not a section or list)")
    if part not in node and create:
        node[part] = {}
    return node.get(part)


def apply_overrides(data: Mapping[str, Any], overrides: list[str]) -> dict[str, Any]:
    """A copy of nested dict `data` with each `a.b.c=value` override set. A numeric part
    indexes a list: `data.sources.2.weight=0.5` sets the weight of the third source."""
    out: dict[str, Any] = json.loads(json.dumps(data, default=str))
    for text in overrides:
        path, value = parse_override(text)
        node: Any = out
        for part in path[:-1]:
            child = _step(node, part, text, create=True)
            if not isinstance(child, (dict, list)):
                raise ConfigError(f"override {text!r}: {part!r} is not a section or list")
            node = child
        last = path[-1]
        if isinstance(node, list):
            _step(node, last, text, create=False)
            node[int(last)] = value
        else:
            node[last] = value
    return out


# A recipe is a few dozen keys: these bounds are far above any real one and far below
# what it takes to exhaust memory (an alias "billion laughs") or the stack (deep nesting).
YAML_MAX_BYTES = 1 << 20
YAML_MAX_DEPTH = 32
YAML_MAX_ALIASES = 64
YAML_MAX_NODES = 100_000


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, deep nesting, many aliases and documents
    whose expanded size (aliases counted as copies) is too large."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > YAML_MAX_ALIASES:
                raise ConfigError(f"more than {YAML_MAX_ALIASES} aliases (*name)")
        self._depth += 1
        if self._depth > YAML_MAX_DEPTH:
            raise ConfigError(f"nested deeper than {YAML_MAX_DEPTH} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
                if key in seen:
                    raise ConfigError(f"duplicate key {key!r} (line {key_node.start_mark.line + 1})")
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: yaml.Node, memo: dict[int, int], depth: int = 0) -> int:
    """Nodes in the document once every alias is expanded (memoised per shared node)."""
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = YAML_MAX_NODES + 1  # a node that contains itself is too large
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(child, memo, depth + 1) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded_size(k, memo, depth + 1) + _expanded_size(v, memo, depth + 1)
                     for k, v in node.value)
    total = min(total, YAML_MAX_NODES + 1)
    memo[id(node)] = total
    return total


def parse_yaml(text: str) -> Any:
    """Parse YAML text with the bounds above; ConfigError (without a file name) on failure."""
    if len(text) > YAML_MAX_BYTES:
        raise ConfigError(f"{len(text):,} characters is more than the {YAML_MAX_BYTES:,} a recipe may have")
    try:
        loader = _BoundedLoader(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"malformed YAML ({' '.join(str(exc).split())[:300]})") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > YAML_MAX_NODES:
            raise ConfigError(f"expands to more than {YAML_MAX_NODES:,} values (aliases copied)")
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ConfigError(f"malformed YAML ({' '.join(str(exc).split())[:300]})") from None
    except RecursionError:
        raise ConfigError("nested too deeply") from None
    finally:
        loader.dispose()


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML mapping (bounded, no duplicate keys); a ConfigError naming the file for
    anything else."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read ({exc})") from None
    try:
        data = parse_yaml(text)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level, got {type(data).__name__}")
    return data
