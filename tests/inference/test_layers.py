"""Secondary layers: seeded, separable, with blink statistics, gaze semantics, brows and head on accents."""


import numpy as np
import pytest

from benchmarks import layers as layers_benchmark
from inference import arkit, layers, prosody
from inference.curves import Curves
from speech_synth import festival_speech

FIVE_MINUTES = 300.0
FINE_FPS = 240  # renders blinks finely enough to measure their shape


@pytest.fixture(scope="module")
def dialogue(tmp_path_factory):
    """Prosody of ~40 s of speech: sentences separated by 0.8 s pauses."""
    speech, _ = festival_speech(tmp_path_factory.mktemp("layers"),
                              "He walked down to the harbour, looked at the dark clouds, and decided to stay at home.")
    gap = np.zeros(int(0.8 * prosody.SAMPLE_RATE), np.float32)
    audio = np.concatenate([np.concatenate([speech, gap]) for _ in range(8)])
    return prosody.analyse(audio, fps=30)


def test_same_seed_same_layers_and_different_seeds_differ():
    accents = prosody.Accents(np.array([0.5, 1.4, 2.6]), np.array([0.8, 0.4, 1.0]))
    makers = [
        lambda seed: layers.blinks(900, 30, seed).values,
        lambda seed: layers.gaze(900, 30, seed).values,
        lambda seed: layers.brows(accents, 120, 30, seed).values,
        lambda seed: layers.head_motion(900, 30, seed, accents).rotations,
    ]
    for make in makers:
        assert np.array_equal(make(7), make(7))
        assert not np.array_equal(make(7), make(8))


def test_blinks_match_real_faces_over_five_minutes():
    """The bars of issue 23, measured as the real captures were (60 fps, excursions above 0.3)."""
    for seed in (0, 1, 2):
        figures = layers_benchmark.blink_figures(seed)
        assert layers_benchmark.misses(figures) == [], (seed, figures)
        for gaze_seed in (None, seed + 1000):
            events = layers.blink_events(FIVE_MINUTES, seed, gaze_seed=gaze_seed)
            intervals = np.diff([blink.time for blink in events])
            assert np.std(intervals) > 0.3 * np.mean(intervals)  # irregular, not a metronome
            assert 15 <= len(events) / 5 <= 23


def test_blinks_vary_in_depth_and_length_with_partial_and_double_blinks():
    events = [blink for seed in range(4) for blink in layers.blink_events(FIVE_MINUTES, seed)]
    peaks = np.array([blink.peak for blink in events])
    lengths = np.array([blink.duration for blink in events])
    assert 0.25 <= np.mean(peaks < 0.85) <= 0.6 and np.mean(peaks >= 0.9) >= 0.4  # partial and complete
    assert np.percentile(lengths, 90) > 1.5 * np.percentile(lengths, 10)
    # Double blinks: a second blink within half a second of the first one's end, now and then.
    gaps = np.array([b.time - (a.time + a.duration) for a, b in zip(events, events[1:])])
    doubles = np.mean((gaps >= 0) & (gaps < 0.2))
    assert 0.02 <= doubles <= 0.12, doubles
    # Measured on the curve at 60 fps: the time at least half closed varies too.
    _, half = layers.blink_excursions(layers.blinks(int(FIVE_MINUTES * 60), 60, 0).channel("eyeBlinkLeft"), 60)
    assert np.percentile(half, 75) - np.percentile(half, 25) >= 1 / 60


def test_blinks_come_with_large_gaze_shifts():
    hits = total = 0
    baseline_hits = 0
    for seed in range(6):
        fixations = layers.gaze_targets(FIVE_MINUTES, seed + 1000)
        shifts = np.array([when for (_, h0, v0), (when, h1, v1) in zip(fixations, fixations[1:])
                           if np.hypot(h1 - h0, v1 - v0) >= layers.BLINK_GAZE_MIN_AMPLITUDE])
        coupled = np.array([b.time for b in layers.blink_events(FIVE_MINUTES, seed, gaze_seed=seed + 1000)])
        alone = np.array([b.time for b in layers.blink_events(FIVE_MINUTES, seed)])
        near = lambda starts: int(np.sum(np.min(np.abs(shifts[:, None] - starts[None, :]), axis=1) < 0.05))  # noqa: E731
        hits += near(coupled)
        baseline_hits += near(alone)
        total += len(shifts)
    assert hits / total > 0.25 and hits > 3 * baseline_hits, (hits, baseline_hits, total)


def test_blinks_close_fast_and_open_slowly_with_both_eyes():
    curves = layers.blinks(int(60 * FINE_FPS), FINE_FPS, seed=3)
    left, right = curves.channel("eyeBlinkLeft"), curves.channel("eyeBlinkRight")
    for blink in layers.blink_events(60.0, 3):
        frames = slice(int(blink.time * FINE_FPS), int((blink.time + blink.duration) * FINE_FPS) + 2)
        shape = left[frames]
        peak = int(np.argmax(shape))
        above = np.flatnonzero(shape >= 0.1 * blink.peak)
        closing, opening = peak - above[0], above[-1] - peak
        assert opening > 1.5 * closing
        assert abs(shape.max() - blink.peak) < 0.02
        # Both eyes together: a tiny lag and gain difference at most.
        assert np.max(np.abs(left[frames] - right[frames])) < 0.35
        assert abs(left[frames].max() - right[frames].max()) <= 0.04


def test_every_blink_reaches_its_depth_even_at_24_fps():
    curves = layers.blinks(24 * 120, 24, seed=5)
    events = layers.blink_events(120.0, 5)
    for blink in events:
        frames = slice(int(blink.time * 24), int(np.ceil((blink.time + blink.duration) * 24)) + 1)
        assert curves.channel("eyeBlinkLeft")[frames].max() >= blink.peak - 1e-6


def test_blinks_prefer_pauses_when_prosody_is_given(dialogue):
    pauses = prosody.pause_times(dialogue)
    assert len(pauses) >= 6
    duration = dialogue.num_frames / dialogue.fps

    def share_at_pauses(prosody_or_none):
        hits = total = 0
        for seed in range(6):
            events = layers.blink_events(duration, seed, prosody_or_none)
            starts = np.array([blink.time for blink in events])
            total += len(starts)
            hits += int(np.sum(np.min(np.abs(starts[:, None] - pauses[None, :]), axis=1) < 0.15))
        return hits / total

    assert share_at_pauses(dialogue) > share_at_pauses(None) + 0.2


def test_gaze_moves_both_eyes_the_same_way():
    curves = layers.gaze(30 * 60, 30, seed=4)
    v = {name: curves.channel(name) for name in curves.channels}
    # Looking to the character's left: left eye out and right eye in, together; never opposite pairs.
    assert np.array_equal(v["eyeLookOutLeft"], v["eyeLookInRight"])
    assert np.array_equal(v["eyeLookInLeft"], v["eyeLookOutRight"])
    assert np.array_equal(v["eyeLookUpLeft"], v["eyeLookUpRight"])
    assert not np.any((v["eyeLookOutLeft"] > 0) & (v["eyeLookInLeft"] > 0))
    assert not np.any((v["eyeLookUpLeft"] > 0) & (v["eyeLookDownLeft"] > 0))
    assert v["eyeLookOutLeft"].max() > 0 and v["eyeLookInLeft"].max() > 0
    assert curves.values.max() <= layers.GAZE_LIMIT + 1e-6


def test_gaze_fixations_hold_and_saccades_are_fast():
    fps = 240
    direction = layers.gaze_direction(fps * 60, fps, seed=6)
    speed = np.hypot(*np.diff(direction, axis=0).T) * fps
    moving = np.concatenate([[False], speed > 1e-3, [False]])
    edges = np.flatnonzero(moving[1:] != moving[:-1])
    runs = (edges[1::2] - edges[0::2]) / fps
    assert len(runs) >= 20  # about one saccade a second
    assert runs.max() <= layers.GAZE_SACCADE_MAX_SECONDS + 2 / fps
    # The main sequence: larger jumps take longer.
    assert layers.saccade_seconds(0.3) > layers.saccade_seconds(0.05) > layers.GAZE_SACCADE_BASE_SECONDS
    assert np.mean(speed < 1e-3) > 0.9  # mostly fixating
    fixations = layers.gaze_targets(60.0, 6)
    lengths = np.diff([f[0] for f in fixations])
    assert lengths.min() >= layers.GAZE_FIXATION_MIN_SECONDS - 1e-9 and 0.5 < np.median(lengths) < 2.5


def test_brows_rise_on_accents_in_proportion_to_strength():
    accents = prosody.Accents(np.array([1.0, 3.0]), np.array([1.0, 0.3]))
    # Enough seeds that both accents raise the brows in some.
    for seed in range(20):
        curves = layers.brows(accents, 150, 30, seed)
        inner = curves.channel("browInnerUp")
        peak_strong, peak_weak = inner[20:45].max(), inner[80:105].max()
        if peak_strong > 0 and peak_weak > 0:
            assert peak_strong > 2 * peak_weak
            assert abs(int(np.argmax(inner[:60])) - 30) <= 3  # peaks at the accent
            assert inner[:20].max() < 0.01 and inner[60:75].max() < 0.01  # attack and decay end
            break
    else:
        pytest.fail("no seed raised the brows on both accents")
    assert layers.brows(prosody.Accents(np.zeros(0), np.zeros(0)), 150, 30, 0).values.max() == 0


def test_head_nods_on_accents_and_drifts_slowly():
    fps = 30
    accents = prosody.Accents(np.array([2.0]), np.array([1.0]))
    still = layers.head_motion(fps * 4, fps, seed=9)
    nodding = layers.head_motion(fps * 4, fps, seed=9, accents=accents)
    assert nodding.rotations.shape == (fps * 4, 3) and nodding.rotations.dtype == np.float32
    nod = nodding.rotations[:, 1] - still.rotations[:, 1]
    assert abs(np.argmax(nod) / fps - 2.0) < 0.1 and np.isclose(nod.max(), layers.HEAD_NOD_RADIANS, rtol=0.05)
    assert np.array_equal(nodding.rotations[:, [0, 2]], still.rotations[:, [0, 2]])
    long = layers.head_motion(fps * 120, fps, seed=9).rotations
    assert 0.005 < np.abs(long).max() < 0.2  # a few degrees at most
    # Smooth: no frame-to-frame jumps beyond a slow drift.
    assert np.abs(np.diff(long, axis=0)).max() < 0.01


def test_combine_writes_only_layer_channels_and_clips():
    mouth = Curves(30, np.full((90, arkit.NUM_CHANNELS), 0.5, np.float32))
    blink = layers.blinks(90, 30, seed=1)
    eyes = layers.gaze(90, 30, seed=1)
    combined = layers.combine(mouth, blink, eyes)
    touched = set(layers.BLINK_CHANNELS + layers.GAZE_CHANNELS)
    for name in arkit.NAMES:
        if name not in touched:
            assert np.array_equal(combined.channel(name), mouth.channel(name))
    assert combined.values.max() <= 1.0 and combined.values.min() >= 0.0
    assert np.allclose(combined.channel("eyeBlinkLeft"), np.clip(0.5 + blink.channel("eyeBlinkLeft"), 0, 1))
    muted = layers.combine(mouth, eyes)  # a layer left out is simply muted
    assert np.array_equal(muted.channel("eyeBlinkLeft"), mouth.channel("eyeBlinkLeft"))
    replaced = layers.combine(mouth, blink, mode="replace")
    assert np.array_equal(replaced.channel("eyeBlinkRight"), blink.channel("eyeBlinkRight"))
    with pytest.raises(ValueError):
        layers.combine(mouth.select(["jawOpen"]), blink)
