"""Emotion: eight blendable expressions laid over speech as ARKit offsets and articulation gains.

Each category is a FACS recipe (action unit -> intensity, after Ekman & Friesen's EMFACS
prototypes), each action unit an ARKit recipe (channel -> weight); both tables are data below.
An emotion acts in two ways, both scaled by its intensity 0..1:

- offsets: the expression itself, added to the curves (happy raises mouthSmile and cheekSquint),
- articulation gains: how the emotion colours the speech movements already there (a smile
  flattens rounding, sadness shrinks jaw and lip motion, anger tenses, surprise opens).

Weights are per frame, [T, 8] in `CATEGORIES` order (a dict is a constant mix), so expressions
blend and change over time; intensities add (they are not normalised). Neutral has no offsets
and no gains: it is there so a mix can be written in full and a UI can offer it.

Lip closures are kept: on frames where the lips are closed (mouthClose high against jawOpen,
see `closure_amount`), nothing that opens the lips (jawOpen, mouthLowerDown, mouthUpperUp,
mouthFunnel, mouthStretch) is offset or scaled, so a smile or a surprised jaw never reopens
an /m/, /b/ or /p/.
"""

from __future__ import annotations

import logging

import numpy as np

from . import arkit
from .curves import Curves

log = logging.getLogger(__name__)

CATEGORIES: tuple[str, ...] = (
    "neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted", "contempt",
)
CATEGORY_INDEX: dict[str, int] = {name: i for i, name in enumerate(CATEGORIES)}

# FACS action unit -> ARKit channel weights at full AU intensity. "L"/"R" suffix: one side only.
ACTION_UNITS: dict[str, dict[str, float]] = {
    "AU1": {"browInnerUp": 1.0},                                            # inner brow raiser
    "AU2": {"browOuterUpLeft": 1.0, "browOuterUpRight": 1.0},               # outer brow raiser
    "AU4": {"browDownLeft": 1.0, "browDownRight": 1.0},                     # brow lowerer
    "AU5": {"eyeWideLeft": 1.0, "eyeWideRight": 1.0},                       # upper lid raiser
    "AU6": {"cheekSquintLeft": 1.0, "cheekSquintRight": 1.0,                # cheek raiser
            "eyeSquintLeft": 0.5, "eyeSquintRight": 0.5},
    "AU7": {"eyeSquintLeft": 1.0, "eyeSquintRight": 1.0},                   # lid tightener
    "AU9": {"noseSneerLeft": 1.0, "noseSneerRight": 1.0},                   # nose wrinkler
    "AU10": {"mouthUpperUpLeft": 1.0, "mouthUpperUpRight": 1.0},            # upper lip raiser
    "AU12": {"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0},                # lip corner puller
    "AU12L": {"mouthSmileLeft": 1.0},
    "AU14": {"mouthDimpleLeft": 1.0, "mouthDimpleRight": 1.0},              # dimpler
    "AU14L": {"mouthDimpleLeft": 1.0},
    "AU15": {"mouthFrownLeft": 1.0, "mouthFrownRight": 1.0},                # lip corner depressor
    "AU17": {"mouthShrugLower": 1.0},                                       # chin raiser
    "AU20": {"mouthStretchLeft": 1.0, "mouthStretchRight": 1.0},            # lip stretcher
    "AU23": {"mouthPressLeft": 0.5, "mouthPressRight": 0.5},                # lip tightener
    "AU24": {"mouthPressLeft": 1.0, "mouthPressRight": 1.0},                # lip pressor
    "AU26": {"jawOpen": 1.0},                                               # jaw drop
}

# Emotion -> action unit intensities at emotion intensity 1. Mouth-opening AUs stay small: they
# fight lip sync (and are removed on closures anyway).
EMOTION_AUS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {"AU6": 0.5, "AU12": 0.7},
    "sad": {"AU1": 0.6, "AU4": 0.3, "AU15": 0.5, "AU17": 0.2},
    "angry": {"AU4": 0.8, "AU5": 0.2, "AU7": 0.5, "AU23": 0.4, "AU24": 0.3},
    "surprised": {"AU1": 0.7, "AU2": 0.7, "AU5": 0.5, "AU26": 0.06},
    "fearful": {"AU1": 0.6, "AU2": 0.4, "AU4": 0.3, "AU5": 0.6, "AU7": 0.2, "AU20": 0.4, "AU26": 0.04},
    "disgusted": {"AU9": 0.6, "AU10": 0.35, "AU4": 0.3, "AU15": 0.2, "AU17": 0.2},
    "contempt": {"AU12L": 0.3, "AU14L": 0.5},
}

# Channel groups whose speech motion an emotion scales.
ARTICULATION_GROUPS: dict[str, tuple[str, ...]] = {
    "jaw": ("jawOpen",),
    "lips": ("mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight",
             "mouthShrugLower", "mouthShrugUpper", "mouthRollLower", "mouthRollUpper"),
    "rounding": ("mouthPucker", "mouthFunnel"),
    "width": ("mouthStretchLeft", "mouthStretchRight"),
    "press": ("mouthPressLeft", "mouthPressRight"),
}
# Emotion -> group gain at emotion intensity 1 (1.0 = unchanged; missing groups are unchanged).
EMOTION_GAINS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {"rounding": 0.7, "width": 1.3},
    "sad": {"jaw": 0.7, "lips": 0.75, "rounding": 0.85, "width": 0.8},
    "angry": {"jaw": 0.85, "lips": 1.15, "press": 1.5},
    "surprised": {"jaw": 1.2, "lips": 1.1},
    "fearful": {"jaw": 0.9, "width": 1.2},
    "disgusted": {"rounding": 0.85, "lips": 1.1},
    "contempt": {"jaw": 0.9},
}
GAIN_RANGE = (0.3, 2.0)

# Channels that part the lips: never offset or scaled on a closure.
LIP_OPENING_CHANNELS: tuple[str, ...] = (
    "jawOpen", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "mouthFunnel", "mouthStretchLeft", "mouthStretchRight",
)
# Below this jawOpen, mouthClose is compared with this value instead (see `closure_amount`).
CLOSURE_MIN_JAW = 0.03


def _offset_table() -> np.ndarray:
    """[8, 52] float32: each category's ARKit offsets at intensity 1."""
    table = np.zeros((len(CATEGORIES), arkit.NUM_CHANNELS), np.float32)
    for row, name in enumerate(CATEGORIES):
        for unit, intensity in EMOTION_AUS[name].items():
            for channel, weight in ACTION_UNITS[unit].items():
                table[row, arkit.INDEX[channel]] += intensity * weight
    return table


def _gain_table() -> np.ndarray:
    """[8, 52] float32: each category's articulation gain minus 1 at intensity 1."""
    table = np.zeros((len(CATEGORIES), arkit.NUM_CHANNELS), np.float32)
    for row, name in enumerate(CATEGORIES):
        for group, gain in EMOTION_GAINS[name].items():
            for channel in ARTICULATION_GROUPS[group]:
                table[row, arkit.INDEX[channel]] = gain - 1.0
    return table


OFFSETS = _offset_table()
GAIN_DELTAS = _gain_table()


def parse_emotion_mix(text: str) -> dict[str, float]:
    """'happy=0.6, sad=0.2' -> {'happy': 0.6, 'sad': 0.2}; a bare name means intensity 1.

    Raises ValueError naming the problem: unknown category, bad number, intensity outside 0-1,
    or a name given twice.
    """
    mix: dict[str, float] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if name not in CATEGORY_INDEX:
            raise ValueError(f"unknown emotion {name!r}; expected one of: {', '.join(CATEGORIES)}")
        if name in mix:
            raise ValueError(f"emotion {name!r} is given twice")
        try:
            intensity = float(value) if sep else 1.0
        except ValueError:
            raise ValueError(f"emotion {name!r}: intensity {value.strip()!r} is not a number") from None
        if not (0.0 <= intensity <= 1.0):
            raise ValueError(f"emotion {name!r}: intensity {intensity:g} is outside 0-1")
        mix[name] = intensity
    return mix


def mix_to_weights(mix: dict[str, float], num_frames: int) -> np.ndarray:
    """A constant mix as per-frame weights [T, 8] float32 (validated like `parse_emotion_mix`)."""
    row = np.zeros(len(CATEGORIES), np.float32)
    for name, intensity in mix.items():
        if name not in CATEGORY_INDEX:
            raise ValueError(f"unknown emotion {name!r}; expected one of: {', '.join(CATEGORIES)}")
        row[CATEGORY_INDEX[name]] = intensity
    return check_weights(np.repeat(row[None, :], num_frames, axis=0), num_frames)


def weights_from_keys(keys, num_frames: int, fps: float, start: float = 0.0) -> np.ndarray:
    """Per-frame weights [T, 8] interpolated linearly between keyed mixes [(time s, mix dict)].

    Held before the first key and after the last; a category missing from a key is 0 there.
    """
    keys = sorted(keys, key=lambda key: key[0])
    if not keys:
        return np.zeros((num_frames, len(CATEGORIES)), np.float32)
    key_times = np.array([float(time) for time, _ in keys])
    key_rows = np.concatenate([mix_to_weights(mix, 1) for _, mix in keys], axis=0)
    times = start + np.arange(num_frames) / fps
    columns = [np.interp(times, key_times, key_rows[:, j]) for j in range(len(CATEGORIES))]
    return check_weights(np.stack(columns, axis=1).astype(np.float32), num_frames)


def check_weights(weights: np.ndarray, num_frames: int) -> np.ndarray:
    """Per-frame weights [num_frames, 8] from an [8] row or [T, 8], checked (shape, 0-1)."""
    weights = np.asarray(weights, dtype=np.float32)
    if weights.ndim == 1:
        weights = np.repeat(weights[None, :], num_frames, axis=0)
    if weights.shape != (num_frames, len(CATEGORIES)):
        raise ValueError(f"emotion weights must be [{num_frames}, {len(CATEGORIES)}] "
                         f"(frames x {', '.join(CATEGORIES)}), got shape {weights.shape}")
    if not np.all(np.isfinite(weights)) or weights.min() < 0.0 or weights.max() > 1.0:
        raise ValueError("emotion intensities must lie within 0-1")
    return weights


def closure_amount(curves: Curves) -> np.ndarray:
    """How closed the lips are per frame, [T] float32 0..1.

    ARKit's mouthClose closes the lips against an open jaw: lips meet when mouthClose ~ jawOpen.
    So closure = mouthClose / max(jawOpen, CLOSURE_MIN_JAW), clipped: 1 on a bilabial closure
    (and with mouthClose >= CLOSURE_MIN_JAW at a shut jaw), 0 when mouthClose is 0.
    """
    close = curves.channel("mouthClose") if "mouthClose" in curves.channels else np.zeros(curves.num_frames)
    jaw = curves.channel("jawOpen") if "jawOpen" in curves.channels else np.zeros(curves.num_frames)
    return np.clip(close / np.maximum(jaw, CLOSURE_MIN_JAW), 0.0, 1.0).astype(np.float32)


def apply_emotion(curves: Curves, weights) -> Curves:
    """These curves with emotion laid over them, values clipped to [0, 1].

    `weights`: a dict {category: intensity} (a constant mix), an [8] row, or per-frame [T, 8]
    in `CATEGORIES` order. Only ARKit-named channels of `curves` are touched.
    """
    if isinstance(weights, dict):
        weights = mix_to_weights(weights, curves.num_frames)
    weights = check_weights(weights, curves.num_frames)
    columns = [arkit.INDEX.get(name, -1) for name in curves.channels]
    known = np.array([c >= 0 for c in columns], bool)
    index = np.array([max(c, 0) for c in columns], np.int64)
    offsets = (weights @ OFFSETS)[:, index] * known
    gains = np.clip(1.0 + (weights @ GAIN_DELTAS)[:, index] * known, *GAIN_RANGE)
    opening = np.array([name in LIP_OPENING_CHANNELS for name in curves.channels], bool)
    open_share = 1.0 - closure_amount(curves)[:, None]
    # On a closure, lip-opening channels keep their speech value exactly and get no offset.
    gains = np.where(opening, 1.0 + (gains - 1.0) * open_share, gains)
    offsets = np.where(opening, offsets * open_share, offsets)
    values = curves.values * gains + offsets
    log.debug("emotion: mean weights %s", np.round(weights.mean(axis=0), 3))
    return curves.with_values(np.clip(values, 0.0, 1.0).astype(np.float32))
