"""Voice normalisation for the neural engines: a high voice is heard as a lower one.

Rounding the lips lowers a vowel's formants, and so does a longer vocal tract: a network that has
learnt rounding from formants hears a man's "ee" as rounder than a woman's "oo". On timit_dev the
bundled models missed the rounding of women's voices far more than of men's (and the speaker
whose closures they missed most was a woman), and played back slower, which lowers the formants,
those voices were rounded and closed more as the men's were (README, *Model card*).

So before the models hear a clip, a voice whose pitch is above the model's reference is played
slower by `formant_scale` (`at_scale`): the median pitch of its voiced frames sets the factor,
(reference / pitch) ** `EXPONENT`, never below `LOWEST_SCALE` and never above 1 (a voice at or
below the reference is left as it is). `EXPONENT` is how formants scale with pitch between adult
voices: in Peterson and Barney's (1952) vowels women's mean pitch is about 1.7 times men's and
their formants about 1.15-1.2 times. The model then runs on the slower audio, and its frames,
`1 / scale` times as many per second of the original, are mapped back to the original's time by
the caller (`neural.mouth_curves`).

The reference pitch is a decision of each exported model (its sidecar's "voice_reference_f0";
absent or null: no normalisation), chosen with the gestures' (`training.select`). A request can
also ask for the clip as recorded (`MODES`: "auto" follows the model, "off" never lowers).
"""

from __future__ import annotations

import numpy as np

from . import prosody

SIDECAR_KEY = "voice_reference_f0"
MODES = ("auto", "off")
DEFAULT_MODE = "auto"
EXPONENT = 0.3
LOWEST_SCALE = 0.8
# Pitch is measured at this rate: the median over a clip's voiced frames needs no finer grid.
PITCH_FPS = 25.0
# `at_scale` works through this many output samples at a time.
BLOCK_SAMPLES = 1 << 20
# A clip longer than PITCH_EXCERPTS x PITCH_EXCERPT_SECONDS has its pitch measured on that many
# evenly spaced excerpts.
PITCH_EXCERPTS = 10
PITCH_EXCERPT_SECONDS = 30.0
# Fewer voiced frames than this (0.2 s, about one stressed vowel) and the pitch is not trusted: the voice
# is left as it is.
MIN_VOICED_FRAMES = 5


def check_mode(mode: str) -> str:
    """`mode` if it is one of `MODES`; else ValueError naming them."""
    if mode not in MODES:
        raise ValueError(f"unknown voice {mode!r}; choose from {', '.join(MODES)}")
    return mode


def pitch_excerpts(samples: np.ndarray, sample_rate: int = prosody.SAMPLE_RATE) -> np.ndarray:
    """`samples` themselves up to `PITCH_EXCERPTS` x `PITCH_EXCERPT_SECONDS`; a longer clip's that
    many excerpts, evenly spaced and joined: an hour's voice is known from five minutes of it."""
    size = int(PITCH_EXCERPT_SECONDS * sample_rate)
    if len(samples) <= PITCH_EXCERPTS * size:
        return samples
    starts = np.linspace(0, len(samples) - size, PITCH_EXCERPTS).astype(np.int64)
    return np.concatenate([samples[start:start + size] for start in starts])


def median_pitch(samples: np.ndarray, sample_rate: int = prosody.SAMPLE_RATE) -> float | None:
    """The median F0 (Hz) of the voiced frames of `samples` (`pitch_excerpts` of a long clip), or
    None with too few of them."""
    track = prosody.analyse(pitch_excerpts(np.asarray(samples, np.float32), sample_rate), PITCH_FPS, sample_rate)
    voiced = track.f0[track.voiced]
    return float(np.median(voiced)) if voiced.size >= MIN_VOICED_FRAMES else None


def scale_for_pitch(pitch: float | None, reference: float | None) -> float:
    """The playback factor (LOWEST_SCALE..1) for a voice of this median pitch; 1 without either."""
    if pitch is None or reference is None or pitch <= reference:
        return 1.0
    return float(max(LOWEST_SCALE, (reference / pitch) ** EXPONENT))


def formant_scale(samples: np.ndarray, reference: float | None, sample_rate: int = prosody.SAMPLE_RATE) -> float:
    """The factor `at_scale` plays this clip at, for a model with this reference pitch (None: 1)."""
    if reference is None:
        return 1.0
    return scale_for_pitch(median_pitch(samples, sample_rate), reference)


def at_scale(samples: np.ndarray, scale: float) -> np.ndarray:
    """`samples` played `scale` times as fast (below 1: longer, lower in pitch and formants), by
    linear interpolation, as a slower tape plays; float32. Worked through in blocks, so an hour of
    audio needs no more than its result in memory."""
    samples = np.asarray(samples, dtype=np.float32)
    if abs(scale - 1.0) < 1e-6:
        return samples
    count = max(1, int(round(samples.size / scale)))
    played = np.empty(count, np.float32)
    last = samples.size - 1
    for start in range(0, count, BLOCK_SAMPLES):
        position = np.minimum(np.arange(start, min(start + BLOCK_SAMPLES, count)) * scale, last)
        before = position.astype(np.int64)
        after = np.minimum(before + 1, last)
        share = (position - before).astype(np.float32)
        played[start:start + len(position)] = samples[before] * (1.0 - share) + samples[after] * share
    return played
