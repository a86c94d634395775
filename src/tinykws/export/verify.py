"""Proof that a written .tflite computes what tinykws says: the file is read back and run
in the numpy integer runtime, LiteRT (reference kernels) and TFLite Micro on real inputs,
and each engine's int8 outputs are compared with the runtime of its arithmetic.

    report = verify_tflite("model.tflite", int8_inputs, in_memory={"litert_ref": intmodel})
    for line in report.lines(): print(line)     # "LiteRT BUILTIN_REF: identical int8 outputs on 2885/2885 inputs"
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from tinykws.errors import EngineUnavailableError, TinyKWSError
from tinykws.eval.runner import identical_count, run_batches
from tinykws.export.runners import open_litert_runner, open_reference_runner, open_tflm_runner
from tinykws.intmodel import IntModel


class VerificationError(TinyKWSError):
    """An engine gave int8 outputs that differ from tinykws' on some inputs."""


@dataclass(frozen=True)
class EngineCheck:
    """One engine against the tinykws runtime of its arithmetic on the same inputs.

    `identical` is None when the engine could not run (`skipped` says why)."""

    engine: str
    reference: str
    total: int
    identical: int | None
    max_lsb: int | None
    skipped: str = ""

    @property
    def ok(self) -> bool:
        return self.identical is None or self.identical == self.total

    def line(self) -> str:
        if self.identical is None:
            return f"{self.engine}: not checked ({self.skipped})"
        if self.ok:
            return f"{self.engine}: identical int8 outputs on {self.identical}/{self.total} inputs (vs {self.reference})"
        return (f"{self.engine}: {self.total - self.identical}/{self.total} inputs differ from {self.reference}, "
                f"by up to {self.max_lsb} LSB")

    def to_dict(self) -> dict[str, Any]:
        return {"engine": self.engine, "reference": self.reference, "total": self.total,
                "identical": self.identical, "max_lsb": self.max_lsb, "skipped": self.skipped, "ok": self.ok}


@dataclass(frozen=True)
class Verification:
    """Every engine check of one file on `inputs` inputs drawn from `source`."""

    path: str
    source: str
    inputs: int
    checks: tuple[EngineCheck, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def mismatches(self) -> int:
        return sum(c.total - c.identical for c in self.checks if c.identical is not None)

    def lines(self) -> list[str]:
        return [c.line() for c in self.checks]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "source": self.source, "inputs": self.inputs, "ok": self.ok, "mismatches": self.mismatches,
                "checks": [c.to_dict() for c in self.checks]}

    def raise_if_failed(self) -> None:
        if not self.ok:
            raise VerificationError(f"{self.path}: {self.mismatches} mismatching outputs: " + "; ".join(
                c.line() for c in self.checks if not c.ok))


def verify_tflite(path: str | os.PathLike, inputs: np.ndarray, source: str = "",
                  in_memory: Mapping[str, IntModel] | None = None) -> Verification:
    """Run the .tflite at `path` on int8 `inputs` (N, *input shape) in every engine.

    Checks: the numpy runtime on the file read back against each in-memory integer
    network given (by arithmetic: what was exported is what was computed); LiteRT
    BUILTIN_REF against the numpy runtime with arithmetic litert_ref; TFLite Micro against
    arithmetic tflite_micro. A missing engine is reported as not checked.
    """
    path = os.fspath(path)
    ours: dict[str, np.ndarray] = {}
    checks = []
    labels = None
    for arithmetic in ("litert_ref", "tflite_micro"):
        with open_reference_runner(path, arithmetic) as runner:
            ours[arithmetic] = run_batches(runner, inputs, 256)
            labels = runner.info.labels
        if in_memory and arithmetic in in_memory:
            with open_reference_runner(in_memory[arithmetic], arithmetic, frontend={}, labels=labels) as mem:
                expected = run_batches(mem, inputs, 256)
            same, lsb = identical_count(ours[arithmetic], expected)
            checks.append(EngineCheck(f"numpy runtime on the file read back ({arithmetic})",
                                      "the integer network before export", len(inputs), same, lsb))
    for engine, reference, opener, kwargs in (
            ("LiteRT BUILTIN_REF", "tinykws litert_ref", open_litert_runner, {"kernels": "reference"}),
            ("TFLite Micro", "tinykws tflite_micro", open_tflm_runner, {})):
        arithmetic = "litert_ref" if opener is open_litert_runner else "tflite_micro"
        try:
            with opener(path, **kwargs) as runner:
                got = run_batches(runner, inputs, 256)
        except EngineUnavailableError as exc:
            checks.append(EngineCheck(engine, reference, len(inputs), None, None, str(exc)))
            continue
        same, lsb = identical_count(got, ours[arithmetic])
        checks.append(EngineCheck(engine, reference, len(inputs), same, lsb))
    return Verification(path, source, len(inputs), tuple(checks))
