"""Learning-rate schedules as pure functions of the (fractional) epoch.

The loop sets the learning rate before every optimiser step from `lr_at(schedule, epoch)`
where `epoch = completed_epochs + step_in_epoch / steps_per_epoch`, so a schedule has no
state to save and a resumed run follows exactly the same curve.

- `step`: piecewise constant. The MLPerf Tiny KWS reference (kws_util.step_function) uses
  boundaries (12, 24, 36) and values (5e-4, 1e-4, 2e-5, 1e-5) per whole epoch with Adam,
  batch 100, 36 epochs: that is `STEP_MLPERF`.
- `cosine`: linear warm-up from 0 over `warmup_epochs`, then a half cosine from `lr` down
  to `min_lr` at `epochs`.
- `constant`: `lr` throughout (after an optional linear warm-up).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tinykws.errors import ConfigError

SCHEDULE_NAMES = ("step", "cosine", "constant")


@dataclass(frozen=True)
class ScheduleConfig:
    """Learning rate over training. `boundaries` are epochs; `values` has one more entry.

    For `step`, `values` are the learning rates themselves (empty: MLPerf's values scaled
    so the first equals `lr`). `warmup_epochs` applies to every schedule.
    """

    name: str = "step"
    boundaries: tuple[float, ...] = (12.0, 24.0, 36.0)
    values: tuple[float, ...] = ()
    warmup_epochs: float = 0.0
    min_lr: float = 0.0

    def validate(self) -> None:
        if self.name not in SCHEDULE_NAMES:
            raise ConfigError(f"schedule.name {self.name!r} is not one of {', '.join(SCHEDULE_NAMES)}")
        if list(self.boundaries) != sorted(self.boundaries):
            raise ConfigError(f"schedule.boundaries must increase, got {list(self.boundaries)}")
        if self.name == "step" and self.values and len(self.values) != len(self.boundaries) + 1:
            raise ConfigError(
                f"schedule.values needs {len(self.boundaries) + 1} entries for "
                f"{len(self.boundaries)} boundaries, got {len(self.values)}"
            )
        if self.warmup_epochs < 0 or self.min_lr < 0:
            raise ConfigError("schedule.warmup_epochs and schedule.min_lr must be >= 0")
        if any(not 0.0 < v <= 10.0 for v in self.values) or self.min_lr > 10.0:
            raise ConfigError("schedule.values and schedule.min_lr must be learning rates in (0, 10]")


# The MLPerf Tiny reference's step function, relative to its first value 5e-4.
MLPERF_STEP_VALUES = (5e-4, 1e-4, 2e-5, 1e-5)
STEP_MLPERF = ScheduleConfig(name="step", boundaries=(12.0, 24.0, 36.0), values=MLPERF_STEP_VALUES)


def lr_at(schedule: ScheduleConfig, base_lr: float, epoch: float, total_epochs: int) -> float:
    """Learning rate at fractional `epoch` (0 = start of training)."""
    if schedule.warmup_epochs > 0 and epoch < schedule.warmup_epochs:
        # Warm-up towards the value the schedule has where warm-up ends.
        target = lr_at(schedule, base_lr, schedule.warmup_epochs, total_epochs)
        return target * epoch / schedule.warmup_epochs
    if schedule.name == "constant":
        return base_lr
    if schedule.name == "step":
        values = schedule.values or tuple(base_lr * v / MLPERF_STEP_VALUES[0] for v in _mlperf_like(schedule))
        # Whole epochs, as Keras' LearningRateScheduler applies it at each epoch start.
        whole = math.floor(epoch + 1e-9)
        index = sum(1 for b in schedule.boundaries if whole >= b)
        return float(values[index])
    if schedule.name == "cosine":
        span = max(total_epochs - schedule.warmup_epochs, 1e-9)
        progress = min(max((epoch - schedule.warmup_epochs) / span, 0.0), 1.0)
        return schedule.min_lr + (base_lr - schedule.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ConfigError(f"schedule.name {schedule.name!r} is not one of {', '.join(SCHEDULE_NAMES)}")


def _mlperf_like(schedule: ScheduleConfig) -> tuple[float, ...]:
    """Default step values when none are given: MLPerf's ratios, repeating the last one."""
    n = len(schedule.boundaries) + 1
    ratios = list(MLPERF_STEP_VALUES[:n])
    while len(ratios) < n:
        ratios.append(ratios[-1])
    return tuple(ratios)
