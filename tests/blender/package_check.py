"""Install a built Lipkit zip the way a user does, then use it; run by test_package_bpy.py in its own Python.

Usage: python -I -S package_check.py SITE ZIP WORKDIR [SHARED_DATA]

SITE is a folder of Blender's Python modules (bpy, numpy, ...) without onnxruntime or pocketsphinx,
so the add-on can only import the wheels its zip brought. BLENDER_USER_RESOURCES must point at an
empty folder: the zip goes into its `user_default` extensions repository through Blender's
*Install from Disk* operator, enabled on install. Then a head (the reference face when SHARED_DATA
is given, else a mesh with the 52 ARKit shape keys) is mapped and given a regression take from a
sound strip (a file where this Blender has no Audaspace) and a phonetic take from the same line
with its transcript; the file is saved and reopened. Writes what it found to WORKDIR/found.json:
the onnxruntime build the zip brought, its providers and the one that ran the regression take;
per take its jawOpen during the line's speech and in its leading and trailing silence, the frames
where the lips are sealed, and how far the keys read back after reopening are from those saved.
"""

import json
import site
import sys
import wave
from pathlib import Path

site.addsitedir(sys.argv[1])
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the test helpers only, not the add-on

import bpy  # noqa: E402  (first: it puts Blender's own modules, addon_utils among them, on the path)
import addon_utils  # noqa: E402

from bpy_helpers import build_reference_face, make_active, make_mesh, set_fps  # noqa: E402
from lipsync_helpers import LINE, NTSC, can_add_strips, frame_rms, use_sound  # noqa: E402

import numpy as np  # noqa: E402  (Blender's own numpy, from SITE)

REPO = "user_default"
ADDON = f"bl_ext.{REPO}.lipkit"
START_FRAME = 11
# A scene frame is silent when its audio RMS is this far below the loudest frame's.
SILENCE_BELOW_PEAK_DB = 30.0
# Silent frames this close to speech are left out: the mouth leads the sound and eases after it.
SPEECH_MARGIN_FRAMES = 2
# Sealed lips: mouthClose at least jawOpen (it cancels the jaw's opening) and at least this much.
SEALED_CLOSE_MIN = 0.05


def install(zip_path: str) -> None:
    result = bpy.ops.extensions.package_install_files(filepath=zip_path, repo=REPO, enable_on_install=True)
    assert result == {"FINISHED"}, result


def addon_module(name: str):
    return sys.modules[f"{ADDON}.{name}"]


def head(shared_data):
    if shared_data:
        return build_reference_face(Path(shared_data))
    obj = make_mesh("Head", addon_module("inference.arkit").NAMES)
    make_active(obj)
    return obj


def generate(scene, engine: str) -> None:
    scene.lipkit.engine = engine
    scene.lipkit.layer_lips = True
    assert bpy.ops.lipkit.generate() == {"FINISHED"}


def line_frames(fps: float, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(speech, edge silence) masks over the first `count` frames of the line at `fps`: speech is
    every frame that is not silent; edge silence the silent frames before the first and after the
    last speech, `SPEECH_MARGIN_FRAMES` away from it."""
    with wave.open(str(LINE)) as audio:
        rate = audio.getframerate()
        samples = np.frombuffer(audio.readframes(audio.getnframes()), np.int16) / 32768.0
    rms = frame_rms(samples, rate, fps, count)
    silent = rms < rms.max() * 10.0 ** (-SILENCE_BELOW_PEAK_DB / 20.0)
    spoken = np.flatnonzero(~silent)
    index = np.arange(count)
    edges = silent & ((index < spoken[0] - SPEECH_MARGIN_FRAMES) | (index > spoken[-1] + SPEECH_MARGIN_FRAMES))
    return ~silent, edges


def closures(sealed: np.ndarray) -> int:
    """How many separate runs of True frames `sealed` holds."""
    return int(np.sum(sealed[1:] & ~sealed[:-1]) + sealed[0])


def read_takes(obj) -> dict:
    """{take number: (action name, fps, frames [F], values [F, 52])} for every take on `obj`."""
    takes = addon_module("animation.takes")
    pairs = addon_module("animation.character").stored_pairs(obj)
    found = {}
    for _, action in takes.take_tracks(obj.data.shape_keys):
        info = takes.take_info(action)
        found[info["take"]] = (action.name, info["fps"], *takes.read_take(action, pairs))
    return found


def describe(takes: dict) -> list:
    """Per take, in the order they were made: its first frame, frame count and fps; its largest
    jawOpen and mouthClose; its largest jawOpen during speech and in the edge silence; how often the
    lips close during speech (runs of sealed frames)."""
    index = addon_module("inference.arkit").INDEX
    found = []
    for number, (_, fps, frames, values) in sorted(takes.items()):
        jaw, close = values[:, index["jawOpen"]], values[:, index["mouthClose"]]
        speech, edges = line_frames(fps, len(frames))
        found.append({
            "take": number, "fps": fps, "first_frame": int(frames[0]), "frames": len(frames),
            "jawOpen_max": float(jaw.max()), "mouthClose_max": float(close.max()),
            "jawOpen_speech_max": float(jaw[speech].max()), "edge_silence_frames": int(edges.sum()),
            "jawOpen_edge_silence_max": float(jaw[edges].max()),
            "closures": closures((close >= jaw) & (close >= SEALED_CLOSE_MIN) & speech),
        })
    return found


def reload_difference(saved: dict, reopened: dict) -> float:
    """The largest difference between the keys (frames and values) of the same takes before and after."""
    if saved.keys() != reopened.keys():
        return float("inf")
    worst = 0.0
    for number, (name, _, frames, values) in saved.items():
        name_after, _, frames_after, values_after = reopened[number]
        if name_after != name or frames_after.shape != frames.shape or values_after.shape != values.shape:
            return float("inf")
        worst = max(worst, float(np.abs(frames_after - frames).max()), float(np.abs(values_after - values).max()))
    return worst


def main(zip_path: str, workdir: str, shared_data: str | None) -> dict:
    bpy.ops.wm.read_homefile(use_empty=True)
    install(zip_path)
    assert addon_utils.check(ADDON)[1], f"{ADDON} is not enabled after installing {zip_path}"
    scene = bpy.context.scene
    set_fps(scene, *NTSC)
    name = head(shared_data).name
    assert bpy.ops.lipkit.mapping_detect() == {"FINISHED"}
    use_sound(scene, START_FRAME)
    generate(scene, "regression")
    regression_provider = bpy.context.window_manager.lipkit.last_provider
    scene.lipkit.transcript_file = str(LINE.with_suffix(".txt"))
    generate(scene, "phonetic")
    saved = read_takes(bpy.data.objects[name])
    blend = str(Path(workdir) / "installed.blend")
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    bpy.ops.wm.open_mainfile(filepath=blend)
    obj = bpy.data.objects[name]
    reopened = read_takes(obj)
    return {
        "blender": bpy.app.version_string,
        "strip": can_add_strips(),
        "addon_file": sys.modules[ADDON].__file__,
        "onnxruntime": sys.modules["onnxruntime"].__file__,
        "onnxruntime_build": sys.modules["onnxruntime.capi.build_and_package_info"].package_name,
        "onnxruntime_providers": sys.modules["onnxruntime"].get_available_providers(),
        "regression_provider": regression_provider,
        "pocketsphinx": sys.modules["pocketsphinx"].__file__,
        "mapped": len(addon_module("animation.character").stored_pairs(obj)),
        "takes": describe(reopened),
        "reload_difference": reload_difference(saved, reopened),
    }


if __name__ == "__main__":
    found = main(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    (Path(sys.argv[3]) / "found.json").write_text(json.dumps(found, indent=1))
