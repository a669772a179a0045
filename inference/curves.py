"""`Curves`: per-frame ARKit channel weights at a frame rate, the currency between every stage.

A `Curves` holds float32 values [T, C] for named channels, sampled at `fps` (any positive float:
23.976, 29.97 and 60 are real), frame i lying at `start + i / fps` seconds. Pure numpy, no bpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import arkit

# Two frame positions closer than this (in frames) are the same frame: it absorbs float error
# when a time shared by two frame rates (e.g. 1 s at 29.97 and 59.94 fps) is computed twice.
_SAME_FRAME_TOLERANCE = 1e-6


def num_frames_for(duration: float, fps: float) -> int:
    """Frames i = 0.. with i / fps <= duration: the last frame covers the end of the audio."""
    return int(np.floor(max(duration, 0.0) * fps + _SAME_FRAME_TOLERANCE)) + 1


@dataclass(frozen=True)
class Curves:
    """Channel weights [T, C] sampled at `fps`, frame i at `start + i / fps` seconds."""

    fps: float
    values: np.ndarray
    channels: tuple[str, ...] = arkit.NAMES
    start: float = 0.0
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        values = np.asarray(self.values, dtype=np.float32)
        if values.ndim != 2:
            raise ValueError(f"Curves values must be 2-D [frames, channels], got shape {values.shape}")
        channels = tuple(self.channels)
        if values.shape[1] != len(channels):
            raise ValueError(f"{values.shape[1]} value columns but {len(channels)} channel names")
        if len(set(channels)) != len(channels):
            raise ValueError("Curves channel names must be unique")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be a positive number, got {self.fps!r}")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "channels", channels)
        object.__setattr__(self, "fps", float(self.fps))
        object.__setattr__(self, "start", float(self.start))

    @classmethod
    def zeros(cls, num_frames: int, fps: float, channels=arkit.NAMES, start: float = 0.0) -> "Curves":
        return cls(fps, np.zeros((num_frames, len(tuple(channels))), np.float32), tuple(channels), start)

    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def duration(self) -> float:
        """Seconds covered: from the first frame to one frame past the last."""
        return self.num_frames / self.fps

    def times(self) -> np.ndarray:
        """Time in seconds of every frame, float64."""
        return self.start + np.arange(self.num_frames, dtype=np.float64) / self.fps

    def channel(self, name: str) -> np.ndarray:
        return self.values[:, self.channels.index(name)]

    def with_values(self, values: np.ndarray) -> "Curves":
        return Curves(self.fps, values, self.channels, self.start, dict(self.meta))

    def select(self, channels) -> "Curves":
        """These channels in this order; channels this Curves lacks come out as zeros."""
        channels = tuple(channels)
        out = np.zeros((self.num_frames, len(channels)), np.float32)
        for j, name in enumerate(channels):
            if name in self.channels:
                out[:, j] = self.values[:, self.channels.index(name)]
        return Curves(self.fps, out, channels, self.start, dict(self.meta))

    def sample(self, times) -> np.ndarray:
        """Values [len(times), C] at arbitrary times, linearly interpolated, held at both ends.

        A time that falls on one of this Curves' frames (within float error) returns that frame's
        values exactly.
        """
        times = np.asarray(times, dtype=np.float64)
        if self.num_frames == 0:
            raise ValueError("cannot sample empty Curves")
        pos = (times - self.start) * self.fps
        nearest = np.rint(pos)
        pos = np.where(np.abs(pos - nearest) < _SAME_FRAME_TOLERANCE, nearest, pos)
        pos = np.clip(pos, 0, self.num_frames - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, self.num_frames - 1)
        frac = (pos - lo).astype(np.float32)[:, None]
        out = self.values[lo] * (1 - frac) + self.values[hi] * frac
        exact = frac[:, 0] == 0
        out[exact] = self.values[lo[exact]]
        return out

    def resample(self, fps: float, start: float | None = None, num_frames: int | None = None) -> "Curves":
        """The same motion at another frame rate.

        By default the new frames start at the same time and cover the same duration. Values at
        times shared by both rates are copied exactly; others are linearly interpolated.
        """
        fps = float(fps)
        start = self.start if start is None else float(start)
        if num_frames is None:
            end = self.start + (self.num_frames - 1) / self.fps
            num_frames = int(np.floor((end - start) * fps + _SAME_FRAME_TOLERANCE)) + 1 if self.num_frames else 0
        times = start + np.arange(max(num_frames, 0), dtype=np.float64) / fps
        values = self.sample(times) if len(times) else np.zeros((0, len(self.channels)), np.float32)
        return Curves(fps, values, self.channels, start, dict(self.meta))

    def to_json_dict(self) -> dict:
        """The exchange format: {"fps", "channels", "frames"} (frame i at i/fps from `start`)."""
        return {
            "fps": self.fps,
            "start": self.start,
            "channels": list(self.channels),
            "frames": [[round(float(v), 6) for v in row] for row in self.values],
        }

    @classmethod
    def from_json_dict(cls, data: dict) -> "Curves":
        try:
            channels = tuple(data["channels"])
            frames = np.asarray(data["frames"], dtype=np.float32).reshape(-1, len(channels))
            return cls(float(data["fps"]), frames, channels, float(data.get("start", 0.0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a Lipkit curves document: {exc}") from exc
