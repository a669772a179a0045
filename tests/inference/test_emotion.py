"""Emotion: FACS-built expressions, articulation colouring, time-varying blends, closures kept."""

import numpy as np
import pytest

from inference import arkit, emotion
from inference.articulation import articulate
from inference.curves import Curves
from inference.phonemes import PhoneInterval

FPS = 30.0
# "ma, boo, pie": bilabial closures between open and rounded vowels.
PHONES = [("sil", 0.0, 0.2), ("m", 0.2, 0.3), ("aa", 0.3, 0.55), ("b", 0.55, 0.62), ("uw", 0.62, 0.85),
          ("p", 0.85, 0.93), ("ay", 0.93, 1.2), ("sil", 1.2, 1.5)]
OPENING = emotion.LIP_OPENING_CHANNELS


@pytest.fixture(scope="module")
def speech():
    return articulate([PhoneInterval(*p) for p in PHONES], FPS, 1.5)


def closed_frames(curves):
    return emotion.closure_amount(curves) >= 1.0


def test_speech_fixture_has_closures_and_open_vowels(speech):
    closed = closed_frames(speech)
    assert closed.sum() >= 3 and (~closed).sum() > 20
    assert speech.channel("jawOpen").max() > 0.2


def test_happy_raises_smile_and_cheeks_and_keeps_closures_closed(speech):
    happy = emotion.apply_emotion(speech, {"happy": 1.0})
    for name in ("mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft", "cheekSquintRight"):
        assert np.all(happy.channel(name) >= speech.channel(name) + 0.2)
    closed = closed_frames(speech)
    for name in OPENING + ("mouthClose",):
        assert np.array_equal(happy.channel(name)[closed], speech.channel(name)[closed]), name
    assert np.all(happy.channel("mouthClose")[closed] >= happy.channel("jawOpen")[closed])
    # A smile flattens rounding during the /uw/.
    vowel = (speech.times() > 0.68) & (speech.times() < 0.8)
    assert np.all(happy.channel("mouthPucker")[vowel] < speech.channel("mouthPucker")[vowel])


@pytest.mark.parametrize("name", emotion.CATEGORIES)
def test_no_emotion_reopens_a_closure(speech, name):
    out = emotion.apply_emotion(speech, {name: 1.0})
    closed = closed_frames(speech)
    for channel in OPENING + ("mouthClose",):
        assert np.array_equal(out.channel(channel)[closed], speech.channel(channel)[closed]), (name, channel)
    assert out.values.min() >= 0.0 and out.values.max() <= 1.0


def test_each_category_moves_its_signature_channels():
    rest = Curves.zeros(10, FPS)
    expect = {
        "happy": ("mouthSmileLeft", "cheekSquintRight"),
        "sad": ("browInnerUp", "mouthFrownLeft", "browDownRight"),
        "angry": ("browDownLeft", "mouthPressRight", "eyeSquintLeft"),
        "surprised": ("browOuterUpLeft", "eyeWideRight", "jawOpen"),
        "fearful": ("eyeWideLeft", "mouthStretchRight", "browInnerUp"),
        "disgusted": ("noseSneerLeft", "mouthUpperUpRight"),
        "contempt": ("mouthDimpleLeft",),
    }
    for name, channels in expect.items():
        out = emotion.apply_emotion(rest, {name: 1.0})
        for channel in channels:
            assert out.channel(channel).min() > 0.0, (name, channel)
    # Surprise opens the jaw only a little: it must not fight lip sync.
    assert emotion.apply_emotion(rest, {"surprised": 1.0}).channel("jawOpen").max() <= 0.1
    contempt = emotion.apply_emotion(rest, {"contempt": 1.0})
    assert contempt.channel("mouthDimpleRight").max() == 0.0  # one-sided
    assert np.array_equal(emotion.apply_emotion(rest, {"neutral": 1.0}).values, rest.values)


def test_sadness_shrinks_and_surprise_enlarges_speech_motion(speech):
    open_ = ~closed_frames(speech)
    jaw = speech.channel("jawOpen")[open_]
    sad = emotion.apply_emotion(speech, {"sad": 1.0}).channel("jawOpen")[open_]
    surprised = emotion.apply_emotion(speech, {"surprised": 1.0}).channel("jawOpen")[open_]
    assert sad.max() < 0.85 * jaw.max()
    assert surprised.max() > jaw.max()
    angry = emotion.apply_emotion(speech, {"angry": 1.0})
    assert np.all(angry.channel("mouthPressLeft") > speech.channel("mouthPressLeft"))


def test_intensity_scales_the_expression():
    rest = Curves.zeros(5, FPS)
    half = emotion.apply_emotion(rest, {"sad": 0.5}).channel("mouthFrownLeft")
    full = emotion.apply_emotion(rest, {"sad": 1.0}).channel("mouthFrownLeft")
    assert np.allclose(half * 2, full)


def test_per_frame_weights_change_the_expression_over_time(speech):
    t = speech.num_frames
    weights = np.zeros((t, len(emotion.CATEGORIES)), np.float32)
    ramp = np.linspace(0, 1, t)
    weights[:, emotion.CATEGORY_INDEX["happy"]] = ramp
    weights[:, emotion.CATEGORY_INDEX["sad"]] = 1 - ramp
    out = emotion.apply_emotion(speech, weights)
    smile = out.channel("mouthSmileLeft") - speech.channel("mouthSmileLeft")
    frown = out.channel("mouthFrownLeft") - speech.channel("mouthFrownLeft")
    assert smile[-1] > 0.3 and smile[0] == 0
    assert frown[0] > 0.3 and frown[-1] == 0
    assert np.all(np.diff(out.channel("cheekSquintLeft")) >= -1e-6)
    # A constant per-frame array equals the dict form.
    constant = emotion.mix_to_weights({"happy": 0.6, "sad": 0.2}, t)
    assert np.array_equal(emotion.apply_emotion(speech, constant).values,
                          emotion.apply_emotion(speech, {"happy": 0.6, "sad": 0.2}).values)


def test_weights_from_keys_interpolate_between_mixes():
    weights = emotion.weights_from_keys([(0.0, {"neutral": 1.0}), (1.0, {"angry": 0.8})], num_frames=31, fps=30)
    angry = weights[:, emotion.CATEGORY_INDEX["angry"]]
    assert angry[0] == 0 and np.isclose(angry[15], 0.4) and np.isclose(angry[30], 0.8)
    held = emotion.weights_from_keys([(0.5, {"happy": 1.0})], num_frames=31, fps=30)
    assert np.all(held[:, emotion.CATEGORY_INDEX["happy"]] == 1.0)


def test_parse_emotion_mix():
    assert emotion.parse_emotion_mix("happy=0.6,sad=0.2") == {"happy": 0.6, "sad": 0.2}
    assert emotion.parse_emotion_mix(" Surprised = 1 , contempt") == {"surprised": 1.0, "contempt": 1.0}
    assert emotion.parse_emotion_mix("") == {}


@pytest.mark.parametrize("text, message", [
    ("joyful=0.5", "unknown emotion 'joyful'"),
    ("happy=1.5", "outside 0-1"),
    ("sad=-0.1", "outside 0-1"),
    ("angry=lots", "not a number"),
    ("happy=0.2,happy=0.3", "given twice"),
])
def test_parse_emotion_mix_rejects_bad_input(text, message):
    with pytest.raises(ValueError, match=message):
        emotion.parse_emotion_mix(text)


def test_bad_weights_are_rejected(speech):
    with pytest.raises(ValueError, match="unknown emotion"):
        emotion.apply_emotion(speech, {"bored": 0.5})
    with pytest.raises(ValueError, match="0-1"):
        emotion.apply_emotion(speech, {"happy": 2.0})
    with pytest.raises(ValueError, match="must be"):
        emotion.apply_emotion(speech, np.zeros((3, 8), np.float32))


def test_tables_use_only_arkit_channels_and_known_units():
    for unit in emotion.ACTION_UNITS.values():
        assert set(unit) <= set(arkit.NAMES)
    for aus in emotion.EMOTION_AUS.values():
        assert set(aus) <= set(emotion.ACTION_UNITS)
    assert set(emotion.EMOTION_AUS) == set(emotion.CATEGORIES) == set(emotion.EMOTION_GAINS)
