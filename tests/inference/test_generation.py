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
