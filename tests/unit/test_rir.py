"""Image-source room impulse responses: geometry, decay, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from tinykws.audio.rir import (
    SPEED_OF_SOUND,
    Room,
    RoomRanges,
    image_source_rir,
    random_room,
    reverberate,
    rir_bank,
    schroeder_rt60,
)


def test_direct_path_first_and_first_reflection_where_geometry_puts_it():
    # Source and mic 1 m apart, 1 m above the floor: the floor echo travels sqrt(1 + 4) m.
    room = Room((20.0, 20.0, 20.0), (9.5, 10.0, 1.0), (10.5, 10.0, 1.0), 2.0)
    assert 0.0 < room.reflection < 1.0
    rir = image_source_rir(room, 0.05)
    assert rir[0] == 1.0
    extra = (np.sqrt(1.0 + 2.0**2) - 1.0) / SPEED_OF_SOUND * 16_000
    first = int(np.flatnonzero(rir[1:])[0]) + 1
    assert first == int(np.rint(extra))
    # Amplitude: reflection coefficient x spreading relative to the direct path.
    assert rir[first] == pytest.approx(room.reflection / np.sqrt(5.0), rel=1e-5)


def test_measured_reverberation_grows_with_the_target_and_stays_near_it():
    measured = []
    targets = (0.15, 0.3, 0.5)
    for rt60 in targets:
        rir = image_source_rir(Room((4.0, 3.5, 2.8), (1.0, 1.2, 1.5), (2.0, 2.1, 1.2), rt60), 0.6)
        measured.append(schroeder_rt60(rir, fit_db=(-5.0, -20.0)))
    assert measured[0] < measured[1] < measured[2]
    for target, got in zip(targets, measured):
        assert 0.8 * target < got < 1.8 * target


def test_random_rooms_keep_everything_inside_and_banks_are_reproducible():
    rng = np.random.default_rng(3)
    ranges = RoomRanges(distance=(0.5, 6.0))
    for _ in range(50):
        room = random_room(rng, ranges)  # Room() itself rejects positions outside the walls
        size = np.asarray(room.size)
        assert np.all(np.asarray(room.mic) >= 0.3 - 1e-9) and np.all(np.asarray(room.mic) <= size - 0.3 + 1e-9)
        assert ranges.rt60_s[0] <= room.rt60_s <= ranges.rt60_s[1]
    a, b = rir_bank(3, seed=5, length_s=0.1), rir_bank(3, seed=5, length_s=0.1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], rir_bank(1, seed=6, length_s=0.1)[0])


def test_reverberate_keeps_length_onset_and_peak():
    clip = np.zeros(4000, np.float32)
    clip[1000:1400] = np.sin(np.arange(400) * 0.3).astype(np.float32) * 0.5
    rir = image_source_rir(Room((4.0, 4.0, 3.0), (1.0, 1.0, 1.5), (2.5, 2.0, 1.5), 0.5), 0.3)
    wet = reverberate(clip, rir)
    assert wet.shape == clip.shape and wet.dtype == np.float32
    assert np.abs(wet[:1000]).max() < 1e-6  # nothing before the word starts (FFT rounding only)
    assert np.abs(wet).max() == pytest.approx(0.5, rel=1e-5)
    assert np.abs(wet[1500:2500]).max() > 0.01  # the room rings on after the word


def test_bad_rooms_are_refused():
    with pytest.raises(ValueError):
        Room((3.0, 3.0, 3.0), (1.0, 1.0, 1.0), (4.0, 1.0, 1.0), 0.3)
    with pytest.raises(ValueError):
        Room((3.0, 3.0, 3.0), (1.0, 1.0, 1.0), (2.0, 1.0, 1.0), 0.0)
    with pytest.raises(ValueError):
        RoomRanges(rt60_s=(0.5, 0.2))
