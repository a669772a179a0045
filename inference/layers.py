"""Secondary layers: the face around the mouth (blinks, gaze, brows) and head motion.

Every layer is a pure function of its inputs and an integer `seed` (a numpy Generator is made
from it), so the same seed always gives the same motion and each layer can be muted on its own:
each returns its own `Curves` holding only its channels (or a `HeadMotion`), and `combine` adds
chosen layers onto a mouth `Curves`. Frame i of every output lies at `start + i / fps` seconds.

- `blink_events` / `blinks`: eyeBlinkLeft/Right, about 19 blinks a minute like real faces: spontaneous
  blinks at lognormal intervals with a refractory minimum, pulled towards pauses when prosody is
  given, plus blinks with the larger gaze shifts when the gaze layer's seed is given; each blink
  draws its length and depth (two in five are partial) and a few are doubled; a fast close and a slower,
  tailing reopening. `blink_excursions` measures blinks the way real captures were measured: peak
  and time at least half closed of each excursion above 0.3. The sources of the numbers are
  written beside them.
- `gaze`: fixations of lognormal length joined by saccades whose length follows the main sequence,
  both eyes together (looking to the character's left = eyeLookOutLeft + eyeLookInRight, as ARKit
  defines them).
- `brows`: browInnerUp / browOuterUpLeft/Right raises on prosodic accents, scaled by strength.
- `head_motion`: yaw, pitch, roll (radians) = nods on accents + slow smooth drift.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from . import arkit
from .curves import Curves
from .prosody import Accents, Prosody, pause_times

log = logging.getLogger(__name__)

# --- blinks -------------------------------------------------------------------------------------
# Sources. [B97] Bentivoglio et al. 1997, "Analysis of blink rate patterns in normal subjects",
# Movement Disorders 12(6): 17 blinks/min at rest, 26 in conversation, 4.5 reading.
# [E91] Evinger, Manning & Sibony 1991, "Eyelid movements: mechanisms and normal data", IOVS 32(2):
# the lid closes faster than it reopens. [E94] Evinger et al. 1994, "Not
# looking while leaping: the linkage of blinking and saccadic gaze shifts", Exp Brain Res 100: gaze
# shifts often carry a blink, which starts with the saccade. [LLF] The 10 real Live Link Face
# captures of issue 23 (5.5 min, 60 fps; a blink is an excursion of eyeBlinkLeft above 0.3): 18.5
# blinks/min (24 with shallow ones), time above 0.5 median 67 ms (IQR 50-100), peaks median 0.65
# with 88 % below 0.85. ARKit capture under-reads the lids, so the *shape* of the peak and length
# distributions comes from [LLF], their depth does not: most blinks here still close fully.
BLINK_CHANNELS: tuple[str, ...] = ("eyeBlinkLeft", "eyeBlinkRight")
# Blinks a minute in all ([LLF] 18.5; between [B97]'s rest and conversation rates); the second
# blinks of doubles come on top. With gaze coupling the spontaneous blinks make up the rest after
# the gaze-shift blinks, down to at least this share of the rate. Gaze-shift blinks and spontaneous
# ones that fall within each other's refractory time are dropped, so only part of the gaze-shift
# rate (1 - BLINK_GAZE_OVERLAP) is taken off; tuned so that the rate is the same with and without
# gaze coupling (seeds 0-29 at 60 fps: 18.5 and 18.8 blinks/min).
BLINK_RATE_PER_MINUTE = 17.5
BLINK_MIN_TIMER_SHARE = 0.5
BLINK_GAZE_OVERLAP = 0.35
# Lognormal inter-blink intervals (real ones are positively skewed): sigma of log(interval) chosen;
# the median follows from the rate. A blink is never followed by another within the
# refractory time, except as the second half of a double blink.
BLINK_INTERVAL_SIGMA = 0.6
BLINK_REFRACTORY_SECONDS = 0.8
BLINK_MAX_INTERVAL_SECONDS = 12.0
# Whole length of one blink (lid leaves rest to lid back at rest): lognormal, median and spread
# fitted so that the time above 0.5 lands on [LLF]'s median 67 ms (benchmarks/layers.py: 67 ms in
# every seed; IQR 50-83 ms over seeds 0-29, against [LLF]'s 50-100); clipped (chosen).
BLINK_MEDIAN_SECONDS = 0.19
BLINK_DURATION_SIGMA = 0.3
BLINK_MIN_SECONDS = 0.11
BLINK_MAX_SECONDS = 0.40
# Shape: close, hold, reopen as fractions of the length; reopening 2.5x the closing (slower, [E91];
# the ratio chosen).
BLINK_CLOSE_FRACTION = 0.27
BLINK_HOLD_FRACTION = 0.06
# Depth: a complete blink closes to 0.9-1.0; a partial one (this share) stops at 0.5-0.85. [LLF]
# has most peaks below 0.85 but under-reads; 40 % keeps the partial blinks visible and frequent.
BLINK_PARTIAL_SHARE = 0.4
BLINK_COMPLETE_PEAK = (0.9, 1.0)
BLINK_PARTIAL_PEAK = (0.5, 0.85)
# Occasional double blinks ([LLF] has them): this share of blinks is followed, after the lid has
# reopened, by a second one this many seconds later.
BLINK_DOUBLE_SHARE = 0.06
BLINK_DOUBLE_GAP_SECONDS = (0.05, 0.15)
# Both eyes together, with a tiny natural asymmetry (a few ms, a few %): left/right stay correlated
# above 0.95 like real lids.
BLINK_EYE_LAG_SECONDS = 0.005
BLINK_EYE_GAIN_SPREAD = 0.03
# Durations are measured as the time the lid is at least half closed (eyeBlink >= 0.5) [LLF].
BLINK_HALF_CLOSURE = 0.5
# A blink is an excursion of eyeBlink above this [LLF].
BLINK_EXCURSION_LEVEL = 0.3
# With prosody: a blink this close to a pause start moves onto it, with this probability (blinks
# cluster at pauses and phrase ends; both numbers chosen).
BLINK_PAUSE_SNAP_SECONDS = 2.0
BLINK_PAUSE_SNAP_PROBABILITY = 0.8
BLINK_PAUSE_DELAY_SECONDS = 0.05
# With the gaze layer's seed: a gaze shift at least this large (channel units) carries a blink with
# this probability, starting this long before the saccade [E94]; larger shifts blink more [E94],
# the threshold and probability are chosen.
BLINK_GAZE_MIN_AMPLITUDE = 0.15
BLINK_GAZE_PROBABILITY = 0.4
BLINK_GAZE_LEAD_SECONDS = 0.01

# --- gaze ---------------------------------------------------------------------------------------
GAZE_CHANNELS: tuple[str, ...] = (
    "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeLookDownLeft",
    "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight", "eyeLookDownRight",
)
# Fixations of lognormal length (median, sigma of log, limits chosen: about one gaze shift a second
# while talking, within the fixation lengths of face-to-face conversation).
GAZE_FIXATION_MEDIAN_SECONDS = 1.1
GAZE_FIXATION_SIGMA = 0.6
GAZE_FIXATION_MIN_SECONDS = 0.25
GAZE_FIXATION_MAX_SECONDS = 5.0
# Target spread in channel units (1.0 = the shape key's full look) and a hard limit (chosen: small
# looks around the listener); this share of shifts returns to the listener (straight ahead).
GAZE_HORIZONTAL_SPREAD = 0.12
GAZE_VERTICAL_SPREAD = 0.07
GAZE_LIMIT = 0.35
GAZE_RETURN_PROBABILITY = 0.35
GAZE_RETURN_SPREAD = 0.02
# Saccade length grows with amplitude, the main sequence: about 21 ms + 2.2 ms per degree
# (Carpenter 1988, "Movements of the Eyes"). ARKit does not say how far a full eyeLook turns the
# eye; 30 degrees per channel unit is our reading.
GAZE_DEGREES_PER_UNIT = 30.0
GAZE_SACCADE_BASE_SECONDS = 0.021
GAZE_SACCADE_SECONDS_PER_DEGREE = 0.0022
# The longest saccade: corner to opposite corner of the GAZE_LIMIT square.
GAZE_SACCADE_MAX_SECONDS = (GAZE_SACCADE_BASE_SECONDS
                            + GAZE_SACCADE_SECONDS_PER_DEGREE * GAZE_DEGREES_PER_UNIT * 2 * np.sqrt(2) * GAZE_LIMIT)

# --- brows --------------------------------------------------------------------------------------
BROW_CHANNELS: tuple[str, ...] = ("browInnerUp", "browOuterUpLeft", "browOuterUpRight")
BROW_GAINS: dict[str, float] = {"browInnerUp": 0.35, "browOuterUpLeft": 0.25, "browOuterUpRight": 0.25}
BROW_ATTACK_SECONDS = 0.12
BROW_DECAY_SECONDS = 0.45
# The raise peaks slightly before the accent's pitch peak.
BROW_LEAD_SECONDS = 0.03
# Not every accent raises the brows: probability = base + slope * strength.
BROW_PROBABILITY_BASE = 0.35
BROW_PROBABILITY_SLOPE = 0.6
BROW_AMPLITUDE_JITTER = 0.2
BROW_SIDE_ASYMMETRY = 0.08

# --- head ---------------------------------------------------------------------------------------
HEAD_AXES: tuple[str, ...] = ("yaw", "pitch", "roll")
# Nod: pitch down (positive) by this much at accent strength 1.
HEAD_NOD_RADIANS = 0.045
HEAD_NOD_ATTACK_SECONDS = 0.15
HEAD_NOD_DECAY_SECONDS = 0.40
HEAD_NOD_LEAD_SECONDS = 0.05
# Drift: smooth noise through random knots, per axis (radians standard deviation).
HEAD_DRIFT_RADIANS = (0.035, 0.02, 0.015)
HEAD_DRIFT_KNOT_SECONDS = (2.0, 1.6, 2.4)


@dataclass(frozen=True)
class Blink:
    """One blink: starts at `time` (s), lasts `duration` (s) in all, closes to `peak` (0..1)."""

    time: float
    duration: float
    peak: float
    lag: float = 0.0
    gain_right: float = 1.0


@dataclass(frozen=True)
class HeadMotion:
    """Head rotations [T, 3] float32 (yaw, pitch, roll in radians) at `fps`, frame i at start + i/fps.

    yaw > 0 turns towards the character's left, pitch > 0 tips the chin down (a nod),
    roll > 0 tilts the head towards the character's left shoulder.
    """

    fps: float
    rotations: np.ndarray
    start: float = 0.0

    def __post_init__(self):
        rotations = np.asarray(self.rotations, dtype=np.float32)
        if rotations.ndim != 2 or rotations.shape[1] != len(HEAD_AXES):
            raise ValueError(f"head rotations must be [frames, 3], got shape {rotations.shape}")
        object.__setattr__(self, "rotations", rotations)

    @property
    def num_frames(self) -> int:
        return int(self.rotations.shape[0])


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(int(seed))


def _times(num_frames: int, fps: float, start: float) -> np.ndarray:
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    return start + np.arange(max(int(num_frames), 0), dtype=np.float64) / fps


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _envelope(times: np.ndarray, peak_time: float, attack: float, decay: float) -> tuple[slice, np.ndarray]:
    """0 -> 1 over `attack` s before `peak_time`, back to 0 over `decay` s after it (smoothstep), as
    (the frames of sorted `times` where it can be above 0, its values there); 0 everywhere else."""
    lo, hi = np.searchsorted(times, (peak_time - attack, peak_time + decay), side="right")
    where = slice(int(lo), int(hi))
    local = times[where]
    rise = _smoothstep((local - (peak_time - attack)) / attack)
    fall = 1.0 - _smoothstep((local - peak_time) / decay)
    return where, np.where(local <= peak_time, rise, fall)


# --- blinks -------------------------------------------------------------------------------------

def _timer_onsets(duration: float, rng: np.random.Generator, pauses: np.ndarray, rate_per_minute: float,
                  start: float) -> list[float]:
    """Spontaneous blink onsets in [start, start + duration): lognormal intervals, snapped to pauses."""
    mean_interval = 60.0 / rate_per_minute
    # Mean of a lognormal is exp(mu + sigma^2 / 2); the refractory part is added after.
    body = max(mean_interval - BLINK_REFRACTORY_SECONDS, 0.1)
    mu = np.log(body) - BLINK_INTERVAL_SIGMA ** 2 / 2.0
    onsets: list[float] = []
    # The first blink comes somewhere in the first interval, not at t=0.
    t = start + rng.uniform(0.2, 1.0) * mean_interval
    end = start + duration
    while t < end:
        if len(pauses) and rng.uniform() < BLINK_PAUSE_SNAP_PROBABILITY:
            target = pauses[np.argmin(np.abs(pauses - t))] + BLINK_PAUSE_DELAY_SECONDS
            earliest = onsets[-1] + BLINK_REFRACTORY_SECONDS if onsets else start
            if abs(target - t) <= BLINK_PAUSE_SNAP_SECONDS and target >= earliest:
                t = float(target)
        onsets.append(float(t))
        t += min(BLINK_REFRACTORY_SECONDS + float(np.exp(rng.normal(mu, BLINK_INTERVAL_SIGMA))),
                 BLINK_MAX_INTERVAL_SECONDS)
    return onsets


def _gaze_onsets(duration: float, gaze_seed: int, rng: np.random.Generator, start: float) -> list[float]:
    """Onsets of the blinks that go with the gaze layer's larger saccades (the gaze of `gaze_seed`)."""
    fixations = gaze_targets(duration, gaze_seed)
    onsets = []
    for (_, h0, v0), (when, h1, v1) in zip(fixations, fixations[1:]):
        large = np.hypot(h1 - h0, v1 - v0) >= BLINK_GAZE_MIN_AMPLITUDE
        if rng.uniform() < BLINK_GAZE_PROBABILITY and large:
            onsets.append(start + when - BLINK_GAZE_LEAD_SECONDS)
    return onsets


def _draw_blink(rng: np.random.Generator, time: float) -> Blink:
    """One blink at `time` with its length, depth and eye asymmetry drawn."""
    length = float(np.clip(BLINK_MEDIAN_SECONDS * np.exp(rng.normal(0.0, BLINK_DURATION_SIGMA)),
                           BLINK_MIN_SECONDS, BLINK_MAX_SECONDS))
    partial = rng.uniform() < BLINK_PARTIAL_SHARE
    peak = float(rng.uniform(*(BLINK_PARTIAL_PEAK if partial else BLINK_COMPLETE_PEAK)))
    lag = float(rng.uniform(-BLINK_EYE_LAG_SECONDS, BLINK_EYE_LAG_SECONDS))
    gain_right = float(1.0 + rng.uniform(-BLINK_EYE_GAIN_SPREAD, BLINK_EYE_GAIN_SPREAD))
    return Blink(float(time), length, peak, lag, gain_right)


def blink_events(duration: float, seed: int, prosody: Prosody | None = None,
                 rate_per_minute: float = BLINK_RATE_PER_MINUTE, start: float = 0.0,
                 gaze_seed: int | None = None) -> list[Blink]:
    """Blinks in [start, start + duration), in time order.

    Spontaneous blinks at lognormal intervals (snapped towards pauses when `prosody` is given), plus
    one with some of the larger saccades of the gaze layer drawn from `gaze_seed` when it is given;
    each with its own length and depth, some followed by a second (a double blink).
    """
    if rate_per_minute <= 0 or duration <= 0:
        return []
    timer, coupling, shapes = (np.random.default_rng([int(seed), stream]) for stream in range(3))
    pauses = pause_times(prosody) if prosody is not None else np.zeros(0)
    gazing = _gaze_onsets(duration, gaze_seed, coupling, start) if gaze_seed is not None else []
    gaze_rate = (1.0 - BLINK_GAZE_OVERLAP) * len(gazing) * 60.0 / duration
    timer_rate = max(rate_per_minute - gaze_rate, BLINK_MIN_TIMER_SHARE * rate_per_minute)
    onsets = sorted(_timer_onsets(duration, timer, pauses, timer_rate, start) + gazing)
    end = start + duration
    events: list[Blink] = []
    last_onset = -np.inf
    for onset in onsets:
        if onset < last_onset + BLINK_REFRACTORY_SECONDS or onset < start:
            continue
        blink = _draw_blink(shapes, onset)
        if blink.time + blink.duration > end:
            break
        events.append(blink)
        last_onset = onset
        if shapes.uniform() < BLINK_DOUBLE_SHARE:
            second = _draw_blink(shapes, blink.time + blink.duration + shapes.uniform(*BLINK_DOUBLE_GAP_SECONDS))
            if second.time + second.duration <= end:
                events.append(second)
                last_onset = second.time
    return events


def _blink_shape(times: np.ndarray, blink: Blink, offset: float) -> np.ndarray:
    """Closure 0..1 of one blink at `times`: a smoothstep close, a short hold, then a reopening that
    starts fast and eases into a long tail (the square of a smoothstep fall)."""
    close = blink.duration * BLINK_CLOSE_FRACTION
    hold = blink.duration * BLINK_HOLD_FRACTION
    opening = blink.duration - close - hold
    t = times - (blink.time + offset)
    closing = _smoothstep(t / close)
    reopening = (1.0 - _smoothstep((t - close - hold) / opening)) ** 2
    return np.where(t < close + hold, closing, reopening) * (t >= 0) * (t <= blink.duration)


def render_blinks(events: list[Blink], num_frames: int, fps: float, start: float = 0.0) -> Curves:
    """eyeBlinkLeft/Right Curves of these blinks; each blink's frame nearest its hold reaches its peak."""
    times = _times(num_frames, fps, start)
    values = np.zeros((len(times), 2), np.float32)
    for blink in events:
        lo = int(np.searchsorted(times, blink.time - BLINK_EYE_LAG_SECONDS))
        hi = int(np.searchsorted(times, blink.time + blink.duration + BLINK_EYE_LAG_SECONDS, side="right"))
        window = times[lo:hi]
        left = _blink_shape(window, blink, 0.0) * blink.peak
        right = _blink_shape(window, blink, blink.lag) * blink.peak * blink.gain_right
        # At low frame rates the hold may fall between frames: give the nearest frame the peak anyway.
        middle = blink.time + blink.duration * (BLINK_CLOSE_FRACTION + BLINK_HOLD_FRACTION / 2.0)
        nearest = int(np.rint((middle - start) * fps))
        values[lo:hi, 0] = np.maximum(values[lo:hi, 0], left)
        values[lo:hi, 1] = np.maximum(values[lo:hi, 1], right)
        if 0 <= nearest < len(times):
            values[nearest, 0] = max(values[nearest, 0], blink.peak)
            values[nearest, 1] = max(values[nearest, 1], min(blink.peak * blink.gain_right, 1.0))
    return Curves(fps, np.clip(values, 0.0, 1.0), BLINK_CHANNELS, start)


def blinks(num_frames: int, fps: float, seed: int, prosody: Prosody | None = None,
           rate_per_minute: float = BLINK_RATE_PER_MINUTE, start: float = 0.0,
           gaze_seed: int | None = None) -> Curves:
    """The blink layer: eyeBlinkLeft/Right over `num_frames` frames at `fps` (see `blink_events`)."""
    duration = num_frames / fps
    events = blink_events(duration, seed, prosody, rate_per_minute, start, gaze_seed)
    log.debug("blinks: %d in %.1f s", len(events), duration)
    return render_blinks(events, num_frames, fps, start)


def blink_excursions(curve: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(peak, seconds at least half closed) of each blink in one eyeBlink curve, as [LLF] counts them:
    a blink is a run of frames above `BLINK_EXCURSION_LEVEL`; its time above `BLINK_HALF_CLOSURE` is
    counted in frames, so its resolution is 1 / fps."""
    curve = np.asarray(curve, np.float64)
    above = np.concatenate([[False], curve > BLINK_EXCURSION_LEVEL, [False]])
    edges = np.flatnonzero(above[1:] != above[:-1])
    runs = [curve[lo:hi] for lo, hi in zip(edges[0::2], edges[1::2])]
    peaks = np.array([run.max() for run in runs])
    half = np.array([np.count_nonzero(run >= BLINK_HALF_CLOSURE) for run in runs]) / float(fps)
    return peaks, half


# --- gaze ---------------------------------------------------------------------------------------

def gaze_targets(duration: float, seed: int) -> list[tuple[float, float, float]]:
    """Fixations as (start time s, horizontal, vertical); horizontal > 0 = character's left, vertical > 0 = up."""
    rng = _rng(seed)
    fixations = [(0.0, 0.0, 0.0)]
    t = 0.0
    while True:
        t += float(np.clip(GAZE_FIXATION_MEDIAN_SECONDS * np.exp(rng.normal(0.0, GAZE_FIXATION_SIGMA)),
                           GAZE_FIXATION_MIN_SECONDS, GAZE_FIXATION_MAX_SECONDS))
        if t >= duration:
            return fixations
        if rng.uniform() < GAZE_RETURN_PROBABILITY:
            h, v = rng.normal(0.0, GAZE_RETURN_SPREAD), rng.normal(0.0, GAZE_RETURN_SPREAD)
        else:
            h, v = rng.normal(0.0, GAZE_HORIZONTAL_SPREAD), rng.normal(0.0, GAZE_VERTICAL_SPREAD)
        fixations.append((t, float(np.clip(h, -GAZE_LIMIT, GAZE_LIMIT)), float(np.clip(v, -GAZE_LIMIT, GAZE_LIMIT))))


def saccade_seconds(amplitude: float) -> float:
    """Saccade length (s) for a jump of `amplitude` (channel units), by the main sequence."""
    degrees = abs(amplitude) * GAZE_DEGREES_PER_UNIT
    return GAZE_SACCADE_BASE_SECONDS + GAZE_SACCADE_SECONDS_PER_DEGREE * degrees


def gaze_direction(num_frames: int, fps: float, seed: int, start: float = 0.0) -> np.ndarray:
    """[T, 2] float64 (horizontal, vertical) gaze: fixations held, saccades eased by the main sequence."""
    times = _times(num_frames, fps, start) - start
    fixations = gaze_targets(num_frames / fps, seed)
    out = np.zeros((len(times), 2))
    current = np.array(fixations[0][1:])
    out[:] = current
    # Each saccade moves the eyes from its start until the next saccade starts.
    starts = np.searchsorted(times, [when for when, _, _ in fixations[1:]], side="left")
    ends = np.append(starts[1:], len(times))
    for (when, h, v), lo, hi in zip(fixations[1:], starts, ends):
        target = np.array([h, v])
        length = saccade_seconds(float(np.hypot(*(target - current))))
        blend = _smoothstep((times[lo:hi] - when) / length)[:, None]
        out[lo:hi] = current + (target - current) * blend
        current = target
    return out


def gaze(num_frames: int, fps: float, seed: int, start: float = 0.0) -> Curves:
    """The gaze layer: the 8 eyeLook channels, both eyes looking the same way."""
    direction = gaze_direction(num_frames, fps, seed, start)
    h, v = direction[:, 0], direction[:, 1]
    left, right, up, down = np.maximum(h, 0), np.maximum(-h, 0), np.maximum(v, 0), np.maximum(-v, 0)
    # Looking to the character's left: the left eye looks out, the right eye looks in.
    columns = {
        "eyeLookInLeft": right, "eyeLookOutLeft": left, "eyeLookUpLeft": up, "eyeLookDownLeft": down,
        "eyeLookInRight": left, "eyeLookOutRight": right, "eyeLookUpRight": up, "eyeLookDownRight": down,
    }
    values = np.stack([columns[name] for name in GAZE_CHANNELS], axis=1)
    return Curves(fps, np.clip(values, 0.0, 1.0), GAZE_CHANNELS, start)


# --- brows --------------------------------------------------------------------------------------

def brows(accents: Accents, num_frames: int, fps: float, seed: int, start: float = 0.0,
          gain: float = 1.0) -> Curves:
    """The brow layer: raises on accents, amplitude ~ strength, overlapping raises take the max."""
    rng = _rng(seed)
    times = _times(num_frames, fps, start)
    values = np.zeros((len(times), len(BROW_CHANNELS)), np.float64)
    base = np.array([BROW_GAINS[name] for name in BROW_CHANNELS])
    for when, strength in zip(np.asarray(accents.times), np.asarray(accents.strengths)):
        probability = BROW_PROBABILITY_BASE + BROW_PROBABILITY_SLOPE * strength
        jitter = 1.0 + rng.uniform(-BROW_AMPLITUDE_JITTER, BROW_AMPLITUDE_JITTER)
        side = rng.uniform(-BROW_SIDE_ASYMMETRY, BROW_SIDE_ASYMMETRY)
        if rng.uniform() >= probability:
            continue
        where, envelope = _envelope(times, when - BROW_LEAD_SECONDS, BROW_ATTACK_SECONDS, BROW_DECAY_SECONDS)
        amplitude = base * strength * jitter * gain * np.array([1.0, 1.0 + side, 1.0 - side])
        values[where] = np.maximum(values[where], envelope[:, None] * amplitude[None, :])
    return Curves(fps, np.clip(values, 0.0, 1.0), BROW_CHANNELS, start)


# --- head ---------------------------------------------------------------------------------------

def _smooth_noise(times: np.ndarray, knot_seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance-ish smooth noise: Gaussian values at random-phase knots, cosine-interpolated."""
    if len(times) == 0:
        return np.zeros(0)
    phase = rng.uniform(0.0, knot_seconds)
    origin = times[0] - phase
    count = int(np.ceil((times[-1] - origin) / knot_seconds)) + 2
    knots = rng.normal(0.0, 1.0, count)
    pos = (times - origin) / knot_seconds
    lo = np.floor(pos).astype(np.int64)
    frac = pos - lo
    ease = (1.0 - np.cos(np.pi * frac)) / 2.0
    return knots[lo] * (1.0 - ease) + knots[lo + 1] * ease


def head_motion(num_frames: int, fps: float, seed: int, accents: Accents | None = None,
                start: float = 0.0, gain: float = 1.0) -> HeadMotion:
    """Head yaw/pitch/roll: slow drift on every axis plus a nod (pitch) on each accent."""
    rng = _rng(seed)
    times = _times(num_frames, fps, start)
    rotations = np.zeros((len(times), 3))
    for axis, (spread, knot) in enumerate(zip(HEAD_DRIFT_RADIANS, HEAD_DRIFT_KNOT_SECONDS)):
        rotations[:, axis] = spread * _smooth_noise(times, knot, rng)
    if accents is not None:
        nods = np.zeros(len(times))
        for when, strength in zip(np.asarray(accents.times), np.asarray(accents.strengths)):
            where, envelope = _envelope(times, when - HEAD_NOD_LEAD_SECONDS, HEAD_NOD_ATTACK_SECONDS,
                                        HEAD_NOD_DECAY_SECONDS)
            nods[where] = np.maximum(nods[where], envelope * strength * HEAD_NOD_RADIANS)
        rotations[:, 1] += nods
    return HeadMotion(float(fps), (rotations * gain).astype(np.float32), float(start))


# --- combining ----------------------------------------------------------------------------------

def combine(base: Curves, *layers: Curves, mode: str = "add") -> Curves:
    """`base` with each layer's channels added ("add") or written over ("replace"), clipped to [0, 1].

    A layer only touches its own channels; one at another fps or start is sampled at base's frames.
    """
    if mode not in ("add", "replace"):
        raise ValueError(f"combine mode must be 'add' or 'replace', got {mode!r}")
    values = base.values.copy()
    times = base.times()
    for layer in layers:
        unknown = [name for name in layer.channels if name not in base.channels]
        if unknown:
            raise ValueError(f"layer channels not in the base curves: {', '.join(unknown)}")
        same_grid = layer.fps == base.fps and layer.start == base.start and layer.num_frames == base.num_frames
        layer_values = layer.values if same_grid else layer.sample(times)
        for j, name in enumerate(layer.channels):
            column = base.channels.index(name)
            if mode == "add":
                values[:, column] += layer_values[:, j]
            else:
                values[:, column] = layer_values[:, j]
    return base.with_values(np.clip(values, 0.0, 1.0))


assert all(name in arkit.INDEX for name in BLINK_CHANNELS + GAZE_CHANNELS + BROW_CHANNELS)
