"""Checkpoint selection: a run keeps snapshots, the rule ranks them, `select` scores real speech and
`export` ships the choice."""

import json
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="torch is only in the training environment (.venv/train)")

import numpy as np  # noqa: E402

from inference.phonemes import PhoneInterval  # noqa: E402
from training import export, select, train  # noqa: E402
from training import corpus as corpus_mod  # noqa: E402
from training.corpus import DEFAULT_SHARED, Utterance  # noqa: E402

TIMIT = DEFAULT_SHARED / "speech" / "timit_dev"
FACE = DEFAULT_SHARED / "faces" / "arkit_reference_face" / "obj"


def _score(bil40=80.0, low=70.0, open_=96.0, rest=98.0, sync=0.79, round_=90.0, rfa=5.0) -> select.ModelScore:
    return select.ModelScore(BIL40=bil40, lowest_speaker_BIL40=low, OPEN=open_, ROUND=round_, RFA=rfa, REST=rest,
                             SYNC_r=sync)


def _noise_corpus() -> dict:
    samples = (np.random.default_rng(1).standard_normal(24000) * 2000).astype(np.int16)
    phones = (PhoneInterval("sil", 0.0, 0.4), PhoneInterval("b", 0.4, 0.5), PhoneInterval("iy", 0.5, 1.1),
              PhoneInterval("sil", 1.1, 1.5))
    return {"festival": [Utterance(samples, phones, "test", "noise")] * 2}


def _cache(corpus: dict, cache: Path) -> None:
    """`corpus` as the shards of `cache`, the corpus an export from a run trained on it counts."""
    for source, utterances in corpus.items():
        records = [{"samples": utt.samples, "phones": [(p.phone, p.start, p.end) for p in utt.phones],
                    "voice": utt.voice, "text": utt.text} for utt in utterances]
        corpus_mod.save_shard(cache / "corpus" / f"{source}.npz", records, source)


def _three(**values) -> dict[str, select.ModelScore]:
    return {key: _score(**values) for key, _, _ in select.MODELS}


def test_a_run_keeps_snapshots_every_n_steps_and_at_its_end(tmp_path):
    corpus = _noise_corpus()
    checkpoint = train.train(corpus, tmp_path / "run", steps=5, minutes=5, batch_size=2, hidden=32, channels=32,
                             workers=0, snapshot_every=2)
    kept = train.snapshots(checkpoint.parent)
    assert [path.name for path in kept] == ["step-000002.pt", "step-000004.pt", "step-000005.pt"]
    last, final = torch.load(kept[-1], weights_only=False), torch.load(checkpoint, weights_only=False)
    assert last["step"] == 5 and "optimiser" not in last
    # snapshots keep the weight average, the checkpoint keeps it too and the trained weights beside it
    for name, tensor in final["ema_regression"].items():
        assert torch.equal(tensor, last["regression"][name]), name
    moved = [name for name, tensor in final["regression"].items()
             if not torch.equal(tensor, final["ema_regression"][name])]
    assert moved, "the average should lag the trained weights"
    regression, denoiser, state = train.load(kept[0])
    assert state["step"] == 2 and not regression.training
    averaged, _, _ = train.load(checkpoint)
    trained, _, _ = train.load(checkpoint, average=False)
    for name, tensor in averaged.state_dict().items():
        assert torch.equal(tensor, final["ema_regression"][name]), name
    for name, tensor in trained.state_dict().items():
        assert torch.equal(tensor, final["regression"][name]), name


def test_the_weight_average_starts_at_the_weights_and_follows_them():
    model, average = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    average.load_state_dict(model.state_dict())
    start = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    train.ema_update(average, model, step=0, decay=0.998)      # early: decay at most 1/10
    assert torch.allclose(average.weight, start + 0.9)
    for step in range(1, 5000):
        train.ema_update(average, model, step=step, decay=0.998)
    assert torch.allclose(average.weight, model.weight, atol=1e-4)


def test_the_rule_puts_the_floors_before_the_closures():
    scored = {
        "step-000400": _three(bil40=95.0, low=90.0, rest=92.0),        # closes best, but opens in silences
        "step-000800": _three(bil40=91.0, low=75.0),                   # every floor met
        "step-001200": _three(bil40=92.0, low=70.0, sync=0.77),        # SYNC floor missed three times
    }
    assert select.floor_count() == 18 and select.floor_count("regression") == 6 and select.floor_count("diffusion") == 12
    assert select.floors_met(scored["step-000400"]) == 15 and select.floors_met(scored["step-000800"]) == 18
    for engine in select.ENGINES:
        assert select.choose(scored, engine) == "step-000800"
    scored["step-001600"] = _three(bil40=92.0, low=76.0)
    assert select.choose(scored, "regression") == "step-001600"          # floors equal: closures decide
    scored["step-002000"] = _three(bil40=92.0, low=76.0)
    assert select.choose(scored, "regression") == "step-001600"          # a tie keeps the earlier


def test_each_model_has_its_own_closure_floor():
    # the regression model one bilabial under its bar does not buy rounding, however much
    short = _three(bil40=91.0, round_=95.0)
    short["regression"] = _score(bil40=89.4, round_=95.0)
    assert select.floors_met(short) == 17
    candidates = {"a": short, "b": _three(bil40=90.0, round_=85.0)}
    assert select.choose(candidates, "regression") == "b"
    # each engine is chosen on its own models: the diffusion seeds of "a" meet their floors and round more
    assert select.choose(candidates, "diffusion") == "a"
    # the diffusion seeds' bar is 88, not 90
    assert select.floors_met(_three(bil40=88.0)) == 17


def test_rounding_counts_but_not_rounding_where_the_lips_spread():
    assert select.choose({"a": _three(round_=86.0), "b": _three(round_=90.0)}, "diffusion") == "b"
    assert select.choose({"a": _three(round_=86.0), "b": _three(round_=95.0, rfa=20.0)}, "diffusion") == "a"   # RFA
    assert select.floors_met(_three(rfa=20.0)) == 12      # RFA and (at 80) BIL40 missed by all three
    # under the 85 rounding is a floor missed, whatever the closures
    assert select.floors_met(_three(round_=84.7)) == 12
    assert select.choose({"a": _three(round_=85.0, bil40=96.0, low=88.0), "b": _three(round_=84.7, bil40=97.0, low=94.0)},
                         "diffusion") == "a"


def test_a_diffusion_candidate_ranks_by_its_other_seeds_once_seeds_0_and_1_meet_every_floor():
    def takes(failing=(), **values):
        """Seeds 0 and 1 meeting every floor, and seeds 2-7 scored, those in `failing` rounding spread vowels."""
        scores = _three(bil40=90.0, **values)
        scores.update({key: _score(bil40=90.0, rfa=10.6 if key in failing else 5.0, **values)
                       for key, _, _ in select.MORE_TAKES})
        return scores

    steady, rounder = takes(), takes(("diffusion3", "diffusion4"), round_=93.0)
    assert select.takes_holding(steady) == 6 and select.takes_holding(rounder) == 4
    # the lips of seeds 0 and 1 would choose "rounder"; two of its other takes miss the RFA ceiling
    assert select.lips(select.engine_scores(rounder, "diffusion")) > select.lips(select.engine_scores(steady, "diffusion"))
    assert select.choose({"rounder": rounder, "steady": steady}, "diffusion") == "steady"
    # and seeds 0 and 1 come first: one of them missing a floor is not bought back by the others
    short = takes()
    short["diffusion1"] = _score(bil40=90.0, rfa=10.6)
    assert select.choose({"short": short, "rounder": rounder}, "diffusion") == "rounder"
    # the regression engine does not look at them
    assert select.rank(rounder, "regression")[1] == 0
    assert ", seeds 2-7 4/6 |" in select.table({"rounder": rounder}, {"diffusion": "rounder"})


@pytest.mark.skipif(not TIMIT.is_dir() or not FACE.is_dir(), reason=f"needs timit_dev and the face in {DEFAULT_SHARED}")
def test_the_other_seeds_are_scored_as_the_benchmark_scores_them(tmp_path):
    from benchmarks import lipmetrics, quality
    from inference import arkit

    data = tmp_path / "timit"
    for wav in sorted(TIMIT.glob("*/*.wav"))[:2]:
        (data / wav.parent.name).mkdir(parents=True, exist_ok=True)
        for part in wav.parent.glob(wav.stem + ".*"):
            (data / wav.parent.name / part.name).symlink_to(part)
    scored = select.score_weights(export.WEIGHTS_DIR, data, FACE, ["diffusion2", "diffusion5"])
    assert set(scored) == {"diffusion2", "diffusion5"}
    face = lipmetrics.load_reference_face(FACE, arkit.NAMES)
    for key, seed in (("diffusion2", 2), ("diffusion5", 5)):
        scores, _, _ = quality.run_engine(quality.make_neural("diffusion", seed, export.WEIGHTS_DIR)(select.FPS),
                                          quality.list_utterances(data), face, None)
        assert scored[key].SYNC_r == lipmetrics.aggregate(scores)["SYNC_r"]
    assert scored["diffusion2"] != scored["diffusion5"]      # other seeds, other takes


def test_the_lowest_speaker_counts_as_much_as_the_average():
    even = _three(bil40=91.0, low=80.0)
    one_voice_left_behind = _three(bil40=94.0, low=60.0)
    assert select.choose({"a": one_voice_left_behind, "b": even}, "regression") == "b"


def test_a_candidate_is_named_with_the_styles_its_takes_draw(monkeypatch):
    snapshot = Path("step-000400.pt")
    name = select.candidate_name(snapshot)
    assert select.parse_candidate(name) == ("step-000400", select.models.Decisions())
    # other take bands: the diffusion scores kept under the old name are not taken for these
    monkeypatch.setitem(export.TAKE_BANDS, "side", {"centre": 0.0, "reach": [0.0, 1.0]})
    assert select.candidate_name(snapshot) != name
    assert select.parse_candidate(select.candidate_name(snapshot)) == select.parse_candidate(name)


def test_the_shipped_weights_win_a_tie_and_an_earlier_snapshot_the_next():
    same = _three(bil40=86.0, low=76.0)
    assert select.choose({"step-000400": same, select.SHIPPED: same, "step-000800": same}, "diffusion") == select.SHIPPED
    assert select.choose({"step-000400": same, select.SHIPPED: _three(bil40=70.0, low=50.0)}, "diffusion") == "step-000400"


@pytest.mark.skipif(not TIMIT.is_dir() or not FACE.is_dir(), reason=f"needs timit_dev and the face in {DEFAULT_SHARED}")
def test_select_scores_snapshots_and_the_shipped_weights_on_real_speech(tmp_path, capsys):
    from training.__main__ import main

    data = tmp_path / "timit"
    for wav in sorted(TIMIT.glob("*/*.wav"))[:2]:
        speaker = data / wav.parent.name
        speaker.mkdir(parents=True, exist_ok=True)
        for part in wav.parent.glob(wav.stem + ".*"):
            (speaker / part.name).symlink_to(part)
    run = tmp_path / "cache" / "runs" / "main"
    train.train(_noise_corpus(), run, steps=2, minutes=5, batch_size=2, hidden=32, channels=32, workers=0,
                snapshot_every=1)
    # "shipped" here: the first snapshot's own export, so it ties with that snapshot and wins the tie
    shipped = select.export_snapshot(train.snapshots(run)[0], tmp_path / "shipped")
    assert select.select(run, data, FACE, shipped_dir=shipped, decisions=select.DECISIONS[:1]) == {
        "regression": None, "diffusion": None}
    scores = json.loads((run / "snapshots" / select.SCORES_FILE).read_text())
    first, second = (select.candidate_name(snapshot) for snapshot in train.snapshots(run))
    # the regression models first; then every diffusion engine, the shipped one too, drawing the
    # gestures of the regression engine chosen (here the shipped one)
    tag = select.gestures_tag(shipped)
    shipped_name = next(name for name in scores if name.startswith("shipped ") and "gestures" not in name)
    assert sorted(scores) == sorted([first, second, f"{first} {tag}", f"{second} {tag}", shipped_name,
                                     f"{shipped_name} {tag}"])
    for name, models in scores.items():
        keys = (["diffusion0", "diffusion1"] if tag in name else
                ["regression"] if name in (first, second) else sorted(key for key, _, _ in select.MODELS))
        assert sorted(models) == keys, name
        assert all(0 <= score["BIL40"] <= 100 and -1 <= score["SYNC_r"] <= 1 for score in models.values())
    assert scores[shipped_name]["regression"] == scores[first]["regression"]
    assert scores[f"{first} {tag}"] == {key: scores[shipped_name][key] for key in ("diffusion0", "diffusion1")}
    drawing = run / "snapshots" / f"{first} {tag}".replace(" ", "-")
    assert (drawing / "regression.onnx").read_bytes() == (shipped / "regression.onnx").read_bytes()
    for engine in select.ENGINES:
        assert select.selection(run, engine)["shipped_ranks_first"] and select.selected_snapshot(run, engine) is None

    _cache(_noise_corpus(), tmp_path / "cache")
    out = tmp_path / "weights"
    assert main(["export", "--cache", str(tmp_path / "cache"), "--out", str(out)]) == 0
    assert "nothing exported" in capsys.readouterr().out and not out.exists()

    # other decisions: only the new candidates are scored, each exported with its decisions
    low = select.models.Decisions(seal=(0.05, 0.3), seal_peak=None)
    chosen = select.select(run, data, FACE, shipped_dir=shipped, decisions=(select.DECISIONS[0], low))
    again = json.loads((run / "snapshots" / select.SCORES_FILE).read_text())
    lows = [select.candidate_name(snapshot, low) for snapshot in train.snapshots(run)]
    assert set(again) >= set(scores) | set(lows) and all(again[name] == scores[name] for name in scores)
    sidecar = json.loads((run / "snapshots" / select.candidate_name(train.snapshots(run)[0], low).replace(" ", "-")
                          / "regression.json").read_text())
    assert sidecar["seal_decision"] == [0.05, 0.3] and sidecar["seal_peak"] is None
    kept = select.read_scores(run / "snapshots" / select.SCORES_FILE)
    regression = select.choose({select.SHIPPED: kept[shipped_name], **{name: kept[name] for name in [first, second, *lows]}},
                               "regression")
    tag = select.gestures_tag(shipped if regression == select.SHIPPED else
                              run / "snapshots" / regression.replace(" ", "-"))
    candidates = {name: {**kept[name], **kept[f"{name} {tag}"]} for name in [first, second, *lows]}
    candidates[select.SHIPPED] = {**kept[shipped_name], **kept[f"{shipped_name} {tag}"]}
    for engine in select.ENGINES:
        best = select.choose(candidates, engine)
        if best == select.SHIPPED:
            assert chosen[engine] is None and select.selected_decisions(run, engine) is None
        else:
            stem, decisions = select.parse_candidate(best)
            assert chosen[engine].stem == stem and select.selected_decisions(run, engine) == decisions


def test_export_ships_the_selected_snapshot_not_the_last_checkpoint(tmp_path):
    import onnxruntime

    from training.__main__ import main

    run = tmp_path / "cache" / "runs" / "main"
    train.train(_noise_corpus(), run, steps=3, minutes=5, batch_size=2, hidden=32, channels=32, workers=0,
                snapshot_every=1)
    chosen = train.snapshots(run)[0]
    (run / select.SELECTED_FILE).write_text(json.dumps({"snapshot": chosen.name, "shipped_ranks_first": False,
                                                        "seal_decision": [0.05, 0.3], "seal_peak": 0.3,
                                                        "round_decision": [0.4, 0.9], "round_peak": 0.25,
                                                        "voice_reference_f0": 160.0}))
    _cache(_noise_corpus(), tmp_path / "cache")
    assert main(["export", "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "weights")]) == 0
    for name in ("regression", "diffusion"):      # with the decisions chosen with it
        sidecar = json.loads((tmp_path / "weights" / f"{name}.json").read_text())
        assert sidecar["seal_decision"] == [0.05, 0.3] and sidecar["round_decision"] == [0.4, 0.9]
        assert sidecar["seal_peak"] == 0.3 and sidecar["voice_reference_f0"] == 160.0 and sidecar["round_peak"] == 0.25
        # the sidecar names the command that exported it and the snapshot it came from
        assert sidecar["training"]["command"].startswith("python -m training export --cache ")
        assert sidecar["training"]["snapshot"] == f"cache/runs/main/snapshots/{chosen.name}"
    assert main(["export", "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "heard"), "--voice", "off",
                 "--round-peak", "off"]) == 0
    heard = json.loads((tmp_path / "heard" / "regression.json").read_text())
    assert heard["voice_reference_f0"] is None and heard["round_peak"] is None and heard["seal_peak"] == 0.3
    expected = select.export_snapshot(chosen, tmp_path / "expected",
                                      select.models.Decisions((0.05, 0.3), 0.3, (0.4, 0.9), 160.0, 0.25))
    last = select.export_snapshot(train.snapshots(run)[-1], tmp_path / "last")
    rng = np.random.default_rng(0)
    sessions = {name: onnxruntime.InferenceSession(str(folder / "regression.onnx"))
                for name, folder in (("shipped", tmp_path / "weights"), ("expected", expected), ("last", last))}
    inputs = {}
    for inp in sessions["shipped"].get_inputs():
        width = {"features": 64, "emotion": 8, "embedding": 96}[inp.name]
        inputs[inp.name] = rng.random((1, 200 if inp.name == "features" else 100, width), dtype=np.float32)
    outputs = {name: session.run(None, inputs)[0] for name, session in sessions.items()}
    np.testing.assert_array_equal(outputs["shipped"], outputs["expected"])
    assert not np.array_equal(outputs["shipped"], outputs["last"])
    # a selection from before engines were chosen on their own ships one snapshot for both: the
    # diffusion engine's encoder is that snapshot's regression model
    assert json.loads((tmp_path / "weights" / "diffusion.json").read_text())["requires"] == export.ENCODER
    assert ((tmp_path / "weights" / "encoder.onnx").read_bytes() == (tmp_path / "weights" / "regression.onnx").read_bytes())
    # --snapshot ships a snapshot select did not choose, with the defaults and the decisions given
    picked = train.snapshots(run)[-1]
    assert main(["export", "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "picked"),
                 "--snapshot", picked.name]) == 0
    assert _same_outputs(tmp_path / "picked" / "regression.onnx", last / "regression.onnx")
    assert json.loads((tmp_path / "picked" / "regression.json").read_text())["training"]["snapshot"].endswith(picked.name)
    assert main(["export", "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "none"),
                 "--snapshot", "step-999999.pt"]) == 1


def _same_outputs(first: Path, second: Path) -> bool:
    """Whether two ONNX models give the same outputs for the same seeded inputs."""
    import onnxruntime
    sessions = [onnxruntime.InferenceSession(str(path)) for path in (first, second)]
    rng = np.random.default_rng(0)
    inputs = {}
    for inp in sessions[0].get_inputs():
        shape = [100 if not isinstance(size, int) else size for size in inp.shape]
        shape = [200 if inp.name == "features" and i == 1 else size for i, size in enumerate(shape)]
        inputs[inp.name] = rng.random(shape, dtype=np.float32)
    first_out, second_out = (session.run(None, inputs)[0] for session in sessions)
    return bool(np.array_equal(first_out, second_out))


def test_each_engine_ships_the_snapshot_chosen_for_it(tmp_path):
    from inference import models as runtime
    from inference import neural
    from training.__main__ import main

    run = tmp_path / "cache" / "runs" / "main"
    train.train(_noise_corpus(), run, steps=3, minutes=5, batch_size=2, hidden=32, channels=32, workers=0,
                snapshot_every=1)
    first, last = train.snapshots(run)[0], train.snapshots(run)[-1]
    decided = select.models.Decisions().sidecar()
    (run / select.SELECTED_FILE).write_text(json.dumps({
        "regression": {"snapshot": first.name, "shipped_ranks_first": False, **decided, "voice_reference_f0": 125.0},
        "diffusion": {"snapshot": last.name, "shipped_ranks_first": False, **decided, "voice_reference_f0": None}}))
    _cache(_noise_corpus(), tmp_path / "cache")
    out = tmp_path / "weights"
    assert main(["export", "--cache", str(tmp_path / "cache"), "--out", str(out)]) == 0
    expected = {engine: select.export_snapshot(snapshot, tmp_path / engine)
                for engine, snapshot in (("regression", first), ("diffusion", last))}
    assert _same_outputs(out / "regression.onnx", expected["regression"] / "regression.onnx")
    assert _same_outputs(out / "encoder.onnx", expected["diffusion"] / "regression.onnx")
    assert not _same_outputs(out / "encoder.onnx", expected["regression"] / "regression.onnx")
    assert _same_outputs(out / "diffusion.onnx", expected["diffusion"] / "diffusion.onnx")
    assert json.loads((out / "regression.json").read_text())["voice_reference_f0"] == 125.0
    assert json.loads((out / "encoder.json").read_text())["voice_reference_f0"] is None
    # the runtime runs each engine on its own models
    (out / "speech_embedding").symlink_to(runtime.find_weights_dir() / "speech_embedding")
    loaded = {engine: neural.load_engine(engine, out) for engine in select.ENGINES}
    assert loaded["regression"].regression.sidecar["name"] == "regression"
    assert loaded["diffusion"].regression.sidecar["name"] == export.ENCODER
    # and the diffusion engine draws the seal and rounding of the regression engine shipped beside it
    assert loaded["diffusion"].gestures.regression.sidecar["name"] == "regression"
    assert json.loads((out / "diffusion.json").read_text())["gestures_from"] == "regression"
    # one engine alone: the other's files stay as they are
    before = (out / "regression.onnx").read_bytes()
    (out / "diffusion.onnx").unlink()
    assert main(["export", "--cache", str(tmp_path / "cache"), "--out", str(out), "--engine", "diffusion"]) == 0
    assert (out / "diffusion.onnx").exists() and (out / "regression.onnx").read_bytes() == before


def test_a_candidate_names_its_snapshot_and_every_decision():
    snapshot = Path("runs/main/snapshots/step-002000.pt")
    seal, rounding = select.models.SEAL_DECISION, select.models.ROUND_DECISION
    assert select.candidate_name(snapshot) == (f"step-002000 seal {seal[0]:g},{seal[1]:g} "
                                               f"peak {select.models.SEAL_PEAK:g} round {rounding[0]:g},{rounding[1]:g} "
                                               f"peak {select.models.ROUND_PEAK:g} "
                                               f"voice {select.models.VOICE_REFERENCE:g} takes {select.takes_drawn()}")
    assert select.candidate_name(snapshot, select.models.Decisions((0.05, 0.3), None, (0.4, 0.9), None, None)) == \
        f"step-002000 seal 0.05,0.3 peak off round 0.4,0.9 peak off voice off takes {select.takes_drawn()}"
    for decisions in select.DECISIONS + (select.models.Decisions((0.05, 0.3), None, (0.4, 0.9), 160.0, 0.3),):
        assert select.parse_candidate(select.candidate_name(snapshot, decisions)) == ("step-002000", decisions)
    assert len({select.candidate_name(snapshot, decisions) for decisions in select.DECISIONS}) == len(select.DECISIONS)


def test_a_run_can_be_scored_with_some_of_the_decision_sets():
    import argparse

    from training.__main__ import decision_sets
    assert decision_sets("0,8,9") == (select.DECISIONS[0], select.DECISIONS[8], select.DECISIONS[9])
    assert decision_sets("8,8") == (select.DECISIONS[8],)
    last = len(select.DECISIONS) - 1
    for wrong in (str(last + 1), "a", "0,,1"):
        with pytest.raises(argparse.ArgumentTypeError, match=f"positions 0-{last}"):
            decision_sets(wrong)


def test_a_run_whose_select_chose_one_engine_exports_only_that_one(tmp_path, capsys):
    from training.__main__ import main

    run = tmp_path / "cache" / "runs" / "main"
    train.train(_noise_corpus(), run, steps=2, minutes=5, batch_size=2, hidden=32, channels=32, workers=0,
                snapshot_every=1)
    first = train.snapshots(run)[0]
    decided = select.models.Decisions(voice=125.0).sidecar()
    (run / select.SELECTED_FILE).write_text(json.dumps({
        "regression": {"snapshot": first.name, "shipped_ranks_first": False, **decided,
                       "best": {"snapshot": first.name, **decided}}}))
    assert select.selection(run, "diffusion") is None and select.best_snapshot(run, "diffusion") is None
    assert select.best_snapshot(run, "regression") == (first, select.models.Decisions(voice=125.0))
    _cache(_noise_corpus(), tmp_path / "cache")
    out = tmp_path / "weights"
    assert main(["export", "--cache", str(tmp_path / "cache"), "--out", str(out)]) == 0
    assert "diffusion: select chose only the other engine" in capsys.readouterr().out
    assert (out / "regression.onnx").exists() and not (out / "diffusion.onnx").exists()
    assert json.loads((out / "regression.json").read_text())["voice_reference_f0"] == 125.0


def test_an_export_names_its_corpus_and_refuses_a_cache_holding_another(tmp_path):
    from training.__main__ import main

    run = tmp_path / "cache" / "runs" / "main"
    train.train(_noise_corpus(), run, steps=1, minutes=5, batch_size=2, hidden=32, channels=32, workers=0)
    _cache(_noise_corpus(), tmp_path / "cache")
    out = tmp_path / "weights"
    assert main(["export", "--cache", str(tmp_path / "cache"), "--out", str(out), "--snapshot", "step-000001.pt"]) == 0
    trained_on = corpus_mod.digest(_noise_corpus())
    assert {json.loads((out / f"{name}.json").read_text())["training"]["corpus"]
            for name in ("regression", "encoder", "diffusion")} == {trained_on}
    # the same run's snapshot beside another corpus: its sidecars would count a corpus it was not trained on
    other = tmp_path / "other"
    shutil.copytree(tmp_path / "cache" / "runs", other / "runs")
    moved = {"festival": [Utterance(utt.samples, utt.phones[:1] + (PhoneInterval("m", 0.4, 0.5),) + utt.phones[2:],
                                    utt.source, utt.voice) for utt in _noise_corpus()["festival"]]}
    _cache(moved, other)
    with pytest.raises(ValueError, match=f"was trained on the corpus {trained_on}, and .* holds "
                                         f"{corpus_mod.digest(moved)}"):
        main(["export", "--cache", str(other), "--out", str(tmp_path / "refused"), "--snapshot", "step-000001.pt"])
    assert not (tmp_path / "refused").exists()
