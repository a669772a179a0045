"""Curve edits an animator makes on a take: splice a regenerated range, lock, scale, smooth, clear.

Pure numpy on values [T, 52] (ARKit order, one row per take frame). Every edit acts on a frame
range [first, last] (take frames, inclusive) and on chosen channels (a bool column mask, e.g.
from `region_columns`); frames outside the range and other channels come back bit-identical.
Inside, edits fade in over `fade` frames from each end of the range (a smoothstep weight), so the
curve stays continuous at the seams.
"""

from __future__ import annotations

import numpy as np

from . import arkit
from .constraints import Constraint, Constraints, constraint_grid

DEFAULT_FADE_FRAMES = 4
DEFAULT_SMOOTH_RADIUS = 2  # frames each side of the Gaussian kernel's centre sigma


def region_columns(regions) -> np.ndarray:
    """Bool [52]: True for the channels of these face regions."""
    return np.array(arkit.region_mask(regions), bool)


def check_range(num_frames: int, first: int, last: int) -> tuple[int, int]:
    """The range clipped to the take; ValueError when it misses the take entirely or is reversed."""
    if last < first:
        raise ValueError(f"the range ends (frame {last}) before it starts (frame {first})")
    if last < 0 or first >= num_frames:
        raise ValueError(f"the range {first}-{last} lies outside the take (frames 0-{num_frames - 1})")
    return max(first, 0), min(last, num_frames - 1)


def range_weights(num_frames: int, first: int, last: int, fade: int = DEFAULT_FADE_FRAMES) -> np.ndarray:
    """Float32 [T]: 0 outside [first, last], 1 inside, easing in/out over `fade` frames at each end.

    The ends touch the take's own ends without a fade (there is no seam there).
    """
    first, last = check_range(num_frames, first, last)
    frames = np.arange(num_frames)
    weights = ((frames >= first) & (frames <= last)).astype(np.float64)
    if fade > 0:
        rise = np.clip((frames - first + 1) / (fade + 1), 0, 1) if first > 0 else np.ones(num_frames)
        fall = np.clip((last + 1 - frames) / (fade + 1), 0, 1) if last < num_frames - 1 else np.ones(num_frames)
        ramp = np.minimum(rise, fall)
        weights *= ramp * ramp * (3 - 2 * ramp)
    return weights.astype(np.float32)


def _blend(old: np.ndarray, new: np.ndarray, weights: np.ndarray, columns: np.ndarray) -> np.ndarray:
    out = old.copy()
    inside = weights > 0
    w = weights[inside, None]
    out[np.ix_(inside, columns)] = (old[inside][:, columns] * (1 - w) + new[inside][:, columns] * w)
    return out.astype(np.float32)


def splice(old: np.ndarray, new: np.ndarray, first: int, last: int, columns=None,
           fade: int = DEFAULT_FADE_FRAMES) -> np.ndarray:
    """`old` with `new` in [first, last] on `columns` (default all), faded in at the seams."""
    columns = np.ones(old.shape[1], bool) if columns is None else np.asarray(columns, bool)
    return _blend(old, new, range_weights(len(old), first, last, fade), columns)


def keep_locked(old: np.ndarray, new: np.ndarray, locked) -> np.ndarray:
    """`new` with the locked columns copied from `old` bit for bit."""
    locked = np.asarray(locked, bool)
    out = new.copy()
    out[:, locked] = old[:, locked]
    return out


def scale(values: np.ndarray, columns, factor: float, first: int, last: int,
          fade: int = DEFAULT_FADE_FRAMES) -> np.ndarray:
    """Intensity of `columns` times `factor` in the range (clipped to 0-1)."""
    if not np.isfinite(factor) or factor < 0:
        raise ValueError(f"the intensity factor must be a number >= 0, got {factor}")
    scaled = np.clip(values * np.float32(factor), 0.0, 1.0)
    return _blend(values, scaled, range_weights(len(values), first, last, fade), np.asarray(columns, bool))


def gaussian_smooth(values: np.ndarray, radius: int) -> np.ndarray:
    """Each column smoothed along time by a Gaussian (sigma = radius / 2), ends held."""
    if radius < 1:
        return values.copy()
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / (radius / 2.0)) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(values, ((radius, radius), (0, 0)), mode="edge")
    out = np.zeros_like(values, dtype=np.float64)
    for weight, offset in zip(kernel, range(2 * radius + 1)):
        out += weight * padded[offset:offset + len(values)]
    return out.astype(np.float32)


def smooth(values: np.ndarray, columns, radius: int, first: int, last: int,
           fade: int = DEFAULT_FADE_FRAMES) -> np.ndarray:
    """`columns` smoothed (Gaussian, `radius` frames) in the range."""
    return _blend(values, gaussian_smooth(values, radius), range_weights(len(values), first, last, fade),
                  np.asarray(columns, bool))


def clear(values: np.ndarray, columns, first: int, last: int, fade: int = DEFAULT_FADE_FRAMES) -> np.ndarray:
    """`columns` eased to 0 in the range."""
    return _blend(values, np.zeros_like(values), range_weights(len(values), first, last, fade),
                  np.asarray(columns, bool))


def take_constraints(entries, first_frame: int, num_frames: int) -> tuple[Constraints, list]:
    """The grid for (scene frame, channel, value) entries on a take starting at `first_frame`.

    Returns (constraints, entries outside the take's frames); values are clipped to 0-1.
    """
    inside, outside = [], []
    for frame, channel, value in entries:
        relative = int(frame) - int(first_frame)
        if 0 <= relative < num_frames:
            inside.append(Constraint(relative, channel, float(np.clip(value, 0.0, 1.0))))
        else:
            outside.append((frame, channel, value))
    grid, _ = constraint_grid(inside, num_frames)
    return grid, outside
