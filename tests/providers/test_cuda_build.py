"""Choosing where the models run, with onnxruntime's CUDA build (`onnxruntime-gpu`) installed.

Runs in `.venv/ort-gpu` (scripts/setup.sh), on a machine without an NVIDIA GPU or the CUDA runtime
libraries (CI, the project's machine): onnxruntime then offers CUDAExecutionProvider, so Lipkit
picks it, and it really fails to start, so every model falls back to the CPU. Nothing is faked.
Elsewhere (the CPU build of onnxruntime, or a machine where CUDA starts) the module fails, since
it would show nothing.
"""

from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from onnxruntime.capi import build_and_package_info

from inference import generation, models
from inference.audio import load_audio
LINE = Path(__file__).resolve().parents[2] / "samples" / "line.wav"
CUDA = "CUDAExecutionProvider"


@pytest.fixture(scope="module", autouse=True)
def cuda_build_without_a_gpu():
    assert build_and_package_info.package_name == "onnxruntime-gpu", \
        "run these tests in .venv/ort-gpu (onnxruntime-gpu), see scripts/setup.sh"
    assert CUDA in onnxruntime.get_available_providers()


@pytest.mark.parametrize("preference", ["AUTO", "GPU", "auto"])
def test_the_logic_chooses_cuda_when_it_is_offered(preference):
    chosen, notes = models.choose_providers(preference, onnxruntime.get_available_providers())
    assert chosen == [CUDA, models.CPU_PROVIDER] and notes == ()


@pytest.fixture(scope="module")
def line():
    return load_audio(LINE)


@pytest.mark.parametrize("engine, preference", [("regression", "AUTO"), ("diffusion", "GPU")])
def test_cuda_that_fails_to_start_falls_back_with_one_note_and_the_cpus_curves(line, engine, preference):
    on_cpu = generation.perform(line, engine=engine, seed=4, layers=("lips",), provider="CPU")
    tried = generation.perform(line, engine=engine, seed=4, layers=("lips",), provider=preference)
    assert on_cpu.curves.meta["provider"] == tried.curves.meta["provider"] == models.CPU_PROVIDER
    assert not [warning for warning in on_cpu.warnings if CUDA in warning]
    notes = [warning for warning in tried.warnings if CUDA in warning]
    assert notes == [f"{CUDA} could not be loaded (it needs an NVIDIA GPU and driver with the CUDA "
                     f"{build_and_package_info.cuda_version} and cuDNN 9 runtime libraries); running on the CPU."]
    np.testing.assert_array_equal(tried.curves.values, on_cpu.curves.values)
