"""Articulation rules: timed phones -> ARKit-52 curves (the phonetic engine's last stage).

Each phone has an articulatory target (a few lip, jaw and tongue controls, `TARGETS`) and a
dominance per articulator group (`DOMINANCE`). The curves are a Cohen–Massaro style blend: at time
t every control is the dominance-weighted mean of the targets of the phones around t, where a
phone's dominance is its strength inside the phone and decays as exp(-(d / tau)^2) with the
distance d outside it. Each group has its own time constants (`TAU`): the jaw is slow, the lips are
faster, lip rounding reaches far ahead (anticipatory rounding spreads over preceding consonants,
which hardly care about rounding) and the tongue is quick. The mouth leads the sound as real
speakers' mouths do: every transition starts before its acoustic boundary, and the lips are
shifted a further 20-30 ms ahead (`LEAD_S`). A short "ah" is taken as a schwa (ARPAbet-39 merges
the two) and diphthongs move from an onset target to an offglide target.

Bilabial closure (p b m) is not blended but imposed: a seal control is 1 over the bilabial (held
for at least `MIN_CLOSURE_S` and one output frame, so even a short /b/ closes on a frame at 24 fps)
and ramps in and out around it. The seal drives mouthClose against the jaw (ARKit's mouthClose
closes the lips by exactly cancelling jawOpen) and mutes the lip shapes that part the lips.

Everything is evaluated in closed form at the frame times i / fps, so any frame rate works and a
minute of speech takes a few milliseconds. Pure numpy; no bpy, no scipy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from . import arkit
from .curves import Curves, num_frames_for
from .phonemes import SILENCE, PhoneInterval

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- controls and groups

# Articulatory controls (columns of the target table) and the ARKit channels each one drives.
CONTROLS: tuple[str, ...] = (
    "jaw", "pucker", "funnel", "roll_lower", "upper_up", "lower_down", "stretch", "smile", "tongue",
)
CONTROL_CHANNELS: dict[str, tuple[str, ...]] = {
    "jaw": ("jawOpen",),
    "pucker": ("mouthPucker",),
    "funnel": ("mouthFunnel",),
    "roll_lower": ("mouthRollLower",),
    "upper_up": ("mouthUpperUpLeft", "mouthUpperUpRight"),
    "lower_down": ("mouthLowerDownLeft", "mouthLowerDownRight"),
    "stretch": ("mouthStretchLeft", "mouthStretchRight"),
    "smile": ("mouthSmileLeft", "mouthSmileRight"),
    "tongue": ("tongueOut",),
}
# Articulator groups: controls in a group share dominance strengths, time constants and lead.
GROUPS: tuple[str, ...] = ("jaw", "lips", "round", "tongue")
GROUP_OF: dict[str, str] = {
    "jaw": "jaw", "pucker": "round", "funnel": "round", "roll_lower": "lips", "upper_up": "lips",
    "lower_down": "lips", "stretch": "lips", "smile": "lips", "tongue": "tongue",
}

# Dominance time constants (seconds) per group: (anticipatory = reach before the phone starts,
# carry-over = reach after it ends). The jaw is the slowest articulator, the lips faster, the
# tongue tip quickest.
TAU: dict[str, tuple[float, float]] = {
    "jaw": (0.035, 0.035),
    "lips": (0.030, 0.025),
    "round": (0.030, 0.025),
    "tongue": (0.025, 0.025),
}
# Lip rounding is anticipated far ahead (over preceding consonants, up to ~150 ms) but carried over
# only briefly: these replace the "round" time constants for phones that have a rounding target.
TAU_ROUNDED: tuple[float, float] = (0.150, 0.045)
# How far each group's blend is shifted ahead of the acoustic phone boundaries (seconds). The jaw's
# transitions are centred on the boundaries, so its movement starts about one tau (35 ms) before
# them; the lips, rounding and tongue lead by a further 20-30 ms.
LEAD_S: dict[str, float] = {"jaw": 0.0, "lips": 0.030, "round": 0.030, "tongue": 0.020}

# ---------------------------------------------------------------- bilabial seal

SEAL_LEAD_S = 0.0             # the seal is complete when the acoustic closure starts (the ramp leads it)
MIN_CLOSURE_S = 0.050         # the seal is held for at least this long ...
MIN_CLOSURE_FRAMES = 1.05     # ... and at least this many output frames, so a frame always lands on it
SEAL_CLOSE_RAMP_S = 0.040     # time to bring the lips together (the closing gesture leads the sound)
SEAL_RELEASE_RAMP_S = 0.030   # the release is quicker (the burst)
SEAL_MARGIN = 0.03            # mouthClose = seal * (jawOpen + margin): lips meet firmly, not at a hairline
SEAL_PRESS = 0.2              # mouthPressLeft/Right at full seal
BILABIALS = frozenset({"p", "b", "m"})
# Lip shapes that part the lips: muted while sealed.
PARTING_CONTROLS: tuple[str, ...] = ("funnel", "upper_up", "lower_down")

# ---------------------------------------------------------------- targets (data)

# Diphthongs are two targets: the onset held for this share of the phone, then the offglide.
DIPHTHONG_SPLIT = 0.6
DIPHTHONGS: dict[str, tuple[str, str]] = {
    "aw": ("aw<", "aw>"), "ay": ("ay<", "ay>"), "ey": ("ey<", "ey>"), "ow": ("ow<", "ow>"), "oy": ("oy<", "oy>"),
}


# ARPAbet-39 merges the stressed /ʌ/ (AH) with the reduced schwa (AX); duration tells them apart:
# a short "ah" is a schwa, articulated with a mid jaw and relaxed lips.
REDUCED_VOWELS: dict[str, tuple[str, float]] = {"ah": ("ah~", 0.070)}


def _t(jaw=0.0, pucker=0.0, funnel=0.0, roll_lower=0.0, upper_up=0.0, lower_down=0.0, stretch=0.0,
       smile=0.0, tongue=0.0) -> tuple[float, ...]:
    return (jaw, pucker, funnel, roll_lower, upper_up, lower_down, stretch, smile, tongue)


# Articulatory targets in ARKit weights. Open vowels open the jaw; spread vowels (iy ih ey eh ae)
# stretch and smile slightly; rounded vowels and w pucker and funnel; r, er and the post-alveolars
# are lightly rounded (as in English); f/v roll the lower lip under the upper teeth; th/dh show the
# tongue a little, l barely, t/d not at all.
TARGETS: dict[str, tuple[float, ...]] = {
    SILENCE: _t(),
    # vowels
    "aa": _t(jaw=0.50, lower_down=0.10),
    "ae": _t(jaw=0.42, lower_down=0.10, stretch=0.15, smile=0.10),
    "ah": _t(jaw=0.36),
    "ah~": _t(jaw=0.24),
    "ao": _t(jaw=0.42, funnel=0.25, pucker=0.10),
    "aw<": _t(jaw=0.48),
    "aw>": _t(jaw=0.20, pucker=0.40, funnel=0.25),
    "ay<": _t(jaw=0.48),
    "ay>": _t(jaw=0.22, stretch=0.15, smile=0.10),
    "eh": _t(jaw=0.34, stretch=0.15, smile=0.08),
    "er": _t(jaw=0.18, funnel=0.30, pucker=0.15),
    "ey<": _t(jaw=0.30, stretch=0.15, smile=0.10),
    "ey>": _t(jaw=0.18, stretch=0.20, smile=0.15),
    "ih": _t(jaw=0.22, stretch=0.15, smile=0.10),
    "iy": _t(jaw=0.17, stretch=0.22, smile=0.18),
    "ow<": _t(jaw=0.32, pucker=0.30, funnel=0.35),
    "ow>": _t(jaw=0.16, pucker=0.60, funnel=0.25),
    "oy<": _t(jaw=0.34, pucker=0.45, funnel=0.30),
    "oy>": _t(jaw=0.18, stretch=0.15, smile=0.10),
    "uh": _t(jaw=0.20, pucker=0.35, funnel=0.20),
    "uw": _t(jaw=0.12, pucker=0.70, funnel=0.25),
    # consonants
    "p": _t(jaw=0.10), "b": _t(jaw=0.10), "m": _t(jaw=0.10),
    "f": _t(jaw=0.06, roll_lower=0.55, upper_up=0.20),
    "v": _t(jaw=0.06, roll_lower=0.50, upper_up=0.20),
    "th": _t(jaw=0.12, tongue=0.30),
    "dh": _t(jaw=0.12, tongue=0.25),
    "t": _t(jaw=0.10), "d": _t(jaw=0.10), "n": _t(jaw=0.10),
    "l": _t(jaw=0.18, tongue=0.06),
    "s": _t(jaw=0.05, stretch=0.10), "z": _t(jaw=0.05, stretch=0.10),
    "sh": _t(jaw=0.07, funnel=0.40, pucker=0.15), "zh": _t(jaw=0.07, funnel=0.40, pucker=0.15),
    "ch": _t(jaw=0.07, funnel=0.40, pucker=0.15), "jh": _t(jaw=0.07, funnel=0.40, pucker=0.15),
    "k": _t(jaw=0.14), "g": _t(jaw=0.14), "ng": _t(jaw=0.14),
    "hh": _t(jaw=0.25),
    "r": _t(jaw=0.12, funnel=0.15, pucker=0.25),
    "w": _t(jaw=0.06, pucker=0.80, funnel=0.10),
    "y": _t(jaw=0.10, stretch=0.15, smile=0.10),
}

# Dominance strengths (jaw, lips, round, tongue) by phone class. Vowels own the jaw, but consonants
# made with the tongue tip or blade (and most of all the sibilants, which need the teeth close) or
# with the lower lip constrain it too, laterals, glides and velars less; consonants that do not use
# the lips barely resist rounding, so it spreads over them; spread vowels actively resist it; hh is
# shaped by its neighbours.
_VOWEL_ROUND = (1.0, 1.0, 1.2, 0.3)
_VOWEL_SPREAD = (1.0, 1.0, 1.5, 0.3)
_VOWEL_NEUTRAL = (1.0, 1.0, 0.5, 0.3)
_CLASS_DOMINANCE: dict[str, tuple[float, float, float, float]] = {
    "silence": (0.8, 0.8, 0.5, 1.0),
    "bilabial": (0.6, 0.6, 0.15, 0.3),
    "labiodental": (0.9, 1.0, 0.2, 0.3),
    "dental": (0.6, 0.3, 0.1, 1.0),
    "alveolar": (0.8, 0.2, 0.1, 0.5),
    "lateral": (0.4, 0.2, 0.1, 0.5),
    "sibilant": (1.0, 0.4, 0.15, 0.5),
    "postalveolar": (0.9, 0.4, 0.8, 0.5),
    "velar": (0.6, 0.2, 0.1, 0.3),
    "glottal": (0.1, 0.1, 0.05, 0.1),
    "rhotic": (0.5, 0.5, 0.8, 0.3),
    "labiovelar": (0.6, 0.5, 1.2, 0.3),
    "palatal": (0.6, 0.6, 0.6, 0.3),
}
_PHONE_CLASS: dict[str, str] = {
    SILENCE: "silence", "p": "bilabial", "b": "bilabial", "m": "bilabial", "f": "labiodental",
    "v": "labiodental", "th": "dental", "dh": "dental", "t": "alveolar", "d": "alveolar",
    "n": "alveolar", "l": "lateral", "s": "sibilant", "z": "sibilant", "sh": "postalveolar",
    "zh": "postalveolar", "ch": "postalveolar", "jh": "postalveolar", "k": "velar", "g": "velar",
    "ng": "velar", "hh": "glottal", "r": "rhotic", "w": "labiovelar", "y": "palatal",
}
_VOWEL_DOMINANCE: dict[str, tuple[float, float, float, float]] = {
    **{v: _VOWEL_SPREAD for v in ("iy", "ih", "ey<", "ey>", "eh", "ae", "ay>", "oy>")},
    **{v: _VOWEL_ROUND for v in ("uw", "uh", "ow<", "ow>", "oy<", "aw>", "ao", "er")},
    **{v: _VOWEL_NEUTRAL for v in ("aa", "ah", "ah~", "aw<", "ay<")},
}
DOMINANCE: dict[str, tuple[float, float, float, float]] = {
    **{p: _CLASS_DOMINANCE[c] for p, c in _PHONE_CLASS.items()},
    **_VOWEL_DOMINANCE,
}
assert set(DOMINANCE) == set(TARGETS), set(DOMINANCE) ^ set(TARGETS)

# Neighbours on each side considered when blending (dominance is negligible further away).
NEIGHBOURS = 6
# Gaps between phones shorter than this are closed up; longer ones become silence.
GAP_TOLERANCE_S = 0.030
# Silence added before the audio and after its end.
EDGE_SILENCE_S = 1.0

_KEYS: tuple[str, ...] = tuple(TARGETS)
_KEY_INDEX = {k: i for i, k in enumerate(_KEYS)}
_TARGET_TABLE = np.asarray([TARGETS[k] for k in _KEYS], np.float64)         # [K, P]
_DOMINANCE_TABLE = np.asarray([DOMINANCE[k] for k in _KEYS], np.float64)    # [K, G]


def _tau_table() -> tuple[np.ndarray, np.ndarray]:
    """Per-key (before, after) time constants [K, G]: group defaults, rounded keys' rounding reach."""
    before = np.tile([TAU[g][0] for g in GROUPS], (len(_KEYS), 1))
    after = np.tile([TAU[g][1] for g in GROUPS], (len(_KEYS), 1))
    rounding = _TARGET_TABLE[:, [CONTROLS.index("pucker"), CONTROLS.index("funnel")]].sum(axis=1) > 0
    g = GROUPS.index("round")
    before[rounding, g], after[rounding, g] = TAU_ROUNDED
    return before, after


_TAU_BEFORE, _TAU_AFTER = _tau_table()                                      # [K, G] each


@dataclass(frozen=True)
class _Segments:
    """Phones normalised for blending: target keys, start/end seconds, and which are bilabial."""

    keys: np.ndarray      # [N] int index into _KEYS
    starts: np.ndarray    # [N] float64
    ends: np.ndarray      # [N] float64
    bilabial: np.ndarray  # [N] bool


def _normalise(phones: list[PhoneInterval], end_time: float) -> list[tuple[str, float, float]]:
    """Sorted phones, same-phone neighbours merged, gaps as silence, silence padding both ends."""
    out: list[list] = []
    cursor = 0.0
    for ph in sorted(phones, key=lambda p: (p.start, p.end)):
        start, end = max(ph.start, cursor), max(ph.end, cursor)
        if end <= start:
            continue
        if start - cursor > GAP_TOLERANCE_S:
            out.append([SILENCE, cursor, start])
        elif out:
            out[-1][2] = start
        if out and out[-1][0] == ph.phone:
            out[-1][2] = end
        else:
            out.append([ph.phone, start, end])
        cursor = end
    if end_time > cursor:
        if out and out[-1][0] == SILENCE:
            out[-1][2] = end_time
        else:
            out.append([SILENCE, cursor, end_time])
    if not out or out[0][0] != SILENCE:
        out.insert(0, [SILENCE, 0.0, out[0][1] if out else 0.0])
    # Silence reaches a second beyond both ends, so the blend never runs out of neighbours.
    out[0][1] = min(out[0][1], -EDGE_SILENCE_S)
    if out[-1][0] != SILENCE:
        out.append([SILENCE, out[-1][2], out[-1][2]])
    out[-1][2] += EDGE_SILENCE_S
    return [tuple(seg) for seg in out]


def _segments(phones: list[PhoneInterval], end_time: float) -> _Segments:
    keys, starts, ends, bilabial = [], [], [], []
    for phone, start, end in _normalise(phones, end_time):
        parts = DIPHTHONGS.get(phone)
        reduced = REDUCED_VOWELS.get(phone)
        if reduced and end - start < reduced[1]:
            spans = ((reduced[0], start, end),)
        elif parts:
            mid = start + DIPHTHONG_SPLIT * (end - start)
            spans = ((parts[0], start, mid), (parts[1], mid, end))
        else:
            spans = ((phone, start, end),)
        for key, s, e in spans:
            keys.append(_KEY_INDEX[key])
            starts.append(s)
            ends.append(e)
            bilabial.append(phone in BILABIALS)
    return _Segments(np.asarray(keys), np.asarray(starts), np.asarray(ends), np.asarray(bilabial, bool))


def _blend_group(seg: _Segments, times: np.ndarray, group: int, controls: np.ndarray) -> np.ndarray:
    """Dominance-weighted targets [T, len(controls)] for one articulator group at `times`."""
    name = GROUPS[group]
    tau_before_table, tau_after_table = _TAU_BEFORE, _TAU_AFTER
    t = times + LEAD_S[name]
    n = len(seg.keys)
    here = np.clip(np.searchsorted(seg.starts, t, side="right") - 1, 0, n - 1)
    nb = here[:, None] + np.arange(-NEIGHBOURS, NEIGHBOURS + 1)[None, :]     # [T, W]
    valid = (nb >= 0) & (nb < n)
    nb = np.clip(nb, 0, n - 1)
    keys = seg.keys[nb]
    before = np.maximum(seg.starts[nb] - t[:, None], 0.0) / tau_before_table[keys, group]
    after = np.maximum(t[:, None] - seg.ends[nb], 0.0) / tau_after_table[keys, group]
    dom = _DOMINANCE_TABLE[keys, group] * np.exp(-(before * before + after * after)) * valid
    dom_sum = np.maximum(dom.sum(axis=1, keepdims=True), 1e-12)
    targets = _TARGET_TABLE[keys][:, :, controls]                           # [T, W, c]
    return np.einsum("tw,twc->tc", dom, targets) / dom_sum


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _seal(seg: _Segments, times: np.ndarray, fps: float) -> np.ndarray:
    """Bilabial lip seal in [0, 1] at `times`: held over each (lengthened) closure, ramped around it."""
    seal = np.zeros(len(times))
    min_hold = max(MIN_CLOSURE_S, MIN_CLOSURE_FRAMES / fps)
    idx = np.nonzero(seg.bilabial)[0]
    if len(idx) == 0:
        return seal
    # Touching bilabial segments are one closure.
    runs: list[list[float]] = []
    for i in idx:
        if runs and abs(runs[-1][1] - seg.starts[i]) < 1e-9:
            runs[-1][1] = seg.ends[i]
        else:
            runs.append([seg.starts[i], seg.ends[i]])
    runs_arr = np.asarray(runs) - SEAL_LEAD_S
    centre = runs_arr.mean(axis=1)
    half = np.maximum(runs_arr[:, 1] - runs_arr[:, 0], min_hold) / 2
    hold_start, hold_end = centre - half, centre + half
    lo = np.searchsorted(times, hold_start - SEAL_CLOSE_RAMP_S)
    hi = np.searchsorted(times, hold_end + SEAL_RELEASE_RAMP_S, side="right")
    for s, e, i0, i1 in zip(hold_start, hold_end, lo, hi):
        t = times[i0:i1]
        closing = _smoothstep((t - (s - SEAL_CLOSE_RAMP_S)) / SEAL_CLOSE_RAMP_S)
        opening = _smoothstep(((e + SEAL_RELEASE_RAMP_S) - t) / SEAL_RELEASE_RAMP_S)
        seal[i0:i1] = np.maximum(seal[i0:i1], np.minimum(closing, opening))
    return seal


def articulate(phones: list[PhoneInterval], fps: float, duration: float | None = None) -> Curves:
    """ARKit-52 curves for timed phones, frame i at i / fps seconds from the start of the audio.

    `duration` (seconds) sets how many frames there are; by default the end of the last phone.
    Channels the articulation does not drive (eyes, brows, cheeks, nose) are 0.
    """
    fps = float(fps)
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    end_time = max([p.end for p in phones], default=0.0)
    if duration is None:
        duration = end_time
    times = np.arange(num_frames_for(max(duration, 0.0), fps), dtype=np.float64) / fps
    seg = _segments(phones, max(end_time, duration))

    controls = np.zeros((len(times), len(CONTROLS)))
    for g, group in enumerate(GROUPS):
        cols = np.asarray([c for c, name in enumerate(CONTROLS) if GROUP_OF[name] == group])
        controls[:, cols] = _blend_group(seg, times, g, cols)

    seal = _seal(seg, times, fps)
    for name in PARTING_CONTROLS:
        controls[:, CONTROLS.index(name)] *= 1.0 - seal
    values = np.zeros((len(times), arkit.NUM_CHANNELS), np.float32)
    for c, name in enumerate(CONTROLS):
        for channel in CONTROL_CHANNELS[name]:
            values[:, arkit.INDEX[channel]] = controls[:, c]
    jaw = controls[:, CONTROLS.index("jaw")]
    values[:, arkit.INDEX["mouthClose"]] = seal * (jaw + SEAL_MARGIN)
    values[:, arkit.INDEX["mouthPressLeft"]] = seal * SEAL_PRESS
    values[:, arkit.INDEX["mouthPressRight"]] = seal * SEAL_PRESS
    np.clip(values, 0.0, 1.0, out=values)
    log.debug("articulated %d phones into %d frames at %.3f fps", len(phones), len(times), fps)
    return Curves(fps, values, arkit.NAMES, 0.0, {"engine": "phonetic"})
