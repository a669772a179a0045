"""Constraints: file validation, the grid, model-frame mapping, and the exact smooth correction."""

import json

import numpy as np
import pytest

from inference import arkit, constraints
from inference.constraints import Constraint, Constraints
from inference.curves import Curves

FPS = 30.0
MODEL_FPS = 50.0


def speech_like(num_frames: int, fps: float = FPS) -> np.ndarray:
    """A jaw-like curve: ~4 syllables a second under a slow loudness swell, within 0-1."""
    t = np.arange(num_frames) / fps
    return (0.35 + 0.25 * np.sin(2 * np.pi * 4.0 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))
            + 0.05 * np.sin(2 * np.pi * 9.0 * t + 1.0)).astype(np.float32)


def jaw_curves(curve: np.ndarray, fps: float = FPS) -> Curves:
    values = np.zeros((len(curve), arkit.NUM_CHANNELS), np.float32)
    values[:, arkit.INDEX["jawOpen"]] = curve
    return Curves(fps, values)


def grid_of(entries, num_frames) -> Constraints:
    grid, warnings = constraints.constraint_grid([Constraint(*entry) for entry in entries], num_frames)
    assert warnings == ()
    return grid


# --------------------------------------------------------------------------- reading


def test_a_valid_file_reads_in_order_and_repeats_count_once(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps([{"frame": 3, "channel": "jawOpen", "value": 0.5},
                                {"frame": 0, "channel": "mouthClose", "value": 1},
                                {"frame": 3, "channel": "jawOpen", "value": 0.5}]))
    assert constraints.read_constraints(path) == (Constraint(3, "jawOpen", 0.5), Constraint(0, "mouthClose", 1.0))


@pytest.mark.parametrize("data, words", [
    ({"frame": 1}, "must be a JSON list"),
    ([{"frame": 1, "channel": "jawOpen", "value": 0.5}, 7], "constraints[1]: expected an object with frame"),
    ([{"frame": 1, "channel": "jawOpen"}], "constraints[0]: missing value"),
    ([{"frame": 1, "channel": "jawOpen", "value": 0.5, "weight": 1}], "unknown key(s) weight"),
    ([{"frame": -1, "channel": "jawOpen", "value": 0.5}], "frame must be a whole number >= 0"),
    ([{"frame": 1.5, "channel": "jawOpen", "value": 0.5}], "frame must be a whole number"),
    ([{"frame": True, "channel": "jawOpen", "value": 0.5}], "frame must be a whole number"),
    ([{"frame": 1, "channel": "jawOpn", "value": 0.5}], '"jawOpn" is not an ARKit channel'),
    ([{"frame": 1, "channel": "jawOpen", "value": 1.5}], "value must be a number within 0-1"),
    ([{"frame": 1, "channel": "jawOpen", "value": "high"}], "value must be a number within 0-1"),
    ([{"frame": 1, "channel": "jawOpen", "value": 0.5}, {"frame": 2, "channel": "jawOpen", "value": 0.2},
      {"frame": 1, "channel": "jawOpen", "value": 0.6}],
     "constraints[2]: jawOpen at frame 1 is already 0.5 (constraints[0])"),
])
def test_invalid_constraints_name_the_entry(data, words):
    with pytest.raises(ValueError) as error:
        constraints.parse_constraints(data)
    assert words in str(error.value)


def test_non_finite_values_in_the_file_are_refused(tmp_path):
    path = tmp_path / "nan.json"
    path.write_text('[{"frame": 2, "channel": "jawOpen", "value": NaN}]')
    with pytest.raises(ValueError, match=r"nan.json: constraints\[0\]: value must be a number within 0-1"):
        constraints.read_constraints(path)


def test_unreadable_files_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="missing.json: cannot read"):
        constraints.read_constraints(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('[{"frame": 2,')
    with pytest.raises(ValueError, match="broken.json: not valid JSON"):
        constraints.read_constraints(broken)


def test_constraints_after_the_last_frame_are_dropped_with_a_warning():
    grid, warnings = constraints.constraint_grid([Constraint(2, "jawOpen", 0.4), Constraint(10, "jawOpen", 0.4)], 10)
    assert grid.count == 1 and grid.values[2, arkit.INDEX["jawOpen"]] == pytest.approx(0.4)
    assert len(warnings) == 1 and "after the last frame (9)" in warnings[0]


# --------------------------------------------------------------------------- model frames


@pytest.mark.parametrize("fps", [24.0, 25.0, 30.0, 29.97])
def test_inpainting_frames_carry_each_constraint_through_resampling(fps):
    """Model frames fixed on both sides of each constraint: the resampled curve meets it exactly

    (at rates up to 30 fps, where even adjacent output frames have model frames of their own).
    """
    num_frames, num_model = 60, int(60 / fps * MODEL_FPS) + 2
    entries = [(5, "jawOpen", 0.7), (6, "jawOpen", 0.2), (17, "mouthSmileLeft", 0.9), (40, "jawOpen", 0.0)]
    grid = grid_of(entries, num_frames)
    model_channels = tuple(reversed(arkit.NAMES))            # a model may order its channels differently
    known = constraints.to_model_frames(grid, fps, num_model, MODEL_FPS, model_channels)
    assert known.channels == model_channels and known.mask.sum() >= len(entries)
    model_values = np.where(known.mask, known.values, 0.5).astype(np.float32)
    resampled = Curves(MODEL_FPS, model_values, model_channels).select(arkit.NAMES).resample(fps, 0.0, num_frames)
    assert constraints.largest_residual(resampled, grid) < 1e-6


def test_a_model_frame_claimed_twice_takes_the_nearest_constraint():
    grid = grid_of([(1, "jawOpen", 0.3), (2, "jawOpen", 0.9)], 10)     # at 60 fps: 16.7 ms and 33.3 ms
    known = constraints.to_model_frames(grid, 60.0, 10, MODEL_FPS, arkit.NAMES)
    column = arkit.INDEX["jawOpen"]
    assert np.flatnonzero(known.mask[:, column]).tolist() == [0, 1, 2]
    assert known.values[:3, column].tolist() == pytest.approx([0.3, 0.3, 0.9])   # frame 1 (20 ms) is nearer 16.7 ms


# --------------------------------------------------------------------------- the correction


def test_the_correction_meets_constraints_exactly_within_the_curves_own_largest_step():
    curve = speech_like(300)
    frames = [30, 75, 120, 200]
    _, max_span = constraints.correction_spans(FPS)
    # Each value lies twice the curve's largest nearby step away: overwriting it would jump.
    away = [np.sign(0.5 - curve[k]) * 2 * constraints.largest_step_near(curve, k, max_span) for k in frames]
    entries = [(k, "jawOpen", float(curve[k] + offset)) for k, offset in zip(frames, away)]
    result = constraints.enforce(jaw_curves(curve), grid_of(entries, 300)).channel("jawOpen")
    for frame, _, value in entries:
        assert abs(result[frame] - value) <= 1e-6
        near = slice(frame - max_span, frame + max_span + 1)
        assert np.abs(np.diff(result[near])).max() <= constraints.largest_step_near(curve, frame, max_span) + 1e-6
    touched = np.zeros(300, bool)
    for frame in frames:
        touched[frame - max_span:frame + max_span + 1] = True
    np.testing.assert_array_equal(result[~touched], curve[~touched])


def test_a_still_curve_gets_a_smooth_bump_that_returns_to_rest():
    curve = np.full(120, 0.2, np.float32)
    result = constraints.enforce(jaw_curves(curve), grid_of([(60, "jawOpen", 0.8)], 120)).channel("jawOpen")
    _, max_span = constraints.correction_spans(FPS)
    steps = np.diff(result.astype(np.float64))
    assert result[60] == pytest.approx(0.8, abs=1e-6)
    assert np.all(steps[:60] >= -1e-7) and np.all(steps[60:] <= 1e-7)          # one rise, one fall
    assert abs(steps[59]) < np.abs(steps).max() / 4 and abs(steps[60]) < np.abs(steps).max() / 4   # eases into it
    assert np.abs(steps).max() <= 2 * 0.6 / max_span + 1e-6                    # spread over the longest fade
    np.testing.assert_array_equal(result[:60 - max_span], 0.2)
    np.testing.assert_array_equal(result[61 + max_span:], 0.2)


def test_nearby_constraints_are_joined_and_distant_ones_stay_apart():
    curve = np.full(200, 0.2, np.float32)
    entries = [(50, "jawOpen", 0.8), (56, "jawOpen", 0.8), (150, "jawOpen", 0.5)]
    result = constraints.enforce(jaw_curves(curve), grid_of(entries, 200)).channel("jawOpen")
    np.testing.assert_allclose(result[50:57], 0.8, atol=1e-6)                 # no dip between the two
    assert result[100] == pytest.approx(0.2)                                   # back to rest between the groups
    assert result[150] == pytest.approx(0.5, abs=1e-6)


def test_corrected_values_stay_within_zero_and_one():
    curve = (0.92 + 0.08 * np.cos(np.arange(90) / 2.0)).astype(np.float32)
    entries = [(44, "jawOpen", 1.0), (20, "mouthClose", 0.0), (0, "jawOpen", 0.0), (89, "jawOpen", 1.0)]
    result = constraints.enforce(jaw_curves(curve), grid_of(entries, 90))
    assert result.values.min() >= 0.0 and result.values.max() <= 1.0
    assert constraints.largest_residual(result, grid_of(entries, 90)) <= 1e-6


def test_constraints_must_cover_the_curves():
    with pytest.raises(ValueError, match="cover 10 frames"):
        constraints.enforce(jaw_curves(np.zeros(12, np.float32)), grid_of([(1, "jawOpen", 0.5)], 10))
