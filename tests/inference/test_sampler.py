"""DDIM sampling: the cosine schedule, the deterministic path, seeding, inpainting, progress, cancelling.

The algebra is checked with denoisers that are plain functions of their input (an exact oracle,
one that overshoots); seeding and inpainting with the shipped diffusion model.
"""

import math

import numpy as np
import pytest

from inference import features, neural
from inference.audio import audio_from_array
from inference.errors import CancelledError, ModelError
from inference.sampler import CosineSchedule, Known, ddim_timesteps, sample

SCHEDULE = CosineSchedule(1000, 0.008)
DATA_RANGE = (-1.0, 1.0)


def clean_sample(num_frames: int = 40, channels: int = 6) -> np.ndarray:
    t = np.arange(num_frames)[:, None] / 10.0
    return (0.8 * np.sin(t + np.arange(channels)[None, :])).astype(np.float32)


@pytest.fixture(scope="module")
def denoiser():
    """The shipped diffusion model as a `denoise(x_t, t)` on 4 s of a voiced, syllable-like tone."""
    try:
        models = neural.load_engine("diffusion")
    except ModelError as exc:
        pytest.fail(f"these tests need the shipped model weights: {exc}")
    t = np.arange(4 * features.SAMPLE_RATE) / features.SAMPLE_RATE
    samples = (0.3 * np.sin(2 * np.pi * 150 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)
    num_frames = features.num_model_frames(features.num_feature_frames(len(samples)))
    emotion = np.zeros((num_frames, 8), np.float32)
    hidden = neural.regress(models.regression, samples, emotion, speech=neural.speech_for(models, samples))["audio_hidden"]
    channels = len(models.diffusion.sidecar["channels"])
    gestures = None
    if models.gestures is not None:       # the regression engine's seal and rounding, as the engine draws them
        gestures = neural.drawn_gestures(audio_from_array(samples, features.SAMPLE_RATE), models.gestures,
                                         models.diffusion.sidecar["gestures"], emotion, features.MODEL_FPS,
                                         features.MODEL_FPS, num_frames)
    return neural.guided_denoiser(models.diffusion, hidden, emotion, 1.0, gestures=gestures), (num_frames, channels)


def test_the_cosine_schedule():
    alpha_bar = SCHEDULE.alpha_bar(np.arange(1001))
    f = lambda t: math.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2
    assert alpha_bar[0] == 1.0 and alpha_bar[-1] == 1e-5 and np.all(np.diff(alpha_bar) <= 0)   # clipped at the end
    assert alpha_bar[400] == pytest.approx(f(400) / f(0), rel=1e-12)


def test_timesteps_walk_from_the_last_training_step_to_zero():
    assert ddim_timesteps(10, 1000).tolist() == [1000, 900, 800, 700, 600, 500, 400, 300, 200, 100, 0]
    assert ddim_timesteps(3, 1000).tolist() == [1000, 667, 333, 0]
    for steps in (0, 1001):
        with pytest.raises(ValueError, match="between 1 and 1000"):
            ddim_timesteps(steps, 1000)


def test_deterministic_ddim_keeps_one_noise_direction_with_an_exact_denoiser():
    """With x0 known exactly, eta = 0 moves x_t along the noise it started from, ending on x0."""
    clean = clean_sample()
    seen = []

    def exact(x_t, t):
        seen.append((x_t.copy(), t))
        return clean

    out = sample(exact, clean.shape, SCHEDULE, 8, seed=3)
    np.testing.assert_allclose(out, clean, atol=1e-6)
    first = np.random.default_rng(3).standard_normal(clean.shape, dtype=np.float32)
    np.testing.assert_array_equal(seen[0][0], first)
    directions = [(x_t - math.sqrt(SCHEDULE.alpha_bar(t)) * clean) / math.sqrt(1 - SCHEDULE.alpha_bar(t))
                  for x_t, t in seen]
    for direction in directions[1:]:
        np.testing.assert_allclose(direction, directions[0], atol=1e-4)
    assert [t for _, t in seen] == ddim_timesteps(8, 1000)[:-1].tolist()


def test_eta_adds_fresh_noise_along_the_way():
    clean = clean_sample()
    seen = []

    def exact(x_t, t):
        seen.append(x_t.copy())
        return clean

    sample(exact, clean.shape, SCHEDULE, 8, seed=3, eta=1.0)
    directions = [(x_t - math.sqrt(SCHEDULE.alpha_bar(t)) * clean) / math.sqrt(1 - SCHEDULE.alpha_bar(t))
                  for x_t, t in zip(seen, ddim_timesteps(8, 1000))]
    assert np.abs(directions[-1] - directions[0]).max() > 0.5


def test_predictions_are_clipped_to_the_data_range():
    overshoot = lambda x_t, t: np.full(x_t.shape, 5.0, np.float32)
    np.testing.assert_array_equal(sample(overshoot, (10, 3), SCHEDULE, 4, seed=0, data_range=DATA_RANGE), 1.0)


def test_the_same_seed_gives_the_same_sample_and_another_seed_another(denoiser):
    denoise, shape = denoiser
    first = sample(denoise, shape, SCHEDULE, 6, seed=11)
    np.testing.assert_array_equal(first, sample(denoise, shape, SCHEDULE, 6, seed=11))
    # Another seed, another take. How different the takes are is a property of the trained model,
    # measured against the bar by benchmarks/quality.py, not here.
    assert np.abs(first - sample(denoise, shape, SCHEDULE, 6, seed=12)).mean() > 1e-5
    assert first.min() >= -1.0 and first.max() <= 1.0


def test_inpainting_pastes_noised_known_values_each_step_and_meets_them_at_the_end(denoiser):
    denoise, shape = denoiser
    rng = np.random.default_rng(5)
    mask = rng.random(shape) < 0.2
    values = rng.uniform(-0.8, 0.8, shape).astype(np.float32)
    seen = []

    def recording(x_t, t):
        seen.append((x_t.copy(), t))
        return denoise(x_t, t)

    out = sample(recording, shape, SCHEDULE, 5, seed=1, known=Known(mask, values, (5, 25)), resample=1)
    assert len(seen) == 10 and [t for _, t in seen] == [1000, 1000, 800, 800, 600, 600, 400, 400, 200, 200]
    np.testing.assert_allclose(out[mask], values[mask], atol=1e-6)
    for x_t, t in seen[1:]:
        alpha_bar = SCHEDULE.alpha_bar(t)
        noise = (x_t[mask] - math.sqrt(alpha_bar) * values[mask]) / math.sqrt(1 - alpha_bar)
        assert abs(noise.mean()) < 0.1 and 0.8 < noise.std() < 1.2, f"known entries at t={t} are not the noised values"


def test_progress_counts_every_evaluation_and_cancelling_stops_before_the_next():
    clean = clean_sample()
    calls, reports = [], []

    def exact(x_t, t):
        calls.append(t)
        return clean

    sample(exact, clean.shape, SCHEDULE, 4, seed=0, resample=2,
           progress=lambda done, total: reports.append((done, total)))
    assert reports == [(done, 12) for done in range(1, 13)] and len(calls) == 12

    calls.clear()
    with pytest.raises(CancelledError):
        sample(exact, clean.shape, SCHEDULE, 4, seed=0, should_cancel=lambda: len(calls) == 2)
    assert len(calls) == 2
