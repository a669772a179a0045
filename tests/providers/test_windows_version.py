"""The Windows zip's onnxruntime version (requirements/windows.txt), here in its CPU build
(`.venv/ort-1.24`, scripts/setup.sh; the DirectML wheel installs only on Windows): the bundled
models and the speech-embedding front-end load on it and give the curves and the embedding that
the version the other zips carry (requirements/common.txt, run in `.venv/bpy-5.0`) gives.
Elsewhere the module fails, since it would show nothing.
"""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from onnxruntime.capi import build_and_package_info

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO_ROOT / "requirements"
OTHER_ZIPS_PYTHON = REPO_ROOT / ".venv" / "bpy-5.0" / "bin" / "python"
LINE = REPO_ROOT / "samples" / "line.wav"
# Two versions of onnxruntime on the same CPU: the same kernels up to float32 rounding.
TOLERANCE = 1e-5
# Runs in either environment: both engines' curves (seed 3, lips) and the embedding of the line.
PERFORM = """
import sys
import numpy as np
import onnxruntime
from inference import embedding, generation
from inference.audio import load_audio
line = load_audio(sys.argv[1])
found = {engine: generation.perform(line, engine=engine, seed=3, layers=("lips",), provider="CPU").curves.values
         for engine in ("regression", "diffusion")}
np.savez(sys.argv[2], version=onnxruntime.__version__, embedding=embedding.embed(line.samples, provider="CPU"),
         **found)
"""


def pinned(file: str, package: str) -> str:
    return re.search(rf"^{package}==(\S+)", (REQUIREMENTS / file).read_text(), re.MULTILINE).group(1)


def perform(python, out: Path) -> dict:
    subprocess.run([str(python), "-c", PERFORM, str(LINE), str(out)], cwd=REPO_ROOT, check=True, timeout=300)
    with np.load(out) as found:
        return {name: found[name] for name in found.files}


@pytest.fixture(scope="module", autouse=True)
def the_windows_zips_version():
    assert (onnxruntime.__version__, build_and_package_info.package_name) == (
        pinned("windows.txt", "onnxruntime-directml"), "onnxruntime"), \
        "run these tests in .venv/ort-1.24, see scripts/setup.sh"


def test_the_models_give_the_other_zips_curves_on_the_windows_version(tmp_path):
    here = perform(sys.executable, tmp_path / "here.npz")
    there = perform(OTHER_ZIPS_PYTHON, tmp_path / "there.npz")
    assert str(there.pop("version")) == pinned("common.txt", "onnxruntime") != str(here.pop("version"))
    assert sorted(here) == ["diffusion", "embedding", "regression"]
    for name, values in here.items():
        assert values.shape == there[name].shape and values.size > 0, name
        assert np.max(np.abs(values - there[name])) <= TOLERANCE, name
