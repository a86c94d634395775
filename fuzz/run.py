#!/usr/bin/env python3
"""Run one fuzz target under atheris (libFuzzer, coverage of tinykws' own code).

    PYTHONPATH=src python fuzz/run.py TARGET [CORPUS_DIR ...] [libFuzzer flags]
    TINYKWS_FUZZ_TARGET=TARGET PATH=.venv/bin:$PATH fuzz/run.py -merge=1 OUT IN...   (minimise)

e.g. `python fuzz/run.py tflite /tmp/work fuzz/corpus/tflite -max_total_time=600 -timeout=5`.
Every exception outside the TinyKWSError family, every hang past -timeout and every
process crash stops the run and leaves the input in -artifact_prefix (save it under
fuzz/crashes/TARGET/ once fixed: the test suite replays it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import atheris

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    # libFuzzer's -merge re-runs this file with the flags only: the target comes from the
    # environment then.
    name = os.environ.get("TINYKWS_FUZZ_TARGET")
    if name is None:
        if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
            sys.exit(__doc__)
        name = sys.argv.pop(1)
    with atheris.instrument_imports(include=["tinykws"]):
        import targets

        if name not in targets.TARGETS:
            sys.exit(f"unknown target {name!r}; one of {', '.join(targets.TARGETS)}")
        target = targets.TARGETS[name]
        # Import everything the target touches inside the instrumented block.
        for seed in sorted((HERE / "corpus" / name).iterdir()):
            target(seed.read_bytes())
    artifacts = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("-artifact_prefix=")), None)
    atheris.Setup(sys.argv, _keeping_findings(target, artifacts, targets.TinyKWSError))
    atheris.Fuzz()


def _keeping_findings(target, prefix: str | None, expected: type):
    """The target, saving any input that raises outside `expected` under `prefix` before
    the exception reaches libFuzzer (which does not always write Python findings)."""
    import hashlib

    def run(data: bytes) -> None:
        try:
            target(data)
        except expected:
            raise
        except BaseException:
            if prefix is not None:
                Path(f"{prefix}exception-{hashlib.sha1(data).hexdigest()}").write_bytes(data)
            raise

    return run


if __name__ == "__main__":
    main()
