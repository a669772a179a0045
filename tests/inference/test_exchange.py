"""Curves files: Lipkit JSON, per-frame CSV with rig naming, and Live Link Face CSV round trips."""

import numpy as np
import pytest

from inference import arkit, exchange
from inference.curves import Curves


def _curves(fps, frames=90, seed=0):
    return Curves(fps, np.random.default_rng(seed).random((frames, 52), dtype=np.float32))


@pytest.mark.parametrize("fps", [24.0, 30000 / 1001, 60.0])
def test_live_link_face_csv_round_trip(tmp_path, fps):
    curves = _curves(fps)
    path = tmp_path / "take.csv"
    path.write_text(exchange.llf_csv_text(curves))
    header = path.read_text().splitlines()[0].split(",")
    assert header[:4] == ["Timecode", "BlendShapeCount", "EyeBlinkLeft", "EyeLookDownLeft"]
    assert "TongueOut" in header and header[-1] == "RightEyeRoll"
    back = exchange.read_curves_file(path, fps=fps)
    assert back.curves.num_frames == curves.num_frames
    np.testing.assert_allclose(back.curves.times(), curves.times(), atol=1e-3)
    np.testing.assert_allclose(back.curves.values, curves.values, atol=1e-6)


def test_live_link_face_fps_is_read_from_frame_numbers(tmp_path):
    path = tmp_path / "take.csv"
    path.write_text(exchange.llf_csv_text(_curves(30.0)))
    assert exchange.read_curves_file(path).curves.fps == 30.0


def test_json_and_rig_named_csv(tmp_path):
    curves = _curves(24.0, frames=10)
    json_path = tmp_path / "a.json"
    import json
    json_path.write_text(json.dumps(curves.to_json_dict()))
    np.testing.assert_allclose(exchange.read_curves_file(json_path).curves.values, curves.values, atol=1e-6)

    csv_path = tmp_path / "b.csv"
    rows = ["time,JawOpen,eyeBlink_L,HeadYaw"] + [f"{i / 25:.4f},{i / 10:.2f},0.5,0.1" for i in range(10)]
    csv_path.write_text("\n".join(rows) + "\n")
    loaded = exchange.read_curves_file(csv_path)
    assert loaded.curves.fps == 25.0
    np.testing.assert_allclose(loaded.curves.channel("jawOpen"), np.arange(10) / 10, atol=1e-6)
    assert loaded.curves.channel("eyeBlinkLeft")[0] == 0.5
    assert "HeadYaw" in loaded.warnings[0]
    assert loaded.curves.channels == arkit.NAMES


@pytest.mark.parametrize("text, words", [
    ("jawOpen\n", "at least one frame"),
    ("jawOpen,mouthClose\n0.1\n", "rows have 1 cells"),
    ("jawOpen\nabc\n", "must be a number"),
    ("jawOpen\n0.1\n", "frame rate must be given"),
    ("time,jawOpen\n0,0\n0.1,0\n0.5,0\n", "not evenly spaced"),
    ("time,foo\n0,0\n0.1,0\n", "no column names an ARKit channel"),
])
def test_malformed_csv_files_are_explained(tmp_path, text, words):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=words):
        exchange.read_curves_file(path)


def test_other_extensions_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match="must be .json or .csv"):
        (tmp_path / "x.txt").write_text("1")
        exchange.read_curves_file(tmp_path / "x.txt")
    with pytest.raises(ValueError, match="cannot read"):
        exchange.read_curves_file(tmp_path / "missing.json")
