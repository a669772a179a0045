"""The neural engines end to end on real speech with the shipped models: windows, seeds, emotion,
constraints, layers, progress, cancelling and the awkward inputs (too short, invalid samples)."""

from dataclasses import replace

import numpy as np
import pytest

from inference import arkit, constraints, emotion, features, generation, models, neural
from inference.articulation import SEAL_PRESS
from inference.audio import Audio, audio_from_array
from inference.constraints import Constraint
from inference.curves import num_frames_for
from inference.errors import AudioError, CancelledError
from speech_synth import SAMPLE_RATE, festival_speech

ROUNDED_PUCKER = 0.4          # training.models.ROUNDED_POSE: the pucker of rounded lips (torch is not here)

SENTENCE = "Bob met Pam by the big map, and she was happy about it."
LIPS = ("lips",)
MOUTH = [arkit.INDEX[name] for name in arkit.NAMES if name.startswith(("jaw", "mouth"))]
# Constraints this far apart (in output frames) are corrected independently, not joined.
SPACING = 2 * constraints.correction_spans(generation.DEFAULT_FPS)[1] + 1


pytestmark = pytest.mark.usefixtures("shipped_weights")


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    samples, words = festival_speech(tmp_path_factory.mktemp("neural"), SENTENCE, name="neural")
    return audio_from_array(samples, SAMPLE_RATE), words


@pytest.fixture(scope="module")
def long_speech(speech):
    """The sentence four times: long enough for many small windows."""
    return audio_from_array(np.tile(speech[0].samples, 4), SAMPLE_RATE)


def small_window(model) -> int:
    """A window that keeps only 16 frames of its own: many windows even on short audio."""
    return 2 * (model.receptive_field + models.WINDOW_SLACK_FRAMES) + 16


def emotion_ramp(num_frames: int) -> np.ndarray:
    weights = np.zeros((num_frames, len(emotion.CATEGORIES)), np.float32)
    weights[:, emotion.CATEGORY_INDEX["happy"]] = np.linspace(0.0, 1.0, num_frames)
    weights[:, emotion.CATEGORY_INDEX["angry"]] = np.linspace(0.6, 0.0, num_frames)
    return weights


def test_features_of_a_stretch_equal_those_of_the_whole():
    samples = np.random.default_rng(0).uniform(-0.5, 0.5, 16000).astype(np.float32)
    whole = features.log_mel(samples)
    for first, stop in ((0, 7), (1, 50), (30, 70), (95, len(whole))):
        np.testing.assert_allclose(neural.log_mel_frames(samples, first, stop), whole[first:stop], atol=1e-5)


def test_windowed_regression_equals_one_pass(long_speech):
    engine = neural.load_engine("regression")
    model = engine.regression
    num_frames = features.num_model_frames(features.num_feature_frames(len(long_speech.samples)))
    feeling = emotion_ramp(num_frames)
    window = small_window(model)
    assert len(models.plan_windows(num_frames, window, window // 2 - 8)) >= 5
    speech = neural.speech_for(engine, long_speech.samples)
    one_pass = neural.regress(model, long_speech.samples, feeling, window_frames=num_frames, speech=speech)
    windowed = neural.regress(model, long_speech.samples, feeling, window_frames=window, speech=speech)
    feeds = {"features": features.log_mel(long_speech.samples)[None], "emotion": feeling[None]}
    if speech is not None:
        feeds[neural.EMBEDDING_INPUT] = speech[None]
    whole = model.run(feeds)
    assert one_pass["curves"].shape == (num_frames, arkit.NUM_CHANNELS)
    for name in neural.REGRESSION_OUTPUTS:
        np.testing.assert_allclose(one_pass[name], whole[name][0], atol=1e-5)
        np.testing.assert_allclose(windowed[name], one_pass[name], atol=1e-5)


def test_windowed_guided_denoiser_equals_one_pass(long_speech):
    engine = neural.load_engine("diffusion")
    num_frames = features.num_model_frames(features.num_feature_frames(len(long_speech.samples)))
    feeling = emotion_ramp(num_frames)
    hidden = neural.regress(engine.regression, long_speech.samples, feeling,
                            speech=neural.speech_for(engine, long_speech.samples))["audio_hidden"]
    rng = np.random.default_rng(0)
    noisy = rng.standard_normal((num_frames, arkit.NUM_CHANNELS), dtype=np.float32)
    gestures = rng.uniform(0.0, 1.0, (num_frames, 2)).astype(np.float32)
    one_pass = neural.guided_denoiser(engine.diffusion, hidden, feeling, 2.0, window_frames=num_frames,
                                      gestures=gestures)
    windowed = neural.guided_denoiser(engine.diffusion, hidden, feeling, 2.0,
                                      window_frames=small_window(engine.diffusion), gestures=gestures)
    for t in (1000.0, 300.0, 20.0):
        np.testing.assert_allclose(windowed(noisy, t), one_pass(noisy, t), atol=1e-5)


def test_diffusion_takes_are_seeded_and_regression_has_no_randomness(speech):
    audio, _ = speech
    first = generation.perform(audio, engine="diffusion", seed=4, layers=LIPS).curves.values
    np.testing.assert_array_equal(first, generation.perform(audio, engine="diffusion", seed=4, layers=LIPS).curves.values)
    other = generation.perform(audio, engine="diffusion", seed=5, layers=LIPS).curves.values
    assert np.abs(first - other)[:, MOUTH].mean() > 1e-3
    regression = [generation.perform(audio, seed=seed, layers=LIPS).curves.values for seed in (4, 5)]
    np.testing.assert_array_equal(*regression)


def test_every_diffusion_take_seals_and_rounds_the_lips_where_the_regression_engine_does(speech):
    """The diffusion engine draws the regression engine's gestures (heard at that engine's own
    voice scale): each seed's take, at the model's frames, closes the lips with the press wherever
    the regression engine seals them and reaches the rounded pose wherever it rounds them."""
    audio, _ = speech
    engine = neural.load_engine("diffusion")
    names = engine.diffusion.sidecar["gestures"]
    scale = neural.voice_scale(audio, engine.regression)
    rate = features.MODEL_FPS / scale
    count = features.num_model_frames(features.num_feature_frames(len(neural.voice.at_scale(audio.samples, scale))))
    neutral = np.zeros((count, len(emotion.CATEGORIES)), np.float32)
    drawn = neural.drawn_gestures(audio, engine.gestures, names, neutral, rate, rate, count)
    seal, rounding = drawn[:, names.index("seal")] > 0.999, drawn[:, names.index("round")] > 0.999
    assert seal.sum() >= 5 and rounding.sum() >= 3
    for seed in (0, 1):
        steps, guidance = neural.resolve_sampling(engine)
        take, _ = neural.mouth_curves(audio, engine, rate, count, seed, neutral, steps, guidance, None,
                                      style=neural.take_style(engine.diffusion, seed))
        values = take.values
        np.testing.assert_allclose(values[seal, arkit.INDEX["mouthPressLeft"]], SEAL_PRESS, atol=2e-3)
        assert (values[seal, arkit.INDEX["mouthClose"]] >= values[seal, arkit.INDEX["jawOpen"]]).all()
        assert (values[rounding, arkit.INDEX["mouthPucker"]] >= ROUNDED_PUCKER - 2e-3).all()


@pytest.mark.parametrize("engine", neural.ENGINES)
@pytest.mark.parametrize("fps", [24.0, 29.97, 60.0])
def test_curves_cover_the_audio_at_the_output_rate(speech, engine, fps):
    audio, _ = speech
    performance = generation.perform(audio, engine=engine, fps=fps, steps=3 if engine == "diffusion" else None)
    curves = performance.curves
    assert curves.fps == fps and curves.channels == arkit.NAMES and curves.start == 0.0
    assert curves.num_frames == num_frames_for(audio.duration, fps)
    assert curves.values.min() >= 0.0 and curves.values.max() <= 1.0
    assert performance.head is not None and performance.head.rotations.shape[0] == curves.num_frames
    meta = curves.meta
    assert meta["engine"] == engine and meta["seed"] == 0
    # each engine runs its own models: the diffusion engine its denoiser over its own encoder
    # the diffusion engine runs its encoder and denoiser, and the regression engine for its gestures
    assert set(meta["model_versions"]) == ({"diffusion", "encoder", "regression"} if engine == "diffusion"
                                           else {"regression"})
    assert (meta["steps"], meta["guidance"]) == ((3, 1.0) if engine == "diffusion" else (None, None))
    if engine == "diffusion":      # the take's style, as the seed drew it
        drawn = neural.take_style(neural.load_engine("diffusion").diffusion, 0)
        assert list(meta["style"]) == neural.load_engine("diffusion").diffusion.sidecar["style"]["names"]
        np.testing.assert_allclose(list(meta["style"].values()), drawn, atol=5e-4)
    else:
        assert "style" not in meta


def test_emotion_reaches_the_models_as_a_mix_or_per_frame(speech):
    audio, _ = speech
    plain = generation.perform(audio, layers=LIPS).curves.values
    happy = generation.perform(audio, layers=LIPS, emotion={"happy": 1.0}).curves.values
    assert np.abs(happy - plain).max() > 1e-3
    num_frames = num_frames_for(audio.duration, generation.DEFAULT_FPS)
    per_frame = np.zeros((num_frames, 8), np.float32)
    per_frame[:, emotion.CATEGORY_INDEX["happy"]] = 1.0
    np.testing.assert_allclose(generation.perform(audio, layers=LIPS, emotion=per_frame).curves.values, happy, atol=1e-6)
    with pytest.raises(ValueError, match=r"emotion weights must be \[%d, 8\]" % num_frames):
        generation.perform(audio, layers=LIPS, emotion=np.zeros((num_frames + 1, 8), np.float32))
    with pytest.raises(ValueError, match="unknown emotion"):
        generation.perform(audio, layers=LIPS, emotion={"joyful": 0.5})


def test_guidance_mixes_conditional_and_unconditional_predictions(speech):
    """guided = uncond + g (cond - uncond), uncond seeing the sidecar's "no emotion" token."""
    engine = neural.load_engine("diffusion")
    num_frames = features.num_model_frames(features.num_feature_frames(len(speech[0].samples)))
    feeling = emotion_ramp(num_frames)
    hidden = neural.regress(engine.regression, speech[0].samples, feeling,
                            speech=neural.speech_for(engine, speech[0].samples))["audio_hidden"]
    rng = np.random.default_rng(1)
    noisy = rng.standard_normal((num_frames, arkit.NUM_CHANNELS), dtype=np.float32)
    gestures = rng.uniform(0.0, 1.0, (num_frames, 2)).astype(np.float32)
    guided = {g: neural.guided_denoiser(engine.diffusion, hidden, feeling, g, gestures=gestures)(noisy, 400.0)
              for g in (0.0, 1.0, 3.0)}
    token = engine.diffusion.sidecar.get(neural.UNCONDITIONAL_KEY, 0.0)
    plain = neural.guided_denoiser(engine.diffusion, hidden, np.full_like(feeling, token), 1.0,
                                   gestures=gestures)(noisy, 400.0)
    np.testing.assert_allclose(guided[0.0], plain, atol=1e-5)
    assert np.abs(guided[1.0] - plain).max() > 1e-3                            # the emotion reaches the denoiser
    np.testing.assert_allclose(guided[3.0] - guided[1.0], 2 * (guided[1.0] - guided[0.0]), atol=1e-4)
    angry = {"angry": 1.0}
    takes = [generation.perform(speech[0], engine="diffusion", seed=2, steps=4, layers=LIPS, emotion=angry,
                            guidance=guidance).curves.values for guidance in (1.0, 3.0)]
    assert np.abs(takes[0] - takes[1]).max() > 1e-3


def jaw_constraints(curve, frames, num_frames):
    """jawOpen at `frames` moved twice the curve's largest nearby step away from where it was."""
    _, max_span = constraints.correction_spans(generation.DEFAULT_FPS)
    entries = [Constraint(int(k), "jawOpen", float(np.clip(
        curve[k] + np.sign(0.5 - curve[k]) * 2 * constraints.largest_step_near(curve, k, max_span), 0, 1)))
        for k in frames]
    grid, _ = constraints.constraint_grid(entries, num_frames)
    return entries, grid, max_span


def speech_frames(words, count: int, spacing: int):
    """Output frames in the middle of up to `count` words, at least `spacing` frames apart."""
    frames = []
    for _, start, end in words:
        frame = int(round((start + end) / 2 * generation.DEFAULT_FPS))
        if len(frames) < count and (not frames or frame - frames[-1] >= spacing):
            frames.append(frame)
    return frames


def test_regression_meets_constraints_exactly_without_a_jump(speech):
    audio, words = speech
    free = generation.perform(audio, layers=LIPS).curves
    curve = free.channel("jawOpen")
    entries, grid, max_span = jaw_constraints(curve, speech_frames(words, 3, SPACING), free.num_frames)
    held = generation.perform(audio, layers=LIPS, constraints=grid).curves
    result = held.channel("jawOpen")
    assert held.meta["constraint_residual"] > 0.01
    for entry in entries:
        assert abs(result[entry.frame] - entry.value) <= 1e-6
        near = slice(max(0, entry.frame - max_span), entry.frame + max_span + 1)
        assert np.abs(np.diff(result[near])).max() <= constraints.largest_step_near(curve, entry.frame, max_span) + 1e-6
    others = [column for column in range(arkit.NUM_CHANNELS) if column != arkit.INDEX["jawOpen"]]
    np.testing.assert_array_equal(held.values[:, others], free.values[:, others])


def test_diffusion_inpaints_constraints_then_meets_them_exactly_without_a_jump(speech):
    audio, words = speech
    free = generation.perform(audio, engine="diffusion", seed=3, layers=LIPS).curves
    curve = free.channel("jawOpen")
    entries, grid, max_span = jaw_constraints(curve, speech_frames(words, 3, SPACING), free.num_frames)
    held = generation.perform(audio, engine="diffusion", seed=3, layers=LIPS, constraints=grid).curves
    assert held.meta["constraint_residual"] <= 1e-3                 # inpainting alone already meets them
    result = held.channel("jawOpen")
    for entry in entries:
        assert abs(result[entry.frame] - entry.value) <= 1e-6
        touching = np.abs(np.diff(result[entry.frame - 1:entry.frame + 2])).max()
        assert touching <= constraints.largest_step_near(curve, entry.frame, max_span) + 1e-6, \
            f"jump at frame {entry.frame}"


def test_without_lips_the_mouth_rests_and_the_layers_match_the_phonetic_engine(speech):
    audio, _ = speech
    layers = ("blinks", "gaze", "brows", "head")
    neural_take = generation.perform(audio, engine="diffusion", seed=9, layers=layers)
    phonetic_take = generation.perform(audio, engine="phonetic", seed=9, layers=layers)
    assert np.abs(neural_take.curves.values[:, MOUTH]).max() == 0.0
    np.testing.assert_array_equal(neural_take.curves.values, phonetic_take.curves.values)
    np.testing.assert_array_equal(neural_take.head.rotations, phonetic_take.head.rotations)


def test_audio_too_short_or_with_invalid_samples(speech):
    with pytest.raises(AudioError, match="the models need at least 20 ms"):
        generation.perform(audio_from_array(np.full(200, 0.1, np.float32), SAMPLE_RATE))
    samples = speech[0].samples.copy()
    samples[1000:1100] = np.nan
    cleaned = generation.perform(audio_from_array(samples, SAMPLE_RATE), layers=LIPS)
    assert any("invalid (NaN/inf) samples" in warning for warning in cleaned.warnings)
    assert np.all(np.isfinite(cleaned.curves.values))
    with pytest.raises(AudioError, match="invalid"):
        generation.perform(Audio(samples), layers=LIPS)


def test_progress_reaches_the_total_and_cancelling_stops_the_take(speech):
    audio, words = speech
    reports = []
    generation.perform(audio, engine="diffusion", steps=4, layers=LIPS,
                   progress=lambda done, total: reports.append((done, total)))
    assert reports == [(done, 5) for done in range(1, 6)]
    num_frames = num_frames_for(audio.duration, generation.DEFAULT_FPS)
    grid, _ = constraints.constraint_grid([Constraint(20, "jawOpen", 0.5)], num_frames)
    reports.clear()
    generation.perform(audio, engine="diffusion", steps=4, layers=LIPS, constraints=grid,
                   progress=lambda done, total: reports.append((done, total)))
    assert reports[-1] == (9, 9)                                    # one resampling pass per step when inpainting
    asked = []
    with pytest.raises(CancelledError):
        generation.perform(audio, engine="diffusion", steps=4, layers=LIPS,
                       should_cancel=lambda: asked.append(1) or len(asked) > 3)


@pytest.mark.parametrize("options, words", [
    ({"engine": "regression", "steps": 5}, "diffusion engine only"),
    ({"engine": "regression", "guidance": 2.0}, "diffusion engine only"),
    ({"engine": "diffusion", "steps": 0}, "steps must be between 1 and"),
    ({"engine": "diffusion", "guidance": -1.0}, "guidance must be a number >= 0"),
    ({"engine": "gan"}, "unknown engine"),
    ({"fps": 0.0}, "fps must be a positive number"),
    ({"layers": ("lips", "ears")}, "unknown layer"),
    ({"provider": "TPU"}, "unknown provider preference"),
])
def test_bad_options_are_value_errors(speech, options, words):
    with pytest.raises(ValueError, match=words):
        generation.perform(speech[0], **options)


@pytest.mark.parametrize("value, reference, expected", [
    ([0.2, 0.5], [0.2, 0.5005], 0.0005),          # curves (0-1): absolute
    ([100.1, -40.0], [100.0, -40.0], 0.001),      # large outputs: relative to their largest magnitude
    ([0.2, np.nan], [0.2, 0.5], float("inf")),    # a GPU that gives NaN never agrees
    ([0.2, 0.5], [0.2, 0.5, 0.1], float("inf")),  # nor one that gives another shape
])
def test_disagreement_is_absolute_up_to_1_and_relative_above(value, reference, expected):
    assert neural.disagreement(np.array(value), np.array(reference)) == pytest.approx(expected, rel=1e-6)


def test_the_parity_run_passes_equal_providers_and_refuses_a_candidate_that_fails_it():
    """The parity run on the real models: the CPU against itself, also with other thread counts,
    agrees (what a working GPU provider must do). A candidate that cannot run the run (its denoiser
    session is another model's) gets the note naming the provider and why, the note `load_engine`
    gives with the CPU engine."""
    one = neural.load_engine("diffusion", provider="CPU", cpu_threads=1)
    two = neural.load_engine("diffusion", provider="CPU", cpu_threads=2)
    assert one.provider == "CPUExecutionProvider"
    assert neural.parity_gap(one, one) == 0.0
    assert neural.parity_gap(two, one) <= neural.PARITY_TOLERANCE
    assert neural._parity_note(two, one) is None
    broken = replace(one, diffusion=replace(one.diffusion, session=one.regression.session))
    note = neural._parity_note(broken, one)
    assert note.startswith("CPUExecutionProvider failed the parity run against the CPU (Required inputs")
    assert note.endswith("); running on the CPU.")
