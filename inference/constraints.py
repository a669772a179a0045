"""Constraints: channel values the animator fixes at chosen frames, and how every engine meets them.

A constraints file is a JSON list `[{"frame": int, "channel": ARKit name, "value": 0-1}, ...]`,
frame i lying at i / fps seconds from the start of the audio at the output frame rate. In memory
they are a `Constraints` grid: a mask [T, C] of constrained entries plus their values [T, C].

Engines honour them in up to two passes:

- `to_model_frames` gives the diffusion engine the same constraints on its own 50 fps frames for
  inpainting: each constraint fixes the model frames on either side of its time, so the curve
  resampled to the output rate already passes through it;
- `enforce`, the last step of every engine, makes the curves meet every constraint exactly with a
  smooth correction. Per channel, the residual r = wanted - got at each constrained frame is
  added there and fades to zero on both sides over a span of frames. Each frame of the fade moves
  the correction by a share of the room the curve leaves below its own largest frame-to-frame
  step nearby (S): where the curve already moves fast in the needed direction the fade takes
  little, elsewhere up to S, so the corrected curve never steps further than S. The span is the
  shortest from `CORRECTION_MIN_SECONDS` that has room for r, at most `CORRECTION_MAX_SECONDS`;
  if even that has no room (a still curve asked to move) the rest is spread over it as a plain
  smooth bump. Both the fade and its per-frame shares follow a sin^2 taper, so the correction
  eases in and out. Constraints whose fades would overlap are joined instead: the correction
  passes from one residual to the next across the frames between them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import arkit, files
from .curves import Curves

CORRECTION_MIN_SECONDS = 0.1
CORRECTION_MAX_SECONDS = 0.5
# A constraint time closer than this (in model frames) to a model frame lies on that frame.
_SAME_FRAME_TOLERANCE = 1e-6
ENTRY_KEYS = ("frame", "channel", "value")
MAX_CONSTRAINTS_BYTES = 16 << 20


@dataclass(frozen=True)
class Constraint:
    """One fixed value: `channel` (an ARKit name) is `value` (0-1) at output frame `frame`."""

    frame: int
    channel: str
    value: float


@dataclass(frozen=True)
class Constraints:
    """A mask [T, C] of constrained entries and their values [T, C] (0-1) for `channels`."""

    mask: np.ndarray
    values: np.ndarray
    channels: tuple[str, ...] = arkit.NAMES

    def __post_init__(self):
        mask = np.asarray(self.mask, bool)
        values = np.asarray(self.values, np.float32)
        if mask.ndim != 2 or mask.shape != values.shape or mask.shape[1] != len(self.channels):
            raise ValueError(f"constraint mask {mask.shape} and values {values.shape} must both be "
                             f"[frames, {len(self.channels)}]")
        chosen = values[mask]
        if not (np.all(np.isfinite(chosen)) and np.all((chosen >= 0.0) & (chosen <= 1.0))):
            raise ValueError("constraint values must lie within 0-1")
        object.__setattr__(self, "mask", mask)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "channels", tuple(self.channels))

    @property
    def num_frames(self) -> int:
        return int(self.mask.shape[0])

    @property
    def count(self) -> int:
        return int(self.mask.sum())


# --------------------------------------------------------------------------- reading


def _shown(value, limit: int = 60) -> str:
    """`value` as JSON for a message, cut to `limit` characters."""
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


def _check_entry(index: int, entry) -> Constraint:
    where = f"constraints[{index}]"
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected an object with {', '.join(ENTRY_KEYS)}, got {_shown(entry)}")
    missing = [key for key in ENTRY_KEYS if key not in entry]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(set(entry) - set(ENTRY_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}")
    frame, channel, value = entry["frame"], entry["channel"], entry["value"]
    if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
        raise ValueError(f"{where}: frame must be a whole number >= 0, got {_shown(frame)}")
    if not isinstance(channel, str) or channel not in arkit.INDEX:
        raise ValueError(f"{where}: {_shown(channel)} is not an ARKit channel name (e.g. jawOpen)")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and 0 <= value <= 1):
        raise ValueError(f"{where}: value must be a number within 0-1, got {_shown(value)}")
    return Constraint(frame, channel, float(value))


def parse_constraints(data) -> tuple[Constraint, ...]:
    """Validated constraints from parsed JSON; ValueError names the faulty entry by its index.

    An entry repeated with the same value counts once; with another value it is an error.
    """
    if not isinstance(data, list):
        raise ValueError("constraints must be a JSON list of {\"frame\", \"channel\", \"value\"} objects")
    found: dict[tuple[int, str], tuple[int, Constraint]] = {}
    for index, entry in enumerate(data):
        constraint = _check_entry(index, entry)
        key = (constraint.frame, constraint.channel)
        if key in found and found[key][1].value != constraint.value:
            raise ValueError(f"constraints[{index}]: {constraint.channel} at frame {constraint.frame} is "
                             f"already {found[key][1].value:g} (constraints[{found[key][0]}])")
        found.setdefault(key, (index, constraint))
    return tuple(constraint for _, constraint in found.values())


def read_constraints(path) -> tuple[Constraint, ...]:
    """Constraints from a JSON file; ValueError names the file and the problem."""
    path = Path(path)
    data = files.parse_json(files.read_text(path, MAX_CONSTRAINTS_BYTES, "constraints file"), str(path))
    try:
        return parse_constraints(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def constraint_grid(entries, num_frames: int) -> tuple[Constraints, tuple[str, ...]]:
    """(the grid [num_frames, 52] of these constraints, warnings about those past the last frame)."""
    mask = np.zeros((num_frames, arkit.NUM_CHANNELS), bool)
    values = np.zeros((num_frames, arkit.NUM_CHANNELS), np.float32)
    late = [entry for entry in entries if entry.frame >= num_frames]
    for entry in entries:
        if entry.frame < num_frames:
            mask[entry.frame, arkit.INDEX[entry.channel]] = True
            values[entry.frame, arkit.INDEX[entry.channel]] = entry.value
    warnings = ()
    if late:
        warnings = (f"{len(late)} constraint(s) lie after the last frame ({num_frames - 1}) and were ignored.",)
    return Constraints(mask, values), warnings


# --------------------------------------------------------------------------- model frames


def to_model_frames(constraints: Constraints, fps: float, num_model_frames: int, model_fps: float,
                    channels) -> Constraints:
    """The constraints on model frames (at `model_fps`, in `channels` order), for inpainting.

    Each constraint fixes the model frames just before and after its time (one frame when its
    time falls on one); a model frame claimed by several takes the nearest constraint's value.
    """
    channels = tuple(channels)
    frames, columns = np.nonzero(constraints.mask)
    position = frames / float(fps) * model_fps
    nearest = np.rint(position)
    position = np.where(np.abs(position - nearest) < _SAME_FRAME_TOLERANCE, nearest, position)
    model_frames = np.concatenate([np.floor(position), np.ceil(position)]).astype(np.int64)
    model_columns = np.tile([channels.index(constraints.channels[c]) for c in columns], 2).astype(np.int64)
    distance = np.abs(model_frames - np.tile(position, 2))
    values = np.tile(constraints.values[frames, columns], 2)
    inside = model_frames < num_model_frames
    keys = model_frames[inside] * len(channels) + model_columns[inside]
    order = np.lexsort((distance[inside], keys))
    _, first = np.unique(keys[order], return_index=True)
    chosen = order[first]
    mask = np.zeros((num_model_frames, len(channels)), bool)
    out = np.zeros((num_model_frames, len(channels)), np.float32)
    mask[model_frames[inside][chosen], model_columns[inside][chosen]] = True
    out[model_frames[inside][chosen], model_columns[inside][chosen]] = values[inside][chosen]
    return Constraints(mask, out, channels)


# --------------------------------------------------------------------------- exact correction


def taper(length: int) -> np.ndarray:
    """sin^2 weights over `length` steps: small at both ends, 1 in the middle."""
    return np.sin(np.pi * (np.arange(length) + 0.5) / length) ** 2


def spread(own_steps: np.ndarray, change: float, limit: float) -> np.ndarray:
    """Increments, one per step, that add up to `change`, tapered, within the room below `limit`.

    Step i may move by up to the room it leaves (limit minus its own step in the direction of
    the change) times the taper, so own step + increment stays within `limit`; what does not
    fit is spread as a plain tapered bump.
    """
    weights = taper(len(own_steps))
    direction = np.sign(change)
    room = np.maximum(limit - direction * own_steps, 0.0) * weights
    total_room = room.sum()
    share = min(1.0, abs(change) / total_room) if total_room > 0 else 0.0
    rest = abs(change) - share * total_room
    return direction * (share * room + rest * weights / weights.sum())


def span_length(own_steps: np.ndarray, change: float, limit: float, min_span: int) -> int:
    """The fewest steps (at least `min_span`, at most all) with room for `change` under `limit`."""
    for length in range(min_span, len(own_steps) + 1):
        room = np.maximum(limit - np.sign(change) * own_steps[:length], 0.0) * taper(length)
        if room.sum() >= abs(change):
            return length
    return len(own_steps)


def outward_steps(curve: np.ndarray, frame: int, direction: int, count: int) -> np.ndarray:
    """The curve's `count` steps walking away from `frame` (direction +1 or -1); 0 past its ends."""
    index = np.clip(frame + direction * np.arange(count + 1), 0, len(curve) - 1)
    return np.diff(curve[index])


def largest_step_near(curve: np.ndarray, frame: int, radius: int) -> float:
    """The largest |frame-to-frame step| of `curve` within `radius` frames of `frame`."""
    steps = np.abs(np.diff(curve[max(0, frame - radius):frame + radius + 1]))
    return float(steps.max()) if len(steps) else 0.0


def _fade(curve, frame: int, residual: float, direction: int, limit: float, min_span: int, max_span: int):
    """(frames, correction values) fading `residual` at `frame` to zero in `direction`."""
    own = outward_steps(curve, frame, direction, max_span)
    length = span_length(own, -residual, limit, min_span)
    values = residual + np.cumsum(spread(own[:length], -residual, limit))
    frames = frame + direction * np.arange(1, length + 1)
    inside = (frames >= 0) & (frames < len(curve))
    return frames[inside], values[inside]


def _join(curve, start: int, stop: int, residual_start: float, residual_stop: float, limit: float) -> np.ndarray:
    """Correction values for the frames strictly between two constraints, from one residual to the other."""
    steps = np.diff(curve[start:stop + 1])
    return residual_start + np.cumsum(spread(steps, residual_stop - residual_start, limit))[:-1]


def correct_channel(curve: np.ndarray, frames: np.ndarray, wanted: np.ndarray, min_span: int, max_span: int,
                    value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """`curve` through `wanted` at the sorted `frames` by the smooth correction, clipped to `value_range`."""
    curve = np.asarray(curve, np.float64)
    residual = np.asarray(wanted, np.float64) - curve[frames]
    limits = [largest_step_near(curve, int(frame), max_span) for frame in frames]
    correction = np.zeros_like(curve)
    correction[frames] = residual
    for index, direction in ((0, -1), (len(frames) - 1, +1)):
        fade_frames, fade_values = _fade(curve, int(frames[index]), residual[index], direction, limits[index],
                                         min_span, max_span)
        correction[fade_frames] = fade_values
    for a, b in zip(range(len(frames) - 1), range(1, len(frames))):
        start, stop = int(frames[a]), int(frames[b])
        if stop - start > 2 * min_span:       # closer ones always join: each fade takes at least min_span
            after = _fade(curve, start, residual[a], +1, limits[a], min_span, max_span)
            before = _fade(curve, stop, residual[b], -1, limits[b], min_span, max_span)
            if len(after[0]) + len(before[0]) < stop - start:
                correction[after[0]], correction[before[0]] = after[1], before[1]
                continue
        correction[start + 1:stop] = _join(curve, start, stop, residual[a], residual[b], max(limits[a], limits[b]))
    out = np.clip(curve + correction, *value_range)
    out[frames] = wanted
    return out


def correction_spans(fps: float) -> tuple[int, int]:
    """(shortest, longest) fade in frames at this frame rate."""
    shortest = max(1, math.ceil(CORRECTION_MIN_SECONDS * fps))
    return shortest, max(shortest, math.ceil(CORRECTION_MAX_SECONDS * fps))


def enforce(curves: Curves, constraints: Constraints) -> Curves:
    """These curves meeting every constraint exactly, by the smooth correction (values stay 0-1)."""
    if constraints.num_frames != curves.num_frames:
        raise ValueError(f"constraints cover {constraints.num_frames} frames but the curves have {curves.num_frames}")
    min_span, max_span = correction_spans(curves.fps)
    values = curves.values.copy()
    for column in np.flatnonzero(constraints.mask.any(axis=0)):
        frames = np.flatnonzero(constraints.mask[:, column])
        target = curves.channels.index(constraints.channels[column])
        values[:, target] = correct_channel(values[:, target], frames, constraints.values[frames, column],
                                            min_span, max_span)
    return curves.with_values(values)


def largest_residual(curves: Curves, constraints: Constraints) -> float:
    """The largest |wanted - got| over the constrained entries (0 when there are none)."""
    if not constraints.count:
        return 0.0
    frames, columns = np.nonzero(constraints.mask)
    targets = [curves.channels.index(constraints.channels[c]) for c in columns]
    return float(np.abs(constraints.values[frames, columns] - curves.values[frames, targets]).max())
