"""Curve edits: only the range and the chosen channels change, seams stay continuous, locks hold."""

import numpy as np
import pytest

from inference import arkit, editing

T = 120


def random_values(seed=0):
    return np.random.default_rng(seed).random((T, arkit.NUM_CHANNELS), dtype=np.float32)


def test_range_weights_are_zero_outside_one_inside_and_ease_at_the_seams():
    weights = editing.range_weights(T, 50, 80, fade=4)
    assert not weights[:50].any() and not weights[81:].any()
    assert (weights[55:76] == 1).all()
    assert 0 < weights[50] < weights[51] < weights[53] < 1
    assert np.abs(np.diff(weights)).max() < 0.5
    # no seam at the take's own ends: full weight right from frame 0
    assert editing.range_weights(T, 0, 10)[0] == 1


def test_splice_changes_only_the_range_and_its_columns():
    old, new = random_values(0), random_values(1)
    columns = editing.region_columns(["jaw", "lips"])
    out = editing.splice(old, new, 50, 80, columns)
    assert np.array_equal(out[:50], old[:50]) and np.array_equal(out[81:], old[81:])
    assert np.array_equal(out[:, ~columns], old[:, ~columns])
    assert np.array_equal(out[60:70][:, columns], new[60:70][:, columns])


def test_keep_locked_is_bit_identical():
    old, new = random_values(0), random_values(1)
    locked = editing.region_columns(["brows"])
    out = editing.keep_locked(old, new, locked)
    assert np.array_equal(out[:, locked], old[:, locked]) and np.array_equal(out[:, ~locked], new[:, ~locked])


def test_scale_smooth_clear_act_in_range_on_columns():
    values = random_values(2)
    jaw = editing.region_columns(["jaw"])
    scaled = editing.scale(values, jaw, 0.5, 0, T - 1)
    assert np.allclose(scaled[:, jaw], values[:, jaw] * 0.5) and np.array_equal(scaled[:, ~jaw], values[:, ~jaw])
    smoothed = editing.smooth(values, jaw, 3, 20, 100)
    assert np.abs(np.diff(smoothed[40:80][:, jaw], axis=0)).mean() < 0.5 * np.abs(np.diff(values[40:80][:, jaw], axis=0)).mean()
    assert np.array_equal(smoothed[:20], values[:20])
    cleared = editing.clear(values, jaw, 30, 60)
    assert not cleared[35:56][:, jaw].any() and np.array_equal(cleared[61:], values[61:])


def test_bad_ranges_and_factors_are_refused():
    with pytest.raises(ValueError, match="outside the take"):
        editing.range_weights(T, 200, 300)
    with pytest.raises(ValueError, match="before it starts"):
        editing.range_weights(T, 80, 50)
    with pytest.raises(ValueError, match=">= 0"):
        editing.scale(random_values(), editing.region_columns(["jaw"]), -1.0, 0, 10)


def test_take_constraints_use_take_frames_and_list_what_lies_outside():
    grid, outside = editing.take_constraints([(105, "jawOpen", 0.8), (99, "jawOpen", 0.1), (300, "mouthClose", 2.0)],
                                             first_frame=101, num_frames=50)
    assert grid.count == 1 and grid.mask[4, arkit.INDEX["jawOpen"]] and grid.values[4, arkit.INDEX["jawOpen"]] == pytest.approx(0.8)
    assert [entry[0] for entry in outside] == [99, 300]
