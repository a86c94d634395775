"""The corpus plan: words, speakers, held-out speakers, settings ranges, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from tinykws.data.synth.corpus import DEFAULT_ENGINE_WEIGHTS, parse_engine_mix
from tinykws.data.synth.engine import VoiceSpec
from tinykws.data.synth.plan import VTL_LIMIT, holdout_speakers, plan_word
from tinykws.data.synth.words import (
    SPEECH_COMMANDS_AUXILIARY,
    check_words,
    default_unknown_words,
    text_variant,
    unknown_words_for,
)
from tinykws.errors import ConfigError

VOICES = {
    "espeak": [VoiceSpec("espeak", v, f"m{i}") for v in ("en", "en-us", "en-029") for i in range(1, 9)]
    + [VoiceSpec("espeak", "en-us", f"f{i}") for i in range(1, 6)],
    "flite": [VoiceSpec("flite", v) for v in ("awb", "rms", "slt")],
}
MIX = (("espeak", 0.7), ("flite", 0.3))


def test_unknown_list_is_large_and_holds_the_speech_commands_words():
    words = default_unknown_words()
    assert len(words) >= 100
    assert set(SPEECH_COMMANDS_AUXILIARY) <= set(words)
    assert len(set(words)) == len(words)


def test_keywords_are_never_unknown():
    keywords = ("yes", "no", "go", "marvin")
    unknown = unknown_words_for(keywords, None)
    assert not set(keywords) & set(unknown)
    assert unknown_words_for(("cat",), ("cat", "dog")) == ("dog",)


def test_words_that_sound_like_a_keyword_are_never_unknown():
    # "know" said by a TTS engine is "no": labelled unknown it would be label noise.
    default = default_unknown_words()
    assert not {"know", "write"} & set(default)
    assert unknown_words_for(("no", "right"), ("know", "write", "rite", "now", "light")) == ("now", "light")
    assert unknown_words_for(("two",), ("to", "too", "three")) == ("three",)
    assert unknown_words_for(("foreword", "rowed"), None) == tuple(
        w for w in default if w not in {"forward", "road"})
    # the table works both ways: a homophone as the keyword removes the common word
    assert "no" not in unknown_words_for(("know",), None)
    assert "no" in unknown_words_for(("yes",), None)


def test_check_words_rejects_folder_breaking_names():
    assert check_words([" Yes", "no", "yes"], "--words") == ("yes", "no")
    for bad in ("_background_noise_", "a/b", "..", "two words"):
        with pytest.raises(ConfigError, match="--words"):
            check_words([bad], "--words")
    with pytest.raises(ConfigError, match="no words"):
        check_words(["", " "], "--words")


def test_text_variants_keep_the_word():
    rng = np.random.default_rng(0)
    texts = {text_variant("forward", rng) for _ in range(200)}
    assert all(t.lower().rstrip(".!?") == "forward" for t in texts)
    assert {"forward", "Forward", "forward?", "Forward!"} <= texts


def test_plan_is_deterministic_and_prefix_stable():
    a = plan_word("yes", 30, 7, MIX, VOICES)
    b = plan_word("yes", 30, 7, MIX, VOICES)
    longer = plan_word("yes", 40, 7, MIX, VOICES)
    other_seed = plan_word("yes", 30, 8, MIX, VOICES)
    assert a == b
    assert longer[:30] == a  # growing --per-word keeps the existing clips' names and settings
    assert [p.describe() for p in other_seed] != [p.describe() for p in a]


def test_plan_names_and_ranges():
    plans = plan_word("left", 300, 0, MIX, VOICES)
    names = [p.name for p in plans]
    assert len(set(names)) == len(names)
    for p in plans:
        speaker, _, n = p.name.removesuffix(".wav").partition("_nohash_")
        assert speaker == p.voice.speaker_id and n.isdigit()
        assert VTL_LIMIT[0] <= p.vtl <= VTL_LIMIT[1]
        assert 0.0 <= p.position <= 1.0
    engines = [p.voice.engine for p in plans]
    share = engines.count("espeak") / len(engines)
    assert 0.6 < share < 0.8  # weights 0.7 / 0.3
    assert len({p.voice.speaker_id for p in plans}) > 20


def test_holdout_is_speaker_disjoint_and_about_ten_percent():
    voices = {"espeak": [VoiceSpec("espeak", "en-us", f"v{i}") for i in range(200)],
              "flite": VOICES["flite"]}
    val, test = holdout_speakers(voices, seed=3)
    assert not val & test
    assert len(val) == 20 and len(test) == 20
    flite_ids = {v.speaker_id for v in VOICES["flite"]}
    assert not flite_ids & (val | test)  # too few voices to hold any out
    assert holdout_speakers(voices, seed=3) == (val, test)
    assert holdout_speakers(voices, seed=4) != (val, test)


def test_engine_mix_parsing():
    assert parse_engine_mix("espeak:0.6, flite") == (("espeak", 0.6), ("flite", DEFAULT_ENGINE_WEIGHTS["flite"]))
    with pytest.raises(ConfigError):
        parse_engine_mix("espeak:x")
    with pytest.raises(ConfigError):
        parse_engine_mix("espeak:0")
    with pytest.raises(ConfigError):
        parse_engine_mix(" , ")


def test_wide_variation_spreads_speakers_further_within_its_limits():
    from tinykws.data.synth.plan import VARIATIONS

    wide = VARIATIONS["wide"]
    default = plan_word("stop", 400, 3, MIX, VOICES)
    spread = plan_word("stop", 400, 3, MIX, VOICES, wide)
    assert [p.voice for p in default] == [p.voice for p in spread]  # same speakers, other ranges
    vtl_default = np.array([p.vtl for p in default])
    vtl_wide = np.array([p.vtl for p in spread])
    assert vtl_wide.std() > 1.3 * vtl_default.std()
    assert np.all((vtl_wide >= wide.vtl_limit[0]) & (vtl_wide <= wide.vtl_limit[1]))
    assert vtl_wide.min() < VTL_LIMIT[0] or vtl_wide.max() > VTL_LIMIT[1]  # beyond the default limits


def test_every_voice_adds_espeak_accents_and_variants_but_no_robots():
    from tinykws.data.synth.engine import get_engine

    eng = get_engine("espeak")
    try:
        curated, extra = eng.voices(), eng.extra_voices()
    finally:
        eng.close()
    assert not {v.key for v in curated} & {v.key for v in extra}
    assert {v.voice for v in extra} >= {"en-029", "en-us-nyc"}
    assert not any(v.variant.startswith(("robo", "Demonic", "whisper", "UniRobot")) for v in extra)
    assert len(curated) + len(extra) > 1.5 * len(curated)


def test_corpus_options_refuse_unknown_voices_and_variations(tmp_path):
    from tinykws.data.synth.corpus import SynthOptions, synthesize_corpus

    for bad in ({"voices": "some"}, {"variation": "wider"}):
        with pytest.raises(ConfigError):
            synthesize_corpus(SynthOptions(words=("yes",), out_dir=str(tmp_path / "c"), per_word=1, **bad))
    assert not (tmp_path / "c").exists()
