"""The phonetic engine's mouth: audio -> phones (pocketsphinx) -> articulation rules.

With a transcript the phones come from forced alignment (exact words, precise timing); without
one from recognition (`recognition`: "words", decoded then aligned, the default; or "phones",
faster and rougher; see `phones.recognize_phones`). Emotion, the face layers and constraints are
the pipeline's (`generation`), as for every engine.
"""

from __future__ import annotations

from . import phones as phones_mod
from .articulation import articulate
from .audio import Audio
from .curves import Curves
from .phonemes import SILENCE, PhoneInterval


def find_phones(audio: Audio, transcript: str | None = None, recognition: str = phones_mod.DEFAULT_RECOGNITION):
    """(phones, warnings) by alignment when a transcript is given, else by recognition. Silent audio
    rests without a search (its loader has already warned)."""
    if audio.is_silent:
        return [PhoneInterval(SILENCE, 0.0, audio.duration)], ()
    if transcript and transcript.strip():
        result = phones_mod.align_phones(audio.samples, transcript)
    else:
        result = phones_mod.recognize_phones(audio.samples, mode=recognition)
    return list(result.intervals), tuple(result.warnings)


def animate_mouth(audio: Audio, fps: float, transcript: str | None = None,
                  recognition: str = phones_mod.DEFAULT_RECOGNITION) -> tuple[Curves, list[PhoneInterval], tuple[str, ...]]:
    """(the mouth at `fps`, the phones it articulates, warnings) of one clip."""
    phones, warnings = find_phones(audio, transcript, recognition)
    return articulate(phones, fps, audio.duration), phones, warnings
