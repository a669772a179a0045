"""Prosody on synthetic tones (known answers) and on real synthetic speech from festival."""


import numpy as np
import pytest

from inference import prosody
from inference.curves import num_frames_for
from speech_synth import festival_speech

SR = prosody.SAMPLE_RATE
FESTIVAL_VOICE = "voice_cmu_us_slt_arctic_hts"
SENTENCE = ("The old lighthouse keeper never trusted the morning weather report. "
            "He walked down to the harbour, looked at the dark clouds, and decided to stay at home.")
# Long content words of SENTENCE, each with a lexically stressed syllable.
STRESSED_WORDS = ("lighthouse", "keeper", "trusted", "report", "harbour", "looked", "clouds", "decided")


def harmonic_tone(f0, seconds, amplitude=0.3, harmonics=8):
    """A buzz of `harmonics` partials (1/k amplitudes) following f0 (a number or a per-sample array)."""
    n = int(seconds * SR)
    f0 = np.broadcast_to(np.asarray(f0, dtype=np.float64), (n,))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, harmonics + 1))
    return (amplitude * x / np.max(np.abs(x))).astype(np.float32)


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    return festival_speech(tmp_path_factory.mktemp("festival"), SENTENCE, FESTIVAL_VOICE)


@pytest.mark.parametrize("f0", [85.0, 140.0, 220.0, 380.0])
def test_pitch_of_a_steady_tone_is_exact(f0):
    p = prosody.analyse(harmonic_tone(f0, 1.5), fps=30)
    assert p.voiced[3:-3].all()
    assert np.allclose(p.f0[3:-3], f0, rtol=0.01)


def test_pitch_follows_a_glide_frame_by_frame():
    seconds, fps = 3.0, 60
    t = np.arange(int(seconds * SR)) / SR
    f0 = 150.0 + 70.0 * np.sin(2 * np.pi * 0.5 * t)
    p = prosody.analyse(harmonic_tone(f0, seconds), fps=fps)
    expected = np.interp(p.times(), t, f0)
    inner = slice(3, -3)
    assert np.all(np.abs(p.f0[inner] / expected[inner] - 1.0) < 0.03)


def test_noise_and_silence_are_unvoiced():
    rng = np.random.default_rng(0)
    noise = (0.1 * rng.standard_normal(SR)).astype(np.float32)
    audio = np.concatenate([harmonic_tone(150.0, 1.0), np.zeros(SR, np.float32), noise])
    p = prosody.analyse(audio, fps=25)
    assert p.voiced[2:22].all()
    assert not p.voiced[28:].any()
    assert np.all(p.f0[~p.voiced] == 0)


def test_energy_is_rms_in_db():
    tone = np.full(SR, 0.25, np.float32) * np.sign(np.sin(2 * np.pi * 100 * np.arange(SR) / SR)).astype(np.float32)
    p = prosody.analyse(tone, fps=30)
    assert np.allclose(p.energy_db[3:-3], 20 * np.log10(0.25), atol=0.2)
    louder = prosody.analyse(tone * 2, fps=30)
    assert np.allclose(louder.energy_db[3:-3] - p.energy_db[3:-3], 20 * np.log10(2), atol=0.01)


def test_speech_pitch_scales_exactly_when_played_faster(speech):
    """Playing real speech 10% faster raises every pitch by 10%: the tracker must see exactly that."""
    samples, _ = speech
    ratio = 1.1
    fast_times = np.arange(int(len(samples) / ratio)) * ratio / SR
    fast = np.interp(fast_times, np.arange(len(samples)) / SR, samples).astype(np.float32)
    slow_p = prosody.analyse(samples, fps=100)
    fast_p = prosody.analyse(fast, fps=100)
    assert 140 < np.median(slow_p.f0[slow_p.voiced]) < 260  # a female voice
    # Frame i of the fast version shows the original at time i * ratio / 100.
    original = np.rint(np.arange(fast_p.num_frames) * ratio).astype(int)
    ok = original < slow_p.num_frames
    both = fast_p.voiced[ok] & slow_p.voiced[original[ok]]
    assert both.sum() > 200
    frame_ratio = fast_p.f0[ok][both] / slow_p.f0[original[ok]][both]
    assert abs(np.median(frame_ratio) - ratio) < 0.01
    assert np.mean(np.abs(frame_ratio / ratio - 1) < 0.03) > 0.9


def test_speech_is_mostly_voiced_between_words_and_not_before(speech):
    samples, words = speech
    p = prosody.analyse(samples, fps=30)
    times = p.times()
    assert not p.voiced[times < words[0][1] - 0.05].any()
    assert 0.4 < p.voiced.mean() < 0.9


def test_accents_on_known_pitch_and_energy_bumps():
    """A monotone buzz with three bumps (pitch up + louder) gets accents at the bumps, ranked by size."""
    seconds = 4.0
    t = np.arange(int(seconds * SR)) / SR
    bumps = [(0.8, 1.0), (2.0, 0.4), (3.2, 0.7)]
    shape = sum(size * np.exp(-0.5 * ((t - at) / 0.08) ** 2) for at, size in bumps)
    audio = harmonic_tone(130.0 * 2 ** (4 * shape / 12), seconds) * (1 + 1.5 * shape).astype(np.float32)
    p = prosody.analyse(audio, fps=30)
    accents = prosody.detect_accents(p)
    assert len(accents) == 3
    assert np.allclose(accents.times, [at for at, _ in bumps], atol=0.05)
    assert list(np.argsort(accents.strengths)) == [1, 2, 0]
    assert np.all((accents.strengths > 0) & (accents.strengths <= 1))


def test_accents_fall_on_stressed_words_and_keep_their_spacing(speech):
    samples, words = speech
    p = prosody.analyse(samples, fps=30)
    accents = prosody.detect_accents(p, min_spacing=0.3)
    duration = len(samples) / SR
    assert 0.5 * duration <= len(accents) <= 2.5 * duration
    assert np.all(np.diff(accents.times) >= 0.3 - 1e-9)
    frame = np.rint((accents.times - p.start) * p.fps).astype(int)
    assert p.voiced[frame].all()
    on_words = [next((w for w, lo, hi in words if lo - 0.03 <= t <= hi + 0.03), None) for t in accents.times]
    assert None not in on_words
    assert sum(word in on_words for word in STRESSED_WORDS) >= 6, on_words


def _strength_on(samples, word_span):
    lo, hi = word_span
    accents = prosody.detect_accents(prosody.analyse(samples, fps=30))
    inside = (accents.times >= lo - 0.03) & (accents.times <= hi + 0.03)
    return float(accents.strengths[inside].max(initial=0.0))


def test_a_word_made_louder_gets_a_stronger_accent(speech):
    samples, words = speech
    for target in ("keeper", "clouds"):
        _, lo, hi = next(w for w in words if w[0] == target)
        strengths = []
        for gain_db in (0, 6, 12):
            louder = samples.copy()
            louder[int(lo * SR):int(hi * SR)] *= 10 ** (gain_db / 20)
            strengths.append(_strength_on(louder, (lo, hi)))
        assert strengths[0] > 0 and strengths[0] < strengths[1] < strengths[2], (target, strengths)


def test_pauses_are_found_where_silence_was_inserted(speech):
    samples, _ = speech
    gap = np.zeros(int(0.6 * SR), np.float32)
    audio = np.concatenate([samples, gap, samples])
    p = prosody.analyse(audio, fps=30)
    pauses = prosody.pause_times(p)
    boundary = len(samples) / SR
    assert np.any(np.abs(pauses - boundary) < 0.25)


def test_frame_grid_matches_curves_convention():
    audio = harmonic_tone(150.0, 2.0)
    p = prosody.analyse(audio, fps=29.97, start=1.5)
    assert p.num_frames == num_frames_for(2.0, 29.97)
    assert p.times()[0] == 1.5 and np.isclose(p.times()[1] - p.times()[0], 1 / 29.97)
    with pytest.raises(ValueError):
        prosody.analyse(np.zeros((2, 100), np.float32), fps=30)


def test_analysis_in_batches_equals_one_batch(monkeypatch):
    """Long clips are decimated and analysed a block at a time, each batch of frames cutting only its
    own stretch of the signal; that must not change a single value, at the clip's ends included."""
    rng = np.random.default_rng(5)
    glide = harmonic_tone(np.linspace(110.0, 260.0, int(6.0 * SR)), 6.0)
    clip = glide * (rng.uniform(0.2, 1.0) + 0.5 * np.sin(np.linspace(0, 40, glide.size))).astype(np.float32)
    whole = prosody.analyse(clip, fps=30)
    monkeypatch.setattr(prosody, "BATCH_FRAMES", 7)
    monkeypatch.setattr(prosody, "DECIMATION_BLOCK", 1000)
    batched = prosody.analyse(clip, fps=30)
    assert whole.voiced.any() and np.isfinite(whole.energy_db).all()
    for name in ("energy_db", "f0", "periodicity", "voiced"):
        assert np.array_equal(getattr(whole, name), getattr(batched, name)), name


def test_frame_windows_are_zero_beyond_the_clip():
    samples = np.arange(1, 101, dtype=np.float32)
    windows = prosody._frame_windows(samples, fps=10, frames=np.array([0, 5, 10]), length=20, sample_rate=100)
    assert np.array_equal(windows[0], np.concatenate([np.zeros(10), samples[:10]]))
    assert np.array_equal(windows[1], samples[40:60])
    assert np.array_equal(windows[2], np.concatenate([samples[90:], np.zeros(10)]))
