"""Articulation rules: behaviour measured on the reference face's lip geometry, plus shape, timing and speed."""


import numpy as np
import pytest

from benchmarks import lipmetrics
from inference import arkit
from inference.articulation import articulate
from inference.curves import num_frames_for
from inference.phonemes import ARPABET, SILENCE, PhoneInterval, read_timit_phn

FACE_SUBDIR = ("faces", "arkit_reference_face", "obj")
TIMIT_SUBDIR = ("speech", "timit_dev")
FRAME_RATES = (23.976, 24.0, 25.0, 29.97, 30.0, 60.0)
# Largest change of any channel between frames 1/60 s apart: a bilabial release is fast (~30 ms),
# but nothing jumps.
MAX_STEP_60FPS = 0.35
# Largest change of lip aperture between frames at 24-30 fps, in mm (jawOpen 1 = 43.8 mm): a
# release into an open vowel may take one frame, but never the whole range.
MAX_APERTURE_STEP_MM = 20.0


@pytest.fixture(scope="module")
def face(shared_data):
    path = shared_data.joinpath(*FACE_SUBDIR)
    if not path.is_dir():
        pytest.skip(f"reference face not found at {path}")
    return lipmetrics.load_reference_face(path, arkit.NAMES)


def _phones(*spec):
    """('sil', 0.3), ('aa', 0.15), ... -> back-to-back PhoneIntervals from t = 0."""
    out, t = [], 0.0
    for phone, dur in spec:
        out.append(PhoneInterval(phone, t, t + dur))
        t += dur
    return out


def _find(phones, name, nth=0):
    return [p for p in phones if p.phone == name][nth]


def _frames(curves, t0, t1):
    t = curves.times()
    idx = np.nonzero((t >= t0 - 1e-9) & (t <= t1 + 1e-9))[0]
    return idx if len(idx) else np.array([int(np.argmin(np.abs(t - (t0 + t1) / 2)))])


def _aperture(face, curves):
    return face.measure(curves.select(face.channels).values)[0]


# ---------------------------------------------------------------- shape and timing


@pytest.mark.parametrize("fps", FRAME_RATES)
def test_output_has_52_channels_at_any_frame_rate(fps):
    phones = _phones((SILENCE, 0.2), ("hh", 0.08), ("aa", 0.2), ("b", 0.06), ("iy", 0.15), (SILENCE, 0.3))
    curves = articulate(phones, fps, duration=1.25)
    assert curves.fps == pytest.approx(fps)
    assert curves.channels == arkit.NAMES
    assert curves.values.dtype == np.float32
    assert curves.num_frames == num_frames_for(1.25, fps) == int(np.floor(1.25 * fps + 1e-6)) + 1
    assert curves.start == 0.0
    assert np.isfinite(curves.values).all()
    assert curves.values.min() >= 0.0 and curves.values.max() <= 1.0
    idle = [arkit.INDEX[n] for n in arkit.NAMES if arkit.REGION_OF[n] in ("eyes", "brows", "nose", "cheeks")]
    assert not curves.values[:, idle].any()


def test_duration_defaults_to_the_last_phone_and_empty_input_is_neutral():
    phones = _phones((SILENCE, 0.1), ("aa", 0.2))
    assert articulate(phones, 30.0).num_frames == num_frames_for(0.3, 30.0)
    empty = articulate([], 30.0, duration=2.0)
    assert empty.num_frames == 61 and not empty.values.any()


def test_every_phone_is_articulated():
    for phone in ARPABET:
        curves = articulate(_phones((SILENCE, 0.3), (phone, 0.2), (SILENCE, 0.3)), 30.0)
        assert curves.values[_frames(curves, 0.35, 0.45)].max() > 0.05, phone


# ---------------------------------------------------------------- geometry on the reference face


@pytest.mark.parametrize("fps", (24.0, 30.0, 23.976, 60.0))
@pytest.mark.parametrize("b_ms", (30, 45, 80))
def test_bilabial_between_open_vowels_closes_the_lips(face, fps, b_ms):
    # Sweep the /b/ across the frame grid: closure must not depend on where the frames fall.
    for offset in np.linspace(0.0, 1.0 / fps, 5, endpoint=False):
        phones = _phones((SILENCE, 0.3 + offset), ("aa", 0.18), ("b", b_ms / 1000), ("aa", 0.18), (SILENCE, 0.3))
        curves = articulate(phones, fps)
        a = _aperture(face, curves)
        b = _find(phones, "b")
        window = _frames(curves, b.start - 1 / fps, b.end + 1 / fps)
        closed = a[window] <= lipmetrics.CLOSE_MM
        assert closed.any(), (fps, b_ms, offset, a[window])
        vowel = _find(phones, "aa")
        assert a[_frames(curves, vowel.start + 0.05, vowel.end - 0.05)].max() >= lipmetrics.OPEN_MM


def test_bilabial_closes_against_the_jaw(face):
    phones = _phones((SILENCE, 0.3), ("aa", 0.2), ("m", 0.08), ("aa", 0.2), (SILENCE, 0.3))
    curves = articulate(phones, 30.0)
    m = _find(phones, "m")
    i = _frames(curves, m.start, m.end)[0]
    jaw, close = curves.channel("jawOpen")[i], curves.channel("mouthClose")[i]
    assert jaw > 0.05                 # the jaw stays part-open (coarticulated) ...
    assert close >= jaw               # ... and the lips close against it
    assert _aperture(face, curves)[i] <= lipmetrics.CLOSE_MM


def test_open_rounded_and_spread_vowels(face):
    phones = _phones((SILENCE, 0.3), ("aa", 0.2), (SILENCE, 0.3), ("uw", 0.2), (SILENCE, 0.3), ("iy", 0.2), (SILENCE, 0.3))
    curves = articulate(phones, 30.0)
    a, w, p = face.measure(curves.select(face.channels).values)
    aa, uw, iy = _find(phones, "aa"), _find(phones, "uw"), _find(phones, "iy")
    mid = lambda ph: _frames(curves, ph.start + ph.duration / 4, ph.end - ph.duration / 4)  # noqa: E731
    assert a[mid(aa)].max() >= lipmetrics.OPEN_MM
    assert lipmetrics.round_test(w[mid(uw)], p[mid(uw)], face.w0).all()
    assert not lipmetrics.round_test(w[mid(iy)], p[mid(iy)], face.w0).any()
    assert w[mid(iy)].min() > face.w0            # spread vowels stretch the mouth slightly
    assert a[mid(uw)].max() < a[mid(aa)].max()


def test_silence_relaxes_to_a_closed_neutral_mouth(face):
    phones = _phones((SILENCE, 0.3), ("aa", 0.2), ("s", 0.1), (SILENCE, 1.0), ("ow", 0.2), (SILENCE, 0.3))
    curves = articulate(phones, 30.0)
    rest = _find(phones, SILENCE, 1)
    idx = _frames(curves, rest.start + 0.1, rest.end - 0.1)
    assert (_aperture(face, curves)[idx] <= lipmetrics.REST_MM).all()
    core = _frames(curves, rest.start + 0.3, rest.end - 0.3)
    assert np.abs(curves.values[core]).max() < 0.05


def test_labiodental_tucks_the_lower_lip():
    phones = _phones((SILENCE, 0.3), ("aa", 0.2), ("f", 0.1), ("aa", 0.2), (SILENCE, 0.3))
    curves = articulate(phones, 30.0)
    f = _find(phones, "f")
    i = _frames(curves, f.start + 0.03, f.end - 0.03)
    assert curves.channel("mouthRollLower")[i].max() >= 0.3
    assert curves.channel("mouthUpperUpLeft")[i].max() > 0.05


def test_tongue_shows_for_th_but_not_for_t_or_d():
    def tongue(phone):
        curves = articulate(_phones((SILENCE, 0.3), ("ah", 0.15), (phone, 0.1), ("ah", 0.15), (SILENCE, 0.3)), 30.0)
        return float(curves.channel("tongueOut").max())
    assert tongue("th") >= 0.1 and tongue("dh") >= 0.1
    assert tongue("l") < 0.1
    assert tongue("t") < 0.02 and tongue("d") < 0.02


def test_rounding_is_anticipated_over_preceding_consonants():
    def pucker_at_s(vowel):
        phones = _phones((SILENCE, 0.3), ("ih", 0.12), ("s", 0.08), ("t", 0.06), (vowel, 0.2), (SILENCE, 0.3))
        curves = articulate(phones, 60.0)
        s = _find(phones, "s")
        return float(curves.channel("mouthPucker")[_frames(curves, s.start + 0.03, s.end - 0.03)].mean())
    assert pucker_at_s("uw") > 0.2
    assert pucker_at_s("iy") < 0.05


# ---------------------------------------------------------------- timing and smoothness


def test_the_mouth_leads_the_sound():
    phones = _phones((SILENCE, 0.3), ("aa", 0.2), ("b", 0.08), ("aa", 0.2), (SILENCE, 0.3))
    curves = articulate(phones, 60.0)
    t = curves.times()
    b = _find(phones, "b")
    closing = t[curves.channel("mouthClose") > 0.05]
    assert closing.min() < b.start - 0.010            # the closure starts before the /b/ does
    assert closing.min() > b.start - 0.080            # ... but only slightly
    vowel = _find(phones, "aa")
    jaw = curves.channel("jawOpen")
    assert jaw[t <= vowel.start].max() > 0.5 * jaw.max()   # the jaw is half open when the vowel starts


def test_curves_are_continuous_on_real_speech(shared_data):
    data = shared_data.joinpath(*TIMIT_SUBDIR)
    phns = sorted(data.glob("*/*.phn"))[:20]
    if not phns:
        pytest.skip(f"no TIMIT dev utterances under {data}")
    for phn in phns:
        curves = articulate(read_timit_phn(phn), 60.0)
        step = np.abs(np.diff(curves.values, axis=0)).max()
        assert step <= MAX_STEP_60FPS, (phn.name, step)


def test_aperture_is_continuous_and_bilabials_close_on_real_speech(face, shared_data):
    data = shared_data.joinpath(*TIMIT_SUBDIR)
    phns = sorted(data.glob("*/*.phn"))[:20]
    if not phns:
        pytest.skip(f"no TIMIT dev utterances under {data}")
    for fps in (24.0, 30.0):
        for phn in phns:
            curves = articulate(read_timit_phn(phn), fps)
            weights = curves.select(face.channels).values
            labels = lipmetrics.read_phn_labels(phn)
            score = lipmetrics.score_utterance(face, fps, weights, labels)
            assert score.bil_hits == score.bil_n, (phn, fps)
            assert np.abs(np.diff(score.aperture)).max() <= MAX_APERTURE_STEP_MM
