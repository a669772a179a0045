"""Curves: shape checks, exact resampling at shared frame times, the JSON exchange format."""

import numpy as np
import pytest

from inference import arkit
from inference.curves import Curves


def _ramp(num_frames, fps):
    rng = np.random.default_rng(0)
    return Curves(fps, rng.random((num_frames, arkit.NUM_CHANNELS), dtype=np.float32))


@pytest.mark.parametrize("src, dst, step", [(30.0, 60.0, 2), (60.0, 30.0, None), (30000 / 1001, 60000 / 1001, 2)])
def test_resampling_is_exact_at_shared_frame_times(src, dst, step):
    curves = _ramp(301, src)
    out = curves.resample(dst)
    if step:  # every source frame is a destination frame
        np.testing.assert_array_equal(out.values[::step], curves.values)
    else:     # every destination frame is a source frame
        np.testing.assert_array_equal(out.values, curves.values[::2])
    assert out.fps == dst
    assert abs(out.times()[-1] - curves.times()[-1]) < 1.0 / dst


def test_resampling_between_unrelated_rates_interpolates_linearly():
    t = np.arange(100) / 24.0
    line = np.repeat((2 * t)[:, None], 52, axis=1)
    out = Curves(24.0, line).resample(29.97)
    np.testing.assert_allclose(out.values[:, 0], 2 * out.times(), atol=1e-5)


def test_bad_shapes_and_rates_are_refused():
    with pytest.raises(ValueError, match="2-D"):
        Curves(30, np.zeros(52))
    with pytest.raises(ValueError, match="channel names"):
        Curves(30, np.zeros((3, 51)))
    with pytest.raises(ValueError, match="fps"):
        Curves(0, np.zeros((3, 52)))


def test_select_reorders_and_fills_missing_with_zeros():
    curves = _ramp(5, 30)
    out = curves.select(["jawOpen", "notAChannel"])
    np.testing.assert_array_equal(out.values[:, 0], curves.channel("jawOpen"))
    assert not out.values[:, 1].any()


def test_json_round_trip():
    curves = _ramp(7, 29.97)
    back = Curves.from_json_dict(curves.to_json_dict())
    assert back.fps == curves.fps and back.channels == curves.channels
    np.testing.assert_allclose(back.values, curves.values, atol=1e-6)
    with pytest.raises(ValueError, match="not a Lipkit curves"):
        Curves.from_json_dict({"fps": 30})
