"""`python -m training all` (training.recipe): the stages after the corpus, run for real on a
tiny corpus (a few steps of the real models, scored on two timit_dev utterances)."""

import json
import shutil

import pytest

torch = pytest.importorskip("torch", reason="torch is only in the training environment (.venv/train)")

import numpy as np  # noqa: E402

from inference.phonemes import PhoneInterval  # noqa: E402
from training import corpus as corpus_mod  # noqa: E402
from training import recipe, select, train  # noqa: E402
from training.corpus import DEFAULT_SHARED  # noqa: E402

TIMIT = DEFAULT_SHARED / "speech" / "timit_dev"
FACE = DEFAULT_SHARED / "faces" / "arkit_reference_face" / "obj"


def _tiny_cache(cache):
    """A corpus of one source: two noise clips, one of them pitched high enough to be heard lower."""
    rng = np.random.default_rng(2)
    t = np.arange(32000) / 16000
    voiced = (0.3 * np.sign(np.sin(2 * np.pi * 240 * t)) * 32767 * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.int16)
    noise = (rng.standard_normal(32000) * 2000).astype(np.int16)
    phones = [("sil", 0.0, 0.4), ("b", 0.4, 0.5), ("iy", 0.5, 1.6), ("sil", 1.6, 2.0)]
    records = [{"samples": samples, "phones": phones, "voice": voice, "text": "bee"}
               for samples, voice in ((voiced, "high"), (noise, "noise"))]
    corpus_mod.save_shard(cache / "corpus" / "festival.npz", records, "festival")
    corpus_mod.build_embeddings(cache)


def _timit_two(folder):
    for wav in sorted(TIMIT.glob("*/*.wav"))[:2]:
        speaker = folder / wav.parent.name
        speaker.mkdir(parents=True, exist_ok=True)
        for part in wav.parent.glob(wav.stem + ".*"):
            (speaker / part.name).symlink_to(part)
    return folder


@pytest.mark.skipif(not TIMIT.is_dir() or not FACE.is_dir(), reason=f"needs timit_dev and the face in {DEFAULT_SHARED}")
def test_the_recipe_trains_both_runs_in_steps_and_ships_what_select_chooses(tmp_path, monkeypatch):
    from training.__main__ import _export

    monkeypatch.setattr(recipe, "STEPS", 3)
    monkeypatch.setattr(recipe, "TAKES_STEPS", 2)
    monkeypatch.setattr(recipe, "REGRESSION_DECISIONS", (9,))
    cache, data, out = tmp_path / "training", _timit_two(tmp_path / "timit"), tmp_path / "weights"
    _tiny_cache(cache)
    exported = []

    def ship(heard, snapshot, weights, decisions, engine):
        exported.append((snapshot, decisions, engine))
        _export(heard, snapshot, weights, decisions, engines=(engine,), command="python -m training all")

    # into a new folder: no shipped weights to rank against
    recipe.from_corpus(cache, out, data, FACE, run_name="main", threads=1, workers=0, export=ship)

    heard = recipe.voices_cache(cache)
    assert heard == tmp_path / "training-voice150"
    lowered = corpus_mod.load_shard(heard / "corpus" / "festival.npz")
    assert [utt.voice for utt in lowered] == ["high", "noise"] and all(utt.embedding is not None for utt in lowered)
    original = corpus_mod.load_shard(cache / "corpus" / "festival.npz")
    assert len(lowered[0].samples) > len(original[0].samples)       # the high voice, played lower (slower)
    assert np.array_equal(lowered[1].samples, original[1].samples)   # the other as it was
    # both runs measured in steps: the first trains both models, the second the denoiser alone on
    # the regression engine the first one's select chose
    both, takes = heard / "runs" / "main", heard / "runs" / "main-takes"
    assert [p.name for p in train.snapshots(both)] == ["step-000003.pt"]
    assert [p.name for p in train.snapshots(takes)] == ["step-000002.pt"]
    first, second = (torch.load(train.snapshots(run)[-1], weights_only=False) for run in (both, takes))
    assert second["diffusion_only"] and second["base_steps"] == 3
    for name, tensor in first["regression"].items():
        assert torch.equal(tensor, second["regression"][name]), name
    # each run's select chose its own engine alone, and each was exported from the snapshot chosen
    assert set(json.loads((both / select.SELECTED_FILE).read_text())) & set(select.ENGINES) == {"regression"}
    assert set(json.loads((takes / select.SELECTED_FILE).read_text())) & set(select.ENGINES) == {"diffusion"}
    assert [(snapshot.parent.parent.name, engine) for snapshot, _, engine in exported] == [
        ("main", "regression"), ("main-takes", "diffusion")]
    assert exported[0][1] == select.DECISIONS[9]
    assert exported[1][1] in recipe.takes_decisions(select.DECISIONS[9])
    # the diffusion candidates drew the gestures of the regression engine exported before them,
    # and the diffusion engine's encoder is that regression engine
    scores = json.loads((takes / "snapshots" / select.SCORES_FILE).read_text())
    tag = select.gestures_tag(out)
    assert scores and all(name.endswith(tag) for name in scores)
    regression, encoder = (json.loads((out / f"{name}.json").read_text()) for name in ("regression", "encoder"))
    assert encoder["training"]["steps"] == regression["training"]["steps"] == 3
    assert json.loads((out / "diffusion.json").read_text())["training"]["command"] == "python -m training all"
    # every engine names the corpus it was trained on: the one the voices stage made
    trained_on = corpus_mod.digest(corpus_mod.load_corpus(heard))
    assert first["corpus"] == second["corpus"] == trained_on
    assert {json.loads((out / f"{name}.json").read_text())["training"]["corpus"]
            for name in ("regression", "encoder", "diffusion")} == {trained_on}
    assert recipe.corpus_named(out) == trained_on and recipe.check_corpus(trained_on, out)
    assert not recipe.check_corpus(corpus_mod.digest(corpus_mod.load_corpus(cache)), out)   # the voices as they were

    # a second call finds both runs complete and every candidate scored: nothing trains on, and
    # the weights it made tie with the ones now in the folder, which win the tie
    exported.clear()
    recipe.from_corpus(cache, out, data, FACE, run_name="main", threads=1, workers=0, export=ship)
    assert [p.name for p in train.snapshots(both)] == ["step-000003.pt"]
    assert torch.load(takes / "checkpoint.pt", weights_only=False)["step"] == 2
    assert exported == []
    for run in (both, takes):
        assert all(entry["shipped_ranks_first"] for name, entry in json.loads((run / select.SELECTED_FILE).read_text()).items()
                   if name in select.ENGINES)

    # a denoiser run trained on another regression model than the one chosen is not resumed
    shutil.rmtree(takes)
    festival = {"festival": lowered}
    train.train(festival, tmp_path / "other", steps=1, minutes=5, batch_size=2, hidden=32, channels=32, workers=0)
    train.train(festival, takes, steps=1, minutes=5, batch_size=2, hidden=32, channels=32, workers=0,
                init_from=train.snapshots(tmp_path / "other")[-1], diffusion_only=True)
    with pytest.raises(ValueError, match="main-takes was begun on another regression model than main's step-000003.pt"):
        recipe.from_corpus(cache, out, data, FACE, run_name="main", threads=1, workers=0, export=ship)


def test_a_takes_run_knows_which_regression_model_it_was_trained_on(tmp_path):
    corpus = {"festival": [corpus_mod.Utterance((np.random.default_rng(1).standard_normal(24000) * 2000).astype(np.int16),
                                             (PhoneInterval("sil", 0.0, 0.4), PhoneInterval("b", 0.4, 0.5),
                                              PhoneInterval("iy", 0.5, 1.1), PhoneInterval("sil", 1.1, 1.5)),
                                             "test", "noise")] * 2}
    both, other = tmp_path / "main", tmp_path / "main-seed1"
    train.train(corpus, both, steps=2, minutes=5, batch_size=2, hidden=32, channels=32, workers=0, snapshot_every=1)
    train.train(corpus, other, steps=1, minutes=5, batch_size=2, hidden=32, channels=32, workers=0, snapshot_every=1,
                seed=1)
    first, second = train.snapshots(both)
    takes = tmp_path / "main-takes"
    assert recipe.started_on(takes, first) is None
    train.train(corpus, takes, steps=1, minutes=5, batch_size=2, hidden=32, channels=32, workers=0,
                init_from=first, diffusion_only=True)
    assert recipe.started_on(takes, first) is True
    assert recipe.started_on(takes, second) is False
    # the same step of another run (another seed) is another model
    assert recipe.started_on(takes, train.snapshots(other)[0]) is False
