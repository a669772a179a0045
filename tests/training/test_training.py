"""Tiny real training runs (torch, CPU): the corpus, windows, both models, ONNX export and parity.

Runs in the training environment (`.venv/train`, torch 2.13 CPU); skipped where torch is absent.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is only in the training environment (.venv/train)")

from inference import arkit, voice  # noqa: E402
from inference.articulation import SEAL_MARGIN, SEAL_PRESS  # noqa: E402
from inference.features import MODEL_FPS, log_mel, num_model_frames  # noqa: E402
from inference.phonemes import PhoneInterval  # noqa: E402
from training import augment, dataset, models, targets  # noqa: E402
from training.corpus import Utterance  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_smoke_run_trains_exports_and_matches_onnx(tmp_path):
    out = subprocess.run([sys.executable, "-m", "training", "smoke", "--out", str(tmp_path)], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "torch vs onnx max difference" in out.stdout
    for name in ("regression", "diffusion"):
        sidecar = json.loads((tmp_path / "weights" / f"{name}.json").read_text())
        assert sidecar["channels"] == list(arkit.NAMES)
        assert sidecar["bytes"] == (tmp_path / "weights" / sidecar["file"]).stat().st_size
        assert "TIMIT" in sidecar["training"]["not_used"]
        assert set(sidecar["training"]["data"]) == {"festival"}


def test_models_depend_only_on_frames_within_their_receptive_field():
    torch.manual_seed(0)
    regression, denoiser = models.RegressionModel(32).eval(), models.Denoiser(32, 32).eval()
    features = torch.randn(1, 400, 64)
    frames = num_model_frames(400)
    emotion = torch.rand(1, frames, 8)
    speech = torch.randn(1, frames, models.EMBEDDING_DIM)
    with torch.no_grad():
        full, hidden, drawn = regression(features, emotion, speech)
        # frames further than the receptive field from a crop's edges are unchanged by the crop
        start, stop = 60, 260                       # feature frames (even start keeps the stride)
        crop, _, crop_drawn = regression(features[:, start:stop], emotion[:, start // 2:stop // 2],
                                         speech[:, start // 2:stop // 2])
        margin = regression.receptive_field
        np.testing.assert_allclose(crop[0, margin:-margin], full[0, start // 2 + margin:stop // 2 - margin],
                                   atol=1e-5)
        np.testing.assert_allclose(crop_drawn[0, margin:-margin], drawn[0, start // 2 + margin:stop // 2 - margin],
                                   atol=1e-5)
        noisy = torch.randn(1, frames, 52)
        out = denoiser(noisy, torch.tensor([300.0]), hidden, emotion)
        part = denoiser(noisy[:, 30:150], torch.tensor([300.0]), hidden[:, 30:150], emotion[:, 30:150])
        margin = denoiser.receptive_field
        np.testing.assert_allclose(part[0, margin:-margin], out[0, 30 + margin:150 - margin], atol=1e-5)
        # and a frame does depend on its neighbours: the field is not zero
        changed = noisy.clone()
        changed[:, 100] += 1.0
        assert not torch.allclose(denoiser(changed, torch.tensor([300.0]), hidden, emotion)[0, 101], out[0, 101])


def _utterance(seconds=1.5):
    rng = np.random.default_rng(0)
    samples = (rng.standard_normal(int(seconds * 16000)) * 3000).astype(np.int16)
    phones = (PhoneInterval("sil", 0.0, 0.3), PhoneInterval("m", 0.3, 0.45), PhoneInterval("aa", 0.45, 0.9),
              PhoneInterval("p", 0.9, 1.0), PhoneInterval("sil", 1.0, seconds))
    return Utterance(samples, phones, "test", "noise")


def test_window_targets_line_up_with_the_audio():
    utt = _utterance()
    features, _, emotion, target, gestures, _ = dataset.make_window(utt, np.random.default_rng(3),
                                                                    augment_audio=False, style=False)
    seal, rounding = gestures[:, models.GESTURES.index("seal")], gestures[:, models.GESTURES.index("round")]
    assert features.shape == (dataset.WINDOW_FEATURES, 64)
    assert target.shape == (dataset.WINDOW_FRAMES, 52) and emotion.shape == (dataset.WINDOW_FRAMES, 8)
    # find where the utterance was placed from the audio (features of silence are at the log floor)
    loud = np.flatnonzero(features.max(axis=1) > np.log(1e-3))
    first_model_frame = int(round(loud[0] / 2))
    # the closure of /m/ (0.30-0.45 s into the utterance) lies at the same offset in the targets
    closure = target[:, arkit.INDEX["mouthClose"]]
    inside = first_model_frame + int(0.37 * MODEL_FPS)
    assert closure[inside] > 0.0
    assert closure[first_model_frame + int(0.65 * MODEL_FPS)] == 0.0
    # the seal the models learn is 1 on the closure and 0 on the open vowel; nothing here is rounded
    assert seal[inside] > 0.99 and seal[first_model_frame + int(0.65 * MODEL_FPS)] == 0.0
    assert np.all(rounding == 0.0)


def test_rounding_is_learnt_where_the_rules_round_the_lips_and_not_where_they_spread():
    phones = [PhoneInterval("sil", 0.0, 0.3), PhoneInterval("w", 0.3, 0.4), PhoneInterval("uw", 0.4, 0.7),
              PhoneInterval("d", 0.7, 0.78), PhoneInterval("iy", 0.78, 1.2), PhoneInterval("sh", 1.2, 1.35),
              PhoneInterval("sil", 1.35, 2.0)]
    values, gestures = targets.target_curves(phones, 2.0)
    rounding = gestures[:, models.GESTURES.index("round")]
    at = lambda t: int(t * MODEL_FPS)   # noqa: E731
    assert rounding[at(0.35)] == 1.0 and rounding[at(0.55)] == 1.0          # w, uw
    assert rounding[at(1.0)] == 0.0 and rounding[at(1.28)] == 0.0           # iy (spread), sh (only lightly rounded)
    assert rounding[at(1.8)] == 0.0                                           # silence after it
    # the rules pre-round the lips in the pause before the "w"; the gesture waits for speech
    assert values[at(0.2), arkit.INDEX["mouthPucker"]] > targets.ROUND_PUCKER[1] and rounding[at(0.2)] == 0.0
    # a style (rounding gains) or an emotion change the curves, not the gesture: it is the rules' own
    _, styled = targets.target_curves(phones, 2.0, style={"round": 0.5, "jaw": 1.3})
    assert np.array_equal(styled, gestures)


def test_the_rounding_gesture_raises_pucker_and_funnel_to_the_rounded_pose_and_leaves_the_rest():
    curves = torch.zeros(1, models.NUM_CHANNELS, 3)
    curves[:, arkit.INDEX["mouthPucker"]] = torch.tensor([0.1, 0.1, 0.7])
    curves[:, arkit.INDEX["jawOpen"]] = 0.2
    logits = torch.full((1, len(models.GESTURES), 3), -10.0)
    logits[:, models.GESTURES.index("round")] = torch.tensor([-10.0, 10.0, 10.0])
    out = models.gesture_decode(curves, logits, models.Decisions(seal_peak=None, round_peak=None))
    pucker, funnel = out[0, arkit.INDEX["mouthPucker"]], out[0, arkit.INDEX["mouthFunnel"]]
    assert pucker.tolist() == pytest.approx([0.1, models.ROUNDED_POSE["mouthPucker"], 0.7])   # at least the pose
    assert funnel.tolist() == pytest.approx([0.0, models.ROUNDED_POSE["mouthFunnel"], models.ROUNDED_POSE["mouthFunnel"]])
    others = [i for i in range(models.NUM_CHANNELS) if i not in (arkit.INDEX["mouthPucker"], arkit.INDEX["mouthFunnel"])]
    assert torch.equal(out[0, others], curves[0, others])


def test_the_seal_closes_the_lips_briefly_at_each_peak_of_its_probability_above_the_floor():
    """With a floor, each local peak of the seal's probability at or above it seals the lips for
    `PEAK_HOLD` frames either side; a lower peak, and the inside of a flat stretch, seal nothing."""
    probability = torch.full((40,), 0.02)
    probability[5:10] = torch.tensor([0.05, 0.1, 0.2, 0.12, 0.06])     # a peak of 0.2 at frame 7
    probability[18:21] = torch.tensor([0.05, 0.1, 0.05])               # a peak below the floor
    probability[27:40] = 0.5                                           # a step up at 27, then flat
    logits = torch.full((1, len(models.GESTURES), 40), -10.0)
    logits[0, models.GESTURES.index("seal")] = torch.logit(probability)
    curves = torch.zeros(1, models.NUM_CHANNELS, 40)
    curves[:, arkit.INDEX["jawOpen"]] = 0.3
    curves[:, arkit.INDEX["mouthFunnel"]] = 0.2                        # a lip-parting shape, faded where sealed

    def sealed_frames(seal_peak):
        out = models.gesture_decode(curves, logits, models.Decisions(seal=(0.7, 0.99), seal_peak=seal_peak))
        close = out[0, arkit.INDEX["mouthClose"]].tolist()
        assert all(value == 0 or value == pytest.approx(0.3 + SEAL_MARGIN) for value in close)   # whole or not at all
        assert [value > 0 for value in close] == (out[0, arkit.INDEX["mouthFunnel"]] == 0).tolist()
        return [frame for frame, value in enumerate(close) if value > 0]

    hold = list(range(7 - models.PEAK_HOLD, 7 + models.PEAK_HOLD + 1))
    step = list(range(27 - models.PEAK_HOLD, 27 + models.PEAK_RADIUS + models.PEAK_HOLD))   # where it still rises
    assert sealed_frames(0.12) == hold + step
    assert sealed_frames(0.25) == step
    assert sealed_frames(None) == []                                   # the decision alone: below 0.7, open


def test_the_lips_round_briefly_at_each_peak_of_the_rounding_probability_above_its_floor():
    """Like the seal's: each local peak of the rounding probability at or above the floor rounds
    the lips whole for `PEAK_HOLD` frames either side; a lower peak rounds nothing, and without a
    floor only the decision draws rounding."""
    probability = torch.full((30,), 0.02)
    probability[5:10] = torch.tensor([0.05, 0.1, 0.2, 0.12, 0.06])     # a peak of 0.2 at frame 7
    probability[18:21] = torch.tensor([0.05, 0.1, 0.05])               # a peak below the floor
    logits = torch.full((1, len(models.GESTURES), 30), -10.0)
    logits[0, models.GESTURES.index("round")] = torch.logit(probability)
    curves = torch.zeros(1, models.NUM_CHANNELS, 30)

    def rounded_frames(round_peak):
        out = models.gesture_decode(curves, logits, models.Decisions(rounding=(0.4, 0.9), round_peak=round_peak))
        pucker = out[0, arkit.INDEX["mouthPucker"]].tolist()
        assert all(value == 0 or value == pytest.approx(models.ROUNDED_POSE["mouthPucker"]) for value in pucker)
        return [frame for frame, value in enumerate(pucker) if value > 0]

    assert rounded_frames(0.15) == list(range(7 - models.PEAK_HOLD, 7 + models.PEAK_HOLD + 1))
    assert rounded_frames(0.25) == []
    assert rounded_frames(None) == []


def _as_before_rounding(state: dict, model_class) -> dict:
    """A state dict as saved before the rounding gesture: its output layers one gesture row short."""
    state = dict(state)
    for layer in model_class.GESTURE_LAYERS:
        for part in ("weight", "bias"):
            state[f"{layer}.{part}"] = state[f"{layer}.{part}"][:-1]
    return state


def test_a_corpus_is_named_by_its_content_and_a_run_is_resumed_on_its_own_corpus_alone(tmp_path):
    import dataclasses

    from training import corpus as corpus_mod
    from training import train

    corpus = {"festival": [_utterance(), _utterance(2.0)]}
    trained_on = corpus_mod.digest(corpus)
    # the content names it, not the files: the corpus saved as a cache's shards and loaded again
    records = [{"samples": utt.samples, "phones": [(p.phone, p.start, p.end) for p in utt.phones], "voice": utt.voice,
                "text": utt.text} for utt in corpus["festival"]]
    corpus_mod.save_shard(tmp_path / "cache" / "corpus" / "festival.npz", records, "festival")
    assert corpus_mod.digest(corpus_mod.load_corpus(tmp_path / "cache")) == trained_on
    # one phone moved, one utterance more, or its speech embedding: another corpus
    first = corpus["festival"][0]
    moved = {"festival": [dataclasses.replace(first, phones=first.phones[:1] + (PhoneInterval("b", 0.3, 0.45),)
                                              + first.phones[2:]), corpus["festival"][1]]}
    embedded = {"festival": [dataclasses.replace(first, embedding=np.zeros((75, 96), np.float16)),
                             corpus["festival"][1]]}
    others = {corpus_mod.digest(c) for c in (moved, embedded, {"festival": corpus["festival"] * 2})}
    assert len(others) == 3 and trained_on not in others and len(trained_on) == corpus_mod.DIGEST_DIGITS

    run = tmp_path / "run"
    train.train(corpus, run, steps=1, minutes=5, batch_size=2, hidden=32, channels=32, workers=0)
    assert torch.load(run / "checkpoint.pt", weights_only=False)["corpus"] == trained_on
    assert torch.load(train.snapshots(run)[-1], weights_only=False)["corpus"] == trained_on
    with pytest.raises(ValueError, match=f"trained on the corpus {trained_on}, and this cache holds "
                                         f"{corpus_mod.digest(moved)}.*--init-from"):
        train.train(moved, run, steps=2, minutes=5, batch_size=2, hidden=32, channels=32, workers=0)
    assert torch.load(run / "checkpoint.pt", weights_only=False)["step"] == 1
    train.train(corpus, run, steps=2, minutes=5, batch_size=2, hidden=32, channels=32, workers=0)
    assert torch.load(run / "checkpoint.pt", weights_only=False)["step"] == 2
    # a fine-tune on the other corpus is a new run, and names the corpus it trains on
    tuned = train.train(moved, tmp_path / "tuned", steps=1, minutes=5, batch_size=2, workers=0,
                        init_from=run / "checkpoint.pt")
    assert torch.load(tuned, weights_only=False)["corpus"] == corpus_mod.digest(moved)


class _Stopped(Exception):
    """Stands for the run being killed between two steps."""


@pytest.mark.parametrize("workers", [0, 1])
def test_a_run_stopped_and_resumed_trains_the_weights_of_one_run_straight_through(tmp_path, monkeypatch, workers):
    from training import train

    corpus = {"festival": [_utterance(), _utterance(2.0)]}
    settings = dict(steps=4, minutes=math.inf, batch_size=2, hidden=32, channels=32, workers=workers, snapshot_every=0,
                    threads=1)
    straight = torch.load(train.train(corpus, tmp_path / "straight", **settings), weights_only=False)
    monkeypatch.setattr(train, "SAVE_EVERY_S", -1.0)       # a checkpoint after every step, as if killed after one
    schedule = train.learning_rate

    def stopping(step, progress, peak, warmup=200):
        if step == 2:
            raise _Stopped
        return schedule(step, progress, peak, warmup)
    monkeypatch.setattr(train, "learning_rate", stopping)
    with pytest.raises(_Stopped):
        train.train(corpus, tmp_path / "stopped", **settings)
    assert torch.load(tmp_path / "stopped" / "checkpoint.pt", weights_only=False)["step"] == 2
    monkeypatch.setattr(train, "learning_rate", schedule)
    resumed = torch.load(train.train(corpus, tmp_path / "stopped", **settings), weights_only=False)
    assert resumed["step"] == straight["step"] == 4
    for key in ("regression", "denoiser", "ema_regression", "ema_denoiser"):
        for name, tensor in straight[key].items():
            assert torch.equal(tensor, resumed[key][name]), (key, name)
    # a checkpoint from before the streams were kept resumes on new ones: other weights
    old = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=False)
    monkeypatch.setattr(train, "learning_rate", stopping)
    with pytest.raises(_Stopped):
        train.train(corpus, tmp_path / "old", **settings)
    monkeypatch.setattr(train, "learning_rate", schedule)
    kept = torch.load(tmp_path / "old" / "checkpoint.pt", weights_only=False)
    del kept["stream_states"], kept["torch_rng"]
    torch.save(kept, tmp_path / "old" / "checkpoint.pt")
    other = torch.load(train.train(corpus, tmp_path / "old", **settings), weights_only=False)
    assert not all(torch.equal(tensor, other["regression"][name]) for name, tensor in old["regression"].items())


def test_a_run_from_before_the_rounding_gesture_is_not_resumed_but_fine_tuned_from(tmp_path):
    from training import train

    corpus = {"festival": [_utterance(3.0)]}
    run = tmp_path / "old"
    train.train(corpus, run, steps=1, minutes=5, batch_size=2, hidden=32, channels=32, workers=0, snapshot_every=0)
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    for key, model_class in (("regression", models.RegressionModel), ("denoiser", models.Denoiser),
                             ("ema_regression", models.RegressionModel), ("ema_denoiser", models.Denoiser)):
        state[key] = _as_before_rounding(state[key], model_class)
    torch.save(state, run / "checkpoint.pt")
    with pytest.raises(ValueError, match="--init-from"):
        train.train(corpus, run, steps=2, minutes=5, batch_size=2, hidden=32, channels=32, workers=0, snapshot_every=0)
    tuned = train.train(corpus, tmp_path / "new", steps=1, minutes=5, batch_size=2, workers=0, snapshot_every=0,
                        init_from=run / "checkpoint.pt")
    assert torch.load(tuned, weights_only=False)["regression"]["head.4.bias"].shape == (models.NUM_CHANNELS + 2,)


def test_models_trained_before_the_rounding_gesture_load_and_draw_the_same_mouth():
    """A state dict with one gesture (the seal) grows the rounding logit's row, off (below any
    decision's low end), so an old checkpoint fine-tunes from where it was."""
    torch.manual_seed(0)
    regression, denoiser = models.RegressionModel(32).eval(), models.Denoiser(32, 32).eval()
    old = {model: _as_before_rounding(model.state_dict(), type(model)) for model in (regression, denoiser)}
    fresh_regression, fresh_denoiser = models.RegressionModel(32).eval(), models.Denoiser(32, 32).eval()
    fresh_regression.load_state_dict(models.grown_outputs(fresh_regression, old[regression]))
    fresh_denoiser.load_state_dict(models.grown_outputs(fresh_denoiser, old[denoiser]))
    features, frames = torch.randn(1, 200, 64), num_model_frames(200)
    emotion, speech = torch.rand(1, frames, 8), torch.randn(1, frames, models.EMBEDDING_DIM)
    with torch.no_grad():
        _, logits, hidden = fresh_regression.predict(features, emotion, speech)
        assert torch.all(torch.sigmoid(logits[:, models.GESTURES.index("round")]) < models.ROUND_DECISION[0])
        curves, _, _ = fresh_regression(features, emotion, speech)
        # every curve is the old model's with its rounding off: the grown row is the only new thing
        row = models.NUM_CHANNELS + models.GESTURES.index("round")
        regression.head[-1].bias[row], regression.head[-1].weight[row] = models.NEW_GESTURE_LOGIT, 0.0
        expected, _, _ = regression(features, emotion, speech)
        assert torch.allclose(curves, expected)
        _, denoised_logits = fresh_denoiser.predict(torch.randn(1, frames, 52), torch.tensor([300.0]),
                                                    hidden.transpose(1, 2), emotion, torch.ones(1, models.NUM_STYLE))
        assert torch.all(denoised_logits[:, models.GESTURES.index("round")] == models.NEW_GESTURE_LOGIT)


def test_window_embedding_is_the_speech_embedding_of_the_window_audio():
    """The stored clean-audio embedding, read off for a window (speed changed or not), matches the
    front-end run on that window's own audio away from the window's edges."""
    from dataclasses import replace

    from inference import embedding
    from training.corpus import utterance_embedding

    frontend = embedding.load_frontend(provider="CPU")
    seconds = 6.0
    # a tone whose pitch glides: its embedding changes along the utterance, so a misplaced read shows
    t = np.arange(int(seconds * 16000)) / 16000
    samples = (np.sin(2 * np.pi * (200 * t + 60 * t ** 2)) * (0.5 + 0.5 * np.sin(2 * np.pi * 1.3 * t)) * 8000)
    utt = replace(_utterance(seconds), samples=samples.astype(np.int16))
    utt = replace(utt, embedding=utterance_embedding(utt.samples, frontend))
    for factor in (1.0, 1.12, 0.88):
        first = int(round(1.1 * 16000 / factor))          # the window starts 1.1 s into the original
        stored = dataset.window_embedding(utt.embedding, first, factor)
        audio = voice.at_scale(utt.samples.astype(np.float32) / 32768, factor)
        direct = embedding.embed(audio[first:first + dataset.WINDOW_SAMPLES], frontend=frontend)
        # frames 0.6 s from the window's edges (beyond half the 775 ms window), read with a lag
        errors = [np.abs(stored[30 + lag:170 + lag] - direct[30:170]).mean() for lag in range(-10, 11)]
        if factor == 1.0:
            assert errors[10] < 0.3 * errors[0] and errors[10] < 0.3 * errors[-1], errors
        else:   # the speed change also shifts the pitch, which the clean embedding does not hear: only the timing
            assert abs(int(np.argmin(errors)) - 10) <= 1, (factor, errors)
    assert np.all(dataset.window_embedding(None, 0, 1.0) == 0)


def test_style_scales_jaw_and_seal_together():
    values, _ = targets.target_curves(list(_utterance().phones), 1.5)
    styled = targets.apply_style(values, {"jaw": 1.2, "round": 1.0, "spread": 1.0, "lips": 1.0})
    jaw, close = arkit.INDEX["jawOpen"], arkit.INDEX["mouthClose"]
    np.testing.assert_allclose(styled[:, jaw], np.clip(values[:, jaw] * 1.2, 0, 1), atol=1e-6)
    np.testing.assert_allclose(styled[:, close], np.clip(values[:, close] * 1.2, 0, 1), atol=1e-6)


def test_style_makes_takes_lopsided_or_to_one_side_without_touching_the_seal():
    values, gestures = targets.target_curves(list(_utterance().phones), 1.5)
    seal = gestures[:, models.GESTURES.index("seal")]
    styled = targets.apply_style(values, {"asymmetry": 0.2, "side": -0.3})
    index = arkit.INDEX
    np.testing.assert_allclose(styled[:, index["mouthStretchLeft"]], np.clip(values[:, index["mouthStretchLeft"]] * 1.2, 0, 1),
                               atol=1e-6)
    np.testing.assert_allclose(styled[:, index["mouthStretchRight"]], values[:, index["mouthStretchRight"]] * 0.8,
                               atol=1e-6)
    assert np.all(styled[:, index["mouthRight"]] == np.float32(0.3)) and np.all(styled[:, index["mouthLeft"]] == 0)
    np.testing.assert_allclose(styled[:, index["jawRight"]], 0.3 * targets.JAW_SIDE_SHARE, atol=1e-6)
    # the lips open and close as before: the jaw, the seal and the press are the articulation's own
    for name in ("jawOpen", "mouthClose", "mouthPressLeft", "mouthPressRight"):
        assert np.array_equal(styled[:, index[name]], values[:, index[name]]), name
    assert np.array_equal(targets.seal_of(styled), seal)
    assert seal.max() > 0.99

    rng = np.random.default_rng(0)
    styles = [targets.sample_style(rng) for _ in range(200)]
    sides = np.array([style["side"] for style in styles])
    assert np.abs(sides).max() <= targets.SIDE and sides.min() < 0 < sides.max()
    assert all(abs(style["asymmetry"]) <= targets.ASYMMETRY for style in styles)
    assert all(low <= style[group] <= high for style in styles for group, (low, high) in targets.STYLE_RANGE.items())
    # as the denoiser sees it: -1..1 over each range, 0 the average take
    vectors = np.array([targets.style_vector(style) for style in styles])
    assert vectors.shape == (200, len(targets.STYLE_NAMES)) and np.abs(vectors).max() <= 1 + 1e-6
    assert (vectors.min(axis=0) < -0.9).all() and (vectors.max(axis=0) > 0.9).all()
    assert not targets.style_vector(None).any() and not targets.style_vector({"jaw": 1.0, "side": 0.0}).any()
    np.testing.assert_allclose(targets.style_vector({"jaw": 1.4, "side": -targets.SIDE})[
        [targets.STYLE_NAMES.index("jaw"), targets.STYLE_NAMES.index("side")]], [1, -1], atol=1e-6)


def test_a_take_holds_its_corners_and_lower_lip_from_first_frame_to_last_without_touching_the_seal():
    values, gestures = targets.target_curves(list(_utterance().phones), 1.5)
    index = arkit.INDEX
    for held, raised, still in ((0.2, ("mouthSmileLeft", "mouthSmileRight", "mouthRollLower"),
                                 ("mouthFrownLeft", "mouthFrownRight", "mouthShrugLower")),
                                (-0.2, ("mouthFrownLeft", "mouthFrownRight", "mouthShrugLower"),
                                 ("mouthSmileLeft", "mouthSmileRight", "mouthRollLower"))):
        styled = targets.apply_style(values, {"corners": held, "lower_lip": held})
        for name in raised:
            np.testing.assert_allclose(styled[:, index[name]], np.clip(values[:, index[name]] + 0.2, 0, 1), atol=1e-6)
        for name in still:
            assert np.array_equal(styled[:, index[name]], values[:, index[name]]), name
        for name in ("jawOpen", "mouthClose", "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthFunnel"):
            assert np.array_equal(styled[:, index[name]], values[:, index[name]]), name
    vector = targets.style_vector({"corners": -targets.HELD["corners"][2], "lower_lip": 0.15})
    np.testing.assert_allclose(vector[[targets.STYLE_NAMES.index("corners"), targets.STYLE_NAMES.index("lower_lip")]],
                               [-1.0, 0.5], atol=1e-6)
    assert len(targets.STYLE_NAMES) == models.NUM_STYLE


def _as_before_held_shapes(state: dict) -> dict:
    """A denoiser's state dict as saved before the held style entries (the last two)."""
    state, known = dict(state), models.NUM_STYLE - len(targets.HELD)
    state["style.weight"] = state["style.weight"][:, :known]
    direct = state["style_out.weight"]
    state["style_out.weight"] = torch.cat([direct[:, :known], direct[:, models.NUM_STYLE:models.NUM_STYLE + known]], 1)
    return state


def test_a_style_only_fine_tune_learns_the_new_entries_of_an_older_denoiser_and_changes_nothing_else(tmp_path):
    """A denoiser from before the held shapes loads with their columns at 0 (it draws every take
    as before), and a style-only fine-tune moves those columns alone."""
    from training import train
    corpus = {"festival": [_utterance(), _utterance(2.0)]}
    first = train.train(corpus, tmp_path / "first", steps=2, minutes=5, batch_size=2, hidden=32, channels=32,
                        workers=0)
    state = torch.load(first, weights_only=False)
    for key in ("denoiser", "ema_denoiser"):
        state[key] = _as_before_held_shapes(state[key])
    torch.save(state, first)
    _, denoiser, _ = train.load(first)
    older = _as_before_held_shapes(denoiser.state_dict())
    new = [targets.STYLE_NAMES.index(name) for name in targets.HELD]
    old = [i for i in range(models.NUM_STYLE) if i not in new]
    assert not denoiser.style.weight[:, new].any() and not denoiser.style_out.weight[:, new].any()
    for name, tensor in older.items():
        assert torch.equal(tensor, state["ema_denoiser"][name]), name
    second = train.train(corpus, tmp_path / "second", steps=3, minutes=5, batch_size=2, workers=0, lr=0.05,
                         init_from=first, style_only=tuple(targets.HELD))
    after = torch.load(second, weights_only=False)
    assert after["style_only"] == tuple(targets.HELD) and after["diffusion_only"]
    trained = after["denoiser"]
    for name, tensor in denoiser.state_dict().items():
        if name == "style.weight":
            assert torch.equal(tensor[:, old], trained[name][:, old]) and not torch.equal(tensor, trained[name])
        elif name == "style_out.weight":
            kept = old + [models.NUM_STYLE + i for i in old]
            assert torch.equal(tensor[:, kept], trained[name][:, kept]) and not torch.equal(tensor, trained[name])
        else:
            assert torch.equal(tensor, trained[name]), name
    for name, tensor in state["ema_regression"].items():
        assert torch.equal(tensor, after["regression"][name]), name
    with pytest.raises(ValueError, match="no style entry"):
        train.train(corpus, tmp_path / "third", steps=1, minutes=5, batch_size=2, workers=0, init_from=first,
                    style_only=("grin",))


def test_a_denoiser_given_another_models_gestures_draws_those_in_place_of_its_own(tmp_path):
    """Exported with `gestures_from`, the denoiser reads the gestures the regression model drew
    (its "gestures" output, the decisions applied) and imposes them: sealed frames close with the
    press, rounded frames reach the rounded pose, whatever its own logits say; torch and ONNX agree."""
    from inference import models as runtime
    from inference import neural
    from training import export
    torch.manual_seed(0)
    regression, denoiser = models.RegressionModel(32).eval(), models.Denoiser(32, 32).eval()
    export.export_regression(regression, tmp_path, {})
    export.export_regression(regression, tmp_path, {}, name=export.ENCODER)
    export.export_diffusion(denoiser, 32, tmp_path, {}, gestures_from="regression")
    model = runtime.load_model("diffusion", tmp_path)
    assert model.sidecar["gestures_from"] == "regression" and model.sidecar["gestures"] == list(models.GESTURES)
    features, frames = torch.randn(1, 200, 64), num_model_frames(200)
    emotion, speech = torch.rand(1, frames, 8), torch.randn(1, frames, models.EMBEDDING_DIM)
    with torch.no_grad():
        _, logits, _ = regression.predict(features, emotion, speech)
        _, hidden, drawn = regression(features, emotion, speech)
    np.testing.assert_allclose(drawn.transpose(1, 2).numpy(),
                               models.decide_gestures(logits, regression.gesture_decisions).numpy(), atol=1e-6)
    given = runtime.load_model("regression", tmp_path).run(
        {"features": features.numpy(), "emotion": emotion.numpy(), "embedding": speech.numpy()})["gestures"]
    np.testing.assert_allclose(given, drawn.numpy(), atol=1e-5)
    rng = np.random.default_rng(0)
    noisy = rng.standard_normal((frames, 52)).astype(np.float32)
    gestures = np.zeros((frames, 2), np.float32)
    seal, rounding = models.GESTURES.index("seal"), models.GESTURES.index("round")
    gestures[10:20, seal] = 1.0
    gestures[40:50, rounding] = 1.0
    x0 = neural.guided_denoiser(model, hidden[0].numpy(), emotion[0].numpy(), 1.0, gestures=gestures)(noisy, 300.0)
    curves = (x0 + 1.0) / 2.0
    index = arkit.INDEX
    np.testing.assert_allclose(curves[10:20, index["mouthPressLeft"]], SEAL_PRESS, atol=1e-5)
    np.testing.assert_allclose(curves[10:20, index["mouthClose"]], curves[10:20, index["jawOpen"]] + SEAL_MARGIN,
                               atol=1e-5)
    for name, pose in models.ROUNDED_POSE.items():
        assert (curves[40:50, index[name]] >= pose - 1e-5).all(), name
    with torch.no_grad():
        expected = denoiser(torch.from_numpy(noisy[None]), torch.tensor([300.0]), hidden, emotion,
                            None, torch.from_numpy(gestures[None]))[0].numpy()
    np.testing.assert_allclose(x0, expected, atol=1e-4)
    with pytest.raises(ValueError, match="needs gestures"):
        neural.guided_denoiser(model, hidden[0].numpy(), emotion[0].numpy(), 1.0)


def test_a_diffusion_only_fine_tune_leaves_the_regression_model_as_it_is(tmp_path):
    from training import train
    corpus = {"festival": [_utterance(), _utterance(2.0)]}
    first = train.train(corpus, tmp_path / "first", steps=2, minutes=5, batch_size=2, hidden=32, channels=32,
                        workers=0)
    second = train.train(corpus, tmp_path / "second", steps=3, minutes=5, batch_size=2, workers=0,
                         init_from=first, diffusion_only=True)
    before, after = torch.load(first, weights_only=False), torch.load(second, weights_only=False)
    assert after["diffusion_only"] and after["base_steps"] == 2 and after["step"] == 3
    assert train.regression_steps(after) == 2 == train.regression_steps(before)
    third = train.train(corpus, tmp_path / "third", steps=1, minutes=5, batch_size=2, workers=0, init_from=second,
                        diffusion_only=True)
    assert train.regression_steps(torch.load(third, weights_only=False)) == 2     # 6 steps, 4 the denoiser's alone
    # a fine-tune starts from the first run's weight average; the regression model stays exactly that
    for name, tensor in before["ema_regression"].items():
        assert torch.equal(tensor, after["regression"][name]), name
        assert torch.equal(tensor, after["ema_regression"][name]), name
    assert any(not torch.equal(tensor, after["denoiser"][name]) for name, tensor in before["ema_denoiser"].items())


def test_a_gesture_only_fine_tune_changes_that_gestures_row_and_nothing_else(tmp_path):
    from training import train
    corpus = {"festival": [_utterance(), _utterance(2.0)]}
    first = train.train(corpus, tmp_path / "first", steps=2, minutes=5, batch_size=2, hidden=32, channels=32,
                        workers=0)
    second = train.train(corpus, tmp_path / "second", steps=3, minutes=5, batch_size=2, workers=0, lr=0.05,
                         init_from=first, gesture_only="round")
    before, after = torch.load(first, weights_only=False), torch.load(second, weights_only=False)
    assert after["gesture_only"] == "round"
    row = models.NUM_CHANNELS + models.GESTURES.index("round")
    for model, layers in (("regression", models.RegressionModel.GESTURE_LAYERS),
                          ("denoiser", models.Denoiser.GESTURE_LAYERS)):
        rows = {f"{layer}.{part}" for layer in layers for part in ("weight", "bias")}
        for name, tensor in before[f"ema_{model}"].items():
            trained = after[model][name]
            if name in rows:         # the rounding row moved (the style's bias starts at 0 and may stay)
                others = [i for i in range(tensor.shape[0]) if i != row]
                assert torch.equal(tensor[others], trained[others]), name
            else:
                assert torch.equal(tensor, trained), name
        assert not torch.equal(before[f"ema_{model}"][f"{next(iter(layers))}.weight"][row],
                               after[model][f"{next(iter(layers))}.weight"][row])
    with pytest.raises(ValueError, match="no gesture"):
        train.train(corpus, tmp_path / "third", steps=1, minutes=5, batch_size=2, workers=0, init_from=first,
                    gesture_only="smile")


def test_sources_are_drawn_by_their_weights_and_a_zero_weight_is_never_drawn():
    corpus = {"festival": [_utterance()], "speech_commands": [_utterance(2.0)], "espeak": [_utterance()]}
    sampler = dataset.Sampler(corpus, 0, source_weights={"festival": 3.0, "speech_commands": 1.0, "espeak": 0.0})
    assert sampler.sources == ["festival", "speech_commands"]
    assert np.allclose(sampler.probabilities, [0.75, 0.25])
    with pytest.raises(ValueError, match="no corpus source"):
        dataset.Sampler(corpus, 0, source_weights={"librispeech": 1.0})


def test_batch_making_processes_each_draw_their_own_batches_and_one_draws_the_runs_own():
    from torch.utils.data import DataLoader

    from training import train

    corpus = {"festival": [_utterance(), _utterance(2.0)]}

    def first_batches(workers, count=4):
        batches = iter(DataLoader(train.Windows(corpus, 2, 0), batch_size=None, num_workers=workers))
        drawn = [next(batches) for _ in range(count)]
        # each batch names the process that made it (they take turns) and its stream's state after it
        assert [batch.process for batch in drawn] == [i % max(workers, 1) for i in range(count)]
        assert len({repr(batch.state) for batch in drawn}) == count
        return [batch.batch[0].numpy() for batch in drawn]

    alone, one, two = first_batches(0), first_batches(1), first_batches(2)
    assert all(np.array_equal(a, b) for a, b in zip(alone, one))
    # the DataLoader takes from the processes in turn: the first one's are the run's own
    assert np.array_equal(two[0], alone[0]) and np.array_equal(two[2], alone[1])
    assert not np.array_equal(two[0], two[1]) and not np.array_equal(two[2], two[3])


def test_the_runtime_gives_the_denoiser_the_take_style_the_seed_draws(tmp_path):
    from inference import models as runtime
    from inference import neural
    from training import export
    torch.manual_seed(0)
    regression, denoiser = models.RegressionModel(32).eval(), models.Denoiser(32, 32).eval()
    for layer in (denoiser.style, denoiser.style_out):          # zero at first: make the style count
        torch.nn.init.normal_(layer.weight)
    export.export_regression(regression, tmp_path, {})
    export.export_diffusion(denoiser, 32, tmp_path, {})
    model = runtime.load_model("diffusion", tmp_path)
    assert model.sidecar["style"]["names"] == list(targets.STYLE_NAMES)
    assert model.sidecar["style"]["takes"] == export.TAKE_BANDS
    styles = np.array([neural.take_style(model, seed) for seed in range(50)])
    assert styles.shape == (50, models.NUM_STYLE) and np.abs(styles).max() <= 1
    np.testing.assert_array_equal(neural.take_style(model, 7), styles[7])
    # every entry in its band, on both sides of its centre, out to both ends of its reach
    centre, nearest, farthest = (np.array([export.TAKE_BANDS[name]["centre"] for name in targets.STYLE_NAMES]),
                                 *(np.array([export.TAKE_BANDS[name]["reach"][end] for name in targets.STYLE_NAMES])
                                   for end in (0, 1)))
    reach = np.abs(styles - centre)
    assert (reach >= nearest - 1e-6).all() and (reach <= farthest + 1e-6).all()
    assert ((styles - centre).min(axis=0) < 0).all() and ((styles - centre).max(axis=0) > 0).all()
    assert (reach.max(axis=0) > nearest + 0.8 * (farthest - nearest)).all()
    assert (reach.min(axis=0) < nearest + 0.2 * (farthest - nearest)).all()
    # seeds come in mirrored pairs: the first other take is as unlike the first as its style can be
    np.testing.assert_allclose(styles[1::2], 2 * centre - styles[0::2], atol=1e-6)
    assert len({tuple(style) for style in styles}) == 50
    rng = np.random.default_rng(0)
    hidden = rng.standard_normal((60, 32)).astype(np.float32)
    feeling = np.zeros((60, 8), np.float32)
    noisy = rng.standard_normal((60, 52)).astype(np.float32)

    def torch_x0(style):
        with torch.no_grad():
            return denoiser(*(torch.from_numpy(a[None]) for a in (noisy, np.array(300.0, np.float32), hidden, feeling)),
                            None if style is None else torch.from_numpy(style[None]))[0].numpy()

    takes = [neural.guided_denoiser(model, hidden, feeling, 1.0, style=style)(noisy, 300.0) for style in styles[:2]]
    for take, style in zip(takes, styles[:2]):
        np.testing.assert_allclose(take, torch_x0(style), atol=1e-4)
    assert np.abs(takes[0] - takes[1]).mean() > 1e-2
    # no style given: the average take (all 0)
    np.testing.assert_allclose(neural.guided_denoiser(model, hidden, feeling, 1.0)(noisy, 300.0), torch_x0(None), atol=1e-4)


def test_features_of_a_window_match_the_whole_clip():
    rng = np.random.default_rng(1)
    samples = rng.standard_normal(48000).astype(np.float32) * 0.1
    whole = log_mel(samples)
    part = log_mel(samples[16000:32000])
    # interior frames (away from the zero-padded edges) are identical
    np.testing.assert_allclose(part[3:-3], whole[100 + 3:200 - 3 + 1][: part.shape[0] - 6], atol=1e-4)


def test_feature_augmentation_warps_equalises_and_masks():
    from training import augment
    features = np.full((200, 64), -5.0, np.float32)
    features[:, 20] = 3.0                                        # one formant-like peak
    assert np.array_equal(augment.warp_mels(features, 1.0), features)
    assert int(np.argmax(augment.warp_mels(features, 1.1)[0])) == 22   # a shorter tract: the peak moves up
    assert int(np.argmax(augment.warp_mels(features, 0.9)[0])) == 18
    curve = augment.equaliser_curve(np.random.default_rng(0), 64)
    assert curve.shape == (64,) and np.abs(curve).max() <= 2 * augment.EQ_NATS and np.abs(curve).max() > 0
    rng = np.random.default_rng(1)
    noisy = rng.standard_normal((200, 64)).astype(np.float32)
    masked = [augment.mask(noisy, np.random.default_rng(seed)) for seed in range(20)]
    assert any(np.any(np.all(m == noisy.mean(axis=0), axis=1)) for m in masked)     # a stretch of time
    assert all(m.shape == noisy.shape for m in masked)
    first = augment.augment_features(noisy, np.random.default_rng(5))
    assert np.array_equal(first, augment.augment_features(noisy, np.random.default_rng(5)))
    assert first.dtype == np.float32
    changed = [not np.array_equal(augment.augment_features(noisy, np.random.default_rng(seed)), noisy)
               for seed in range(20)]
    assert 10 <= sum(changed) < 20          # most windows are augmented, a few are left as they are


def test_breaths_go_in_pauses_below_the_speech_and_leave_the_rest_alone():
    from training import augment
    sr = augment.SAMPLE_RATE
    samples = np.zeros(3 * sr, np.float32)
    samples[sr:2 * sr] = 0.1 * np.sin(2 * np.pi * 220 * np.arange(sr) / sr)     # speech from 1 s to 2 s
    pauses = [(0, sr), (2 * sr, 3 * sr), (int(2.95 * sr), 3 * sr)]              # the last is too short
    margin = int(augment.BREATH_MARGIN_S * sr)
    speech_and_margins = slice(sr - margin, 2 * sr + margin)
    for seed in range(10):
        out = augment.add_breaths(samples, pauses, 0.1, np.random.default_rng(seed), probability=1.0)
        assert np.array_equal(out[speech_and_margins], samples[speech_and_margins])
        for start, end in pauses[:2]:
            breath = np.flatnonzero(out[start:end] != 0)
            seconds = (breath[-1] - breath[0] + 1) / sr
            assert augment.BREATH_SECONDS[0] - 0.01 <= seconds <= augment.BREATH_SECONDS[1]
            rms = np.sqrt(np.mean(out[start + breath[0]:start + breath[-1] + 1] ** 2))
            below = 20 * np.log10(0.1 / rms)
            assert augment.BREATH_BELOW_SPEECH_DB[0] - 0.5 <= below <= augment.BREATH_BELOW_SPEECH_DB[1] + 0.5
    spectrum = np.abs(np.fft.rfft(augment.breath_noise(8000, np.random.default_rng(0)))) ** 2
    freqs = np.fft.rfftfreq(8000, 1 / sr)
    assert spectrum[freqs < 150].sum() == pytest.approx(0.0, abs=1e-6 * spectrum.sum())   # no hum, no rumble
    none = augment.add_breaths(samples, pauses, 0.1, np.random.default_rng(0), probability=0.0)
    assert np.array_equal(none, samples)


def test_a_lower_seal_decision_closes_lips_the_default_leaves_open(tmp_path):
    from inference import models as runtime
    from training import export
    from training.__main__ import decision as seal_decision
    from training.__main__ import peak_floor, pitch_or_off
    torch.manual_seed(0)
    regression = models.RegressionModel(32).eval()
    head = regression.head[-1]
    with torch.no_grad():                                 # a seal probability of 0.2 everywhere, a jaw at 0.3
        head.weight.zero_()
        head.bias.zero_()
        head.bias[models.NUM_CHANNELS] = float(np.log(0.2 / 0.8))
        head.bias[arkit.INDEX["jawOpen"]] = 0.3
    rng = np.random.default_rng(0)
    feeds = {"features": rng.standard_normal((1, 41, models.NUM_MELS)).astype(np.float32),
             "emotion": np.zeros((1, 21, models.NUM_EMOTIONS), np.float32),
             "embedding": np.zeros((1, 21, models.EMBEDDING_DIM), np.float32)}
    closes = {}
    for name, decided in (("default", models.Decisions()), ("low", models.Decisions(seal=seal_decision("0.1,0.3")))):
        regression.gesture_decisions = decided
        export.export_regression(regression, tmp_path / name, {})
        sidecar = json.loads((tmp_path / name / "regression.json").read_text())
        assert sidecar["seal_decision"] == list(decided.seal) and sidecar["seal_peak"] == decided.seal_peak
        curves = runtime.load_model("regression", tmp_path / name).run(feeds)["curves"][0]
        closes[name] = curves[:, arkit.INDEX["mouthClose"]]
    assert np.allclose(closes["default"], 0.0)            # 0.2 is below the default's 0.7, and flat: no peak
    assert np.all(closes["low"] > 0.15)                   # half way between 0.1 and 0.3: half sealed
    for bad in ("0.5", "0.4,0.2", "0,0.5", "a,b"):
        with pytest.raises(Exception, match="LOW"):
            seal_decision(bad)
    assert peak_floor("off") is None and peak_floor("0.12") == 0.12
    for bad in ("0", "1.5", "high"):
        with pytest.raises(Exception, match="FLOOR|number"):
            peak_floor(bad)
    assert pitch_or_off("off") is None and pitch_or_off("140") == 140.0
    for bad in ("20", "900", "low"):
        with pytest.raises(Exception, match="pitch"):
            pitch_or_off(bad)


def test_the_runtime_feeds_an_exported_model_the_speech_embedding(tmp_path):
    """A regression model exported with the embedding input runs through the whole pipeline: its
    sidecar names the pinned front-end, the runtime opens it and the model hears it; a sidecar that
    names another front-end is refused."""
    from inference import embedding, generation, neural
    from inference.audio import load_audio
    from inference.errors import ModelError
    from training import export

    torch.manual_seed(0)
    regression = models.RegressionModel(32).eval()
    with torch.no_grad():                                 # make the embedding path count
        for layer in regression.embedding_in:
            if isinstance(layer, torch.nn.Conv1d):
                torch.nn.init.normal_(layer.weight, std=0.5)
    export.export_regression(regression, tmp_path, {})
    sidecar = json.loads((tmp_path / "regression.json").read_text())
    assert sidecar["inputs"]["embedding"] == [1, "T", models.EMBEDDING_DIM]
    assert sidecar["frontend"]["files"] == embedding.FILES
    engine = neural.load_engine("regression", tmp_path)
    assert engine.frontend is not None
    line = load_audio(Path(__file__).resolve().parents[2] / "samples" / "line.wav")
    take = generation.perform(line, weights_dir=tmp_path, layers=("lips",)).curves
    assert take.values.shape == (generation.num_frames(line, generation.DEFAULT_FPS), 52)
    count = num_model_frames(len(log_mel(line.samples)))
    feeling = np.zeros((count, models.NUM_EMOTIONS), np.float32)
    heard = neural.regress(engine.regression, line.samples, feeling, keep=("curves",),
                           speech=neural.speech_for(engine, line.samples))["curves"]
    deaf = neural.regress(engine.regression, line.samples, feeling, keep=("curves",),
                          speech=np.zeros((count, models.EMBEDDING_DIM), np.float32))["curves"]
    assert np.abs(heard - deaf).max() > 1e-3
    sidecar["frontend"]["files"][embedding.EMBEDDING_FILE] = "0" * 64
    (tmp_path / "regression.json").write_text(json.dumps(sidecar))
    from inference import models as runtime
    runtime.clear_cache()
    with pytest.raises(ModelError, match="another speech-embedding front-end"):
        neural.load_engine("regression", tmp_path)


def test_the_corpus_heard_as_the_runtime_hears_it_lowers_high_voices_only(tmp_path):
    """`training voices`: a woman's voice (festival's slt) is played lower, its phones stretched and its
    embedding made again; a voice already below the reference is copied as it is."""
    from speech_synth import festival_speech
    from training import corpus

    samples, words = festival_speech(tmp_path, "Bob met Pam by the big map.", name="corpus")
    high = corpus._to_int16(samples)
    low = corpus._to_int16(voice.at_scale(samples, 0.7))             # the same line, far below 150 Hz
    phones = [("b", words[0][1], words[0][2]), ("sil", words[0][2], words[-1][2])]
    low_phones = [(phone, start / 0.7, end / 0.7) for phone, start, end in phones]
    source = tmp_path / "cache"
    corpus.save_shard(source / "corpus" / "lines.npz", [
        {"samples": high, "phones": phones, "voice": "slt"},
        {"samples": low, "phones": low_phones, "voice": "slt-low"}], "lines")
    corpus.build_embeddings(source)
    before = corpus.load_corpus(source)["lines"]
    scale = voice.formant_scale(high.astype(np.float32) / 32768.0, 150.0)
    assert scale < 0.97 and voice.formant_scale(low.astype(np.float32) / 32768.0, 150.0) == 1.0

    assert corpus.normalise_voices(source, tmp_path / "heard", 150.0) == {"lines": (1, 2)}
    lowered, kept = corpus.load_corpus(tmp_path / "heard")["lines"]
    assert lowered.samples.size == round(high.size / scale) and lowered.voice == "slt"
    assert voice.median_pitch(lowered.samples.astype(np.float32) / 32768.0) == pytest.approx(
        voice.median_pitch(samples) * scale, rel=0.03)
    assert lowered.phones[1].end == pytest.approx(phones[1][2] / scale, abs=1e-4)
    from inference import embedding
    again = corpus.utterance_embedding(lowered.samples, embedding.load_frontend(None, "CPU"))
    np.testing.assert_array_equal(lowered.embedding, again)
    assert lowered.embedding.shape[0] > before[0].embedding.shape[0]
    np.testing.assert_array_equal(kept.samples, before[1].samples)
    np.testing.assert_array_equal(kept.embedding, before[1].embedding)
    assert kept.phones == before[1].phones


def test_piper_is_an_optional_source_its_lines_spoken_and_aligned(tmp_path, monkeypatch):
    from training import corpus as corpus_mod
    from training import piper

    monkeypatch.setattr(corpus_mod, "PIPER_LINES", 3)
    nowhere = tmp_path / "no-shared-data"
    # not made unless asked for: the recipe's corpus is without it
    assert corpus_mod.build(tmp_path / "cache", nowhere, sources=("piper",), workers=1) == {}
    with pytest.raises(ValueError, match="no optional source flite"):
        corpus_mod.build(tmp_path / "cache", nowhere, extra=("flite",))
    assert corpus_mod.build(tmp_path / "cache", nowhere, sources=("piper",), extra=("piper",), workers=1) == {"piper": 3}
    utterances = corpus_mod.load_corpus(tmp_path / "cache")["piper"]
    for utt in utterances:
        assert utt.voice == piper.VOICE and utt.text and 0.5 < utt.duration < 10
        spoken = [p for p in utt.phones if p.phone != "sil"]
        assert len(spoken) >= 5 and spoken[-1].end <= utt.duration + 1e-3
        assert utt.embedding is not None and utt.embedding.shape[1] == 96
    assert corpus_mod.CREDITS["piper"].startswith("Synthesised by the project with piper")
