"""Speech that is not a keyword: word sequences from a vocabulary without the MLPerf keywords
(nor words that sound like them), spoken by the offline engines (`data.synth`).

They fill the background of evaluation streams (`data.eval_streams`): a keyword spotter
must stay quiet through conversation, not only through noise.
"""

from __future__ import annotations

import numpy as np

from tinykws.data.synth.engine import SynthSettings, get_engine
from tinykws.data.synth.words import sounds_like

# Common words; none is a keyword or a near-homophone of one (know/no, write/right, of/off,
# goal/go, stuff/stop, ...). Checked by `check_vocabulary`.
VOCABULARY = tuple("""
the a an this that these those some many few every each another other
i you we they he she it people family friend teacher doctor farmer child children neighbour
house kitchen garden window table chair bottle cup glass paper pencil letter book picture
morning evening night today tomorrow yesterday weekend summer winter autumn spring
city town village river mountain forest island beach bridge market station road street
water coffee bread apple orange cheese butter sugar salt pepper soup dinner breakfast lunch
red green blue yellow white black little big small large warm cold quiet happy tired busy
walk walked talk talked read reading bring brought carry carried open opened close closed
make made take took give gave find found keep kept look looked play played sing sang
wait waited call called visit visited cook cooked clean cleaned paint painted build built
and but or because while when after before until since although maybe perhaps
very really quite almost always often sometimes never usually later early soon again
in at with from for into over under near behind between around through across along
is was are were be been has had have will would could should might must can
about music story movie radio phone computer camera garden flowers trees birds animals
horse cat dog rabbit fish sheep cow chicken mouse
one two three four five six seven eight nine ten twenty hundred
""".split())

# Words close in sound to the keywords (near misses; the exact homophones come from
# words.HOMOPHONES): never in a background sentence.
KEYWORD_LIKE = frozenset("yes yet no now nose go goes going goal gone left lift right "
                         "up upper down off of stop stuff top on".split())


def check_vocabulary(words=VOCABULARY, keywords=("down", "go", "left", "no", "off", "on", "right", "stop", "up",
                                                 "yes")) -> tuple[str, ...]:
    """The vocabulary without keywords and keyword-like words (an assertion of this module)."""
    banned = KEYWORD_LIKE.union(*(sounds_like(k) for k in keywords))
    return tuple(w for w in words if w not in banned)


def sentence_texts(count: int, seed: int, min_words: int = 5, max_words: int = 13) -> list[str]:
    """`count` word sequences of min..max words from the vocabulary, seeded."""
    vocab = check_vocabulary()
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(vocab, size=int(rng.integers(min_words, max_words + 1)))) for _ in range(count)]


def trim_silence(x: np.ndarray, floor_db: float = -45.0, frame: int = 160) -> np.ndarray:
    """`x` without the frames at both ends whose level is `floor_db` below its loudest frame."""
    usable = len(x) // frame * frame
    if usable == 0:
        return x
    energy = (x[:usable].reshape(-1, frame).astype(np.float64) ** 2).mean(axis=1) + 1e-20
    level = 10 * np.log10(energy / energy.max())
    loud = np.flatnonzero(level > floor_db)
    return x[loud[0] * frame:(loud[-1] + 1) * frame] if len(loud) else x[:0]


def synthesize_sentences(texts: list[str], engines: dict[str, float], seed: int) -> list[dict]:
    """Speak each text with a voice of an engine drawn by weight, with random speed and pitch.

    Returns one dict per text: {"text", "engine", "voice", "audio" (float32 16 kHz, trimmed)}.
    Raises EngineUnavailableError for an engine that is not installed.
    """
    rng = np.random.default_rng(seed)
    names = sorted(engines)
    weights = np.array([engines[n] for n in names], np.float64)
    built = {name: get_engine(name) for name in names}
    try:
        voices = {name: built[name].voices() for name in names}
        out = []
        for text in texts:
            name = names[int(rng.choice(len(names), p=weights / weights.sum()))]
            voice = voices[name][int(rng.integers(len(voices[name])))]
            settings = SynthSettings(speed=float(rng.uniform(0.85, 1.15)), pitch=float(rng.uniform(0.85, 1.2)))
            audio = trim_silence(np.asarray(built[name].synthesize(text, voice, settings), np.float32))
            out.append({"text": text, "engine": name, "voice": voice.key, "audio": audio})
        return out
    finally:
        for engine in built.values():
            engine.close()
