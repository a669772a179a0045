"""Takes in real Blender: bulk-written Actions at any fps, read back exactly, never losing the
animator's own action, on legacy (4.2) and slotted (4.4+, 5.0) actions alike."""

import numpy as np
import pytest

from bpy_helpers import (bpy, build_reference_face, import_facecap_head, link_mesh_from_library, make_active,
                         make_mesh, set_fps, submodule)

FPS_CASES = [(24, 1.0), (30000, 1001.0), (60, 1.0)]


def _random_curves(seconds: float, fps: float, seed: int = 0):
    curves_mod = submodule("inference.curves")
    rng = np.random.default_rng(seed)
    frames = int(round(seconds * fps))
    return curves_mod.Curves(fps, rng.random((frames, 52), dtype=np.float32))


def _mapped_head(addon, names=None):
    arkit = submodule("inference.arkit")
    head = make_mesh("Head", names or list(arkit.NAMES))
    make_active(head)
    bpy.ops.lipkit.mapping_detect()
    return head


def _write(head, curves, frame_start=1, source="line01"):
    takes = submodule("animation.takes")
    character = submodule("animation.character")
    action = takes.write_take(character.character_objects(head), curves, character.stored_pairs(head),
                              bpy.context.scene, frame_start, source)
    character.add_take(head, action)
    return action


@pytest.mark.parametrize("fps, fps_base", FPS_CASES)
def test_take_at_scene_fps_reads_back_exactly(addon, fps, fps_base):
    takes = submodule("animation.takes")
    character = submodule("animation.character")
    set_fps(bpy.context.scene, fps, fps_base)
    scene_fps = fps / fps_base
    head = _mapped_head(addon)
    curves = _random_curves(2.0, scene_fps)
    action = _write(head, curves, frame_start=101)

    frames, values = takes.read_take(action, character.stored_pairs(head))
    assert frames[0] == 101 and len(frames) == curves.num_frames
    np.testing.assert_array_equal(frames, 101 + np.arange(curves.num_frames))
    assert np.abs(values - curves.values).max() <= 1e-6
    assert takes.take_info(action)["fps"] == pytest.approx(scene_fps)

    # What Blender evaluates on the shape keys is what was written.
    key = head.data.shape_keys
    for frame in (101, 120, 101 + curves.num_frames - 1):
        bpy.context.scene.frame_set(frame)
        for channel in ("jawOpen", "eyeBlinkLeft", "tongueOut"):
            expected = curves.values[frame - 101, submodule("inference.arkit").INDEX[channel]]
            assert key.key_blocks[channel].value == pytest.approx(expected, abs=1e-6)


def test_outside_its_frames_a_take_holds_its_first_and_last_pose(addon):
    """Not each key's default: on Blender 5.0 a shape key's default value is 1.0, so a take that
    played nothing outside its frames shut the eyes and opened the jaw before and after it."""
    arkit = submodule("inference.arkit")
    set_fps(bpy.context.scene, 24, 1.0)
    head = _mapped_head(addon)
    curves = _random_curves(1.0, 24.0, seed=3)
    _write(head, curves, frame_start=50)
    key = head.data.shape_keys
    last = 50 + curves.num_frames - 1
    for frame, row in ((1, 0), (49, 0), (50, 0), (last, -1), (last + 1, -1), (last + 500, -1)):
        bpy.context.scene.frame_set(frame)
        for channel in ("jawOpen", "eyeBlinkLeft", "mouthClose", "browInnerUp"):
            expected = curves.values[row, arkit.INDEX[channel]]
            assert key.key_blocks[channel].value == pytest.approx(expected, abs=1e-6), (frame, channel)


@pytest.mark.parametrize("fps, fps_base", FPS_CASES)
def test_curves_at_another_rate_land_on_the_right_frames(addon, fps, fps_base):
    takes = submodule("animation.takes")
    character = submodule("animation.character")
    set_fps(bpy.context.scene, fps, fps_base)
    scene_fps = fps / fps_base
    head = _mapped_head(addon)
    t = np.arange(0, 90) / 30.0  # 3 s of a smooth ramp at 30 fps
    curves = submodule("inference.curves").Curves(30.0, np.repeat((t / 3.0)[:, None], 52, axis=1))
    action = _write(head, curves, frame_start=1)
    frames, values = takes.read_take(action, character.stored_pairs(head))
    seconds = (frames - 1) / scene_fps
    np.testing.assert_allclose(values[:, 0], np.minimum(seconds, t[-1]) / 3.0, atol=1e-5)
    assert seconds[-1] <= t[-1] + 1e-9 and t[-1] - seconds[-1] < 1 / scene_fps


def test_fcurves_are_grouped_by_face_region(addon):
    head = _mapped_head(addon)
    action = _write(head, _random_curves(0.5, 24))
    if hasattr(action, "slots"):
        container = action.layers[0].strips[0].channelbag(action.slots[0])
    else:
        container = action
    groups = {fc.data_path: fc.group.name for fc in container.fcurves}
    assert groups['key_blocks["jawOpen"].value'] == "Jaw"
    assert groups['key_blocks["mouthSmileLeft"].value'] == "Mouth Corners"
    assert groups['key_blocks["eyeBlinkRight"].value'] == "Eyes"
    assert len(groups) == 52


def test_takes_stack_on_the_nla_and_the_animators_action_stays_on_top(addon):
    takes = submodule("animation.takes")
    head = _mapped_head(addon)
    key = head.data.shape_keys
    key.key_blocks["jawOpen"].value = 0.7
    key.key_blocks["jawOpen"].keyframe_insert("value", frame=5)
    own = key.animation_data.action
    own_name = own.name

    first = _write(head, _random_curves(1, 24), source="a")
    second = _write(head, _random_curves(1, 24, seed=1), source="a")
    assert (first.name, second.name) == ("a take 1", "a take 2")
    assert key.animation_data.action == own, "the animator's action is never replaced"
    assert takes.active_take(key) == second
    assert [take for _, take in takes.take_tracks(key)] == [first, second]
    assert takes.is_muted(key, first) and not takes.is_muted(key, second)

    assert bpy.ops.lipkit.take_restore_original() == {"FINISHED"}
    assert takes.active_take(key) is None and key.animation_data.action == own
    bpy.context.scene.frame_set(5)
    assert key.key_blocks["jawOpen"].value == pytest.approx(0.7)

    assert bpy.ops.lipkit.take_activate(index=0) == {"FINISHED"}
    assert takes.active_take(key) == first
    assert bpy.ops.lipkit.take_delete(index=0) == {"FINISHED"}
    assert "a take 1" not in bpy.data.actions and bpy.data.actions.get(own_name) == own
    assert [take for _, take in takes.take_tracks(key)] == [second]
    assert [t.action for t in head.lipkit.takes] == [second]


def test_rename_by_editing_the_action_name_keeps_the_list(addon):
    head = _mapped_head(addon)
    action = _write(head, _random_curves(1, 24))
    action.name = "hero line, best"
    assert head.lipkit.takes[0].action.name == "hero line, best"


def test_scene_fps_changed_after_a_take_is_reported(addon):
    takes = submodule("animation.takes")
    set_fps(bpy.context.scene, 30)
    head = _mapped_head(addon)
    action = _write(head, _random_curves(1, 30))
    assert takes.fps_mismatch(action, bpy.context.scene) == ""
    set_fps(bpy.context.scene, 24)
    assert "written at 30.000 fps but the scene is now at 24.000" in takes.fps_mismatch(action, bpy.context.scene)


def test_one_take_drives_every_character_mesh(addon):
    takes = submodule("animation.takes")
    head = make_mesh("Head", ["jawOpen", "mouthClose"])
    teeth = make_mesh("Teeth", ["jawOpen"], parent=head)
    make_active(head)
    bpy.ops.lipkit.mapping_detect()
    action = _write(head, _random_curves(1, 24))
    assert takes.active_take(teeth.data.shape_keys) == action == takes.active_take(head.data.shape_keys)
    bpy.context.scene.frame_set(3)
    assert teeth.data.shape_keys.key_blocks["jawOpen"].value == head.data.shape_keys.key_blocks["jawOpen"].value


def test_bad_curves_and_linked_data_write_nothing(addon, tmp_path):
    takes = submodule("animation.takes")
    errors = submodule("inference.errors")
    head = _mapped_head(addon)
    curves = _random_curves(1, 24)
    broken = curves.with_values(np.where(np.arange(curves.num_frames)[:, None] == 5, np.nan, curves.values))
    before = set(bpy.data.actions.keys())
    with pytest.raises(errors.TakeError, match="NaN"):
        _write(head, broken)
    with pytest.raises(errors.TakeError, match="no mapped channels"):
        takes.write_take([head], curves, {}, bpy.context.scene, 1, "x")
    plain = make_mesh("Plain")
    with pytest.raises(errors.TakeError, match="no shape keys"):
        takes.write_take([head, plain], curves, {"jawOpen": "jawOpen"}, bpy.context.scene, 1, "x")
    assert set(bpy.data.actions.keys()) == before


def test_import_facecap_csv_as_a_take(addon, shared_data):
    takes = submodule("animation.takes")
    character = submodule("animation.character")
    exchange = submodule("inference.exchange")
    set_fps(bpy.context.scene, 30)
    head = import_facecap_head(shared_data)
    bpy.ops.lipkit.mapping_detect()
    csv_path = shared_data / "faces/facecap/facecap_take001_weights.csv"
    assert bpy.ops.lipkit.take_import(filepath=str(csv_path), frame_start=1) == {"FINISHED"}
    action = head.lipkit.takes[0].action
    frames, values = takes.read_take(action, character.stored_pairs(head))
    loaded = exchange.read_curves_file(csv_path).curves
    # the CSV's first row is at 0.0475 s = frame 1 + 1.425: the first whole frame is 3
    assert frames[0] == 3
    expected = loaded.sample((frames - 1) / 30.0)
    assert np.abs(values - expected).max() <= 1e-6


def test_import_of_a_malformed_file_is_reported_and_writes_nothing(addon, tmp_path):
    head = _mapped_head(addon)
    bad = tmp_path / "bad.csv"
    bad.write_text("jawOpen,mouthClose\n0.1\n")
    before = set(bpy.data.actions.keys())
    with pytest.raises(RuntimeError, match="rows have 1 cells but the header names 2"):
        bpy.ops.lipkit.take_import(filepath=str(bad))
    assert set(bpy.data.actions.keys()) == before and len(head.lipkit.takes) == 0


def test_reference_face_take_moves_the_mouth(addon, shared_data):
    set_fps(bpy.context.scene, 24)
    head = build_reference_face(shared_data)
    bpy.ops.lipkit.mapping_detect()
    arkit = submodule("inference.arkit")
    values = np.zeros((48, 52), np.float32)
    values[:, arkit.INDEX["jawOpen"]] = np.sin(np.linspace(0, np.pi, 48))
    _write(head, submodule("inference.curves").Curves(24.0, values))
    bpy.context.scene.frame_set(1 + 24)
    moved = head.evaluated_get(bpy.context.evaluated_depsgraph_get()).to_mesh()
    rest = head.data
    travel = max((moved.vertices[i].co - rest.vertices[i].co).length for i in range(len(rest.vertices)))
    assert travel > 0.02, f"jawOpen near 1 should move the chin centimetres, moved {travel:.4f} m"


def test_a_take_on_linked_data_is_refused_and_writes_nothing(addon, tmp_path):
    takes = submodule("animation.takes")
    errors = submodule("inference.errors")
    linked = link_mesh_from_library(tmp_path, "LinkedHead")
    before = set(bpy.data.actions.keys())
    with pytest.raises(errors.TakeError, match="linked from"):
        takes.write_take([linked], _random_curves(1, 24), {"jawOpen": "jawOpen"}, bpy.context.scene, 1, "x")
    assert set(bpy.data.actions.keys()) == before
