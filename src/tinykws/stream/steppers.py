"""Frame steppers: feature frames in, one score row per frame out, state kept inside.

A stepper wraps one streaming step (float in torch, int8 through any runtime) and carries
its state between calls, so that `push` can be fed frames in any grouping:

    stepper.push(frames)   # (n, features) float32 -> (n, classes) probabilities, float64
    stepper.reset()        # back to the zero state

Row j of the output belongs to the j-th frame pushed since the reset; rows before `lag`
depend on the initial state (see `plan.py`).
"""

from __future__ import annotations

import abc
from typing import Any, Sequence

import numpy as np
import torch

from tinykws.eval.runner import ModelRunner, RunnerInfo, TensorSpec, output_scores
from tinykws.fixedpoint.primitives import quantize_real


class FrameStepper(abc.ABC):
    """A streaming model with its state: `labels`, `lag` (frames), `description`."""

    labels: tuple[str, ...]
    lag: int
    num_features: int
    description: str

    @abc.abstractmethod
    def push(self, frames: np.ndarray) -> np.ndarray:
        """Class probabilities (n, classes) float64 for n new frames (n, features)."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Back to the initial (zero) state."""

    def close(self) -> None:
        """Release engines. Safe to call twice."""


class TorchStepper(FrameStepper):
    """A float streaming step (`FloatStreamStep` or `CRNNStreamStep`) in PyTorch."""

    def __init__(self, step: Any, info: RunnerInfo, description: str):
        self.step = step
        self.info = info
        self.labels = tuple(info.labels)
        self.lag = int(step.lag)
        self.num_features = int(step.num_features)
        self.description = description
        self.reset()

    def reset(self) -> None:
        self.state = self.step.initial_state()

    def push(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames, np.float32)
        if not len(frames):
            return np.zeros((0, len(self.labels)))
        logits, self.state = self.step.step(torch.from_numpy(frames), self.state)
        return output_scores(logits.numpy(), self.info)


class IntStepper(FrameStepper):
    """An int8 streaming step run through ModelRunner.run_all (any runtime).

    runners: {frames per call: runner}; the largest that fits is used for each group of
    frames (the state does not depend on it, so the outputs do not either).
    state_shapes / state_zero_points: the state inputs, zero (real 0.0) at the start.
    """

    def __init__(self, runners: dict[int, ModelRunner], state_shapes: Sequence[tuple[int, ...]],
                 state_zero_points: Sequence[int], lag: int, description: str):
        if 1 not in runners:
            raise ValueError("an int8 stepper needs a one-frame step")
        self.runners = dict(sorted(runners.items(), reverse=True))
        info: RunnerInfo = runners[1].info
        self.info = info
        self.labels = tuple(info.labels)
        self.lag = int(lag)
        self.input: TensorSpec = info.input  # (1, features, 1) of the one-frame step
        self.num_features = int(np.prod(info.input.shape, dtype=np.int64))
        self.state_shapes = [tuple(s) for s in state_shapes]
        self.state_zero_points = list(state_zero_points)
        self.description = description
        self.reset()

    def reset(self) -> None:
        self.state = [np.full(s, zp, np.int8) for s, zp in zip(self.state_shapes, self.state_zero_points)]

    def push(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames, np.float32).reshape(-1, self.num_features)
        q = quantize_real(frames, self.input.scale, self.input.zero_point, np.dtype(self.input.dtype))
        rows, start = [], 0
        while start < len(q):
            n = next(k for k in self.runners if k <= len(q) - start)
            steps = (len(q) - start) // n
            frames = [q[start + i * n:start + (i + 1) * n].reshape(1, n, self.num_features, 1) for i in range(steps)]
            outs, self.state = self.runners[n].run_steps(frames, self.state)
            rows += [np.asarray(o).reshape(n, -1) for o in outs]
            start += steps * n
        if not rows:
            return np.zeros((0, len(self.labels)))
        return output_scores(np.concatenate(rows), self.info)

    def close(self) -> None:
        for runner in self.runners.values():
            runner.close()
