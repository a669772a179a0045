"""A generation request: engines through one door, emotion as conditioning or layer, constraints met, cancel."""

from pathlib import Path

import numpy as np
import pytest

from inference import arkit, editing, generation
from inference.audio import load_audio
from inference.errors import CancelledError

LINE = Path(__file__).resolve().parents[2] / "samples" / "line.wav"
FPS = 30.0


@pytest.fixture(scope="module")
def line():
    return load_audio(LINE)


def test_regression_meets_constraints_and_follows_emotion(line):
    frames = generation.num_frames(line, FPS)
    grid, _ = editing.take_constraints([(40, "jawOpen", 0.9)], 0, frames)
    happy = np.zeros((frames, 8), np.float32)
    happy[:, 1] = 1.0
    plain = generation.run(line, generation.Request("regression", FPS, layers=("lips",)))
    result = generation.run(line, generation.Request("regression", FPS, layers=("lips",), emotion=happy,
                                                     constraints=grid))
    assert result.curves.values[40, arkit.INDEX["jawOpen"]] == pytest.approx(0.9, abs=1e-6)
    smile = arkit.INDEX["mouthSmileLeft"]
    assert result.curves.values[:, smile].mean() > plain.curves.values[:, smile].mean() + 0.3


def test_cancel_stops_before_anything_is_returned(line):
    with pytest.raises(CancelledError, match="nothing was written"):
        generation.run(line, generation.Request("phonetic", FPS, layers=("lips",)), should_cancel=lambda: True)


def test_unknown_engine_is_refused(line):
    with pytest.raises(ValueError, match="unknown engine"):
        generation.run(line, generation.Request("magic", FPS))


def test_blinks_follow_the_gaze_shifts_whether_or_not_gaze_is_on(line):
    """The take's blink layer draws with the gaze layer's seed, so larger gaze shifts carry a blink,
    and switching gaze off leaves the blinks as they were."""
    from inference import layers, prosody
    from inference.audio import audio_from_array

    minute = audio_from_array(np.tile(line.samples, 15), line.sample_rate)   # enough gaze shifts to matter
    blink = [arkit.INDEX["eyeBlinkLeft"], arkit.INDEX["eyeBlinkRight"]]
    alone = generation.perform(minute, engine="phonetic", seed=3, layers=("blinks",)).curves
    with_gaze = generation.perform(minute, engine="phonetic", seed=3, layers=("blinks", "gaze")).curves
    np.testing.assert_array_equal(alone.values[:, blink], with_gaze.values[:, blink])
    rhythm = prosody.analyse(minute.samples, FPS, num_frames=alone.num_frames)

    def blinks(**coupling):
        drawn = layers.blinks(alone.num_frames, FPS, generation.layer_seed(3, "blinks"), rhythm, **coupling)
        return drawn.select(["eyeBlinkLeft", "eyeBlinkRight"]).values

    np.testing.assert_allclose(alone.values[:, blink], blinks(gaze_seed=generation.layer_seed(3, "gaze")), atol=1e-6)
    assert not np.allclose(alone.values[:, blink], blinks())
