"""Strip timing: trims, offsets and fractional fps give the file seconds heard and the first frame."""

import numpy as np
import pytest

from inference import timeline
from inference.audio import audio_from_array
from inference.errors import AudioError

NTSC = 30000 / 1001


def test_an_untrimmed_strip_plays_the_file_from_its_start():
    window = timeline.strip_window(101.0, 101, 200, 0.0, NTSC)
    assert window.first_frame == 101 and window.start == 0.0
    assert window.stop == pytest.approx(99 / NTSC)


def test_trims_and_sound_offset_move_into_the_file():
    window = timeline.strip_window(101.0, 111, 150, 0.5, NTSC)
    assert window.first_frame == 111
    assert window.start == pytest.approx(0.5 + 10 / NTSC)
    assert window.stop - window.start == pytest.approx(39 / NTSC)


def test_zero_length_strip_is_refused():
    with pytest.raises(AudioError, match="0 frames long"):
        timeline.strip_window(1.0, 10, 10, 0.0, 24.0)


def test_cut_takes_the_window_and_refuses_one_past_the_end():
    audio = audio_from_array(np.arange(16000, dtype=np.float32) / 16000, 16000, "ramp.wav")
    piece = timeline.cut(audio, timeline.Window(0.25, 0.5, 1))
    assert len(piece.samples) == 4000 and piece.samples[0] == pytest.approx(0.25, abs=1e-3)
    with pytest.raises(AudioError, match="past its end"):
        timeline.cut(audio, timeline.Window(2.0, 3.0, 1))
