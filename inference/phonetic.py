"""The phonetic engine: audio -> phones (pocketsphinx) -> articulation -> emotion -> face layers.

`perform` is the whole engine for one clip. With a transcript the phones come from forced
alignment (exact words, precise timing); without one from recognition (`recognition`: "words",
decoded then aligned, the default; or "phones", faster and rougher; see `phones.recognize_phones`). Every secondary
layer draws from its own seed (derived from the take's seed and the layer's name), so switching
one layer on or off never changes the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import emotion as emotion_mod
from . import layers as layers_mod
from . import phones as phones_mod
from . import prosody as prosody_mod
from .articulation import articulate
from .audio import Audio
from .curves import Curves, num_frames_for
from .layers import HeadMotion
from .phonemes import SILENCE, PhoneInterval

LAYERS: tuple[str, ...] = ("lips", "blinks", "gaze", "brows", "head")
DEFAULT_FPS = 30.0


@dataclass(frozen=True)
class Performance:
    """One clip's result: the 52-channel curves, head rotations (if asked), phones, warnings."""

    curves: Curves
    head: HeadMotion | None
    phones: tuple[PhoneInterval, ...]
    warnings: tuple[str, ...] = ()


def layer_seed(seed: int, layer: str) -> int:
    """A stable per-layer seed: the same take seed gives each layer its own, independent stream."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, LAYERS.index(layer)]).generate_state(1)[0])


def check_layers(names) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(names))
    unknown = [name for name in names if name not in LAYERS]
    if unknown:
        raise ValueError(f"unknown layer(s) {', '.join(unknown)}; choose from {', '.join(LAYERS)}")
    return names


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


def add_secondary_layers(curves: Curves, audio: Audio, seed: int, layers) -> tuple[Curves, HeadMotion | None]:
    """`curves` (the mouth) with the blink, gaze and brow layers added, and head motion, as `layers` asks.

    Shared by every engine. Blinks, brows and head follow the audio's prosody (pauses, accents);
    each layer draws from its own seed (`layer_seed`).
    """
    fps = curves.fps
    prosody = accents = None
    if {"blinks", "brows", "head"} & set(layers):
        prosody = prosody_mod.analyse(audio.samples, fps, num_frames=curves.num_frames)
        accents = prosody_mod.detect_accents(prosody)
    extra = []
    if "blinks" in layers:
        extra.append(layers_mod.blinks(curves.num_frames, fps, layer_seed(seed, "blinks"), prosody))
    if "gaze" in layers:
        extra.append(layers_mod.gaze(curves.num_frames, fps, layer_seed(seed, "gaze")))
    if "brows" in layers:
        extra.append(layers_mod.brows(accents, curves.num_frames, fps, layer_seed(seed, "brows")))
    head = None
    if "head" in layers:
        head = layers_mod.head_motion(curves.num_frames, fps, layer_seed(seed, "head"), accents)
    return layers_mod.combine(curves, *extra), head


def perform(audio: Audio, fps: float = DEFAULT_FPS, transcript: str | None = None, seed: int = 0,
            emotion=None, layers=LAYERS, recognition: str = phones_mod.DEFAULT_RECOGNITION) -> Performance:
    """Animate one clip. `emotion`: a mix {name: intensity} or per-frame weights [T, 8]."""
    layers = check_layers(layers)
    num_frames = num_frames_for(audio.duration, fps)
    warnings = list(audio.warnings)
    phones: list[PhoneInterval] = []
    if "lips" in layers:
        phones, phone_warnings = find_phones(audio, transcript, recognition)
        warnings.extend(phone_warnings)
        curves = articulate(phones, fps, audio.duration)
    else:
        curves = Curves.zeros(num_frames, fps)
    if emotion is not None and (not isinstance(emotion, dict) or any(emotion.values())):
        curves = emotion_mod.apply_emotion(curves, emotion)

    curves, head = add_secondary_layers(curves, audio, seed, layers)
    meta = {"engine": "phonetic", "seed": seed, "transcript": bool(transcript), "layers": list(layers)}
    if not transcript:
        meta["recognition"] = recognition
    return Performance(Curves(fps, curves.values, curves.channels, 0.0, meta), head, tuple(phones), tuple(warnings))
