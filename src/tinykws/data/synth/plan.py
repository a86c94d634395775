"""The corpus plan: for every clip, which speaker says which text with which settings.

Every clip's settings come from a generator seeded by (seed, word, index), so a clip
does not depend on the others: the plan is the same in every run, worker and resume.
A speaker (one base voice) also has traits of its own (a typical pitch, speed and vocal
tract length) drawn from (seed, speaker id); each clip varies a little around them.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from tinykws.data.synth.engine import SynthSettings, VoiceSpec
from tinykws.data.synth.words import text_variant

# Ranges of the variation (factors; 1.0 = the voice's default).
SPEAKER_PITCH = (0.85, 1.18)
SPEAKER_SPEED = (0.85, 1.12)
SPEAKER_VTL = (0.92, 1.08)
CLIP_PITCH = (0.93, 1.07)
CLIP_SPEED = (0.85, 1.12)
CLIP_VTL = (0.97, 1.03)
VTL_LIMIT = (0.88, 1.12)  # the vocal-tract resample stays within +-12 %
INTONATION = (0.7, 1.4)
PEAK_DBFS = (-26.0, -1.0)
HOLDOUT_FRACTION = 0.1  # of each engine's speakers, for validation and again for testing


@dataclass(frozen=True)
class Variation:
    """The ranges speakers and clips are drawn from (factors; 1.0 = the voice's default)."""

    speaker_pitch: tuple[float, float] = SPEAKER_PITCH
    speaker_speed: tuple[float, float] = SPEAKER_SPEED
    speaker_vtl: tuple[float, float] = SPEAKER_VTL
    clip_pitch: tuple[float, float] = CLIP_PITCH
    clip_speed: tuple[float, float] = CLIP_SPEED
    clip_vtl: tuple[float, float] = CLIP_VTL
    vtl_limit: tuple[float, float] = VTL_LIMIT
    intonation: tuple[float, float] = INTONATION


# "wide": speakers spread further. Adult vocal tracts span about +-15 % around the mean
# (formants of women ~15 % above men's, children's higher still), and Speech Commands
# speakers range from slow and low to fast and high; the engines' own voices cluster near
# their adult-male defaults.
VARIATIONS = {
    "default": Variation(),
    "wide": Variation(
        speaker_pitch=(0.75, 1.35), speaker_speed=(0.8, 1.18), speaker_vtl=(0.85, 1.16),
        clip_pitch=(0.9, 1.1), clip_speed=(0.85, 1.15), clip_vtl=(0.96, 1.04), vtl_limit=(0.82, 1.2),
        intonation=(0.6, 1.6),
    ),
}


def stable_int(*parts: object) -> int:
    """A 63-bit integer from the parts, identical on every machine and Python run."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], "big") >> 1


@dataclass(frozen=True)
class Channel:
    """The recording chain of one clip: microphone band, room and noise floor."""

    highpass_hz: float  # 0 = none
    lowpass_hz: float  # 0 = none
    reverb_rt60_s: float  # 0 = dry
    reverb_mix: float  # wet fraction
    noise_floor_db: float  # noise RMS relative to the speech peak (dB, negative)
    pink_floor: bool  # pink rather than white noise floor


@dataclass(frozen=True)
class ClipPlan:
    """Everything needed to make one clip, independently of every other clip."""

    word: str
    index: int  # index among the clips of this word
    voice: VoiceSpec
    text: str
    request: SynthSettings  # what the engine is asked (compensated for the vtl resample)
    vtl: float  # formant scale of the resample (> 1: shorter vocal tract, formants up)
    peak_dbfs: float
    position: float  # where the word sits: fraction of the free time before it
    channel: Channel
    seed: int  # for the post-processing noise
    name: str = ""  # <speaker>_nohash_<n>.wav, set once the word is numbered

    @property
    def relpath(self) -> str:
        return f"{self.word}/{self.name}"

    def describe(self) -> dict:
        """The settings of this clip for the manifest."""
        r = self.request
        return {
            "engine": self.voice.engine, "voice": self.voice.voice, "variant": self.voice.variant,
            "speaker": self.voice.speaker_id, "text": self.text,
            "speed": round(r.speed * self.vtl, 4), "pitch": round(r.pitch * self.vtl, 4),
            "intonation": round(r.intonation, 4), "vtl": round(self.vtl, 4),
            "peak_dbfs": round(self.peak_dbfs, 2), "position": round(self.position, 4),
            "highpass_hz": round(self.channel.highpass_hz), "lowpass_hz": round(self.channel.lowpass_hz),
            "reverb_rt60_s": round(self.channel.reverb_rt60_s, 3),
            "noise_floor_db": round(self.channel.noise_floor_db, 1),
        }


@dataclass(frozen=True)
class SpeakerTraits:
    pitch: float
    speed: float
    vtl: float


def speaker_traits(voice: VoiceSpec, seed: int, variation: Variation = Variation()) -> SpeakerTraits:
    """The typical pitch, speed and vocal-tract factor of a speaker, fixed by (seed, speaker)."""
    rng = np.random.default_rng([seed, stable_int("speaker", voice.key)])
    return SpeakerTraits(
        pitch=float(np.exp(rng.uniform(*np.log(variation.speaker_pitch)))),
        speed=float(np.exp(rng.uniform(*np.log(variation.speaker_speed)))),
        vtl=float(rng.uniform(*variation.speaker_vtl)),
    )


def _channel(rng: np.random.Generator) -> Channel:
    highpass = float(rng.uniform(40, 250)) if rng.random() < 0.7 else 0.0
    lowpass = float(rng.uniform(3400, 7800)) if rng.random() < 0.5 else 0.0
    reverb = rng.random() < 0.3
    return Channel(
        highpass_hz=highpass,
        lowpass_hz=lowpass,
        reverb_rt60_s=float(rng.uniform(0.1, 0.5)) if reverb else 0.0,
        reverb_mix=float(rng.uniform(0.1, 0.4)) if reverb else 0.0,
        noise_floor_db=float(rng.uniform(-70, -40)),
        pink_floor=bool(rng.random() < 0.5),
    )


def plan_clip(
    word: str,
    index: int,
    seed: int,
    engines: Sequence[tuple[str, float]],
    voices: Mapping[str, Sequence[VoiceSpec]],
    variation: Variation = Variation(),
) -> ClipPlan:
    """The settings of clip `index` of `word`: engine by weight, then a voice, prosody, channel."""
    rng = np.random.default_rng([seed, stable_int("clip", word), index])
    names = [n for n, _ in engines]
    weights = np.array([w for _, w in engines], dtype=float)
    engine = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    pool = voices[engine]
    voice = pool[int(rng.integers(len(pool)))]
    v = variation
    traits = speaker_traits(voice, seed, v)
    vtl = float(np.clip(traits.vtl * rng.uniform(*v.clip_vtl), *v.vtl_limit))
    speed = traits.speed * float(rng.uniform(*v.clip_speed))
    pitch = traits.pitch * float(rng.uniform(*v.clip_pitch))
    # The resample by `vtl` also speeds up and raises the pitch by `vtl`, so the engine
    # is asked for the inverse: the final clip has the planned speed and pitch.
    request = SynthSettings(speed=speed / vtl, pitch=pitch / vtl, intonation=float(rng.uniform(*v.intonation)))
    return ClipPlan(
        word=word,
        index=index,
        voice=voice,
        text=text_variant(word, rng),
        request=request,
        vtl=vtl,
        peak_dbfs=float(rng.uniform(*PEAK_DBFS)),
        position=float(rng.random()),
        channel=_channel(rng),
        seed=stable_int("post", seed, word, index),
    )


def plan_word(
    word: str,
    count: int,
    seed: int,
    engines: Sequence[tuple[str, float]],
    voices: Mapping[str, Sequence[VoiceSpec]],
    variation: Variation = Variation(),
) -> list[ClipPlan]:
    """Clips 0..count-1 of `word`, named `<speaker>_nohash_<n>.wav` with n counting per speaker."""
    seen: dict[str, int] = defaultdict(int)
    plans = []
    for i in range(count):
        p = plan_clip(word, i, seed, engines, voices, variation)
        sid = p.voice.speaker_id
        name = f"{sid}_nohash_{seen[sid]}.wav"
        seen[sid] += 1
        plans.append(ClipPlan(**{**p.__dict__, "name": name}))
    return plans


def holdout_speakers(voices: Mapping[str, Sequence[VoiceSpec]], seed: int) -> tuple[set[str], set[str]]:
    """(validation, testing) speaker ids: about 10 % of each engine's speakers for each.

    Whole speakers are held out, so validation and testing are speaker-disjoint from
    training. An engine with fewer than 5 speakers keeps all of them for training
    (holding out one of 3 voices would remove a third of that engine's variety).
    """
    val: set[str] = set()
    test: set[str] = set()
    for engine in sorted(voices):
        ids = sorted({v.speaker_id for v in voices[engine]}, key=lambda s: stable_int("holdout", seed, s))
        n = int(round(HOLDOUT_FRACTION * len(ids))) if len(ids) >= 5 else 0
        val.update(ids[:n])
        test.update(ids[n : 2 * n])
    return val, test
