"""The shipped zips: every one built by scripts/build.py and accepted by this Blender's validator,
free of numpy and of what must not ship, each carrying the onnxruntime build for its platform's GPUs
(DirectML on Windows, the standard build with CoreML on macOS, the CPU build and, in the
linux_x64_cuda zip, the CUDA build on Linux). The two Linux zips (the ones this machine can run)
are installed through *Install from Disk* into a fresh user extensions repository, enabled, and
generate takes that survive save and reload (package_check.py, in a Python that has Blender's
modules but not the add-on's source or its wheels). The CUDA zip's provider is offered and, with
no NVIDIA GPU or CUDA runtime here, fails to start: its takes are made on the CPU, with the note.

The takes are judged by behaviour that any trained weights must show on samples/line.wav ("Bob,
please move the big blue map. We will be home before five.": 0.2 s of silence, speech with eleven
bilabials, a pause, speech, a short silence): the jaw opens during speech and rests in the silence
before and after it, the lips close at least once, and the keys read back after reopening the file
are the keys written."""

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from bpy_helpers import REPO_ROOT, bpy

BUNDLED = ("onnxruntime", "pocketsphinx")  # the zip must bring these: hidden from the installing Python
LINE_FRAMES_AT_2997 = 124  # samples/line.wav (4.13 s) at 30000/1001 fps
BUILD_SECONDS = 600
SPEECH_JAW_MIN = 0.25      # jawOpen reaches this somewhere in the line's speech
SILENCE_JAW_MAX = 0.15     # and stays below this in the silence before and after it
MIN_EDGE_SILENCE_FRAMES = 6  # so the silence check looks at something (about 10 frames at 29.97 fps)
MIN_CLOSURES = {"regression": 1, "phonetic": 6}  # lip closures during speech; with the transcript, most bilabials
RELOAD_TOLERANCE = 1e-6


# Zip (file name's end) -> the wheels it must carry, as (distribution, Python) from the file names.
ZIPS = {
    "linux_x64": ("onnxruntime", "pocketsphinx"),
    "linux_x64_cuda": ("onnxruntime_gpu", "pocketsphinx"),
    "windows_x64": ("onnxruntime_directml", "pocketsphinx"),
    "macos_arm64": ("onnxruntime", "pocketsphinx"),
}
PLATFORM_OF = {"linux_x64": "linux-x64", "linux_x64_cuda": "linux-x64", "windows_x64": "windows-x64",
               "macos_arm64": "macos-arm64"}
PLATFORM_TAG_OF = {"linux_x64": "manylinux", "linux_x64_cuda": "manylinux", "windows_x64": "win_amd64",
                   "macos_arm64": "macosx_"}
INSTALLABLE_HERE = ("linux_x64", "linux_x64_cuda")
CUDA_NOTE = "CUDAExecutionProvider could not be loaded (it needs an NVIDIA GPU"


@pytest.fixture(scope="module")
def zips(tmp_path_factory) -> dict:
    """Every zip, built by the build command into a temporary folder: {file name's end: path}."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "build.py"), "--out", str(out)],
                   check=True, timeout=BUILD_SECONDS)
    built = {path.stem.split("-", 2)[2]: path for path in out.glob("lipkit-*.zip")}
    assert sorted(built) == sorted(ZIPS)
    return built


def blender_site_without_bundled(folder: Path) -> Path:
    """A folder linking every module of this environment except the ones the zip must bring."""
    folder.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(BUNDLED):
            (folder / entry.name).symlink_to(entry)
    return folder


@pytest.mark.parametrize("variant", sorted(ZIPS))
def test_the_validator_accepts_every_zip(zips, variant):
    validator = Path(bpy.utils.system_resource("SCRIPTS")) / "addons_core/bl_pkg/cli/blender_ext.py"
    result = subprocess.run([sys.executable, str(validator), "validate", str(zips[variant])],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("variant", sorted(ZIPS))
def test_each_zip_ships_the_add_on_weights_and_its_platforms_wheels_only(zips, variant):
    archive = zipfile.ZipFile(zips[variant])
    names = archive.namelist()
    wheels = [name.split("/")[-1] for name in names if name.endswith(".whl")]
    assert sorted(f"{wheel.split('-')[0]}-{wheel.split('-')[2]}" for wheel in wheels) == sorted(
        f"{package}-{python}" for package in ZIPS[variant] for python in ("cp311", "cp313"))
    assert all(PLATFORM_TAG_OF[variant] in wheel.split("-")[-1] for wheel in wheels), wheels
    manifest = archive.read("blender_manifest.toml").decode()
    assert f'platforms = ["{PLATFORM_OF[variant]}"]' in manifest
    assert {"__init__.py", "blender_manifest.toml", "weights/regression.onnx", "weights/regression.json",
            "weights/diffusion.onnx", "weights/diffusion.json", "weights/encoder.onnx", "weights/encoder.json",
            "inference/neural.py"} <= set(names)
    tops = {name.split("/")[0] for name in names}
    assert not tops & {"training", "tests", "benchmarks", ".ci", "scripts", "requirements", "docs", "numpy"}
    assert not [name for name in names if "numpy" in name.lower()]


@pytest.mark.parametrize("variant", INSTALLABLE_HERE)
def test_installed_zip_generates_and_the_takes_survive_reload(zips, variant, tmp_path, shared_data_or_none):
    site = blender_site_without_bundled(tmp_path / "site")
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(tmp_path / "user")}
    env.pop("PYTHONPATH", None)
    shared = shared_data_or_none
    command = [sys.executable, "-I", "-S", str(Path(__file__).with_name("package_check.py")),
               str(site), str(zips[variant]), str(tmp_path), *([str(shared)] if shared else [])]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=BUILD_SECONDS)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    found = json.loads((tmp_path / "found.json").read_text())
    installed = tmp_path / "user" / "extensions"
    for key in ("addon_file", "onnxruntime", "pocketsphinx"):
        assert Path(found[key]).is_relative_to(installed), (key, found[key])
    assert found["regression_provider"] == "CPUExecutionProvider"
    if variant == "linux_x64_cuda":
        assert found["onnxruntime_build"] == "onnxruntime-gpu"
        assert "CUDAExecutionProvider" in found["onnxruntime_providers"]
        assert (result.stdout + result.stderr).count(CUDA_NOTE) >= 1, result.stdout[-4000:]
    else:
        assert found["onnxruntime_build"] == "onnxruntime" and CUDA_NOTE not in result.stdout + result.stderr
    assert found["mapped"] == (51 if shared else 52)
    assert found["reload_difference"] <= RELOAD_TOLERANCE, found["reload_difference"]
    regression, phonetic = found["takes"]
    for engine, take in (("regression", regression), ("phonetic", phonetic)):
        assert take["first_frame"] == 11 and take["fps"] == pytest.approx(30000 / 1001)
        assert take["frames"] >= LINE_FRAMES_AT_2997 - 1, take
        assert take["jawOpen_speech_max"] >= SPEECH_JAW_MIN, (engine, take)
        assert take["edge_silence_frames"] >= MIN_EDGE_SILENCE_FRAMES, (engine, take)
        assert take["jawOpen_edge_silence_max"] <= SILENCE_JAW_MAX, (engine, take)
        assert take["closures"] >= MIN_CLOSURES[engine], (engine, take)
    assert phonetic["jawOpen_max"] > 0.3 and phonetic["mouthClose_max"] > 0.2, phonetic
