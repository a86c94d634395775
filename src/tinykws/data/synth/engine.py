"""The text-to-speech engine interface: text and voice settings in, a 16 kHz mono clip out.

Every engine is a small class registered under a name; `get_engine(name)` builds it and
raises `EngineUnavailableError` (with the command that installs it) when its program,
library or voice data is missing. Engines are found at run time, so tinykws works with
whichever of them is installed.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from tinykws.errors import EngineUnavailableError
from tinykws.registry import Registry

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class VoiceSpec:
    """A base voice: one synthetic "speaker". `variant` is empty when the engine has none."""

    engine: str
    voice: str
    variant: str = ""

    @property
    def key(self) -> str:
        return f"{self.engine}/{self.voice}/{self.variant}"

    @property
    def speaker_id(self) -> str:
        """8 hex digits naming this speaker in file names (`<speaker>_nohash_<n>.wav`)."""
        return hashlib.sha1(self.key.encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True)
class SynthSettings:
    """Prosody of one utterance, relative to the voice's own defaults (1.0 = unchanged).

    speed: > 1 speaks faster (shorter); pitch: a factor on the mean F0;
    intonation: a factor on the pitch range / expressiveness where the engine has one.
    """

    speed: float = 1.0
    pitch: float = 1.0
    intonation: float = 1.0


@dataclass(frozen=True)
class SynthRequest:
    """One utterance to synthesize."""

    text: str
    voice: VoiceSpec
    settings: SynthSettings = SynthSettings()


@dataclass(frozen=True)
class EngineMeta:
    """What the registry knows about an engine before building it."""

    description: str
    install_hint: str
    free: bool = True


class SynthEngine(ABC):
    """One text-to-speech engine. Instances live inside one worker process."""

    name: str = ""
    # True when an utterance depends on the ones synthesized before it in the same batch
    # (piper's sampling noise): such batches are always synthesized whole and in order.
    order_dependent: bool = False
    # Utterances per work unit: engines with a costly start (a process, a model) batch more.
    batch_size: int = 32

    @abstractmethod
    def voices(self) -> list[VoiceSpec]:
        """Every base voice (voice x variant) this engine offers by default."""

    def extra_voices(self) -> list[VoiceSpec]:
        """Voices left out of `voices()` by default (less natural or less accurate ones),
        offered when a corpus asks for every voice."""
        return []

    @abstractmethod
    def version(self) -> str:
        """The engine's version string, for the manifest."""

    @abstractmethod
    def synthesize(self, text: str, voice: VoiceSpec, settings: SynthSettings) -> np.ndarray:
        """Speak `text`: mono float32 in [-1, 1] at 16 kHz (samples)."""

    def synthesize_batch(self, requests: Sequence[SynthRequest], seed: int) -> list[np.ndarray]:
        """Speak many utterances; `seed` fixes any randomness of the engine for this batch."""
        return [self.synthesize(r.text, r.voice, r.settings) for r in requests]

    def settings_doc(self) -> dict[str, str]:
        """How SynthSettings map onto this engine's own parameters (for the manifest)."""
        return {}

    def close(self) -> None:
        """Release processes or libraries."""


ENGINES: Registry[type, EngineMeta] = Registry("speech engine")

# Engine modules register themselves on import; importing them is cheap (no engine is
# started until an instance is built).
_ENGINE_MODULES = ("espeak", "flite", "festival", "piper")


def _load_engine_modules() -> None:
    import importlib

    for mod in _ENGINE_MODULES:
        importlib.import_module(f"tinykws.data.synth.{mod}")


def engine_names() -> list[str]:
    """Every engine tinykws knows (installed or not)."""
    _load_engine_modules()
    return ENGINES.names()


def get_engine(name: str) -> SynthEngine:
    """Build the engine `name`; `EngineUnavailableError` says how to install a missing one."""
    _load_engine_modules()
    if name not in ENGINES:
        raise EngineUnavailableError(
            f"unknown speech engine {name!r}; known engines: {', '.join(ENGINES.names())}"
        )
    entry = ENGINES.get(name)
    return entry.obj()


def available_engines() -> dict[str, str]:
    """Name -> version of every engine that can be built on this machine."""
    found = {}
    for name in engine_names():
        try:
            eng = get_engine(name)
        except EngineUnavailableError:
            continue
        try:
            found[name] = eng.version()
        finally:
            eng.close()
    return found


def unavailable(name: str, problem: str) -> EngineUnavailableError:
    """The error for a missing engine, with its install hint."""
    entry = ENGINES.get(name)
    return EngineUnavailableError(
        f"speech engine {name!r} is not available: {problem}. Install it with: {entry.meta.install_hint}"
    )


def to_float_mono(samples: np.ndarray, rate: int) -> np.ndarray:
    """Engine output (int16 or float, any rate) as float32 in [-1, 1] at 16 kHz."""
    from tinykws.audio.io import resample

    x = np.asarray(samples)
    if x.ndim > 1:
        x = x.mean(axis=1)
    if np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float32) / 32768.0
    x = x.astype(np.float32, copy=False)
    if rate != SAMPLE_RATE and x.size:
        x = resample(x, rate, SAMPLE_RATE)
    return x
