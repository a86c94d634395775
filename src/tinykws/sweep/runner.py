"""Running a sweep: settings in dependency order, finished ones taken from their cache,
the others in parallel worker processes on this machine or as tasks on a Ray cluster.

A setting is finished when its result.json carries its current fingerprint (its spec,
the recipe and what it starts from): change a setting and it, and what depends on it,
run again. An interrupted setting resumes: its training from last.pt (exactly as if it
had not stopped), its int8 or float export from scratch (deterministic).
"""

from __future__ import annotations

import os
import sys
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Sequence

from tinykws.errors import ConfigError, EngineUnavailableError
from tinykws.fileio import write_json, write_text
from tinykws.sweep.setting import SweepInterrupted, cached_result, run_setting_job
from tinykws.sweep.spec import SweepSpec, load_sweep
from tinykws.sweep.table import markdown_table, table_rows

BACKENDS = ("process", "ray")


@dataclass(frozen=True)
class SweepResult:
    """What a sweep produced: per-setting results and rows, and the files written."""

    out: Path
    spec: SweepSpec
    results: dict[str, dict[str, Any]]
    rows: list[dict[str, Any]]
    files: dict[str, str] = field(default_factory=dict)
    ran: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


def _needed(spec: SweepSpec, only: Sequence[str]) -> set[str]:
    if not only:
        return set(spec.names)
    needed: set[str] = set()
    todo = list(only)
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(d for d in spec.setting(name).depends_on if d in spec.names)
    return needed


def _run_wave(todo: list[str], spec_path: str, out: Path, workers: int, backend: str,
              stop_after_epochs: int | None, ray_address: str | None) -> dict[str, Any]:
    """name -> result dict or the exception it raised."""
    args = [(spec_path, name, str(out), stop_after_epochs) for name in todo]
    if backend == "ray":
        return _run_ray(args, workers, ray_address)
    if workers <= 1 or len(todo) == 1:
        done = {}
        for a in args:
            try:
                done[a[1]] = run_setting_job(*a)
            except Exception as exc:  # noqa: BLE001 - reported per setting, the sweep goes on
                done[a[1]] = exc
        return done
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {a[1]: pool.submit(run_setting_job, *a) for a in args}
        return {name: (f.exception() or f.result()) for name, f in futures.items()}


def _run_ray(args: list[tuple], workers: int, address: str | None) -> dict[str, Any]:
    try:
        import ray
    except ImportError:
        raise EngineUnavailableError("--backend ray needs Ray: pip install 'tinykws[ray]'") from None
    if not ray.is_initialized():
        env = {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        ray.init(address=address, num_cpus=None if address else max(1, workers), include_dashboard=False,
                 log_to_driver=False, runtime_env={"env_vars": env} if address is None else None)
    task = ray.remote(num_cpus=1, max_retries=0)(run_setting_job)
    refs = {a[1]: task.remote(*a) for a in args}
    done = {}
    for name, ref in refs.items():
        try:
            done[name] = ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - ray wraps the task's exception
            cause = getattr(exc, "cause", None)
            done[name] = cause if isinstance(cause, Exception) else exc
    return done


def _add_mcu_figures(spec: SweepSpec, out: Path, results: dict[str, dict[str, Any]], echo) -> None:
    """Measure every int8 result without MCU figures on qemu (a measurement added to a
    finished setting: its result.json is updated, nothing is trained again)."""
    from tinykws.sweep.store import mcu_figures

    for name, r in results.items():
        if "error" in r or r.get("mcu") or r.get("mode") not in ("ptq", "qat") or not r.get("artifact"):
            continue
        echo(f"{name}: generated C on qemu ({spec.mcu_target})")
        r["mcu"] = mcu_figures(r["artifact"], spec.mcu_target)
        write_json(out / "settings" / name / "result.json", r)


def run_sweep(path: str | os.PathLike, out: str | os.PathLike, workers: int = 1, backend: str = "process",
              only: Sequence[str] = (), stop_after_epochs: int | None = None, ray_address: str | None = None,
              echo=print) -> SweepResult:
    """Run the sweep file `path` into `out` (see the module doc); writes the table, plots
    and report. Settings that fail are reported (their dependents skipped); a setting
    stopped by `stop_after_epochs` stops the sweep with SweepInterrupted after its wave."""
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    spec = load_sweep(path)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    needed = _needed(spec, only)
    results: dict[str, dict[str, Any]] = {}
    ran, failed, interrupted = [], [], []
    for wave in spec.order():
        todo = []
        for name in wave:
            if name not in needed:
                continue
            blocked = [d for d in spec.setting(name).depends_on if d in failed]
            cached = cached_result(spec, name, out)
            if blocked:
                failed.append(name)
                results[name] = {"error": f"skipped: {', '.join(blocked)} failed"}
            elif cached is not None:
                results[name] = cached
                echo(f"{name}: cached (top-1 {cached['top1']:.2f} %)")
            else:
                todo.append(name)
        if not todo:
            continue
        echo(f"running {', '.join(todo)} ({backend}, {workers} worker{'s' if workers > 1 else ''})")
        for name, value in _run_wave(todo, str(Path(path).resolve()), out, workers, backend, stop_after_epochs,
                                     ray_address).items():
            if isinstance(value, SweepInterrupted):
                interrupted.append(str(value))
            elif isinstance(value, Exception):
                failed.append(name)
                results[name] = {"error": f"{type(value).__name__}: {value}"}
                write_text(out / "settings" / name / "error.txt",
                           "".join(traceback.format_exception(type(value), value, value.__traceback__)))
                echo(f"{name}: failed ({type(value).__name__}: {value})")
            else:
                ran.append(name)
                results[name] = value
                (out / "settings" / name / "error.txt").unlink(missing_ok=True)  # of an earlier, failed attempt
                echo(f"{name}: top-1 {value['top1']:.2f} %, {value['macs']:,} MACs, "
                     f"{value['file_bytes'] or 0:,} B")
        if interrupted:
            raise SweepInterrupted("; ".join(interrupted))
    ordered = {n: results[n] for n in spec.names if n in results}
    if spec.mcu_target:
        _add_mcu_figures(spec, out, ordered, echo)
    rows = table_rows(ordered, spec.base)
    from tinykws.sweep.report import write_sweep_report

    write_json(out / "results.json", ordered)
    write_json(out / "table.json", rows)
    files = {"results": str(out / "results.json"), "table": str(out / "table.md")}
    write_text(out / "table.md", markdown_table(rows) + "\n")
    files.update(write_sweep_report(spec, out, ordered, rows))
    return SweepResult(out, spec, ordered, rows, files, tuple(ran), tuple(failed))
