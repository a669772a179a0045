"""What the models learn to produce: the phonetic engine's curves, with emotion and a speaking style.

`target_curves` turns timed phones into ARKit-52 values at the models' 50 fps with the articulation
rules (and the lip gestures those rules made, the bilabial seal and rounding, which the models also
learn as probabilities: `models.GESTURES`), then lays an emotion over them (sampled by `sample_emotion`, constant or changing within the
window) and a per-utterance articulation style (`sample_style`: how wide the jaw opens, how much the
lips round or spread, how lopsided the mouth is, whether it talks out of one side, and the shapes
it holds through the take: the mouth's corners up or down, the lower lip rolled in or pushed up). Style is not
audible, so the regression model learns its mean (symmetric, centred, average gains) and the
diffusion model learns its spread: that spread is what makes two seeds two different takes.
"""

from __future__ import annotations

import numpy as np

from inference import arkit, emotion
from inference.articulation import SEAL_PRESS, articulate
from inference.features import MODEL_FPS
from inference.phonemes import SILENCE, PhoneInterval

STYLE_GROUPS = {
    # jaw and the lip seal scale together, so closures stay closed
    "jaw": ("jawOpen", "mouthClose"),
    "round": ("mouthPucker", "mouthFunnel"),
    "spread": ("mouthStretchLeft", "mouthStretchRight", "mouthSmileLeft", "mouthSmileRight",
               "mouthDimpleLeft", "mouthDimpleRight"),
    "lips": ("mouthUpperUpLeft", "mouthUpperUpRight", "mouthLowerDownLeft", "mouthLowerDownRight",
             "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper"),
}
STYLE_RANGE = {"jaw": (0.6, 1.4), "round": (0.5, 1.5), "spread": (0.5, 1.5), "lips": (0.6, 1.4)}
# Lopsidedness: the left-side mouth shapes x (1 + a), the right-side ones x (1 - a), a in +-ASYMMETRY
# (not the press, which the models draw from the bilabial seal, the same on both sides).
ASYMMETRY = 0.3
# Talking out of one side: mouthLeft (side > 0) or mouthRight (side < 0) held at |side| <= SIDE for
# the whole take, the jaw following by JAW_SIDE_SHARE of it. Neither opens nor closes the lips.
SIDE = 0.45
JAW_SIDE_SHARE = 0.4
# Shapes a take holds from its first frame to its last, on top of the speech: entry name -> (the
# channels a value > 0 raises, those a value < 0 raises, the largest value). The mouth's corners
# up (a smile) or down (a frown); the lower lip rolled in or pushed up (a shrug). Held alone on a
# resting mouth none of them parts the lips or pushes them forward, so two takes that hold
# different ones look like two performances of the same closures; through speech the corners
# change the mouth's width (a smile widens a rounded vowel out of its rounding) and the shrug
# how far an open vowel opens, which is what the take bands limit (`export.TAKE_BANDS`).
HELD = {"corners": (("mouthSmileLeft", "mouthSmileRight"), ("mouthFrownLeft", "mouthFrownRight"), 0.3),
        "lower_lip": (("mouthRollLower",), ("mouthShrugLower",), 0.3)}
PAIRED = tuple((name, name[:-4] + "Right") for name in arkit.NAMES
               if name.startswith("mouth") and name.endswith("Left") and name not in ("mouthLeft", "mouthPressLeft"))
NEUTRAL_PROBABILITY = 0.4
CHANGING_PROBABILITY = 0.3


def sample_style(rng: np.random.Generator) -> dict[str, float]:
    """One take's style: a gain per `STYLE_GROUPS` group, an "asymmetry", a "side" and a value per
    `HELD` shape."""
    style = {group: float(rng.uniform(*STYLE_RANGE[group])) for group in STYLE_GROUPS}
    style["asymmetry"] = float(rng.uniform(-ASYMMETRY, ASYMMETRY))
    style["side"] = float(rng.uniform(-SIDE, SIDE))
    for name, (_, _, largest) in HELD.items():
        style[name] = float(rng.uniform(-largest, largest))
    return style


# The denoiser's style input, in this order (entries added later come last, so a denoiser trained
# before them reads its own entries where they were: `models.grown_style`).
STYLE_NAMES = (*STYLE_GROUPS, "asymmetry", "side", *HELD)


def style_vector(style: dict[str, float] | None) -> np.ndarray:
    """The style as the denoiser's input [len(STYLE_NAMES)]: each part scaled to -1..1 over its
    range, 0 the middle (no style: all 0, the average take)."""
    style = style or {}
    scaled = []
    for group in STYLE_GROUPS:
        low, high = STYLE_RANGE[group]
        middle, half = (low + high) / 2, (high - low) / 2
        scaled.append((style.get(group, middle) - middle) / half)
    scaled += [style.get("asymmetry", 0.0) / ASYMMETRY, style.get("side", 0.0) / SIDE]
    scaled += [style.get(name, 0.0) / largest for name, (_, _, largest) in HELD.items()]
    return np.asarray(scaled, np.float32)


def apply_style(values: np.ndarray, style: dict[str, float]) -> np.ndarray:
    """`values` [T, 52] in a style; missing entries leave that part of the face as it is."""
    values = values.copy()
    for group, names in STYLE_GROUPS.items():
        values[:, [arkit.INDEX[name] for name in names]] *= style.get(group, 1.0)
    lopsided = style.get("asymmetry", 0.0)
    for left, right in PAIRED:
        values[:, arkit.INDEX[left]] *= 1.0 + lopsided
        values[:, arkit.INDEX[right]] *= 1.0 - lopsided
    side = style.get("side", 0.0)
    mouth, jaw = ("mouthLeft", "jawLeft") if side > 0 else ("mouthRight", "jawRight")
    values[:, arkit.INDEX[mouth]] += abs(side)
    values[:, arkit.INDEX[jaw]] += JAW_SIDE_SHARE * abs(side)
    for name, (raised, lowered, _) in HELD.items():
        held = style.get(name, 0.0)
        values[:, [arkit.INDEX[channel] for channel in (raised if held > 0 else lowered)]] += abs(held)
    return np.clip(values, 0.0, 1.0)


def _random_mix(rng: np.random.Generator) -> np.ndarray:
    row = np.zeros(len(emotion.CATEGORIES), np.float32)
    if rng.random() < NEUTRAL_PROBABILITY:
        return row
    count = 1 if rng.random() < 0.7 else 2
    for index in rng.choice(len(emotion.CATEGORIES), size=count, replace=False):
        row[index] = rng.uniform(0.2, 1.0)
    return row


def sample_emotion(rng: np.random.Generator, num_frames: int) -> np.ndarray:
    """Per-frame emotion weights [T, 8]: constant, or a ramp between two mixes."""
    first = _random_mix(rng)
    if rng.random() >= CHANGING_PROBABILITY or num_frames < 4:
        return np.repeat(first[None, :], num_frames, axis=0)
    second = _random_mix(rng)
    a, b = sorted(rng.integers(0, num_frames, size=2))
    ramp = np.clip((np.arange(num_frames) - a) / max(b - a, 1), 0.0, 1.0)[:, None]
    return ((1.0 - ramp) * first + ramp * second).astype(np.float32)


def seal_of(values: np.ndarray) -> np.ndarray:
    """The bilabial seal [T] in 0..1 of articulated values (before emotion: the press is the seal's alone)."""
    return np.clip(values[:, arkit.INDEX["mouthPressLeft"]] / SEAL_PRESS, 0.0, 1.0)


# Rounding as a gesture: 0 up to this articulated pucker (the light rounding of r, er and the
# post-alveolars, which is part of their shape, not a rounded vowel's), 1 from the second value on
# (uh, and the rounded vowels and w at their peak).
ROUND_PUCKER = (0.15, 0.35)


def round_of(values: np.ndarray, phones: list[PhoneInterval]) -> np.ndarray:
    """Lip rounding [T] in 0..1 of articulated values (before style and emotion), during speech
    only: the rules start rounding for a "w" or an "oo" well before it, into a pause, where the
    curves may pre-shape the lips a little but a decided gesture would round (and part) lips
    that should rest."""
    low, high = ROUND_PUCKER
    times = np.arange(len(values)) / MODEL_FPS
    speech = np.zeros(len(values), bool)
    for phone in phones:
        if phone.phone != SILENCE:
            speech |= (times >= phone.start) & (times < phone.end)
    return np.clip((values[:, arkit.INDEX["mouthPucker"]] - low) / (high - low), 0.0, 1.0) * speech


def target_curves(phones: list[PhoneInterval], duration: float, weights: np.ndarray | None = None,
                  style: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(values [T, 52], gestures [T, 2]: the seal and rounding, `models.GESTURES`' order) at
    MODEL_FPS for `duration` seconds (T = num_frames_for(duration))."""
    curves = articulate(list(phones), MODEL_FPS, duration)
    gestures = np.stack([seal_of(curves.values), round_of(curves.values, phones)], axis=1)
    if style:
        curves = curves.with_values(apply_style(curves.values, style))
    if weights is not None and np.any(weights):
        curves = emotion.apply_emotion(curves, weights[:curves.num_frames])
    return curves.values, gestures.astype(np.float32)
