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


def _phone_result(audio: Audio, transcript: str | None, recognition: str) -> phones_mod.PhoneResult:
    if audio.is_silent:
        return phones_mod.PhoneResult((PhoneInterval(SILENCE, 0.0, audio.duration),), method="silence")
    if transcript and transcript.strip():
        return phones_mod.align_phones(audio.samples, transcript)
    return phones_mod.recognize_phones(audio.samples, mode=recognition)


def find_phones(audio: Audio, transcript: str | None = None, recognition: str = phones_mod.DEFAULT_RECOGNITION):
    """(phones, warnings) by alignment when a transcript is given, else by recognition. Silent audio
    rests without a search (its loader has already warned)."""
    result = _phone_result(audio, transcript, recognition)
    return list(result.intervals), tuple(result.warnings)


def animate_mouth(audio: Audio, fps: float, transcript: str | None = None,
                  recognition: str = phones_mod.DEFAULT_RECOGNITION
                  ) -> tuple[Curves, phones_mod.PhoneResult, tuple[str, ...]]:
    """(the mouth at `fps`, the phones it articulates (with the words, where they were aligned),
    warnings) of one clip."""
    result = _phone_result(audio, transcript, recognition)
    return articulate(list(result.intervals), fps, audio.duration), result, tuple(result.warnings)
