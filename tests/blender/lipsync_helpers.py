"""Helpers for the generation tests: a mapped character, a sound strip or file, reading takes."""

import numpy as np
import pytest

from bpy_helpers import REPO_ROOT, bpy, make_active, make_mesh, set_fps, submodule

LINE = REPO_ROOT / "samples" / "line.wav"
NTSC = (30000, 1001.0)


def can_add_strips() -> bool:
    return bpy.app.build_options.audaspace


def mapped_head(names=None):
    """A small mesh with all 52 ARKit shape keys (or `names`), mapped and active."""
    head = make_mesh("Head", names or list(submodule("inference.arkit").NAMES))
    make_active(head)
    bpy.ops.lipkit.mapping_detect()
    return head


def use_sound(scene, frame: int, path=LINE, strip: bool = True):
    """Point the panel at `path` from `frame`: as a sequencer strip where this Blender can, else a file."""
    settings = scene.lipkit
    if strip and can_add_strips():
        editor = scene.sequence_editor_create()
        container = editor.strips if hasattr(editor, "strips") else editor.sequences
        new = container.new_sound("line", str(path), 1, frame)
        settings.sound_source, settings.strip = "STRIP", new.name
        return new
    settings.sound_source, settings.sound_file, settings.file_frame = "FILE", str(path), frame
    return None


def need_strips():
    if not can_add_strips():
        pytest.skip(f"bpy {bpy.app.version_string} is built without Audaspace: it cannot add sound strips")


def showing(head):
    takes = submodule("animation.takes")
    return takes.active_take(head.data.shape_keys)


def take_values(head, action=None):
    takes = submodule("animation.takes")
    character = submodule("animation.character")
    return takes.read_take(action or showing(head), character.stored_pairs(head))


def generate(scene, engine="regression", layers=("lips",), **kwargs):
    settings = scene.lipkit
    settings.engine = engine
    for layer in ("lips", "blinks", "gaze", "brows", "head"):
        setattr(settings, f"layer_{layer}", layer in layers)
    assert bpy.ops.lipkit.generate(**kwargs) == {"FINISHED"}


def setup_scene(fps=NTSC):
    scene = bpy.context.scene
    set_fps(scene, *fps)
    return scene


def column(name):
    return submodule("inference.arkit").INDEX[name]


def frame_rms(samples: np.ndarray, rate: int, fps: float, count: int) -> np.ndarray:
    """RMS of the audio over each scene frame [i / fps, (i + 1) / fps)."""
    edges = (np.arange(count + 1) / fps * rate).astype(int)
    return np.array([np.sqrt(np.mean(samples[a:b] ** 2)) if b > a else 0.0 for a, b in zip(edges[:-1], edges[1:])])


def best_lag(reference: np.ndarray, follower: np.ndarray, max_lag: int = 8) -> int:
    """The shift (frames) of `follower` that best matches `reference` (positive: follower is late)."""
    a = (reference - reference.mean()) / (reference.std() + 1e-9)
    b = (follower - follower.mean()) / (follower.std() + 1e-9)
    scores = {lag: float(np.mean(a[max(0, -lag):len(a) - max(0, lag)] * b[max(0, lag):len(b) - max(0, -lag)]))
              for lag in range(-max_lag, max_lag + 1)}
    return max(scores, key=scores.get)
