"""Reading and writing curves files: Lipkit's JSON and per-frame CSV (as Face Cap and others dump).

JSON: `{"fps": 30.0, "channels": [names], "frames": [[floats], ...], "start": 0.0}` (start optional).
CSV: a header of channel names, one row per frame, and optionally a `time` column in seconds;
channel names may follow any rig naming (`eyeBlink_L`, `JawOpen`): they are mapped onto ARKit
names with the same rules as rigs. Non-ARKit columns are ignored and reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import arkit, files, limits, mapping
from .curves import Curves

TIME_COLUMNS = ("time", "seconds", "t")
# A time column must be this regular (relative spread of its steps) to define the fps.
_MAX_STEP_SPREAD = 0.05
# Rates measured from rounded time stamps snap to a standard rate this close (relative).
STANDARD_FPS = (24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 48.0, 50.0, 60000 / 1001, 60.0)
_SNAP_TOLERANCE = 2e-4
MAX_CURVES_BYTES = 256 << 20


@dataclass(frozen=True)
class LoadedCurves:
    curves: Curves
    warnings: tuple[str, ...] = ()


def read_curves_file(path, fps: float | None = None) -> LoadedCurves:
    """Curves (ARKit channel order) from a .json or .csv file; ValueError says what is wrong."""
    path = Path(path)
    if path.suffix.lower() not in (".json", ".csv"):
        raise ValueError(f"{path.name}: curves files must be .json or .csv")
    text = files.read_text(path, MAX_CURVES_BYTES, "curves file")
    if path.suffix.lower() == ".json":
        document = files.parse_json(text, path.name)
        if not isinstance(document, dict):
            raise ValueError(f"{path.name}: not a Lipkit curves document (expected an object with fps, channels, frames)")
        curves = _checked(Curves.from_json_dict(document), path.name)
    else:
        curves = _checked(_curves_from_csv(text, fps, path.name), path.name)
    return _to_arkit(curves, path.name)


def _checked(curves: Curves, label: str) -> Curves:
    """`curves` when its frame rate is within `limits` and every value is a finite number."""
    limits.check_fps(curves.fps, f"{label}: the frame rate")
    if not np.all(np.isfinite(curves.values)):
        raise ValueError(f"{label}: the curves hold invalid (NaN or infinite) values")
    if not all(isinstance(name, str) for name in curves.channels):
        raise ValueError(f"{label}: channel names must be text")
    return curves


def _curves_from_csv(text: str, fps: float | None, label: str) -> Curves:
    rows = [row for row in files.csv_rows(text, label) if row]
    if len(rows) < 2:
        raise ValueError(f"{label}: a CSV needs a header and at least one frame")
    header = [name.strip() for name in rows[0]]
    timecode_fps = None
    if header[0].lower() == "timecode":  # Live Link Face: the timecode becomes a time column
        rows, timecode_fps = _timecodes_to_seconds(rows, fps, label)
        header = [name.strip() for name in rows[0]]
    try:
        data = np.array([[float(cell) for cell in row] for row in rows[1:]], dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{label}: every cell after the header must be a number ({exc})") from exc
    if data.shape[1] != len(header):
        raise ValueError(f"{label}: rows have {data.shape[1]} cells but the header names {len(header)}")
    time_index = next((i for i, name in enumerate(header) if name.lower() in TIME_COLUMNS), None)
    start = 0.0
    if time_index is not None:
        times = data[:, time_index]
        start = float(times[0])
        fps = fps or timecode_fps
        if fps is None and len(times) > 1:
            steps = np.diff(times)
            step = float(np.median(steps))
            if step <= 0 or np.abs(steps - step).max() > _MAX_STEP_SPREAD * step:
                raise ValueError(f"{label}: the time column is not evenly spaced; give the fps")
            fps = snap_fps(1.0 / step)
        data = np.delete(data, time_index, axis=1)
        header.pop(time_index)
    if fps is None:
        raise ValueError(f"{label}: no time column, so the frame rate must be given")
    return Curves(fps, data.astype(np.float32), tuple(header), start)


_TIMECODE = re.compile(r"^(\d+):(\d+):(\d+):(\d+(?:\.\d+)?)$")


def _split_timecode(text: str, label: str) -> tuple[float, float]:
    """'HH:MM:SS:FF.mmm' -> (whole seconds, frame number with its fraction)."""
    match = _TIMECODE.match(text.strip())
    if match is None:
        raise ValueError(f"{label}: unreadable timecode {text!r} (expected HH:MM:SS:FF.mmm)")
    hours, minutes, seconds, frame = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds), float(frame)


def _timecodes_to_seconds(rows, fps: float | None, label: str):
    """Replace the timecode column by seconds; the fps is given or read from the frame numbers."""
    split = [_split_timecode(row[0], label) for row in rows[1:]]
    if fps is None:
        fps = snap_fps(np.floor(max(frame for _, frame in split)) + 1)
    seconds = [whole + frame / fps for whole, frame in split]
    return [["time", *rows[0][1:]]] + [[repr(t), *row[1:]] for t, row in zip(seconds, rows[1:])], fps


def snap_fps(fps: float) -> float:
    """The standard rate nearest `fps` when within rounding error of it, else `fps`."""
    nearest = min(STANDARD_FPS, key=lambda rate: abs(rate - fps))
    return nearest if abs(nearest - fps) <= _SNAP_TOLERANCE * nearest else fps


def _to_arkit(curves: Curves, label: str) -> LoadedCurves:
    matches = mapping.detect(curves.channels)
    pairs = mapping.mapped_pairs(matches)
    used = set(pairs.values())
    warnings = []
    ignored = [name for name in curves.channels if name not in used]
    if ignored:
        warnings.append(f"{label}: ignored columns that are not ARKit channels: {', '.join(ignored)}")
    if not pairs:
        raise ValueError(f"{label}: no column names an ARKit channel")
    values = np.zeros((curves.num_frames, arkit.NUM_CHANNELS), np.float32)
    for channel, column in pairs.items():
        values[:, arkit.INDEX[channel]] = curves.channel(column)
    return LoadedCurves(Curves(curves.fps, values, arkit.NAMES, curves.start), tuple(warnings))


# Live Link Face (Epic's iOS capture app) CSV: a timecode, the shape count, the 52 ARKit channels
# capitalised in Apple's order, then head and eye rotations (radians).
LLF_ROTATIONS = ("HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
                 "RightEyeYaw", "RightEyePitch", "RightEyeRoll")


def _llf_timecode(seconds: float, fps: float) -> str:
    """HH:MM:SS:FF.mmm as Live Link Face writes it (frame number and its sub-frame fraction)."""
    whole = int(np.floor(seconds + 1e-9))
    frame = (seconds - whole) * fps
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}:{int(frame):02d}.{int(round((frame % 1) * 1000)) % 1000:03d}"


def llf_csv_text(curves: Curves, head_rotations: np.ndarray | None = None) -> str:
    """`curves` (any channel order) as Live Link Face CSV text; head rotations [T, 3] yaw/pitch/roll."""
    values = curves.select(arkit.NAMES).values
    rotations = np.zeros((curves.num_frames, len(LLF_ROTATIONS)), np.float32)
    if head_rotations is not None:
        rotations[:, :3] = head_rotations[: curves.num_frames]
    header = ["Timecode", "BlendShapeCount", *(n[0].upper() + n[1:] for n in arkit.NAMES), *LLF_ROTATIONS]
    lines = [",".join(header)]
    count = str(arkit.NUM_CHANNELS + len(LLF_ROTATIONS))
    for time, row, rotation in zip(curves.times(), values, rotations):
        cells = [_llf_timecode(time, curves.fps), count, *(f"{v:.6f}" for v in row), *(f"{r:.6f}" for r in rotation)]
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"
