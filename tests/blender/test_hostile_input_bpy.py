"""Hostile input in real Blender (issue 22): bad sound files never reach Blender's decoder, bad
numbers in shot lists are row errors, colliding shot names are refused, ambiguous channels are
reported. The sound-file session runs in a child process, since a file that crashes the decoder
aborts the process it is in."""

import json
import os
import subprocess
import sys
from pathlib import Path

from bpy_helpers import bpy, make_active
from lipsync_helpers import LINE, generate, mapped_head, setup_scene, use_sound

HERE = Path(__file__).resolve().parent


def test_bad_sound_files_are_refused_and_blender_keeps_running(tmp_path):
    completed = subprocess.run([sys.executable, str(HERE / "hostile_session.py"), str(tmp_path)],
                               capture_output=True, text=True, timeout=600, env={**os.environ, "LIPKIT_RAISE": "1"})
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    assert completed.returncode == 0 and lines, (
        f"Blender ended with {completed.returncode}:\n{completed.stdout[-2000:]}\n{completed.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    for name, message in result["generate"].items():
        assert name in message, f"{name}: {message!r}"
        assert "unexpected" not in message, f"{name}: {message!r}"
    assert result["generate"]["rate-4ghz.wav"].count("4000000000 Hz") == 1
    if bpy.app.build_options.audaspace:
        assert "replaced.wav" in result["strip"] and "unexpected" not in result["strip"]
    document = result["batch"]
    statuses = {row["shot"]: (row["status"], row["error"]) for row in document["results"]}
    assert statuses["first"][0] == "done" and statuses["last"][0] in ("done", "cached"), statuses
    bad = [name for name in statuses if name.startswith("bad")]
    assert len(bad) == 6 and all(statuses[name][0] == "failed" and statuses[name][1] for name in bad), statuses
    assert result["takes"] == 2


def test_a_shot_list_with_numbers_out_of_range_loads_every_row(addon, tmp_path):
    setup_scene()
    head = mapped_head()
    head.name = "Alice"
    (tmp_path / "line.wav").write_bytes(LINE.read_bytes())
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    rows = ["a,line.wav,Alice,1,2147483648", "b,line.wav,Alice,99999999999,0", "c,line.wav,Alice,1,-1",
            "d,line.wav,Alice,-2147483649,0", "e,line.wav,Alice,1e400,0", "f,line.wav,Alice,1,0", "g,line.wav,Alice,5,7"]
    (tmp_path / "shots.csv").write_text("shot,audio,character,start frame,seed\n" + "\n".join(rows) + "\n")
    before = list(bpy.data.texts.keys())
    assert bpy.ops.lipkit.shots_load(filepath=str(tmp_path / "shots.csv")) == {"FINISHED"}
    shots = bpy.context.scene.lipkit.shots
    assert [shot.name for shot in shots] == list("abcdefg")
    assert [bool(shot.error) for shot in shots] == [True] * 5 + [False, False]
    assert "seed must be from 0 to 2147483647" in shots[0].error
    assert "start frame must be from -1048574 to 1048574" in shots[1].error
    assert (shots[6].start_frame, shots[6].seed) == (5, 7)
    assert list(bpy.data.texts.keys()) == before


def test_colliding_shot_names_are_refused_per_row(addon, tmp_path):
    setup_scene()
    head = mapped_head()
    head.name = "Alice"
    (tmp_path / "line.wav").write_bytes(LINE.read_bytes())
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    names = ["s1", "S1", "CON", "nul", "com1", "con.txt", "take.", "batch-report", "fine"]
    rows = [f"{name},line.wav,Alice,1,0" for name in names]
    (tmp_path / "shots.csv").write_text("shot,audio,character,start frame,seed\n" + "\n".join(rows) + "\n")
    assert bpy.ops.lipkit.shots_load(filepath=str(tmp_path / "shots.csv")) == {"FINISHED"}
    errors = {shot.name: shot.error for shot in bpy.context.scene.lipkit.shots}
    assert not errors["s1"] and not errors["fine"]
    assert "first on row 2" in errors["S1"]
    assert all(errors[name] for name in names[2:-1])
    # names edited in the list afterwards are checked again when the batch runs
    shots = bpy.context.scene.lipkit.shots
    shots[-1].name = "FINE."
    shots[1].name, shots[1].error, shots[1].enabled = "S1", "", True
    make_active(head)
    assert bpy.ops.lipkit.batch(cache_dir=str(tmp_path / "cache")) == {"FINISHED"}
    document = json.loads(bpy.data.texts["Lipkit Batch.json"].as_string())
    status = {row["shot"]: (row["status"], row["error"]) for row in document["results"]}
    assert status["s1"][0] == "done"
    assert status["S1"][0] == "invalid" and "case" in status["S1"][1]
    assert status["FINE."][0] == "invalid" and "trailing dot" in status["FINE."][1]


def test_generate_warns_about_ambiguous_channels(addon, capfd):
    scene = setup_scene()
    arkit = __import__("bpy_helpers").submodule("inference.arkit")
    names = [name for name in arkit.NAMES if name != "jawOpen"] + ["jaw_open", "Jaw Open"]
    head = mapped_head(names)
    assert next(item for item in head.lipkit.channels if item.channel == "jawOpen").status == "AMBIGUOUS"
    use_sound(scene, 1)
    capfd.readouterr()
    generate(scene)
    printed = capfd.readouterr()
    text = printed.out + printed.err
    assert "1 ambiguous channel(s) left out of the take: jawOpen (" in text, text[-2000:]
    item = next(item for item in head.lipkit.channels if item.channel == "jawOpen")
    item.shape_key = "jaw_open"                  # the animator picks one: no warning any more
    generate(scene)
    printed = capfd.readouterr()
    assert "ambiguous" not in printed.out + printed.err


def test_a_scene_frame_rate_out_of_range_is_refused(addon):
    scene = setup_scene()
    mapped_head()
    use_sound(scene, 1)
    scene.render.fps, scene.render.fps_base = 120, 0.0001
    before = set(bpy.data.actions.keys())
    try:
        bpy.ops.lipkit.generate()
    except RuntimeError as exc:
        assert "the scene's frame rate must be from 1 to 240" in str(exc)
    else:
        raise AssertionError("a 1.2 MHz scene was lip-synced")
    assert set(bpy.data.actions.keys()) == before
