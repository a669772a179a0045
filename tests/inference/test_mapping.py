"""Rig mapping across real-world shape-key naming (pure logic, no Blender)."""

import csv

import pytest

from inference import arkit, mapping
from inference.errors import MappingError


def _rename(transform):
    return {transform(name): name for name in arkit.NAMES}


@pytest.mark.parametrize("transform", [
    lambda n: n,                                                  # exact
    lambda n: n[0].upper() + n[1:],                               # JawOpen
    lambda n: n.upper(),                                          # JAWOPEN
    lambda n: "blendShape1." + n,                                 # Maya namespace
    lambda n: "ARKit_" + n,                                       # unknown prefix
    lambda n: mapping.re.sub(r"(?<!^)([A-Z])", r"_\1", n).lower(),  # jaw_open
    lambda n: mapping.re.sub(r"(?<!^)([A-Z])", r" \1", n).title(),  # Jaw Open
    lambda n: n.replace("Left", "_L").replace("Right", "_R"),    # eyeBlink_L
    lambda n: n.replace("Left", ".L").replace("Right", ".R"),    # eyeBlink.L (Blender style)
])
def test_every_naming_variant_maps_all_52_channels_without_a_wrong_match(transform):
    rig = _rename(transform)
    assert len(rig) == 52, "the variant itself must keep names distinct"
    matches = mapping.detect(list(rig) + ["Basis"])
    assert mapping.summary(matches)[mapping.MATCHED] == 52
    for channel, match in matches.items():
        assert rig[match.shape_key] == channel


def test_facecap_header_names_map_all_52(shared_data):
    with open(shared_data / "faces/facecap/facecap_take001_weights.csv", newline="") as handle:
        header = next(csv.reader(handle))
    keys = [name for name in header if name != "time"]
    matches = mapping.detect(keys)
    assert mapping.summary(matches)[mapping.MATCHED] == 52
    assert matches["eyeBlinkLeft"].shape_key == "eyeBlink_L"
    assert matches["mouthLeft"].shape_key == "mouthLeft"
    assert matches["mouthSmileRight"].shape_key == "mouthSmile_R"


def test_reference_face_names_map_51_and_report_tongue_missing(shared_data):
    keys = [p.stem for p in (shared_data / "faces/arkit_reference_face/obj").glob("*.obj")]
    matches = mapping.detect(keys)
    assert mapping.summary(matches) == {"MATCHED": 51, "MISSING": 1, "AMBIGUOUS": 0, "MANUAL": 0}
    assert matches["tongueOut"].status == mapping.MISSING
    assert all(m.shape_key == c for c, m in matches.items() if m.status == mapping.MATCHED)


def test_two_keys_for_one_channel_are_ambiguous_not_guessed():
    matches = mapping.detect(["jawOpen", "eyeBlink_L", "eyeBlinkLeft_old", "EyeBlink.L"])
    assert matches["jawOpen"].status == mapping.MATCHED
    blink = matches["eyeBlinkLeft"]
    assert blink.status == mapping.AMBIGUOUS and blink.shape_key == ""
    assert set(blink.candidates) == {"eyeBlink_L", "EyeBlink.L"}


def test_better_tier_wins_over_a_looser_one():
    matches = mapping.detect(["jawOpen", "JawOpen", "jaw_open"])
    assert matches["jawOpen"].shape_key == "jawOpen" and matches["jawOpen"].status == mapping.MATCHED


def test_unrelated_names_match_nothing():
    matches = mapping.detect(["Basis", "Key 1", "smile", "blink", "open", "eyeBlinkLeftUpper"])
    assert mapping.summary(matches)[mapping.MISSING] == 52


def test_manual_choice_overrides_and_is_not_offered_twice():
    matches = mapping.detect(["jawOpen", "MyJaw"], manual={"jawOpen": "MyJaw", "mouthClose": "jawOpen"})
    assert matches["jawOpen"] == mapping.ChannelMatch("jawOpen", "MyJaw", mapping.MANUAL)
    assert matches["mouthClose"].shape_key == "jawOpen"
    assert mapping.mapped_pairs(matches) == {"jawOpen": "MyJaw", "mouthClose": "jawOpen"}


def test_preset_round_trip_and_bad_documents():
    pairs = {"jawOpen": "Jaw_Open", "eyeBlinkLeft": "eyeBlink_L"}
    assert mapping.preset_from_json(mapping.preset_to_json(pairs, "Hero")) == pairs
    for text, words in [
        ("{not json", "not valid JSON"),
        ('{"channels": {}}', "not a Lipkit mapping preset"),
        ('{"format": "lipkit-mapping", "version": 99, "channels": {}}', "version 99"),
        ('{"format": "lipkit-mapping", "version": 1, "channels": {"jawOpn": "x"}}', "jawOpn"),
        ('{"format": "lipkit-mapping", "version": 1, "channels": [1]}', "must map"),
    ]:
        with pytest.raises(MappingError, match=words):
            mapping.preset_from_json(text)
