"""Model loading: verified weights, clear errors for damaged ones, providers, the session cache, windows.

Every test runs real onnxruntime on the shipped weights (or copies of them, damaged on purpose).
"""

import json
import os
import shutil

import numpy as np
import onnxruntime
import pytest

from inference import features, models
from inference.errors import CancelledError, ModelError

NAMES = ("regression", "diffusion")
GPU_HERE = any(name in onnxruntime.get_available_providers() for name in models.GPU_PROVIDERS)


@pytest.fixture(scope="module")
def weights():
    """The shipped weights folder (or LIPKIT_WEIGHTS_DIR); the tests fail, naming it, when incomplete."""
    folder = models.find_weights_dir()
    try:
        for name in NAMES:
            models.load_model(name)
    except ModelError as exc:
        pytest.fail(f"these tests need the shipped model weights: {exc}")
    return folder


@pytest.fixture
def copy_of(weights, tmp_path):
    """A fresh copy of the weights folder, to damage."""
    folder = tmp_path / "weights"
    shutil.copytree(weights, folder)
    return folder


def edit_sidecar(folder, name: str, edit) -> None:
    """Apply `edit` to the sidecar of model `name` in `folder`."""
    path = folder / f"{name}.json"
    sidecar = json.loads(path.read_text())
    edit(sidecar)
    path.write_text(json.dumps(sidecar))


def onnx_file(folder, name="regression"):
    return folder / json.loads((folder / f"{name}.json").read_text())["file"]


def test_the_shipped_models_load_with_their_sidecars(weights):
    for name in NAMES:
        model = models.load_model(name, provider="CPU")
        assert model.name == name and model.provider == models.CPU_PROVIDER and model.warnings == ()
        assert model.receptive_field >= 0 and model.version
        assert sorted(tensor.name for tensor in model.session.get_inputs()) == sorted(model.sidecar["inputs"])
    assert models.load_model("regression").time_axis("features") == (1, features.MODEL_STRIDE)
    assert models.load_model("regression").time_axis("emotion") == (1, 1)
    assert models.load_model("diffusion").time_axis("timestep") is None


def test_the_weights_folder_is_found_beside_the_package_unless_overridden(monkeypatch, tmp_path):
    monkeypatch.delenv(models.WEIGHTS_ENV, raising=False)
    assert models.find_weights_dir() == models.PACKAGE_ROOT / "weights"
    assert (models.PACKAGE_ROOT / "inference" / "models.py").is_file()
    monkeypatch.setenv(models.WEIGHTS_ENV, str(tmp_path))
    assert models.find_weights_dir() == tmp_path
    assert models.find_weights_dir(tmp_path / "explicit") == tmp_path / "explicit"


def test_a_missing_model_file_is_a_clear_error(copy_of):
    onnx_file(copy_of).unlink()
    with pytest.raises(ModelError, match=r"regression\.onnx: the model file is missing\. Reinstall"):
        models.load_model("regression", copy_of)


def test_a_missing_sidecar_or_folder_is_a_clear_error(copy_of, tmp_path):
    (copy_of / "diffusion.json").unlink()
    with pytest.raises(ModelError, match=r"diffusion\.json: the model description is missing"):
        models.load_model("diffusion", copy_of)
    with pytest.raises(ModelError, match="the model weights folder is missing"):
        models.load_model("regression", tmp_path / "nowhere")


def test_a_truncated_model_file_is_a_clear_error(copy_of):
    path = onnx_file(copy_of)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ModelError, match=r"regression\.onnx: .* bytes but should be .*truncated or damaged.*Reinstall"):
        models.load_model("regression", copy_of)


def test_an_altered_model_file_is_a_clear_error(copy_of):
    path = onnx_file(copy_of, "diffusion")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"diffusion\.onnx: .*does not match its checksum.*Reinstall"):
        models.load_model("diffusion", copy_of)


def test_checksums_are_remembered_by_path_mtime_and_size(copy_of):
    """A repeat load does not hash again (an edit that keeps size and mtime goes unseen); a new mtime does."""
    path = onnx_file(copy_of)
    models.load_model("regression", copy_of)
    status = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    models.load_model("regression", copy_of)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000))
    with pytest.raises(ModelError, match="checksum"):
        models.load_model("regression", copy_of)


@pytest.mark.parametrize("edit, words", [
    (lambda side: side["inputs"].update(spectrum=side["inputs"].pop("features")), "its inputs are"),
    (lambda side: side.update(fps=60.0), "fps is 60.0, this Lipkit expects 50.0"),
    (lambda side: side.pop("receptive_field"), "lacks receptive_field"),
    (lambda side: side["channels"].__setitem__(0, "eyeBlinkLeftish"), "not the 52 ARKit names"),
])
def test_a_sidecar_that_does_not_fit_is_a_clear_error(copy_of, edit, words):
    edit_sidecar(copy_of, "regression", edit)
    with pytest.raises(ModelError, match="Reinstall") as error:
        models.load_model("regression", copy_of)
    assert words in str(error.value)


@pytest.mark.parametrize("band, words", [
    ({"centre": 0.8, "reach": [0.0, 0.5]}, "leaves the learned range"),
    ({"centre": 0.0, "reach": [0.6, 0.2]}, "leaves the learned range"),
    ({"centre": 0.0}, "is not {centre, reach"),
    ({"middle": 0.0, "reach": [0.0, 1.0]}, "is not {centre, reach"),
])
def test_a_malformed_band_of_takes_is_a_clear_error(copy_of, band, words):
    path = copy_of / "diffusion.json"
    sidecar = json.loads(path.read_text())
    sidecar["style"].setdefault("takes", {})["jaw"] = band
    path.write_text(json.dumps(sidecar))
    with pytest.raises(ModelError, match="Reinstall") as error:
        models.load_model("diffusion", copy_of)
    assert "style of takes is malformed" in str(error.value) and words in str(error.value)
    sidecar["style"]["takes"] = {"chin": {"centre": 0.0, "reach": [0.0, 1.0]}}
    path.write_text(json.dumps(sidecar))
    with pytest.raises(ModelError, match="unknown style entries chin"):
        models.load_model("diffusion", copy_of)
    del sidecar["style"]["takes"]
    size = len(sidecar["style"]["names"])
    sidecar["style"]["names"] = sidecar["style"]["names"][:-1]
    path.write_text(json.dumps(sidecar))
    with pytest.raises(ModelError, match=f"{size - 1} style names for a style input of {size}"):
        models.load_model("diffusion", copy_of)


@pytest.mark.parametrize("model, edit, words", [
    ("diffusion", lambda side: side.update(gestures_from="phonetic"), "only the regression engine gives them"),
    ("regression", lambda side: side.update(gestures=["seal"]), "which gives ['seal']"),
    ("diffusion", lambda side: side.pop("gestures"), "does not name as many as its 'gestures' input takes"),
])
def test_a_diffusion_engine_that_cannot_draw_the_regression_engines_gestures_is_a_clear_error(copy_of, model, edit,
                                                                                               words):
    """The shipped diffusion engine draws the regression engine's seal and rounding: a description
    naming another source, or a regression model that gives other gestures, is refused by name."""
    from inference import neural
    assert neural.load_engine("diffusion").gestures is not None
    edit_sidecar(copy_of, model, edit)
    with pytest.raises(ModelError, match="Reinstall") as error:
        neural.load_engine("diffusion", copy_of)
    assert words in str(error.value)


def test_a_sidecar_edited_after_its_model_was_opened_is_read_anew(copy_of):
    """The session is kept (the weights are the same), the description is not: an edited band of
    takes counts from the next load, and an edit that no longer fits is refused."""
    first = models.load_model("diffusion", copy_of)
    edit_sidecar(copy_of, "diffusion", lambda side: side["style"]["takes"].update(
        jaw={"centre": 0.0, "reach": [0.0, 0.5]}))
    again = models.load_model("diffusion", copy_of)
    assert again.session is first.session
    assert again.sidecar["style"]["takes"]["jaw"] == {"centre": 0.0, "reach": [0.0, 0.5]}
    edit_sidecar(copy_of, "diffusion", lambda side: side["inputs"].update(noise=side["inputs"].pop("noisy")))
    with pytest.raises(ModelError, match="Reinstall"):
        models.load_model("diffusion", copy_of)


def test_takes_without_bands_span_the_learned_range():
    centre, nearest, farthest = models.take_bands({"style": {"names": ["jaw", "side"], "range": [-1.0, 1.0],
                                                             "takes": {"side": {"centre": 0.0, "reach": [0.5, 1.0]}}}})
    np.testing.assert_array_equal(centre, [0.0, 0.0])
    np.testing.assert_array_equal(nearest, [0.0, 0.5])
    np.testing.assert_array_equal(farthest, [1.0, 1.0])
    assert models.take_bands({"name": "regression"}) is None


@pytest.mark.parametrize("preference, available, first, warned", [
    ("CPU", ["CUDA", "CPU"], "CPU", False),
    ("AUTO", ["CUDA", "CPU"], "CUDA", False),
    ("auto", ["Dml", "CPU"], "Dml", False),
    ("GPU", ["CoreML", "CPU"], "CoreML", False),
    ("GPU", ["CoreML", "CUDA", "CPU"], "CUDA", False),
    ("AUTO", ["Azure", "CPU"], "CPU", False),
    ("GPU", ["Azure", "CPU"], "CPU", True),
])
def test_provider_preferences(preference, available, first, warned):
    chosen, warnings = models.choose_providers(preference, [f"{name}ExecutionProvider" for name in available])
    assert chosen[0] == f"{first}ExecutionProvider" and chosen[-1] == models.CPU_PROVIDER and len(chosen) <= 2
    assert bool(warnings) == warned
    with pytest.raises(ValueError, match="unknown provider preference"):
        models.choose_providers("TPU", available)


@pytest.mark.skipif(GPU_HERE, reason="this machine has a GPU provider")
def test_asking_for_the_gpu_without_one_runs_on_the_cpu_with_a_warning(weights):
    model = models.load_model("regression", provider="GPU")
    assert model.provider == models.CPU_PROVIDER
    assert len(model.warnings) == 1 and "No GPU is usable" in model.warnings[0] and "CPU" in model.warnings[0]


@pytest.mark.skipif("CUDAExecutionProvider" in onnxruntime.get_available_providers(), reason="CUDA is usable here")
def test_a_provider_that_cannot_load_falls_back_to_the_cpu_with_a_warning(weights):
    session, warnings = models.open_session(onnx_file(weights), ["CUDAExecutionProvider", models.CPU_PROVIDER])
    assert session.get_providers()[0] == models.CPU_PROVIDER
    assert len(warnings) == 1 and warnings[0].startswith("CUDAExecutionProvider could not be loaded (it needs an NVIDIA GPU")
    assert warnings[0].endswith("cuDNN 9 runtime libraries); running on the CPU.")


def test_sessions_are_cached_per_file_provider_and_threads(weights):
    first = models.load_model("regression", provider="CPU", cpu_threads=1)
    assert models.load_model("regression", provider="cpu", cpu_threads=1) is first
    assert models.load_model("regression", provider="CPU", cpu_threads=2) is not first
    models.clear_cache()
    assert models.load_model("regression", provider="CPU", cpu_threads=1) is not first
    with pytest.raises(ValueError, match="cpu_threads"):
        models.load_model("regression", cpu_threads=-1)


@pytest.mark.parametrize("num_frames, window, margin", [(10, 50, 5), (1000, 100, 17), (101, 30, 3), (64, 63, 0)])
def test_windows_tile_the_sequence_with_margins(num_frames, window, margin):
    plan = models.plan_windows(num_frames, window, margin)
    assert plan[0].keep_start == 0 and plan[-1].keep_stop == num_frames
    for before, after in zip(plan, plan[1:]):
        assert before.keep_stop == after.keep_start
    for part in plan:
        assert part.stop - part.start <= window and part.keep_start < part.keep_stop
        assert part.keep_start - part.start >= margin or part.start == 0
        assert part.stop - part.keep_stop >= margin or part.stop == num_frames
    with pytest.raises(ValueError, match="keeps nothing"):
        models.plan_windows(100, 20, 10)


def test_windowed_runs_can_be_cancelled(weights):
    model = models.load_model("regression")
    feeds = {"features": np.zeros((1, 400, 64), np.float32), "emotion": np.zeros((1, 200, 8), np.float32)}
    if "embedding" in model.sidecar["inputs"]:      # the speech embedding, per model frame
        feeds["embedding"] = np.zeros((1, 200, 96), np.float32)
    asked, cut = [], []

    def feeds_for(window):
        cut.append(window)
        return models.cut_feeds(model, feeds, window)

    with pytest.raises(CancelledError):
        models.run_windowed(model, feeds_for, 200, 2 * model.receptive_field + 10,
                            should_cancel=lambda: asked.append(1) or len(asked) > 2)
    assert len(asked) == 3 and len(cut) == 2
    assert cut[1].keep_start > 0 and cut[1].stop < 200


def test_running_the_models_writes_nothing_in_the_users_home(tmp_path):
    """onnxruntime's telemetry database stays off: a generation leaves HOME (and XDG_CACHE_HOME) empty."""
    import subprocess
    import sys
    from pathlib import Path

    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("XDG_CACHE_HOME", "ORT_DISABLE_TELEMETRY")}
    env["HOME"] = str(home)
    repo = Path(__file__).resolve().parents[2]
    code = ("from inference import generation; from inference.audio import load_audio; "
            "generation.perform(load_audio('samples/line.wav'), engine='diffusion', steps=2)")
    subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, check=True, capture_output=True, timeout=300)
    assert [str(path.relative_to(home)) for path in home.rglob("*")] == []
