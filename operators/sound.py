"""The sound a generation follows: a sequencer sound strip (or a file, added as one), checked by
Lipkit's own loader (`inference.audio`: WAV, FLAC, OGG, MP3 and what else libsndfile reads), then
decoded by Blender's own decoder `aud`, cut to what the strip plays.

Where this Blender has no `aud` (builds without Audaspace, such as the 4.2 `bpy` wheel) the file is
read by `inference.audio`, and a file cannot be added as a strip: it is then followed directly
from the chosen frame.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import bpy

from ..animation.takes import scene_fps
from ..inference import audio as audio_mod
from ..inference import timeline
from ..inference.errors import AudioError

try:
    import aud
except ImportError:  # Blender built without Audaspace
    aud = None

MAX_CHANNEL = 128


@dataclass(frozen=True)
class Sound:
    """The heard audio (16 kHz mono), where it lies in its file, and the scene frame it starts on."""

    audio: audio_mod.Audio
    path: str
    window: timeline.Window
    name: str


def strips(scene):
    """Every strip of the scene's sequencer (5.0 `strips_all`, 4.2 `sequences_all`)."""
    editor = scene.sequence_editor
    if editor is None:
        return []
    return list(getattr(editor, strips_collection_name(editor)))


def strips_collection_name(editor) -> str:
    return "strips_all" if hasattr(editor, "strips_all") else "sequences_all"


def decode(path: str) -> audio_mod.Audio:
    """The whole file as 16 kHz mono, through `aud` when this Blender has it.

    Every file is first read by Lipkit's own loader, which refuses empty, damaged and junk files
    and lying headers with an `AudioError`: `aud` throws a C++ exception on such files that Python
    cannot catch, and Blender aborts. Formats the loader cannot read are refused for that reason.
    """
    if not os.path.isfile(path):
        raise AudioError(f"the sound file {path} is missing: relink it (File > External Data) or pick another")
    try:
        checked = audio_mod.load_audio(path)
    except MemoryError as exc:
        raise AudioError(f"{os.path.basename(path)} is too large to decode in this machine's memory") from exc
    if aud is None:
        return checked
    try:
        sound = aud.Sound(path)
        samples = sound.data()
        rate = sound.specs[0]
    except MemoryError as exc:
        raise AudioError(f"{os.path.basename(path)} is too large to decode in this machine's memory") from exc
    except Exception as exc:  # noqa: BLE001 - aud raises plain errors for unreadable files
        raise AudioError(f"Blender cannot decode {os.path.basename(path)}: {exc}") from exc
    return audio_mod.audio_from_array(samples, rate, source=path)


def _check_strip(strip):
    if strip.type != "SOUND":
        raise AudioError(f"strip '{strip.name}' is a {strip.type.lower()} strip, not a sound")
    if strip.mute:
        raise AudioError(f"sound strip '{strip.name}' is muted: unmute it to lip-sync it")
    if strip.frame_final_end <= strip.frame_final_start:
        raise AudioError(f"sound strip '{strip.name}' is zero frames long")
    if strip.sound is None:
        raise AudioError(f"sound strip '{strip.name}' has no sound")


def from_strip(scene, name: str) -> Sound:
    """The sound a strip plays: its trims, offsets and start frame at the scene's fps."""
    strip = next((s for s in strips(scene) if s.name == name), None)
    if strip is None:
        raise AudioError(f"no sound strip named '{name}' in the sequencer: pick one in the Lip Sync panel"
                         if name else "no sound picked: choose a sound strip or a file in the Lip Sync panel")
    _check_strip(strip)
    path = bpy.path.abspath(strip.sound.filepath, library=strip.sound.library)
    window = timeline.strip_window(strip.frame_start, strip.frame_final_start, strip.frame_final_end,
                                   getattr(strip, "sound_offset", 0.0), scene_fps(scene))
    return Sound(timeline.cut(decode(path), window), path, window, strip.name)


def add_file_strip(scene, path: str, frame: int):
    """The file as a new sound strip at `frame` on a free channel; None where this Blender cannot."""
    if aud is None:
        return None
    editor = scene.sequence_editor or scene.sequence_editor_create()
    container = editor.strips if hasattr(editor, "strips") else editor.sequences
    channel = min(max((s.channel for s in strips(scene)), default=0) + 1, MAX_CHANNEL)
    return container.new_sound(os.path.splitext(os.path.basename(path))[0], path, channel, frame)


def from_file(scene, path: str, frame: int) -> Sound:
    """The whole file starting on scene frame `frame`."""
    audio = decode(path)
    window = timeline.Window(0.0, audio.duration, int(frame))
    return Sound(audio, path, window, os.path.splitext(os.path.basename(path))[0])


def from_window(path: str, window: timeline.Window, name: str) -> Sound:
    """A sound again from what a take remembers (its file and window)."""
    return Sound(timeline.cut(decode(path), window), path, window, name)
