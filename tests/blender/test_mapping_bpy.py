"""Rig mapping inside Blender: real faces, naming variants, several meshes, presets, bad input."""

import json

import pytest

from bpy_helpers import (bpy, build_reference_face, import_facecap_head, make_active, make_mesh,
                         link_mesh_from_library, open_reference_face_blend, submodule)


def _mapping(head) -> dict:
    return {item.channel: (item.shape_key, item.status) for item in head.lipkit.channels}


@pytest.mark.parametrize("load", [build_reference_face, open_reference_face_blend])
def test_reference_face_maps_51_exact_names_and_reports_tongue_missing(addon, shared_data, load):
    head = load(shared_data)
    assert bpy.ops.lipkit.mapping_detect() == {"FINISHED"}
    result = _mapping(head)
    assert len(result) == 52
    matched = {c: k for c, (k, s) in result.items() if s == "MATCHED"}
    assert len(matched) == 51 and all(c == k for c, k in matched.items())
    assert result["tongueOut"] == ("", "MISSING")


def test_facecap_head_maps_all_52_l_r_names(addon, shared_data):
    head = import_facecap_head(shared_data)
    assert bpy.ops.lipkit.mapping_detect() == {"FINISHED"}
    result = _mapping(head)
    assert all(status == "MATCHED" for _, status in result.values())
    for channel, (key, _) in result.items():
        expected = channel.replace("Left", "_L").replace("Right", "_R")
        if channel in ("mouthLeft", "mouthRight", "jawLeft", "jawRight"):
            expected = channel
        assert key == expected, (channel, key)


@pytest.mark.parametrize("style", ["blendShape1.{}", "ARKit_{}", "{cap}", "{snake}"])
def test_naming_variants_in_blender(addon, style):
    arkit = submodule("inference.arkit")
    import re

    def name(channel):
        return style.format(channel, cap=channel[0].upper() + channel[1:],
                            snake=re.sub(r"(?<!^)([A-Z])", r"_\1", channel).lower())
    head = make_mesh("Head", [name(c) for c in arkit.NAMES])
    make_active(head)
    bpy.ops.lipkit.mapping_detect()
    assert {c: k for c, (k, _) in _mapping(head).items()} == {c: name(c) for c in arkit.NAMES}


def test_one_mapping_drives_child_meshes_that_share_names(addon):
    head = make_mesh("Head", ["jawOpen", "mouthClose", "eyeBlinkLeft"])
    teeth = make_mesh("Teeth", ["jawOpen"], parent=head)
    make_mesh("Unrelated", ["somethingElse"], parent=head)
    make_active(head)
    bpy.ops.lipkit.mapping_detect()
    assert [m.object for m in head.lipkit.meshes] == [teeth]
    bpy.ops.lipkit.mapping_detect()  # detecting again adds nothing twice
    assert len(head.lipkit.meshes) == 1


def test_two_candidates_are_ambiguous_and_a_manual_choice_sticks(addon):
    head = make_mesh("Head", ["jawOpen", "eyeBlink_L", "EyeBlink.L"])
    make_active(head)
    bpy.ops.lipkit.mapping_detect()
    item = next(i for i in head.lipkit.channels if i.channel == "eyeBlinkLeft")
    assert item.status == "AMBIGUOUS" and item.shape_key == ""
    assert set(item.candidates.split(", ")) == {"eyeBlink_L", "EyeBlink.L"}
    item.shape_key = "EyeBlink.L"  # the animator picks one in the list
    assert item.status == "MANUAL"
    bpy.ops.lipkit.mapping_detect()
    assert _mapping(head)["eyeBlinkLeft"] == ("EyeBlink.L", "MANUAL")
    bpy.ops.lipkit.mapping_detect(keep_manual=False)
    assert _mapping(head)["eyeBlinkLeft"][1] == "AMBIGUOUS"


def test_preset_round_trip_onto_a_rig_with_custom_names(addon, tmp_path):
    source = make_mesh("Source", ["MyJaw", "jawOpen_old"])
    make_active(source)
    bpy.ops.lipkit.mapping_detect()
    next(i for i in source.lipkit.channels if i.channel == "jawOpen").shape_key = "MyJaw"
    path = tmp_path / "rig.json"
    assert bpy.ops.lipkit.mapping_preset_save(filepath=str(path)) == {"FINISHED"}
    assert json.loads(path.read_text())["channels"]["jawOpen"] == "MyJaw"

    target = make_mesh("Target", ["MyJaw", "mouthClose"])
    make_active(target)
    assert bpy.ops.lipkit.mapping_preset_load(filepath=str(path)) == {"FINISHED"}
    result = _mapping(target)
    assert result["jawOpen"] == ("MyJaw", "MANUAL") and result["mouthClose"] == ("mouthClose", "MATCHED")


def test_a_damaged_preset_is_reported_and_changes_nothing(addon, tmp_path):
    head = make_mesh("Head", ["jawOpen"])
    make_active(head)
    bpy.ops.lipkit.mapping_detect()
    before = _mapping(head)
    path = tmp_path / "broken.json"
    path.write_text('{"format": "lipkit-mapping", "version": 1, "channels": {"jawOpn": "x"}}')
    with pytest.raises(RuntimeError, match="unknown ARKit channels: jawOpn"):
        bpy.ops.lipkit.mapping_preset_load(filepath=str(path))
    assert _mapping(head) == before


def test_non_mesh_and_mesh_without_shape_keys_get_clear_reports(addon):
    camera = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    bpy.context.scene.collection.objects.link(camera)
    make_active(camera)
    with pytest.raises(RuntimeError, match="'Cam' is a camera, not a mesh"):
        bpy.ops.lipkit.mapping_detect()
    plain = make_mesh("Plain")
    make_active(plain)
    with pytest.raises(RuntimeError, match="mesh 'Plain' has no shape keys"):
        bpy.ops.lipkit.mapping_detect()
    assert len(plain.lipkit.channels) == 0


def test_linked_character_is_refused_with_a_clear_report(addon, tmp_path):
    link_mesh_from_library(tmp_path, "LinkedHead")
    with pytest.raises(RuntimeError, match="is linked from"):
        bpy.ops.lipkit.mapping_detect()
