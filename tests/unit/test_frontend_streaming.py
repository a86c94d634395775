"""The streaming front-end: audio in chunks of any size gives exactly the offline
front-end's frames of the same samples, for every preset, with bounded memory."""

from __future__ import annotations

import numpy as np
import pytest

from tinykws.audio.frontends import FRONTEND_PRESETS, build_frontend
from tinykws.audio.frontends.streaming import StreamingFrontend
from tinykws.errors import AudioError, ConfigError

PRESETS = FRONTEND_PRESETS.names()


def _frontend(name):
    # Peak normalisation is a property of a clip: the MLPerf MFCC streams without it.
    return build_frontend(name, peak_normalize=False) if name == "mlperf_mfcc" else build_frontend(name)


def _audio(samples: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / 16000
    return (0.3 * np.sin(2 * np.pi * 440 * t) * (t % 0.5) + 0.05 * rng.normal(size=samples)).astype(np.float32)


def _streamed(frontend, audio: np.ndarray, chunk: int) -> np.ndarray:
    stream = StreamingFrontend(frontend)
    parts = [stream.process(audio[i:i + chunk]) for i in range(0, len(audio), chunk)]
    return np.concatenate(parts + [stream.flush()])


@pytest.mark.parametrize("name", PRESETS)
def test_any_chunk_size_gives_the_offline_frames(name):
    frontend = _frontend(name)
    audio = _audio(37_000)
    offline = frontend.compute(audio)
    for chunk in (160, 320, 1000, 16_000, 7_777):
        np.testing.assert_array_equal(_streamed(frontend, audio, chunk), offline)
    short = audio[:2_500]  # one sample at a time, and a stream shorter than one clip
    np.testing.assert_array_equal(_streamed(frontend, short, 1), frontend.compute(short))


@pytest.mark.parametrize("name", PRESETS)
def test_memory_is_bounded_and_reset_starts_again(name):
    frontend = _frontend(name)
    stream = StreamingFrontend(frontend)
    audio = _audio(48_000, seed=1)
    first = np.concatenate([stream.process(audio[i:i + 4000]) for i in range(0, len(audio), 4000)])
    held = len(stream._pending) + len(stream._tail) + len(stream._head)
    assert held < 2 * 4000
    assert stream.frames_out == len(first)
    stream.reset()
    again = np.concatenate([stream.process(audio[i:i + 4000]) for i in range(0, len(audio), 4000)])
    np.testing.assert_array_equal(again, first)


def test_frame_times_and_errors():
    logmel = StreamingFrontend(build_frontend("logmel"))
    assert logmel.frame_end_sample(0) == 240  # centred: frame 0 reads up to half a window
    mfcc = StreamingFrontend(build_frontend("mlperf_mfcc", peak_normalize=False))
    assert mfcc.frame_end_sample(1) == 320 + 480
    with pytest.raises(ConfigError, match="peak"):
        StreamingFrontend(build_frontend("mlperf_mfcc"))
    with pytest.raises(AudioError, match="NaN"):
        mfcc.process(np.array([0.0, np.nan]))
    with pytest.raises(AudioError, match="1-D"):
        mfcc.process(np.zeros((2, 3)))
    assert mfcc.process(np.zeros(0)).shape == (0, 10)
    mfcc.flush()
    with pytest.raises(AudioError, match="reset"):
        mfcc.process(np.zeros(10))
