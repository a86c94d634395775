"""Audio chunks in, class probabilities per hop out: the two ways a model listens to a stream.

- `IncrementalPosteriors`: the streaming front-end emits feature frames, a frame stepper
  (the streaming step of the model, with state) turns each into scores. The cost per hop is
  one frame's worth of network.
- `WindowPosteriors` (the fallback for models that cannot stream exactly, such as the MLPerf
  reference with its 'same' padding and its per-clip peak normalisation): the last window of
  audio (1 s) is kept in a ring buffer and, at every hop, the clip front-end and the clip
  model run on it whole. Exact by construction, with no saving.

Both report a row only once it is the output of a whole window of real audio (warm), with
the time (s) of the newest sample it depends on.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

from tinykws.audio.frontends import Frontend
from tinykws.audio.frontends.streaming import StreamingFrontend
from tinykws.errors import AudioError, ConfigError
from tinykws.eval.runner import ModelRunner, output_scores, runner_inputs
from tinykws.stream.steppers import FrameStepper


@dataclass(frozen=True)
class Posteriors:
    """Rows of class probabilities: `times` (n,) seconds of the newest sample each row
    depends on, `probs` (n, classes) float64."""

    times: np.ndarray
    probs: np.ndarray

    @staticmethod
    def empty(classes: int) -> "Posteriors":
        return Posteriors(np.zeros(0), np.zeros((0, classes)))

    def __len__(self) -> int:
        return len(self.times)


def _samples(chunk: np.ndarray) -> np.ndarray:
    x = np.asarray(chunk)
    if x.ndim != 1:
        raise AudioError(None, f"audio chunks must be 1-D mono samples, got shape {x.shape}")
    if x.dtype == np.int16:
        return x.astype(np.float64) / 32768.0
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise AudioError(None, "audio contains NaN or infinite samples")
    return x


class PosteriorStream(abc.ABC):
    """Audio chunks (float in [-1, 1] or int16, 16 kHz mono) -> Posteriors per hop."""

    labels: tuple[str, ...]
    sample_rate: int
    hop_samples: int
    mode: str  # "incremental" or "window"
    description: str

    @abc.abstractmethod
    def process(self, chunk: np.ndarray) -> Posteriors:
        """The rows completed by this chunk."""

    def flush(self) -> Posteriors:
        """The rows that the end of the stream completes (none by default)."""
        return Posteriors.empty(len(self.labels))

    @abc.abstractmethod
    def reset(self) -> None:
        """Start a new stream."""

    def close(self) -> None:
        """Release engines."""


class IncrementalPosteriors(PosteriorStream):
    """Streaming front-end + frame stepper; a row every `hop_frames` frames once warm."""

    def __init__(self, frontend: Frontend, stepper: FrameStepper, hop_frames: int = 1):
        if hop_frames < 1:
            raise ConfigError(f"the hop must be at least one feature frame, got {hop_frames}")
        self.frontend = StreamingFrontend(frontend)
        self.stepper = stepper
        self.labels = stepper.labels
        self.sample_rate = frontend.sample_rate
        self.hop_frames = hop_frames
        self.hop_samples = self.frontend.hop * hop_frames
        self.mode = "incremental"
        self.description = stepper.description

    def reset(self) -> None:
        self.frontend.reset()
        self.stepper.reset()

    def process(self, chunk: np.ndarray) -> Posteriors:
        return self._rows(self.frontend.process(_samples(chunk)))

    def flush(self) -> Posteriors:
        return self._rows(self.frontend.flush())

    def _rows(self, frames: np.ndarray) -> Posteriors:
        first = self.frontend.frames_out - len(frames)
        probs = self.stepper.push(frames)
        index = np.arange(first, first + len(frames))
        keep = (index >= self.stepper.lag) & ((index - self.stepper.lag) % self.hop_frames == 0)
        times = self.frontend.frame_end_sample(index[keep]) / self.sample_rate
        return Posteriors(times, probs[keep])

    def close(self) -> None:
        self.stepper.close()


class WindowPosteriors(PosteriorStream):
    """The clip front-end and clip model on the last `window_samples` at every hop."""

    def __init__(self, frontend: Frontend, runner: ModelRunner, hop_samples: int, batch: int = 64):
        if hop_samples < 1:
            raise ConfigError(f"the hop must be at least one sample, got {hop_samples}")
        self.frontend = frontend
        self.runner = runner
        self.labels = tuple(runner.info.labels)
        self.sample_rate = frontend.sample_rate
        self.window_samples = frontend.clip_samples
        self.hop_samples = int(hop_samples)
        self.batch = batch
        self.mode = "window"
        self.description = f"whole window every hop: {runner.info.description}"
        self.reset()

    def reset(self) -> None:
        self.buffer = np.zeros(0)
        self.samples_in = 0
        self.next_end = self.window_samples  # end (exclusive) of the next window to score

    def process(self, chunk: np.ndarray) -> Posteriors:
        x = _samples(chunk)
        self.samples_in += len(x)
        self.buffer = np.concatenate([self.buffer, x])
        start_of_buffer = self.samples_in - len(self.buffer)
        ends = np.arange(self.next_end, self.samples_in + 1, self.hop_samples)
        if not len(ends):
            self.buffer = self.buffer[-self.window_samples:]
            return Posteriors.empty(len(self.labels))
        self.next_end = int(ends[-1]) + self.hop_samples
        rows = []
        for i in range(0, len(ends), self.batch):
            part = ends[i:i + self.batch]
            clips = np.stack([self.buffer[e - self.window_samples - start_of_buffer:e - start_of_buffer] for e in part])
            features = self.frontend.compute_batch(clips.astype(np.float32))
            outputs = self.runner.run(runner_inputs(features, self.runner.info.input, "stream"))
            rows.append(output_scores(outputs, self.runner.info))
        self.buffer = self.buffer[-self.window_samples:]
        return Posteriors(ends / self.sample_rate, np.concatenate(rows))

    def close(self) -> None:
        self.runner.close()
