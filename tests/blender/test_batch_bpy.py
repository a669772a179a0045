"""Batches in real Blender: shot lists from the sequencer or a file, one take per shot, the cache
across a stop and a re-run, a moved strip, broken rows, the `lipkit` command and bad .blend files."""

import json
import re
import shutil

import pytest

from bpy_helpers import REPO_ROOT, bpy, make_active, submodule
from lipsync_helpers import LINE, mapped_head, need_strips, setup_scene, take_values


def batch_ops():
    return submodule("operators.batch_ops")


def takes_of(head):
    return [item.action for item in head.lipkit.takes if item.action is not None]


def fast_layers(scene):
    for layer in ("blinks", "gaze", "brows", "head"):
        setattr(scene.lipkit, f"layer_{layer}", False)


def characters():
    """Alice (an object) and Bob (a collection holding a mapped mesh), both mapped."""
    alice = mapped_head()
    alice.name = "Alice"
    bob_head = mapped_head()
    bob_head.name = "BobHead"
    bob = bpy.data.collections.new("Bob")
    bpy.context.scene.collection.children.link(bob)
    bob.objects.link(bob_head)
    return alice, bob_head


def saved_project(tmp_path):
    """The open file saved as tmp/project/scene.blend, the sample line beside it."""
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(LINE, folder / "line.wav")
    bpy.ops.wm.save_as_mainfile(filepath=str(folder / "scene.blend"))
    return folder


def write_list(folder, rows, name="shots.csv"):
    path = folder / name
    path.write_text("shot,audio,character,start frame,seed\n" + "\n".join(rows) + "\n")
    return path


def run_batch(tmp_path, **kwargs):
    assert bpy.ops.lipkit.batch(cache_dir=str(tmp_path / "cache"), **kwargs) == {"FINISHED"}
    return json.loads(bpy.data.texts[batch_ops().REPORT_TEXT].as_string())


def add_strip(scene, name, frame, channel=1):
    editor = scene.sequence_editor or scene.sequence_editor_create()
    container = editor.strips if hasattr(editor, "strips") else editor.sequences
    return container.new_sound(name, str(LINE), channel, frame)


def test_scan_sequencer_matches_strips_to_characters(addon):
    need_strips()
    scene = setup_scene()
    characters()
    add_strip(scene, "Bob_l02", 200, 2)
    add_strip(scene, "Alice_l01", 1)
    add_strip(scene, "Carol_l03", 300, 3)
    narrator = add_strip(scene, "line 4", 400, 4)
    narrator["lipkit_character"] = "Alice"
    muted = add_strip(scene, "Alice_muted", 500, 5)
    muted.mute = True
    assert bpy.ops.lipkit.shots_scan() == {"FINISHED"}
    shots = scene.lipkit.shots
    assert [(s.name, s.character, s.start_frame) for s in shots] == [
        ("Alice_l01", "Alice", 1), ("Bob_l02", "Bob", 200), ("Carol_l03", "Carol", 300), ("line 4", "Alice", 400)]
    assert [bool(s.error) for s in shots] == [False, False, True, False]
    assert "no object or collection named 'Carol'" in shots[2].error


def test_a_scanned_batch_writes_one_take_per_shot_and_reruns_from_what_it_made(addon, tmp_path):
    need_strips()
    scene = setup_scene()
    fast_layers(scene)
    alice, bob = characters()
    add_strip(scene, "Alice_l01", 11)
    moving = add_strip(scene, "Bob_l02", 120, 2)
    bpy.ops.lipkit.shots_scan()
    scene.lipkit.shots[1].seed = 1  # the same line with the same settings would come from the cache
    document = run_batch(tmp_path, report_path=str(tmp_path / "report.json"))
    assert (document["done"], document["failed"]) == (2, 0)
    assert json.loads((tmp_path / "report.json").read_text()) == document
    assert bpy.data.texts[batch_ops().SUMMARY_TEXT].as_string().startswith("Lipkit batch: 2 shots: 2 made")
    (alice_take,), (bob_take,) = takes_of(alice), takes_of(bob)
    assert alice_take.name == "Alice_l01 take 1" and take_values(alice, alice_take)[0][0] == 11
    frames, values = take_values(bob, bob_take)
    assert frames[0] == 120

    again = run_batch(tmp_path)
    assert (again["cached"], again["done"]) == (2, 0)
    assert takes_of(alice) == [alice_take] and takes_of(bob) == [bob_take]  # nothing duplicated

    moving.frame_start += 30
    moved = run_batch(tmp_path)
    assert moved["cached"] == 2 and "moved to frame 150" in moved["results"][1]["warnings"][0]
    assert takes_of(bob) == [bob_take]
    shifted_frames, shifted_values = take_values(bob, bob_take)
    assert (shifted_frames == frames + 30).all() and (shifted_values == values).all()
    key = bob.data.shape_keys
    assert [strip.frame_start for track, _ in submodule("animation.takes").take_tracks(key)
            for strip in track.strips] == [150]

    scene.lipkit.shots[0].seed = 5
    changed = run_batch(tmp_path)
    assert (changed["done"], changed["cached"]) == (1, 1) and len(takes_of(alice)) == 2


def test_stopped_after_two_of_four_then_rerun_finishes_without_duplicates(addon, tmp_path):
    scene = setup_scene()
    fast_layers(scene)
    alice, _ = characters()
    folder = saved_project(tmp_path)
    path = write_list(folder, [f"sh{i},line.wav,Alice,{1 + 100 * i},{i}" for i in range(4)])
    assert bpy.ops.lipkit.shots_load(filepath=str(path)) == {"FINISHED"}
    run = batch_ops().BatchRun(bpy.context, str(tmp_path / "cache"))
    for _ in range(2):  # what the modal operator does per shot, then ESC
        plan = run.next_plan()
        run.write(plan, run.work(plan)(None, None), 0.0)
    document = run.finish(stopped=True)
    assert document["stopped_after"] == 2 and document["of"] == 4 and document["not_run"] == 2
    assert bpy.data.texts["Lipkit Batch"].as_string().startswith("Lipkit batch: stopped after 2 of 4 shots")
    assert len(takes_of(alice)) == 2

    rerun = run_batch(tmp_path)
    assert [r["status"] for r in rerun["results"]] == ["cached", "cached", "done", "done"]
    names = sorted(action.name for action in takes_of(alice))
    assert names == [f"sh{i} take 1" for i in range(4)]
    assert [take_values(alice, action)[0][0] for action in takes_of(alice)] == [1, 101, 201, 301]


def test_a_shot_list_with_broken_rows_runs_the_others(addon, tmp_path):
    scene = setup_scene()
    fast_layers(scene)
    alice, bob = characters()
    make_active(alice)
    folder = saved_project(tmp_path)
    shutil.copy(LINE, tmp_path / "outside.wav")
    path = write_list(folder, ["a,line.wav,Alice,1,0", "b,missing.wav,Alice,1,0", "c,line.wav,Carol,1,0",
                               "a,line.wav,Bob,1,0", "d,../outside.wav,Bob,1,0", "e,line.wav,Bob,50,1"])
    assert bpy.ops.lipkit.shots_load(filepath=str(path)) == {"FINISHED"}
    assert [(s.row, bool(s.error)) for s in scene.lipkit.shots] == [
        (2, False), (3, True), (4, True), (5, True), (6, True), (7, False)]
    document = run_batch(tmp_path)
    assert (document["done"], document["invalid"]) == (2, 4)
    problems = {r["row"]: r["error"] for r in document["results"] if r["status"] == "invalid"}
    assert sorted(problems) == [3, 4, 5, 6]
    assert "missing" in problems[3] and "unknown character 'Carol'" in problems[4]
    assert "duplicate shot name 'a'" in problems[5] and "outside the project folder" in problems[6]
    assert len(takes_of(alice)) == 1 and len(takes_of(bob)) == 1


def test_a_cache_folder_that_cannot_be_written_still_makes_the_takes(addon, tmp_path):
    scene = setup_scene()
    fast_layers(scene)
    alice, _ = characters()
    folder = saved_project(tmp_path)
    bpy.ops.lipkit.shots_load(filepath=str(write_list(folder, ["a,line.wav,Alice,1,0"])))
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    document = run_batch(tmp_path)
    assert document["done"] == 1 and document["results"][0]["warnings"][0].startswith("result not cached")
    assert len(takes_of(alice)) == 1


def test_the_command_runs_a_shot_list_and_saves(addon, tmp_path):
    scene = setup_scene()
    fast_layers(scene)
    characters()
    folder = saved_project(tmp_path)
    path = write_list(folder, ["a,line.wav,Alice,1,0", "b,line.wav,Bob,40,1", "c,gone.wav,Bob,1,0"])
    report = tmp_path / "report.json"
    command = batch_ops().command
    assert command(["batch", str(path), "--save", "--report", str(report), "--cache", str(tmp_path / "c")]) == 1
    document = json.loads(report.read_text())
    assert (document["done"], document["invalid"]) == (2, 1)
    bpy.ops.wm.open_mainfile(filepath=str(folder / "scene.blend"))
    assert len(bpy.data.objects["Alice"].lipkit.takes) == 1 and len(bpy.data.objects["BobHead"].lipkit.takes) == 1
    assert command(["batch", str(path), "--shot", "a", "--cache", str(tmp_path / "c"),
                    "--report", str(report)]) == 0
    assert [r["status"] for r in json.loads(report.read_text())["results"]] == ["cached"]
    assert command(["batch", str(path), "--shot", "zz"]) == 2
    assert command(["batch", str(folder / "nope.csv")]) == 2
    assert command(["frobnicate"]) == 2


def newer_copy(source, target):
    """A copy of a .blend whose header says a later Blender (same major, minor + 7) wrote it."""
    data = source.read_bytes()
    found = re.match(rb"BLENDER(?:-|_|17-01)v(\d+)", data)
    assert found, "an uncompressed .blend starts with its version"
    digits = found.group(1)
    newer = str(int(digits) + 7).zfill(len(digits)).encode()
    target.write_bytes(data[:found.start(1)] + newer + data[found.end(1):])


def test_the_command_refuses_a_blend_saved_by_a_newer_blender(addon, tmp_path):
    setup_scene()
    characters()
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(LINE, folder / "line.wav")
    bpy.ops.wm.save_as_mainfile(filepath=str(folder / "made.blend"), compress=False)
    newer_copy(folder / "made.blend", folder / "scene.blend")
    bpy.ops.wm.open_mainfile(filepath=str(folder / "scene.blend"))
    assert tuple(bpy.data.version)[:2] > tuple(bpy.app.version)[:2]
    before = (folder / "scene.blend").read_bytes()
    path = write_list(folder, ["a,line.wav,Alice,1,0", "b,line.wav,Bob,1,0"])
    report = tmp_path / "report.json"
    assert batch_ops().command(["batch", str(path), "--save", "--report", str(report)]) == 1
    document = json.loads(report.read_text())
    assert document["invalid"] == 2 and all("newer than this Blender" in r["error"] for r in document["results"])
    assert (folder / "scene.blend").read_bytes() == before and not bpy.data.objects["Alice"].lipkit.takes


def test_the_command_without_a_blend_reports_every_shot(addon, tmp_path):
    shutil.copy(LINE, tmp_path / "line.wav")
    path = write_list(tmp_path, ["a,line.wav,Alice,1,0"])
    report = tmp_path / "report.json"
    assert batch_ops().command(["batch", str(path), "--report", str(report)]) == 1
    assert "no .blend is open" in json.loads(report.read_text())["results"][0]["error"]


def test_the_command_is_registered(lipkit):
    assert batch_ops()._command_handle is not None


def test_the_batch_refuses_an_empty_list(addon):
    with pytest.raises(RuntimeError, match="the shot list is empty"):
        bpy.ops.lipkit.batch()


def test_the_flamenco_job_type_submits_the_enabled_runnable_shots(addon, tmp_path):
    """The job type's `eval` setting, evaluated as the Flamenco add-on does (Python, with C the context)."""
    setup_scene()
    characters()
    folder = saved_project(tmp_path)
    bpy.ops.lipkit.shots_load(filepath=str(write_list(folder, ["a,line.wav,Alice,1,0", "b,gone.wav,Bob,1,0",
                                                                "c,line.wav,Bob,1,0", "d,line.wav,Alice,1,0"])))
    bpy.context.scene.lipkit.shots["d"].enabled = False
    job_type = (REPO_ROOT / "farm" / "flamenco" / "lipkit-batch.js").read_text()
    expression = re.search(r'eval: "(.*)",', job_type).group(1)
    assert json.loads(eval(expression, {"C": bpy.context})) == ["a", "c"]
