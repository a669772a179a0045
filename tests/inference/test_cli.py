"""The phonetic engine end to end and the headless command `python -m inference`, on real speech.

The command's neural engines run the shipped model weights.
"""

import json
import os
import subprocess
import sys
import wave

import numpy as np
import onnxruntime
import pytest

from inference import arkit, generation, models
from inference.audio import audio_from_array, load_audio
from inference.curves import num_frames_for
from speech_synth import SAMPLE_RATE, festival_speech

REPO_ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
SENTENCE = "Bob met Pam by the big map."


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    samples, words = festival_speech(folder, SENTENCE, name="bob")
    return folder / "bob.wav", samples, words


def _run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "inference", *map(str, args)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, env=env)


def test_command_writes_curves_and_live_link_face_csv(clip, tmp_path):
    wav, samples, _ = clip
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "bob.txt").write_text(SENTENCE)
    result = _run(wav, "--out", tmp_path / "out", "--engine", "phonetic", "--transcript", tmp_path / "texts",
                  "--fps", 24, "--format", "llf", "--emotion", "happy=0.4")
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "out" / "bob.json").read_text())
    assert document["fps"] == 24.0 and document["channels"] == list(arkit.NAMES)
    assert len(document["frames"]) == num_frames_for(len(samples) / SAMPLE_RATE, 24.0)
    frames = np.array(document["frames"])
    assert frames.min() >= 0 and frames.max() <= 1 and frames[:, arkit.INDEX["jawOpen"]].max() > 0.2
    csv_lines = (tmp_path / "out" / "bob.csv").read_text().splitlines()
    assert csv_lines[0].startswith("Timecode,BlendShapeCount,EyeBlinkLeft")
    assert len(csv_lines) == len(document["frames"]) + 1


def test_a_failed_input_is_reported_and_the_others_still_run(clip, tmp_path, shipped_weights):
    wav, _, _ = clip
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really")
    result = _run(tmp_path / "missing.wav", broken, wav, "--out", tmp_path / "out")
    assert result.returncode == 1
    failures = [line for line in result.stderr.splitlines() if line.startswith("FAILED")]
    assert len(failures) == 2 and "missing.wav" in failures[0] and "broken.wav" in failures[1]
    assert "Traceback" not in result.stderr
    assert (tmp_path / "out" / "bob.json").is_file()


@pytest.mark.parametrize("args, words", [
    (["--emotion", "joyful=0.5"], "joyful"),
    (["--layers", "lips,wings"], "wings"),
    (["--fps", "0"], "--fps must be from 1 to 240, got 0"),
    (["--steps", "4"], "--steps and --guidance apply to the diffusion engine only"),
    (["--engine", "phonetic", "--guidance", "2"], "--steps and --guidance apply to the diffusion engine only"),
    (["--transcript", "Bob met Pam"], "--transcript applies to the phonetic engine only"),
    (["--recognition", "phones"], "--recognition applies to the phonetic engine only"),
    (["--engine", "diffusion", "--recognition", "words"], "--recognition applies to the phonetic engine only"),
    (["--engine", "phonetic", "--recognition", "guess"], "invalid choice: 'guess'"),
    (["--engine", "phonetic", "--voice", "off"], "--voice applies to the regression and diffusion engines only"),
    (["--voice", "low"], "invalid choice: 'low'"),
    (["--engine", "diffusion", "--steps", "0"], "--steps must be from 1 to 1000, got 0"),
    (["--provider", "tpu"], "invalid choice: 'tpu'"),
])
def test_bad_options_are_usage_errors(clip, tmp_path, args, words):
    wav, _, _ = clip
    result = _run(wav, "--out", tmp_path, *args)
    assert result.returncode == 2 and words in result.stderr


def write_constraints(path, entries):
    path.write_text(json.dumps([{"frame": frame, "channel": channel, "value": value}
                                for frame, channel, value in entries]))
    return path


@pytest.mark.parametrize("engine, extra", [("regression", []), ("diffusion", ["--steps", "4", "--seed", "3"]),
                                           ("phonetic", [])])
def test_every_engine_meets_the_constraints_file(clip, tmp_path, shipped_weights, engine, extra):
    wav, _, _ = clip
    entries = [(12, "jawOpen", 0.9), (13, "jawOpen", 0.85), (40, "mouthSmileLeft", 0.6), (50, "eyeBlinkRight", 0.0),
               (9999, "jawOpen", 0.1)]
    path = write_constraints(tmp_path / "hold.json", entries)
    result = _run(wav, "--out", tmp_path / "out", "--engine", engine, "--constraints", path, *extra)
    assert result.returncode == 0, result.stderr
    frames = np.array(json.loads((tmp_path / "out" / "bob.json").read_text())["frames"])
    for frame, channel, value in entries[:-1]:
        assert abs(frames[frame, arkit.INDEX[channel]] - value) <= 1e-6, f"{channel} at frame {frame}"
    assert "1 constraint(s) lie after the last frame" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["bob.json"]


def test_the_default_engine_is_regression(clip, tmp_path, shipped_weights):
    wav, _, _ = clip
    result = _run(wav, "--out", tmp_path, "--seed", 5)
    assert result.returncode == 0, result.stderr
    frames = np.array(json.loads((tmp_path / "bob.json").read_text())["frames"])
    expected = generation.perform(load_audio(wav), seed=5).curves.values
    np.testing.assert_allclose(frames, expected, atol=1e-6)


def test_a_bad_constraints_file_is_a_usage_error(clip, tmp_path):
    wav, _, _ = clip
    path = write_constraints(tmp_path / "bad.json", [(3, "jawOpen", 0.5), (4, "jawOpen", 1.5)])
    result = _run(wav, "--out", tmp_path / "out", "--constraints", path)
    assert result.returncode == 2 and "bad.json: constraints[1]: value must be a number within 0-1" in result.stderr
    assert not (tmp_path / "out").exists()


def test_missing_weights_fail_once_and_write_nothing(clip, tmp_path):
    wav, _, _ = clip
    env = dict(os.environ, **{models.WEIGHTS_ENV: str(tmp_path / "weights")})
    (tmp_path / "weights").mkdir()
    other = tmp_path / "other.wav"
    other.write_bytes(wav.read_bytes())
    result = _run(wav, other, "--out", tmp_path / "out", "--engine", "diffusion", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.count("FAILED") == 1 and "diffusion.json: the model description is missing" in result.stderr
    assert "Reinstall" in result.stderr and not (tmp_path / "out").exists()


@pytest.mark.skipif(any(name in onnxruntime.get_available_providers() for name in models.GPU_PROVIDERS),
                    reason="this machine has a GPU provider")
@pytest.mark.parametrize("engine", ["regression", "diffusion"])
def test_asking_for_a_missing_gpu_warns_once_and_gives_the_cpus_curves(clip, tmp_path, shipped_weights, engine):
    wav, _, _ = clip
    other = tmp_path / "other.wav"
    other.write_bytes(wav.read_bytes())
    result = _run(wav, other, "--out", tmp_path / "gpu", "--provider", "gpu", "--engine", engine, "--seed", 2)
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert notes == [f"warning: No GPU is usable for the models here (onnxruntime offers "
                     f"{', '.join(onnxruntime.get_available_providers())}); running on the CPU."]
    on_cpu = _run(wav, other, "--out", tmp_path / "cpu", "--provider", "cpu", "--engine", engine, "--seed", 2)
    assert on_cpu.returncode == 0 and "warning:" not in on_cpu.stderr, on_cpu.stderr
    for name in ("bob.json", "other.json"):
        assert (tmp_path / "gpu" / name).read_bytes() == (tmp_path / "cpu" / name).read_bytes()


def test_lips_close_on_the_bilabials_with_a_transcript(clip):
    _, samples, words = clip
    performance = generation.perform(audio_from_array(samples, SAMPLE_RATE), engine="phonetic", fps=30, transcript=SENTENCE,
                                   layers=("lips",))
    curves = performance.curves
    seal = curves.channel("mouthClose") / np.maximum(curves.channel("jawOpen"), 0.03)
    for word in ("bob", "pam", "big", "map"):
        start, end = next((s, e) for w, s, e in words if w == word)
        window = slice(int(start * 30) - 2, int(end * 30) + 3)
        assert seal[window].max() > 0.9, f"no lip closure in '{word}'"
    assert {p.phone for p in performance.phones} >= {"b", "p", "m", "aa", "ae"}


@pytest.mark.parametrize("recognition", ["words", "phones"])
def test_lips_close_on_most_bilabials_without_a_transcript(clip, tmp_path, recognition):
    """The command's phonetic engine hears the line itself, in either recognition mode."""
    wav, _, words = clip
    result = _run(wav, "--out", tmp_path, "--engine", "phonetic", "--recognition", recognition, "--layers", "lips")
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "bob.json").read_text())
    frames = np.array(document["frames"])
    seal = frames[:, arkit.INDEX["mouthClose"]] / np.maximum(frames[:, arkit.INDEX["jawOpen"]], 0.03)
    closed = [w for w, s, e in words if w in ("bob", "pam", "big", "map")
              and seal[max(int(s * 30) - 2, 0):int(e * 30) + 3].max() > 0.9]
    assert len(closed) >= 3, closed


def test_layers_are_seeded_and_separable(clip):
    _, samples, _ = clip
    audio = audio_from_array(np.tile(samples, 4), SAMPLE_RATE)
    full = generation.perform(audio, engine="phonetic", seed=7).curves
    again = generation.perform(audio, engine="phonetic", seed=7).curves
    other = generation.perform(audio, engine="phonetic", seed=8).curves
    no_blinks = generation.perform(audio, engine="phonetic", seed=7, layers=("lips", "gaze", "brows", "head")).curves
    np.testing.assert_array_equal(full.values, again.values)
    gaze = [arkit.INDEX[n] for n in arkit.NAMES if n.startswith("eyeLook")]
    blink = [arkit.INDEX["eyeBlinkLeft"], arkit.INDEX["eyeBlinkRight"]]
    assert not np.array_equal(full.values[:, gaze], other.values[:, gaze])
    np.testing.assert_array_equal(full.values[:, gaze], no_blinks.values[:, gaze])
    assert full.values[:, blink].max() > 0.5 and no_blinks.values[:, blink].max() == 0


def test_silence_gives_a_resting_face_and_a_warning():
    performance = generation.perform(audio_from_array(np.zeros(SAMPLE_RATE * 2, np.float32), SAMPLE_RATE), engine="phonetic",
                                   layers=("lips",))
    assert np.abs(performance.curves.values).max() < 1e-6
    assert len(performance.warnings) == 1 and "silent" in performance.warnings[0]   # said once, not twice


def test_a_warning_is_printed_once(tmp_path):
    silent = tmp_path / "quiet.wav"
    with wave.open(str(silent), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SAMPLE_RATE)
        handle.writeframes(np.zeros(SAMPLE_RATE, "<i2").tobytes())
    result = _run(silent, "--out", tmp_path / "out", "--engine", "phonetic")
    assert result.returncode == 0
    assert result.stderr.count("is silent") == 1, result.stderr
