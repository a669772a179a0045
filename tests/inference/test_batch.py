"""Batches on real speech: broken rows skipped and reported, the cache across a stop and a re-run,
worker processes, an output folder that fails mid-batch, and `python -m inference batch`."""

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference import batch, generation, models
from inference.audio import load_audio
from inference.shotlist import load_shot_list

REPO_ROOT = Path(__file__).resolve().parents[2]
LINE = REPO_ROOT / "samples" / "line.wav"
FAST = batch.Settings(layers=("lips", "blinks"))


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(LINE, folder / "line.wav")
    return folder


def shot_list(folder: Path, count: int, broken=()) -> Path:
    """`count` shots of the sample line, each with its own seed; rows listed in `broken` point at no file."""
    lines = ["shot,audio,seed"]
    for index in range(count):
        row = index + 2
        lines.append(f"sh{index:02d},{'gone.wav' if row in broken else 'line.wav'},{index}")
    path = folder / "shots.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def outputs(folder: Path) -> dict:
    return {path.name: path.read_text() for path in sorted(folder.glob("*.json"))}


def assert_same_curves(first: dict, second: dict) -> None:
    """Two folders' curves files (`outputs`) hold the same takes: everything equal but the values,
    which may differ in their last written digit (onnxruntime's sums round differently with the
    number of threads a process gives it)."""
    assert sorted(first) == sorted(second)
    for name in first:
        one, two = json.loads(first[name]), json.loads(second[name])
        frames = np.array(one.pop("frames")), np.array(two.pop("frames"))
        assert one == two and frames[0].shape == frames[1].shape
        np.testing.assert_allclose(frames[0], frames[1], rtol=0, atol=2e-6)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "inference", "batch", *map(str, args)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


def test_three_broken_rows_of_twenty_the_other_seventeen_run(project, tmp_path, shipped_weights):
    listed = load_shot_list(shot_list(project, 20, broken=(4, 11, 19)))
    outcomes, stopped = batch.run_file_shots(listed.shots, FAST, tmp_path / "out")
    document = batch.report(batch.invalid_outcomes(listed.errors) + outcomes, 1.0, stopped)
    assert (document["done"], document["invalid"], document["failed"], document["stopped_after"]) == (17, 3, 0, None)
    assert [r["row"] for r in document["results"] if r["status"] == batch.INVALID] == [4, 11, 19]
    assert len(outputs(tmp_path / "out")) == 17
    summary = batch.summary_text(document)
    assert summary.startswith("Lipkit batch: 20 shots: 17 made") and "row 11 sh09: invalid: audio file" in summary
    assert batch.failed(document)


def test_stopped_then_run_again_finished_shots_come_from_the_cache(project, tmp_path, shipped_weights):
    shots = load_shot_list(shot_list(project, 5)).shots
    finished = []
    outcomes, stopped = batch.run_file_shots(shots, FAST, tmp_path / "out",
                                             on_outcome=lambda outcome, done, total: finished.append(outcome),
                                             should_stop=lambda: len(finished) >= 2)
    assert stopped and [o.status for o in outcomes] == [batch.DONE] * 2 + [batch.NOT_RUN] * 3
    document = batch.report(outcomes, 1.0, stopped)
    assert document["stopped_after"] == 2 and document["of"] == 5
    assert batch.summary_text(document).startswith("Lipkit batch: stopped after 2 of 5 shots")
    assert sorted(outputs(tmp_path / "out")) == ["sh00.json", "sh01.json"]

    again, stopped = batch.run_file_shots(shots, FAST, tmp_path / "out")
    assert not stopped and [o.status for o in again] == [batch.CACHED] * 2 + [batch.DONE] * 3
    fresh, _ = batch.run_file_shots(shots, FAST, tmp_path / "fresh")
    assert outputs(tmp_path / "out") == outputs(tmp_path / "fresh")
    assert len(list((tmp_path / "out" / batch.CACHE_FOLDER).iterdir())) == 5  # one entry each, nothing partial


def test_workers_give_the_same_files(project, tmp_path, shipped_weights):
    shots = load_shot_list(shot_list(project, 4)).shots
    one, _ = batch.run_file_shots(shots, FAST, tmp_path / "one")
    two, _ = batch.run_file_shots(shots, FAST, tmp_path / "two", workers=2)
    assert [o.status for o in two] == [batch.DONE] * 4 and [o.shot for o in two] == [o.shot for o in one]
    assert_same_curves(outputs(tmp_path / "one"), outputs(tmp_path / "two"))


def test_an_output_folder_that_fails_mid_batch_fails_the_remaining_shots_cleanly(project, tmp_path,
                                                                                   shipped_weights):
    """The disk 'fills up' after two shots: the output folder is replaced by a file, so every later write fails."""
    shots = load_shot_list(shot_list(project, 4)).shots
    out = tmp_path / "out"

    def block_the_folder(outcome, done, total):
        if done == 2:
            shutil.rmtree(out)
            out.write_text("a file where the output folder was")

    outcomes, stopped = batch.run_file_shots(shots, FAST, out, on_outcome=block_the_folder)
    assert not stopped and [o.status for o in outcomes] == [batch.DONE] * 2 + [batch.FAILED] * 2
    assert all("Not a directory" in o.error for o in outcomes[2:])
    summary = batch.summary_text(batch.report(outcomes, 1.0))
    assert "2 made, 0 from the cache, 2 failed" in summary and "row 5 sh03: failed:" in summary


def test_a_cache_that_cannot_be_written_costs_a_warning_not_the_shot(project, tmp_path, shipped_weights):
    audio = load_audio(LINE)
    request = batch.request_for(load_shot_list(shot_list(project, 1)).shots[0], 100, FAST)
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder")
    performance, cached, _ = batch.perform_cached(audio, request, blocker)
    assert not cached and performance.curves.num_frames > 0
    assert any(warning.startswith("result not cached") for warning in performance.warnings)


def test_the_cache_key_follows_audio_and_settings(shipped_weights):
    audio = load_audio(LINE)
    request = generation.Request("regression", 30.0, seed=1)
    key = batch.cache_key(audio, request)
    assert batch.cache_key(load_audio(LINE), generation.Request("regression", 30.0, seed=1)) == key
    louder = type(audio)(audio.samples * 0.5, audio.sample_rate, audio.source)
    changed = [batch.cache_key(louder, request)] + [
        batch.cache_key(audio, generation.Request(**{"engine": "regression", "fps": 30.0, "seed": 1, **change}))
        for change in ({"seed": 2}, {"engine": "diffusion"}, {"fps": 24.0}, {"layers": ("lips",)},
                       {"emotion": np.full((100, 8), 0.1, np.float32)})]
    assert len({key, *changed}) == len(changed) + 1


def test_a_diffusion_take_is_cached_under_every_model_it_runs(shipped_weights):
    """The diffusion engine runs its encoder, its denoiser and the regression engine whose seal
    and rounding it draws: a new regression model makes its cached takes stale too."""
    regression = models.read_sidecar(models.find_weights_dir() / "regression.json")["sha256"]
    assert batch.model_checksums("regression") == [regression]
    diffusion = batch.model_checksums("diffusion")
    assert len(diffusion) == 3 and diffusion[-1] == regression


def test_a_damaged_cache_entry_is_made_again(project, tmp_path, shipped_weights):
    audio = load_audio(LINE)
    request = generation.Request("regression", 30.0, layers=("lips",))
    first, cached, key = batch.perform_cached(audio, request, tmp_path)
    assert not cached
    batch.cache_file(tmp_path, key).write_bytes(b"PK\x03\x04 truncated")
    again, cached, _ = batch.perform_cached(audio, request, tmp_path)
    assert not cached and np.array_equal(again.curves.values, first.curves.values)
    third, cached, _ = batch.perform_cached(audio, request, tmp_path)
    assert cached and np.array_equal(third.curves.values, first.curves.values)


def test_the_command_reports_broken_rows_and_exits_non_zero(project, tmp_path, shipped_weights):
    path = shot_list(project, 4, broken=(3,))
    result = _cli(path, "--out", tmp_path / "out", "--workers", 2, "--report", tmp_path / "report.json",
                  "--layers", "lips")
    assert result.returncode == 1, result.stderr
    document = json.loads((tmp_path / "report.json").read_text())
    assert (document["done"], document["invalid"]) == (3, 1)
    assert "FAILED: row 3 sh01: audio file 'gone.wav' is missing" in result.stderr
    assert sorted(outputs(tmp_path / "out")) == ["sh00.json", "sh02.json", "sh03.json"]
    curves = json.loads((tmp_path / "out" / "sh00.json").read_text())
    assert curves["fps"] == 30.0 and len(curves["channels"]) == 52

    again = _cli(shot_list(project, 4), "--out", tmp_path / "out", "--layers", "lips")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("(cached)") == 3 and "row 3 sh01" in again.stdout
    assert json.loads((tmp_path / "out" / "batch-report.json").read_text())["cached"] == 3


def test_the_command_refuses_an_unreadable_shot_list(project, tmp_path):
    (project / "shots.csv").write_text("shot,sound\nsh1,line.wav\n")
    result = _cli(project / "shots.csv", "--out", tmp_path / "out")
    assert result.returncode == 2 and "unknown column(s) 'sound'" in result.stderr
    assert _cli(project / "shots.csv", "--out", tmp_path / "out", "--workers", 0).returncode == 2


def test_ctrl_c_stops_the_command_after_the_shot_under_way_and_a_rerun_completes(project, tmp_path,
                                                                                  shipped_weights):
    path = shot_list(project, 40)
    command = [sys.executable, "-m", "inference", "batch", str(path), "--out", str(tmp_path / "out"),
               "--layers", "lips"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().startswith("ok [1/40]")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    document = json.loads((tmp_path / "out" / "batch-report.json").read_text())
    finished = document["stopped_after"]
    assert 1 <= finished < 40 and document["not_run"] == 40 - finished
    assert f"stopped after {finished} of 40 shots" in stderr
    assert len(outputs(tmp_path / "out")) == finished + 1  # the shots and the report

    again = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    document = json.loads((tmp_path / "out" / "batch-report.json").read_text())
    assert (document["cached"], document["done"]) == (finished, 40 - finished)
    assert len(outputs(tmp_path / "out")) == 41
