"""Layer 10: sweeps of compression settings (distillation, pruning, quantization) with a
table, Pareto plots and a report (`tinykws sweep SWEEP.yaml --out DIR`)."""

from tinykws.sweep.pareto import pareto_front
from tinykws.sweep.runner import BACKENDS, SweepResult, run_sweep
from tinykws.sweep.setting import SweepInterrupted
from tinykws.sweep.spec import SweepSpec, load_sweep

__all__ = ["BACKENDS", "SweepInterrupted", "SweepResult", "SweepSpec", "load_sweep", "pareto_front", "run_sweep"]
