"""`synth_manifest.json`: how a synthetic corpus was made (engines, versions, voices,
settings, the held-out speakers and every clip's settings), beside the clips."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from tinykws import __version__
from tinykws.data.synth import plan as plan_mod
from tinykws.data.synth.plan import ClipPlan
from tinykws.fileio import write_json

MANIFEST_NAME = "synth_manifest.json"


def variation_ranges(variation: "plan_mod.Variation | None" = None) -> dict[str, Any]:
    """The ranges every clip's settings are drawn from."""
    v = variation or plan_mod.Variation()
    return {
        "speaker_pitch": v.speaker_pitch, "speaker_speed": v.speaker_speed,
        "speaker_vtl": v.speaker_vtl, "clip_pitch": v.clip_pitch,
        "clip_speed": v.clip_speed, "clip_vtl": v.clip_vtl, "vtl_limit": v.vtl_limit,
        "intonation": v.intonation, "peak_dbfs": plan_mod.PEAK_DBFS,
        "text": "lower or Capitalised; '', '.', '!', '?' with p 0.4/0.3/0.2/0.1",
        "channel": "highpass 40-250 Hz (p 0.7), lowpass 3.4-7.8 kHz (p 0.5), reverb RT60 0.1-0.5 s "
        "mix 0.1-0.4 (p 0.3), white or pink noise floor 40-70 dB below the peak",
    }


def write_manifest(
    out_dir: Path,
    options: Mapping[str, Any],
    engines: Mapping[str, Mapping[str, Any]],
    plans: Sequence[ClipPlan],
    validation: set[str],
    testing: set[str],
    noise_files: Sequence[Path],
    variation: "plan_mod.Variation | None" = None,
) -> Path:
    """Write the manifest; returns its path."""
    speakers: dict[str, dict[str, str]] = {}
    for p in plans:
        sid = p.voice.speaker_id
        if sid not in speakers:
            split = "validation" if sid in validation else "testing" if sid in testing else "training"
            speakers[sid] = {"engine": p.voice.engine, "voice": p.voice.voice, "variant": p.voice.variant,
                             "split": split}
    doc = {
        "format": "tinykws synthetic speech corpus, raw Speech Commands layout (16 kHz mono PCM16 WAV, 1 s)",
        "tinykws_version": __version__,
        "options": dict(options),
        "engines": {k: dict(v) for k, v in engines.items()},
        "variation": variation_ranges(variation),
        "speakers": dict(sorted(speakers.items())),
        "noise_files": [f"{Path(f).parent.name}/{Path(f).name}" for f in noise_files],
        "clips": {p.relpath: p.describe() for p in plans},
    }
    path = Path(out_dir) / MANIFEST_NAME
    write_json(path, doc)
    return path
