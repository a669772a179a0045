"""benchmarks.gpu on short clips: where onnxruntime offers no GPU provider (CI, the project's
machine) it says so with the reason and prints the CPU's seconds for every piece of work; where a
GPU provider starts it prints both and the parity."""

import re

import onnxruntime
import pytest

from benchmarks import gpu
from inference import models

GPU_OFFERED = any(name in onnxruntime.get_available_providers() for name in models.GPU_PROVIDERS)


@pytest.fixture
def short_clips(monkeypatch):
    """The benchmark's two durations, cut to 3 and 6 s so that the run takes seconds."""
    monkeypatch.setattr(gpu, "DURATIONS", {"60 s": 3.0, "10 min": 6.0})


def test_the_benchmark_times_every_piece_of_work_and_says_where_it_ran(short_clips, capsys):
    gpu.main(["--runs", "1"])
    out = capsys.readouterr().out
    rows = re.findall(r"^\| (front-end \+ regression|diffusion) \| (60 s|10 min) \| ([\d.]+) \| (\S+) \| (\S+) \|",
                      out, re.MULTILINE)
    assert sorted((work, audio) for work, audio, *_ in rows) == sorted(
        (work, audio) for work in ("front-end + regression", "diffusion") for audio in ("60 s", "10 min"))
    assert all(float(cpu_s) > 0 for _, _, cpu_s, _, _ in rows)
    if GPU_OFFERED and "no GPU provider is available here" not in out:
        assert all(float(gpu_s) > 0 for _, _, _, gpu_s, _ in rows) and "parity (" in out
    else:
        assert out.startswith("gpu: no GPU provider is available here: ")
        assert all(gpu_s == "-" for _, _, _, gpu_s, _ in rows) and "parity (" not in out
        assert out.rstrip().splitlines()[-1].startswith("gpu: no GPU provider is available here; CPU: ")
