"""Scene time and audio time: which part of a sound a sequencer strip plays, and on which frames.

A sound strip's content starts at scene frame `frame_start` (a float); trims hide
`frame_offset_start` frames at its head, so it is heard from `frame_final_start` to
`frame_final_end` (exclusive), and `sound_offset` (seconds) skips into the file. At `fps` (scene
fps with fps_base), scene frame f plays file time sound_offset + (f - frame_start) / fps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .audio import Audio
from .errors import AudioError


@dataclass(frozen=True)
class Window:
    """The heard part of a sound: file seconds [start, stop) landing from scene frame `first_frame`."""

    start: float
    stop: float
    first_frame: int


def strip_window(frame_start: float, final_start: int, final_end: int, sound_offset: float, fps: float) -> Window:
    """The file seconds a strip plays, and the scene frame its first heard sample lands on."""
    if final_end <= final_start:
        raise AudioError(f"the strip is {final_end - final_start} frames long: nothing to hear")
    start = sound_offset + (final_start - frame_start) / fps
    return Window(start, start + (final_end - final_start) / fps, int(final_start))


def cut(audio: Audio, window: Window) -> Audio:
    """The samples of `audio` inside `window` (file seconds), as a new Audio."""
    first = max(int(round(window.start * audio.sample_rate)), 0)
    stop = min(int(round(window.stop * audio.sample_rate)), len(audio.samples))
    if stop <= first:
        raise AudioError(f"{audio.source or 'The sound'} is {audio.duration:.2f} s long: the strip plays "
                         f"{window.start:.2f}-{window.stop:.2f} s of it, past its end")
    return Audio(np.ascontiguousarray(audio.samples[first:stop]), audio.sample_rate, audio.source, audio.warnings)
