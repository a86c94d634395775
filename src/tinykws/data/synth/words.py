"""Word lists and the small text variants given to the engines."""

from __future__ import annotations

import re

import numpy as np

from tinykws.errors import ConfigError

# The Speech Commands v2 auxiliary words (its "unknown" words in the 12-class task).
SPEECH_COMMANDS_AUXILIARY = (
    "backward", "bed", "bird", "cat", "dog", "eight", "five", "follow", "forward", "four",
    "happy", "house", "learn", "marvin", "nine", "one", "seven", "sheila", "six", "three",
    "tree", "two", "visual", "wow", "zero",
)
# The Speech Commands core commands: unknown words too, whenever they are not keywords.
SPEECH_COMMANDS_CORE = ("down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes")
# Common English words of one to three syllables, some close in sound to the commands
# (goat, dawn, often, yet), so that "unknown" is not trivially different from them.
COMMON_WORDS = (
    "about", "after", "again", "air", "always", "animal", "answer", "apple", "back", "ball",
    "begin", "big", "black", "blue", "boat", "book", "bottle", "box", "bread", "bring",
    "brother", "call", "car", "carry", "chair", "change", "city", "clean", "close", "cloud",
    "coffee", "cold", "come", "corner", "count", "cup", "dark", "dawn", "day", "door",
    "dream", "drink", "early", "eat", "egg", "enough", "evening", "fall", "family", "far",
    "father", "fire", "fish", "floor", "flower", "food", "friend", "garden", "girl", "give",
    "glass", "goat", "good", "green", "hand", "help", "home", "horse", "hot", "island",
    "kitchen", "lamp", "later", "letter", "light", "listen", "little", "lot",
    "machine", "money", "moon", "morning", "mother", "music", "name", "never", "night",
    "note", "number", "often", "open", "orange", "paper", "pencil", "people", "phone",
    "picture", "plant", "play", "please", "quiet", "rain", "read", "red", "river", "road",
    "round", "salt", "school", "sea", "show", "sister", "sleep", "small", "snow", "song",
    "soon", "south", "table", "talk", "tell", "thank", "time", "today", "town", "wait",
    "walk", "water", "west", "white", "window", "winter", "world", "yellow", "yet",
)

# Words that text-to-speech says exactly alike. One of them as a keyword and another as an
# unknown word would be the same sound under two labels, so the unknown list drops them.
HOMOPHONES = tuple(frozenset(g.split()) for g in (
    "no know", "right write rite wright", "two to too", "four for fore", "eight ate",
    "one won", "sea see", "night knight", "wait weight", "road rode rowed", "son sun",
    "new knew", "hour our", "flower flour", "hole whole", "wood would", "hear here",
    "by buy bye", "there their", "forward foreword", "blue blew", "meet meat",
    "piece peace", "week weak", "wear where", "bear bare", "pair pear", "plane plain",
    "rain reign rein", "tail tale", "sail sale", "mail male", "dear deer",
))

_WORD = re.compile(r"^[a-z][a-z0-9'-]*$")


def default_unknown_words() -> tuple[str, ...]:
    """The built-in unknown list: Speech Commands words plus common English words."""
    seen: dict[str, None] = {}
    for w in SPEECH_COMMANDS_AUXILIARY + SPEECH_COMMANDS_CORE + COMMON_WORDS:
        seen[w] = None
    return tuple(seen)


def check_words(words: list[str] | tuple[str, ...], what: str) -> tuple[str, ...]:
    """Lower-case, validate (letters, digits, ' and -; a folder name) and de-duplicate."""
    out: dict[str, None] = {}
    for raw in words:
        w = raw.strip().lower()
        if not w:
            continue
        if not _WORD.match(w):
            raise ConfigError(
                f"{what}: {raw!r} is not a usable word (letters, digits, ' and - only, starting with a letter)"
            )
        out[w] = None
    if not out:
        raise ConfigError(f"{what}: no words given")
    return tuple(out)


def sounds_like(word: str) -> frozenset[str]:
    """`word` and the words that text-to-speech says exactly alike (HOMOPHONES)."""
    return frozenset({word}).union(*(g for g in HOMOPHONES if word in g))


def unknown_words_for(keywords: tuple[str, ...], unknown: tuple[str, ...] | None) -> tuple[str, ...]:
    """The unknown words to synthesize: `unknown` (or the built-in list) minus every keyword
    and every word that sounds exactly like one ("know" when "no" is a keyword)."""
    pool = default_unknown_words() if unknown is None else unknown
    banned = frozenset().union(*(sounds_like(k) for k in keywords))
    return tuple(w for w in pool if w not in banned)


def text_variant(word: str, rng: np.random.Generator) -> str:
    """The word as typed by someone: lower or capitalised, with or without punctuation.

    Punctuation changes the engines' prosody (a question rises, an exclamation is
    stressed); all-capitals is avoided because some engines spell it out.
    """
    text = word.capitalize() if rng.random() < 0.5 else word
    mark = rng.choice(["", ".", "!", "?"], p=[0.4, 0.3, 0.2, 0.1])
    return text + str(mark)
