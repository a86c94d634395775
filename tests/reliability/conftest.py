"""Helpers of the bad-input catalogue: run a verb and require the one clean failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

from tinykws.cli.main import main

# No per-example deadline: the machine is shared, and a slow example is not a wrong one.
settings.register_profile("tinykws", deadline=None)
settings.load_profile("tinykws")

FUZZ_CORPUS = Path(__file__).resolve().parents[2] / "fuzz" / "corpus"


@pytest.fixture
def refused(capsys):
    """`refused(argv, *names)`: the verb exits 2 with exactly one line on stderr, a
    tinykws error naming every one of `names`, and nothing on stdout. Returns the line."""

    def check(argv: list[str], *names: object) -> str:
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert code == 2, (code, captured.err)
        assert len(lines) == 1 and lines[0].startswith("tinykws: error: "), captured.err
        assert captured.out == ""
        for name in names:
            assert str(name) in lines[0], (name, lines[0])
        return lines[0]

    return check


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative POSIX path -> bytes), hidden ones included."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
