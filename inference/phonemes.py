"""The phone vocabulary shared by the phone recogniser/aligner and the articulation rules.

Phones are ARPAbet's 39 (CMUdict's set, no stress digits) plus `SILENCE`. A `PhoneInterval`
is one phone with its start and end in seconds from the start of the audio.
"""

from __future__ import annotations

from dataclasses import dataclass

SILENCE = "sil"

VOWELS: tuple[str, ...] = (
    "aa", "ae", "ah", "ao", "aw", "ay", "eh", "er", "ey", "ih", "iy", "ow", "oy", "uh", "uw",
)
CONSONANTS: tuple[str, ...] = (
    "b", "ch", "d", "dh", "f", "g", "hh", "jh", "k", "l", "m", "n", "ng", "p", "r", "s", "sh",
    "t", "th", "v", "w", "y", "z", "zh",
)
ARPABET: tuple[str, ...] = VOWELS + CONSONANTS
PHONES: tuple[str, ...] = ARPABET + (SILENCE,)
assert len(ARPABET) == 39

# TIMIT's 61 labels folded onto ARPAbet 39 + silence, after Lee & Hon (1989) with one change: stop
# closures (pcl, bcl, ...) map to their stop, not to silence, because the lips close during them.
TIMIT_TO_ARPABET: dict[str, str] = {
    **{p: p for p in ARPABET},
    "ax": "ah", "ax-h": "ah", "axr": "er", "ix": "ih", "ux": "uw",
    "el": "l", "em": "m", "en": "n", "eng": "ng", "nx": "n", "dx": "d", "q": "t", "hv": "hh",
    "bcl": "b", "pcl": "p", "dcl": "d", "tcl": "t", "gcl": "g", "kcl": "k",
    "h#": SILENCE, "pau": SILENCE, "epi": SILENCE,
}


@dataclass(frozen=True)
class PhoneInterval:
    """One phone (a member of `PHONES`) from `start` to `end` seconds."""

    phone: str
    start: float
    end: float

    def __post_init__(self):
        if self.phone not in PHONES:
            raise ValueError(f"unknown phone {self.phone!r}")
        if not self.end >= self.start:
            raise ValueError(f"phone {self.phone!r} ends ({self.end}) before it starts ({self.start})")

    @property
    def duration(self) -> float:
        return self.end - self.start


def read_timit_phn(path, sample_rate: int = 16000) -> list[PhoneInterval]:
    """Hand-labelled TIMIT phones (`.phn`: start_sample end_sample label) as ARPAbet intervals."""
    intervals = []
    with open(path, encoding="ascii") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) != 3:
                continue
            start, end, label = int(parts[0]), int(parts[1]), parts[2]
            intervals.append(PhoneInterval(TIMIT_TO_ARPABET[label], start / sample_rate, end / sample_rate))
    return intervals
