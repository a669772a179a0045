"""The ARKit-52 vocabulary: channel names in Apple's order, face regions, mirror pairs, tooltips.

This is the one place the channel order is defined. Everything that stores a [T, 52] array uses
`NAMES` as its column order unless it names another order explicitly.
"""

from __future__ import annotations

# (name, region, description) in the order of Apple's ARFaceAnchor.BlendShapeLocation documentation:
# left eye, right eye, mouth and jaw, eyebrows, cheeks, nose, tongue.
_TABLE: tuple[tuple[str, str, str], ...] = (
    ("eyeBlinkLeft", "eyes", "Closes the left eyelid"),
    ("eyeLookDownLeft", "eyes", "Left eyelid follows a downward gaze"),
    ("eyeLookInLeft", "eyes", "Left eyelid follows a gaze towards the nose"),
    ("eyeLookOutLeft", "eyes", "Left eyelid follows a gaze away from the nose"),
    ("eyeLookUpLeft", "eyes", "Left eyelid follows an upward gaze"),
    ("eyeSquintLeft", "eyes", "Contracts the face around the left eye"),
    ("eyeWideLeft", "eyes", "Widens the left eyelids"),
    ("eyeBlinkRight", "eyes", "Closes the right eyelid"),
    ("eyeLookDownRight", "eyes", "Right eyelid follows a downward gaze"),
    ("eyeLookInRight", "eyes", "Right eyelid follows a gaze towards the nose"),
    ("eyeLookOutRight", "eyes", "Right eyelid follows a gaze away from the nose"),
    ("eyeLookUpRight", "eyes", "Right eyelid follows an upward gaze"),
    ("eyeSquintRight", "eyes", "Contracts the face around the right eye"),
    ("eyeWideRight", "eyes", "Widens the right eyelids"),
    ("jawForward", "jaw", "Pushes the jaw forward"),
    ("jawLeft", "jaw", "Moves the jaw to the left"),
    ("jawRight", "jaw", "Moves the jaw to the right"),
    ("jawOpen", "jaw", "Opens the jaw"),
    ("mouthClose", "lips", "Closes the lips independently of the jaw"),
    ("mouthFunnel", "lips", "Shapes the lips into an open funnel (as in 'sh')"),
    ("mouthPucker", "lips", "Contracts the lips into a closed, rounded pucker (as in 'oo')"),
    ("mouthLeft", "lips", "Moves both lips to the left"),
    ("mouthRight", "lips", "Moves both lips to the right"),
    ("mouthSmileLeft", "mouth corners", "Raises the left mouth corner (smile)"),
    ("mouthSmileRight", "mouth corners", "Raises the right mouth corner (smile)"),
    ("mouthFrownLeft", "mouth corners", "Lowers the left mouth corner (frown)"),
    ("mouthFrownRight", "mouth corners", "Lowers the right mouth corner (frown)"),
    ("mouthDimpleLeft", "mouth corners", "Pulls the left mouth corner back"),
    ("mouthDimpleRight", "mouth corners", "Pulls the right mouth corner back"),
    ("mouthStretchLeft", "mouth corners", "Stretches the left mouth corner sideways"),
    ("mouthStretchRight", "mouth corners", "Stretches the right mouth corner sideways"),
    ("mouthRollLower", "lips", "Rolls the lower lip in towards the teeth (as in 'f')"),
    ("mouthRollUpper", "lips", "Rolls the upper lip in towards the teeth"),
    ("mouthShrugLower", "lips", "Pushes the lower lip outward"),
    ("mouthShrugUpper", "lips", "Pushes the upper lip outward"),
    ("mouthPressLeft", "lips", "Presses the lips together on the left side"),
    ("mouthPressRight", "lips", "Presses the lips together on the right side"),
    ("mouthLowerDownLeft", "lips", "Lowers the left side of the lower lip"),
    ("mouthLowerDownRight", "lips", "Lowers the right side of the lower lip"),
    ("mouthUpperUpLeft", "lips", "Raises the left side of the upper lip"),
    ("mouthUpperUpRight", "lips", "Raises the right side of the upper lip"),
    ("browDownLeft", "brows", "Lowers the outer left brow"),
    ("browDownRight", "brows", "Lowers the outer right brow"),
    ("browInnerUp", "brows", "Raises the inner brows"),
    ("browOuterUpLeft", "brows", "Raises the outer left brow"),
    ("browOuterUpRight", "brows", "Raises the outer right brow"),
    ("cheekPuff", "cheeks", "Puffs both cheeks outward"),
    ("cheekSquintLeft", "cheeks", "Raises the left cheek around the eye"),
    ("cheekSquintRight", "cheeks", "Raises the right cheek around the eye"),
    ("noseSneerLeft", "nose", "Raises the left side of the nose"),
    ("noseSneerRight", "nose", "Raises the right side of the nose"),
    ("tongueOut", "tongue", "Extends the tongue"),
)

NAMES: tuple[str, ...] = tuple(row[0] for row in _TABLE)
NUM_CHANNELS = len(NAMES)
INDEX: dict[str, int] = {name: i for i, name in enumerate(NAMES)}
DESCRIPTIONS: dict[str, str] = {row[0]: row[2] for row in _TABLE}
REGION_OF: dict[str, str] = {row[0]: row[1] for row in _TABLE}

# Regions in the order the UI lists them; each channel belongs to exactly one.
REGIONS: tuple[str, ...] = ("brows", "eyes", "cheeks", "nose", "jaw", "lips", "mouth corners", "tongue")
REGION_CHANNELS: dict[str, tuple[str, ...]] = {
    region: tuple(name for name in NAMES if REGION_OF[name] == region) for region in REGIONS
}

_SIDE_SWAP = (("Left", "Right"), ("Right", "Left"))


def _mirror_name(name: str) -> str:
    for side, other in _SIDE_SWAP:
        if name.endswith(side):
            return name[: -len(side)] + other
    return name


# Every channel's left/right counterpart; centre channels (jawOpen, browInnerUp, ...) map to themselves.
MIRROR: dict[str, str] = {name: _mirror_name(name) for name in NAMES}
MIRROR_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (name, MIRROR[name]) for name in NAMES if name.endswith("Left")
)

assert NUM_CHANNELS == 52, NUM_CHANNELS
assert all(MIRROR[MIRROR[n]] == n and MIRROR[n] in INDEX for n in NAMES)


def region_mask(regions) -> list[bool]:
    """A per-channel boolean list (in `NAMES` order) that is True for channels in `regions`."""
    wanted = set(regions)
    unknown = wanted - set(REGIONS)
    if unknown:
        raise ValueError(f"unknown face region(s): {', '.join(sorted(unknown))}")
    return [REGION_OF[name] in wanted for name in NAMES]
