"""Install a built Lipkit zip the way a user does, then use it; run by test_package_bpy.py in its own Python.

Usage: python -I -S package_check.py SITE ZIP WORKDIR [SHARED_DATA]

SITE is a folder of Blender's Python modules (bpy, numpy, ...) without onnxruntime or pocketsphinx,
so the add-on can only import the wheels its zip brought. BLENDER_USER_RESOURCES must point at an
empty folder: the zip goes into its `user_default` extensions repository through Blender's
*Install from Disk* operator, enabled on install. Then a head (the reference face when SHARED_DATA
is given, else a mesh with the 52 ARKit shape keys) is mapped and given a regression take from a
sound strip (a file where this Blender has no Audaspace) and a phonetic take from the same line
with its transcript; the file is saved and reopened. Writes what it found to WORKDIR/found.json.
"""

import json
import site
import sys
from pathlib import Path

site.addsitedir(sys.argv[1])
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the test helpers only, not the add-on

import bpy  # noqa: E402  (first: it puts Blender's own modules, addon_utils among them, on the path)
import addon_utils  # noqa: E402

from bpy_helpers import build_reference_face, make_active, make_mesh, set_fps  # noqa: E402
from lipsync_helpers import LINE, NTSC, can_add_strips, use_sound  # noqa: E402

REPO = "user_default"
ADDON = f"bl_ext.{REPO}.lipkit"
START_FRAME = 11


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


def takes_of(obj) -> list:
    """Per take, in the order they were made: its first frame, frame count, fps and the largest
    jawOpen and mouthClose it keys."""
    takes = addon_module("animation.takes")
    pairs = addon_module("animation.character").stored_pairs(obj)
    index = addon_module("inference.arkit").INDEX
    found = []
    for _, action in takes.take_tracks(obj.data.shape_keys):
        frames, values = takes.read_take(action, pairs)
        found.append({
            "take": takes.take_info(action)["take"], "fps": takes.take_info(action)["fps"],
            "first_frame": int(frames[0]), "frames": len(frames),
            "jawOpen_max": float(values[:, index["jawOpen"]].max()),
            "mouthClose_max": float(values[:, index["mouthClose"]].max()),
        })
    return sorted(found, key=lambda take: take["take"])


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
    scene.lipkit.transcript_file = str(LINE.with_suffix(".txt"))
    generate(scene, "phonetic")
    blend = str(Path(workdir) / "installed.blend")
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    bpy.ops.wm.open_mainfile(filepath=blend)
    obj = bpy.data.objects[name]
    return {
        "blender": bpy.app.version_string,
        "strip": can_add_strips(),
        "addon_file": sys.modules[ADDON].__file__,
        "onnxruntime": sys.modules["onnxruntime"].__file__,
        "pocketsphinx": sys.modules["pocketsphinx"].__file__,
        "mapped": len(addon_module("animation.character").stored_pairs(obj)),
        "takes": takes_of(obj),
    }


if __name__ == "__main__":
    found = main(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    (Path(sys.argv[3]) / "found.json").write_text(json.dumps(found, indent=1))
