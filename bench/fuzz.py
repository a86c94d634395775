"""Coverage-guided fuzzing of every target in fuzz/targets.py, one after another.

    PYTHONPATH=src nice -n 19 python bench/fuzz.py --seconds tflite=900,audio=900,recipe=600,checkpoint=600

Each target runs under atheris (fuzz/run.py) for its time on one core, starting from its
saved corpus (fuzz/corpus/TARGET, fuzz/found/TARGET and fuzz/crashes/TARGET), with a 5 s
per-input timeout and a 3 GB memory limit. An exception outside the TinyKWSError family,
a hang or a crash stops that target and its input is kept in bench/results/fuzz_artifacts/.
Prints executions, coverage (instrumented edges of tinykws' own code and libFuzzer
features) and findings per target, and writes bench/results/fuzz.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DEFAULT_SECONDS = {"tflite": 900, "audio": 900, "recipe": 600, "checkpoint": 600}
_STATUS = re.compile(r"^#(\d+)\s+(?:DONE|pulse|NEW|REDUCE|INITED)\s+cov: (\d+) ft: (\d+)")


def run_target(name: str, seconds: int, work: Path) -> dict:
    """Fuzz one target for `seconds`; the figures read from libFuzzer's output."""
    corpus = work / name
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts = RESULTS / "fuzz_artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    seeds = [str(ROOT / "fuzz" / "corpus" / name)]
    for kind in ("found", "crashes"):
        folder = ROOT / "fuzz" / kind / name
        if folder.is_dir() and any(folder.iterdir()):
            seeds.append(str(folder))
    cmd = [sys.executable, str(ROOT / "fuzz" / "run.py"), name, str(corpus), *seeds,
           f"-max_total_time={seconds}", "-timeout=5", "-rss_limit_mb=3072", "-print_final_stats=1",
           f"-artifact_prefix={artifacts}/{name}-", "-max_len=65536"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    t0 = time.time()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, errors="replace")
    elapsed = time.time() - t0
    log = proc.stdout + proc.stderr
    (RESULTS / f"fuzz_{name}.log").write_text(log[-200_000:])
    executions = cov = features = 0
    for line in log.splitlines():
        m = _STATUS.match(line)
        if m:
            executions, cov, features = int(m[1]), int(m[2]), int(m[3])
        if line.startswith("stat::number_of_executed_units:"):
            executions = int(line.split(":")[-1])
    findings = [line for line in log.splitlines() if "Test unit written" in line or "Uncaught Python" in line
                or "ERROR: libFuzzer" in line]
    return {"target": name, "seconds": round(elapsed, 1), "executions": executions,
            "exec_per_s": round(executions / max(elapsed, 1e-9), 1), "coverage_edges": cov,
            "coverage_features": features, "corpus_files": len(list(corpus.iterdir())),
            "exit_status": proc.returncode, "findings": findings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", default=",".join(f"{k}={v}" for k, v in DEFAULT_SECONDS.items()),
                        help="TARGET=SECONDS,... (default: %(default)s)")
    parser.add_argument("--work", default=str(RESULTS / "fuzz_corpus"), help="working corpus folder")
    args = parser.parse_args()
    plan = {k: int(v) for k, v in (item.split("=") for item in args.seconds.split(","))}
    work = Path(args.work)
    rows = []
    for name, seconds in plan.items():
        row = run_target(name, seconds, work)
        rows.append(row)
        print(f"{name:<11} {row['executions']:>10,} execs in {row['seconds']:>7.0f} s ({row['exec_per_s']:>7.0f}/s)  "
              f"cov {row['coverage_edges']:>5} ft {row['coverage_features']:>6}  corpus {row['corpus_files']:>5}  "
              f"{'OK' if not row['findings'] else 'FINDING: ' + row['findings'][0]}", flush=True)
    total = sum(r["executions"] for r in rows)
    print(f"{'total':<11} {total:>10,} execs in {sum(r['seconds'] for r in rows):>7.0f} s; "
          f"{sum(bool(r['findings']) for r in rows)} target(s) with findings")
    from tinykws.fileio import write_json

    write_json(RESULTS / "fuzz.json", {"targets": rows, "total_executions": total, "python": sys.version.split()[0]})
    shutil.rmtree(work / ".tmp", ignore_errors=True)


if __name__ == "__main__":
    main()
