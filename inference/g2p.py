"""Letter-to-sound rules: a pronunciation (ARPAbet 39, lowercase) for words missing from the dictionary.

A small ordered rule set, not a trained model: at each position the longest grapheme that matches
(with an optional condition on the next letter) emits its phones. It is meant for names and
invented words in dialogue ("Zorblax", "Kenobi"), where a plausible pronunciation is far better for
lip sync than dropping the word. It never fails: any letters it does not know are skipped, and a
word with no letters at all gets an empty pronunciation (the caller drops it).
"""

from __future__ import annotations

import re

from .phonemes import ARPABET

FRONT_VOWELS = frozenset("eiy")
VOWEL_LETTERS = frozenset("aeiouy")

# (grapheme, condition on the following letter or None, phones). Longest graphemes first; the
# first match at a position wins. Conditions: "front" (e/i/y follows), "end" (word ends after it),
# "vowel" (a vowel letter follows).
RULES: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("tion", None, ("sh", "ah", "n")), ("sion", None, ("zh", "ah", "n")),
    ("ough", None, ("ow",)), ("augh", None, ("ao",)), ("eigh", None, ("ey",)),
    ("tch", None, ("ch",)), ("dge", None, ("jh",)), ("igh", None, ("ay",)), ("sch", None, ("s", "k")),
    ("ch", None, ("ch",)), ("sh", None, ("sh",)), ("th", None, ("th",)), ("ph", None, ("f",)),
    ("wh", None, ("w",)), ("ck", None, ("k",)), ("ng", None, ("ng",)), ("qu", None, ("k", "w")),
    ("gh", None, ("g",)), ("kn", None, ("n",)), ("wr", None, ("r",)),
    ("ee", None, ("iy",)), ("ea", None, ("iy",)), ("oo", None, ("uw",)), ("ou", None, ("aw",)),
    ("ow", None, ("ow",)), ("oi", None, ("oy",)), ("oy", None, ("oy",)), ("ai", None, ("ey",)),
    ("ay", None, ("ey",)), ("au", None, ("ao",)), ("aw", None, ("ao",)), ("ei", None, ("ey",)),
    ("ey", None, ("ey",)), ("ie", None, ("iy",)), ("ue", None, ("uw",)), ("oa", None, ("ow",)),
    ("ar", None, ("aa", "r")), ("er", None, ("er",)), ("ir", None, ("er",)), ("ur", None, ("er",)),
    ("or", None, ("ao", "r")),
    ("c", "front", ("s",)), ("g", "front", ("jh",)),
    ("e", "end", ()), ("y", "end", ("iy",)), ("y", "vowel", ("y",)),
    ("a", None, ("ae",)), ("b", None, ("b",)), ("c", None, ("k",)), ("d", None, ("d",)),
    ("e", None, ("eh",)), ("f", None, ("f",)), ("g", None, ("g",)), ("h", None, ("hh",)),
    ("i", None, ("ih",)), ("j", None, ("jh",)), ("k", None, ("k",)), ("l", None, ("l",)),
    ("m", None, ("m",)), ("n", None, ("n",)), ("o", None, ("aa",)), ("p", None, ("p",)),
    ("q", None, ("k",)), ("r", None, ("r",)), ("s", None, ("s",)), ("t", None, ("t",)),
    ("u", None, ("ah",)), ("v", None, ("v",)), ("w", None, ("w",)), ("x", None, ("k", "s")),
    ("y", None, ("ih",)), ("z", None, ("z",)),
)
assert all(p in ARPABET for _, _, phones in RULES for p in phones)

_LETTERS = re.compile(r"[^a-z]")


def _condition_holds(condition: str | None, word: str, end: int) -> bool:
    following = word[end] if end < len(word) else ""
    if condition is None:
        return True
    if condition == "front":
        return following in FRONT_VOWELS
    if condition == "end":
        return following == "" and end > 1
    if condition == "vowel":
        return following in VOWEL_LETTERS
    return False


def _collapse_doubles(phones: list[str]) -> list[str]:
    """Doubled letters ("ll", "ss") give one phone."""
    out: list[str] = []
    for phone in phones:
        if not out or out[-1] != phone:
            out.append(phone)
    return out


def letter_to_sound(word: str) -> list[str]:
    """A rule-based ARPAbet pronunciation (lowercase phones) for `word`; [] when it has no letters."""
    word = _LETTERS.sub("", word.lower())
    phones: list[str] = []
    position = 0
    while position < len(word):
        for grapheme, condition, emitted in RULES:
            end = position + len(grapheme)
            if word.startswith(grapheme, position) and _condition_holds(condition, word, end):
                phones.extend(emitted)
                position = end
                break
        else:  # unreachable for a-z, kept so that the loop always advances
            position += 1
    return _collapse_doubles(phones)
