"""Dependencies point one way: a module imports only from its own layer or below."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tinykws"

# Top-level module or package of tinykws -> layer (docs/architecture.md).
LAYERS = {
    "__init__": 0, "__main__": 11, "config": 0, "environment": 0, "registry": 0, "errors": 0, "fileio": 0, "isolation": 0, "formats": 0, "fixedpoint": 0,
    "audio": 1,
    "data": 2,
    "models": 3,
    "eval": 4,
    "train": 5,
    "quant": 6, "compress": 6,
    "intmodel": 7, "stream": 7,
    "export": 8, "codegen": 8,
    "profile": 9, "mcu": 9,
    "bench": 10, "report": 10, "pipeline": 10, "harness": 10, "sweep": 10,
    "cli": 11,
}


def _top(parts: tuple[str, ...]) -> str:
    return parts[0].removesuffix(".py") if parts else "__init__"


def _imports(path: Path, pkg_parts: tuple[str, ...] | None = None) -> list[tuple[int, str]]:
    """(line, top-level tinykws module) for every tinykws import in `path`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    if pkg_parts is None:
        pkg_parts = path.relative_to(SRC).parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tinykws."):
                    found.append((node.lineno, alias.name.split(".")[1]))
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the package
                base = pkg_parts[: len(pkg_parts) - node.level + 1]
                mod = list(base) + (node.module.split(".") if node.module else [])
                if mod:
                    found.append((node.lineno, mod[0]))
                else:
                    found.extend((node.lineno, a.name) for a in node.names)
            elif node.module == "tinykws":
                found.extend((node.lineno, a.name) for a in node.names)
            elif node.module and node.module.startswith("tinykws."):
                found.append((node.lineno, node.module.split(".")[1]))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py"))


def test_every_top_level_module_has_a_layer():
    tops = {_top(p.relative_to(SRC).parts) for p in _modules()}
    missing = sorted(tops - set(LAYERS))
    assert not missing, f"add these to LAYERS (and docs/architecture.md): {missing}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_down(path):
    own = LAYERS[_top(path.relative_to(SRC).parts)]
    bad = []
    for line, target in _imports(path):
        layer = LAYERS.get(target, 0)
        if layer > own:
            bad.append(f"line {line}: imports {target} (layer {layer}) from layer {own}")
    assert not bad, "\n".join(bad)


def test_checker_catches_upward_imports(tmp_path):
    # The checker itself must be able to fail: a layer-1 module importing layers 5 and 11.
    probe = tmp_path / "probe.py"
    probe.write_text("from tinykws.train import loop\nimport tinykws.cli.main\nfrom ..models import x\n")
    targets = [t for _, t in _imports(probe, pkg_parts=("audio", "frontends"))]
    assert targets == ["train", "cli", "audio"]
    probe.write_text("from ...models import x\n")
    assert [t for _, t in _imports(probe, pkg_parts=("audio", "frontends"))] == ["models"]
