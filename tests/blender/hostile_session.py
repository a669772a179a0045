"""A Blender session fed hostile sound files, run in its own process by test_hostile_input_bpy.py.

A file that crashes Blender's decoder aborts the whole process (a C++ exception Python cannot
catch), so the test runs this script as a child and reads what it printed: one JSON line with what
each Generate and the batch reported. Usage: python hostile_session.py WORK_FOLDER
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import bpy  # noqa: E402

from bpy_helpers import REPO_MODULE, REPO_ROOT, enable_addon, make_active  # noqa: E402
import hostile_files  # noqa: E402
from lipsync_helpers import LINE, mapped_head, setup_scene  # noqa: E402


def enable():
    folder = Path(tempfile.mkdtemp(prefix="lipkit-ext-"))
    (folder / "lipkit").symlink_to(REPO_ROOT, target_is_directory=True)
    bpy.context.preferences.extensions.repos.new(name="Lipkit tests", module=REPO_MODULE,
                                                 custom_directory=str(folder), source="USER")
    enable_addon()


def generate_refusal(scene) -> str:
    """What Generate reported ('' when it made a take); takes and strips must stay as they were."""
    actions, strips = set(bpy.data.actions.keys()), len(scene.sequence_editor.strips_all
                                                         if scene.sequence_editor and hasattr(scene.sequence_editor, "strips_all")
                                                         else getattr(scene.sequence_editor, "sequences_all", ()))
    try:
        bpy.ops.lipkit.generate()
    except RuntimeError as exc:
        editor = scene.sequence_editor
        now = len(editor.strips_all if editor and hasattr(editor, "strips_all")
                  else getattr(editor, "sequences_all", ()))
        assert set(bpy.data.actions.keys()) == actions, "a refused generation wrote a take"
        assert now == strips, "a refused file was added as a strip"
        return str(exc)
    return ""


def main(work: Path) -> dict:
    enable()
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = setup_scene()
    for layer in ("blinks", "gaze", "brows", "head"):
        setattr(scene.lipkit, f"layer_{layer}", False)
    head = mapped_head()
    head.name = "Alice"
    files = hostile_files.write_all(work, hostile_files.hostile_files())
    result = {"generate": {}, "strip": None, "batch": None}
    for name, path in files.items():
        scene.lipkit.sound_source, scene.lipkit.sound_file, scene.lipkit.file_frame = "FILE", path, 1
        result["generate"][name] = generate_refusal(scene)
    if bpy.app.build_options.audaspace:
        copy = work / "replaced.wav"
        shutil.copy(LINE, copy)
        editor = scene.sequence_editor_create()
        container = editor.strips if hasattr(editor, "strips") else editor.sequences
        strip = container.new_sound("replaced", str(copy), 1, 1)
        copy.write_bytes(Path(files["junk.mp3"]).read_bytes())    # the file changed on disk under the strip
        scene.lipkit.sound_source, scene.lipkit.strip = "STRIP", strip.name
        result["strip"] = generate_refusal(scene)
        container.remove(strip)
    shutil.copy(LINE, work / "line.wav")
    make_active(head)
    bpy.ops.wm.save_as_mainfile(filepath=str(work / "scene.blend"))
    bad = ["junk.mp3", "text.wav", "rate-4ghz.wav", "empty.mp3", "header-cut.wav", "channels-65535.wav"]
    rows = ["first,line.wav,Alice,1,0"] + [f"bad{i},{name},Alice,1,0" for i, name in enumerate(bad)]
    rows.append("last,line.wav,Alice,200,0")
    (work / "shots.csv").write_text("shot,audio,character,start frame,seed\n" + "\n".join(rows) + "\n")
    assert bpy.ops.lipkit.shots_load(filepath=str(work / "shots.csv")) == {"FINISHED"}
    assert bpy.ops.lipkit.batch(cache_dir=str(work / "cache")) == {"FINISHED"}
    result["batch"] = json.loads(bpy.data.texts["Lipkit Batch.json"].as_string())
    result["takes"] = len(head.lipkit.takes)
    return result


if __name__ == "__main__":
    print("RESULT " + json.dumps(main(Path(sys.argv[1]))), flush=True)
