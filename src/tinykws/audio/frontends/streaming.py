"""Feature frames of an endless stream, fed in chunks of any size.

    stream = StreamingFrontend(build_frontend("logmel"))
    for chunk in chunks:                  # float samples in [-1, 1], any length, even 0
        frames = stream.process(chunk)    # (new frames, features) float32
    frames = stream.flush()               # the frames the end of the audio adds

The frames are identical (array_equal) to the offline front-end's frames of all the samples
fed so far, whatever the chunk sizes: each frame is computed from its own samples by the
offline code (`SpectralPipeline.features_of_frames`, `micro.pipeline.run_frames`), and the
only state carried is what the offline computation carries too: the samples of frames not
complete yet, the start of a centred (reflect-padded) signal, and the microfrontend's noise
estimate. Memory is bounded by one frame plus the chunk.

`flush()` ends the stream as the offline front-end ends a clip: zeros up to the clip length
for a stream shorter than one clip, then the end padding of centred front-ends.

Peak normalisation (the MLPerf MFCC divides each clip by its own maximum) belongs to a clip,
not a stream: such a front-end is refused, and `build_frontend(spec, peak_normalize=False)`
streams exactly like the offline front-end with the same setting.
"""

from __future__ import annotations

import numpy as np

from tinykws.audio.frontends.base import Frontend
from tinykws.audio.frontends.micro import pipeline as micro_pipeline
from tinykws.audio.frontends.microfrontend import MicroFrontend, float_to_int16
from tinykws.audio.frontends.spectral import SpectralFrontend
from tinykws.errors import AudioError, ConfigError


class StreamingFrontend:
    """A front-end run on a stream: `process(chunk)` -> new frames, `flush()` at the end,
    `reset()` to start again. `frames_out` counts frames emitted since the last reset."""

    def __init__(self, frontend: Frontend):
        if isinstance(frontend, SpectralFrontend):
            pipe = frontend.pipeline
            if pipe.peak_normalize:
                raise ConfigError(
                    f"front-end {frontend.kind!r} normalises each clip by its own peak, which a stream does not "
                    "have; stream it with peak_normalize=False, or run the whole window at every hop")
            self.frame_length, self.hop, self.center_pad = pipe.frame_length, pipe.hop, pipe.center_pad
            self.reflect = pipe.pad_mode == "reflect"
        elif isinstance(frontend, MicroFrontend):
            self.frame_length, self.hop = frontend.plan.window_samples, frontend.plan.stride_samples
            self.center_pad, self.reflect = 0, False
        else:
            raise ConfigError(f"front-end kind {frontend.kind!r} has no streaming form")
        self.frontend = frontend
        self.num_features = frontend.num_features
        self.min_samples = frontend.clip_samples
        self.reset()

    def reset(self) -> None:
        """Forget the stream: the next sample is the first one."""
        self.samples_in = 0  # real samples received
        self.frames_out = 0
        self.finished = False
        self._started = False  # the start padding is in place
        self._head = np.zeros(0)  # real samples kept until the start padding can be built
        self._pending = np.zeros(0)  # padded-domain samples from the next frame's start on
        self._tail = np.zeros(0)  # the last center_pad + 1 real samples (for the end reflection)
        self._estimate = None  # microfrontend noise estimate

    def frame_end_sample(self, frame):
        """One past the last real sample index frame `frame` (an int or an integer array)
        reads, i.e. its newest sample; for a centred front-end the frame's centre plus half
        a window."""
        return frame * self.hop + self.frame_length - self.center_pad

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """The frames completed by `chunk` (float samples in [-1, 1]): (n, features) float32.

        Raises AudioError for NaN or infinite samples or a chunk that is not 1-D.
        """
        if self.finished:
            raise AudioError(None, "the stream was flushed; reset() before feeding it again")
        x = np.asarray(chunk, dtype=np.float64)
        if x.ndim != 1:
            raise AudioError(None, f"a stream chunk must be 1-D samples, got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise AudioError(None, "audio contains NaN or infinite samples")
        self.samples_in += len(x)
        if self.center_pad:
            self._tail = np.concatenate([self._tail, x])[-(self.center_pad + 1):]
        if self.center_pad and not self._started:
            x = self._start_padding(x)
            if x is None:
                return np.zeros((0, self.num_features), np.float32)
        return self._frames_from(x)

    def flush(self) -> np.ndarray:
        """The remaining frames at the end of the stream: (n, features) float32."""
        if self.finished:
            return np.zeros((0, self.num_features), np.float32)
        missing = max(0, self.min_samples - self.samples_in)
        out = self.process(np.zeros(missing)) if missing else np.zeros((0, self.num_features), np.float32)
        self.finished = True
        if not self.center_pad:
            return out
        tail = self._tail
        end = tail[-self.center_pad - 1:-1][::-1] if self.reflect else np.zeros(self.center_pad)
        return np.concatenate([out, self._frames_from(end)])

    def _start_padding(self, x: np.ndarray) -> np.ndarray | None:
        """Prepend the start padding once enough real samples exist; None while waiting."""
        head = np.concatenate([self._head, x])
        if self.reflect and len(head) < self.center_pad + 1:
            self._head = head
            return None
        self._head, self._started = np.zeros(0), True
        start = head[1:self.center_pad + 1][::-1] if self.reflect else np.zeros(self.center_pad)
        return np.concatenate([start, head])

    def _frames_from(self, x: np.ndarray) -> np.ndarray:
        buffer = np.concatenate([self._pending, x]) if len(self._pending) else x
        count = 0 if len(buffer) < self.frame_length else 1 + (len(buffer) - self.frame_length) // self.hop
        self._pending = buffer[count * self.hop:]
        if not count:
            return np.zeros((0, self.num_features), np.float32)
        frames = np.lib.stride_tricks.sliding_window_view(buffer, self.frame_length)[::self.hop][:count]
        self.frames_out += count
        if isinstance(self.frontend, MicroFrontend):
            return self._micro(frames)
        return self.frontend.pipeline.features_of_frames(frames)

    def _micro(self, frames: np.ndarray) -> np.ndarray:
        ints = float_to_int16(frames)[None]
        features, self._estimate = micro_pipeline.run_frames(ints, self.frontend.plan, self._estimate)
        scale = np.float32(self.frontend.config.output_scale)
        return (features[0].astype(np.float32) * scale).astype(np.float32)
