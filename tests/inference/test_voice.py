"""Voice normalisation (`inference.voice`) on real speech, and the neural engines hearing a high
voice lower while the take keeps the clip's own timing."""

import json
import shutil

import numpy as np
import pytest

from inference import generation, models, voice
from inference.audio import audio_from_array
from inference.curves import num_frames_for
from speech_synth import SAMPLE_RATE, festival_speech

SENTENCE = "Bob met Pam by the big map, and she was happy about it."
LIPS = ("lips",)


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    samples, words = festival_speech(tmp_path_factory.mktemp("voice"), SENTENCE, name="voice")
    return samples, words


@pytest.mark.parametrize("pitch, reference, expected", [
    (None, 125.0, 1.0), (200.0, None, 1.0), (100.0, 125.0, 1.0), (125.0, 125.0, 1.0),
    (200.0, 125.0, (125.0 / 200.0) ** voice.EXPONENT), (1000.0, 125.0, voice.LOWEST_SCALE),
])
def test_only_a_voice_above_the_reference_is_lowered_and_never_below_the_lowest_scale(pitch, reference, expected):
    assert voice.scale_for_pitch(pitch, reference) == pytest.approx(expected)


def test_played_slower_the_voice_is_longer_and_its_pitch_lower_by_the_same_factor(speech):
    samples, _ = speech
    pitch = voice.median_pitch(samples)
    assert pitch is not None and 120.0 < pitch < 260.0           # festival's slt, a woman's voice
    for scale in (0.8, 0.9, 1.25):
        played = voice.at_scale(samples, scale)
        assert played.dtype == np.float32 and len(played) == round(len(samples) / scale)
        assert voice.median_pitch(played) == pytest.approx(pitch * scale, rel=0.03)
    np.testing.assert_array_equal(voice.at_scale(samples, 1.0), samples)


def test_playing_at_a_scale_is_linear_interpolation_across_its_blocks():
    samples = np.random.default_rng(1).standard_normal(2 * voice.BLOCK_SAMPLES + 12345).astype(np.float32)
    for scale in (0.8, 0.937, 1.25):
        count = round(len(samples) / scale)
        expected = np.interp(np.arange(count) * scale, np.arange(len(samples)), samples)
        np.testing.assert_allclose(voice.at_scale(samples, scale), expected, atol=1e-5)


def test_a_long_clips_pitch_is_measured_on_evenly_spaced_excerpts(speech):
    samples, _ = speech
    size = int(voice.PITCH_EXCERPT_SECONDS * SAMPLE_RATE)
    short = np.arange(voice.PITCH_EXCERPTS * size, dtype=np.float32)
    assert voice.pitch_excerpts(short) is short
    long = np.arange(3 * voice.PITCH_EXCERPTS * size + 7, dtype=np.float32)
    excerpts = voice.pitch_excerpts(long).reshape(voice.PITCH_EXCERPTS, size)
    assert excerpts[0, 0] == 0 and excerpts[-1, -1] == long[-1]             # from the start to the end
    assert np.all(np.diff(excerpts[:, 0]) > 2 * size)                       # spread, not bunched
    hour_like = np.tile(samples, int(np.ceil(2 * voice.PITCH_EXCERPTS * size / len(samples))))
    assert voice.median_pitch(hour_like) == pytest.approx(voice.median_pitch(samples), rel=0.03)


def test_audio_without_a_voice_is_heard_as_it_is():
    rng = np.random.default_rng(0)
    for samples in (np.zeros(SAMPLE_RATE, np.float32), rng.uniform(-0.3, 0.3, 2 * SAMPLE_RATE).astype(np.float32)):
        assert voice.median_pitch(samples) is None
        assert voice.formant_scale(samples, 125.0) == 1.0


def weights_with_reference(folder, reference):
    """A copy of the shipped weights whose regression model and diffusion encoder name this
    reference pitch in their sidecars (None: none)."""
    shutil.copytree(models.find_weights_dir(), folder)
    for name in ("regression", models.encoder_of(models.read_sidecar(folder / "diffusion.json"))):
        sidecar = json.loads((folder / f"{name}.json").read_text())
        sidecar[voice.SIDECAR_KEY] = reference
        (folder / f"{name}.json").write_text(json.dumps(sidecar))
    return folder


def best_lag(moving: np.ndarray, fixed: np.ndarray, reach: int = 8) -> tuple[int, float]:
    """(lag in frames, correlation) at which `moving` best matches `fixed`."""
    def correlation(lag):
        a, b = moving[reach + lag:len(moving) - reach + lag], fixed[reach:len(fixed) - reach]
        return float(np.corrcoef(a, b)[0, 1])
    return max(((lag, correlation(lag)) for lag in range(-reach, reach + 1)), key=lambda pair: pair[1])


@pytest.mark.parametrize("engine", ["regression", "diffusion"])
def test_a_high_voice_is_heard_lower_and_its_closures_stay_where_the_clip_has_them(speech, tmp_path, engine):
    samples, _ = speech
    audio = audio_from_array(samples, SAMPLE_RATE)
    pitch = voice.median_pitch(samples)
    heard = generation.perform(audio, engine=engine, layers=LIPS,
                               weights_dir=weights_with_reference(tmp_path / "heard", pitch / 1.4)).curves
    plain = generation.perform(audio, engine=engine, layers=LIPS,
                               weights_dir=weights_with_reference(tmp_path / "plain", None)).curves
    scale = voice.scale_for_pitch(pitch, pitch / 1.4)
    assert scale < 0.95 and heard.meta["voice_scale"] == pytest.approx(scale, abs=1e-4)
    assert plain.meta["voice_scale"] == 1.0
    assert heard.num_frames == plain.num_frames == num_frames_for(audio.duration, generation.DEFAULT_FPS)
    assert np.abs(heard.values - plain.values).max() > 1e-3              # the models heard another voice
    # ... but at the clip's own time: the jaw of the last half of one take matches the other's
    # without a lag (played 1/scale times longer and not mapped back, it would lag 6 frames or more)
    half = heard.num_frames // 2
    lag, correlation = best_lag(heard.channel("jawOpen")[half:], plain.channel("jawOpen")[half:])
    assert abs(lag) <= 1 and correlation > 0.8


def test_a_request_can_hear_the_voice_as_recorded(speech):
    """With the shipped weights' reference pitch, "auto" lowers festival's slt and "off" does not;
    the request, the batch cache and the command line all carry the choice."""
    from inference import batch, cli
    samples, _ = speech
    audio = audio_from_array(samples, SAMPLE_RATE)
    takes = {mode: generation.perform(audio, layers=LIPS, voice=mode).curves for mode in voice.MODES}
    assert takes["off"].meta["voice_scale"] == 1.0
    reference = models.load_model("regression").sidecar.get(voice.SIDECAR_KEY)
    assert takes["auto"].meta["voice_scale"] == pytest.approx(
        voice.scale_for_pitch(voice.median_pitch(samples), reference), abs=1e-4)
    if takes["auto"].meta["voice_scale"] < 1.0:
        assert np.abs(takes["auto"].values - takes["off"].values).max() > 1e-3
    with pytest.raises(ValueError, match="unknown voice 'low'; choose from auto, off"):
        generation.perform(audio, layers=LIPS, voice="low")
    requests = [generation.Request("regression", 30.0, voice=mode) for mode in voice.MODES]
    assert batch.cache_key(audio, requests[0]) != batch.cache_key(audio, requests[1])
    phonetic = [generation.Request("phonetic", 30.0, voice=mode) for mode in voice.MODES]
    assert batch.cache_key(audio, phonetic[0]) == batch.cache_key(audio, phonetic[1])   # it hears no voice
    assert cli.build_parser().parse_args(["a.wav", "--out", "o", "--voice", "off"]).voice == "off"
    assert cli.build_batch_parser().parse_args(["shots.csv", "--out", "o"]).voice == "auto"


def test_constraints_are_met_exactly_when_the_models_hear_a_lower_voice(speech, tmp_path):
    from inference.constraints import Constraint, constraint_grid
    samples, words = speech
    audio = audio_from_array(samples, SAMPLE_RATE)
    folder = weights_with_reference(tmp_path / "heard", voice.median_pitch(samples) / 1.4)
    count = num_frames_for(audio.duration, generation.DEFAULT_FPS)
    frames = [int(round((start + end) / 2 * generation.DEFAULT_FPS)) for _, start, end in words[::4]]
    grid, _ = constraint_grid([Constraint(frame, "jawOpen", 0.9) for frame in frames], count)
    take = generation.perform(audio, engine="diffusion", seed=1, layers=LIPS, weights_dir=folder,
                              constraints=grid).curves
    assert take.meta["voice_scale"] < 0.95
    assert take.meta["constraint_residual"] <= 1e-3                  # inpainted on the models' own frames
    for frame in frames:
        assert take.channel("jawOpen")[frame] == pytest.approx(0.9, abs=1e-6)
