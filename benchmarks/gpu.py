"""GPU speed and parity: the speech-embedding front-end and both models on the GPU provider
onnxruntime offers here, against the CPU in the same run.

The GPU engine is what *Run Models On: GPU* gets (`neural.load_engine(..., provider="GPU")`: the
first of CUDA, DirectML, CoreML that starts and passes the parity run, see `inference.neural`). The
audio is festival speech (`benchmarks.speed.festival_minute`), repeated to 60 s and to 10 min. Each
piece of work runs once to warm up, then `--runs` times on each provider; the best time counts:
- "front-end + regression": the speech embedding of the clip plus the regression engine's mouth
  (features, model, resampling to 30 fps), the embedding made once;
- "diffusion": the diffusion engine's mouth (the regression pass and the model's default steps).
Parity: the largest disagreement of the GPU with the CPU (`neural.disagreement`) in the engine's
parity run, in the front-end's embedding of the 60 s clip and in both engines' 60 s curves.

Where no GPU provider starts, it says so with the reason and prints the CPU figures only.
`--record` writes a "gpu" section (provider, card, seconds, ratios, parity) into both sidecars,
only when a GPU ran. The card is `--card`, else the first name `nvidia-smi` gives.
Run:  .venv/bpy-5.0/bin/python -m benchmarks.gpu [--runs 3] [--record] [--card NAME]
Last line: `gpu: <provider>: front-end + regression 60 s <S> s, diffusion 10 min <S> s (CPU ...)`,
or `gpu: no GPU provider is available here; CPU: ...` (the first line gives the reason).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import record
from benchmarks.speed import festival_minute
from inference import embedding, generation, models, neural
from inference.audio import audio_from_array

DURATIONS = {"60 s": 60.0, "10 min": 600.0}
# The bars on an NVIDIA GPU: (work, duration) -> seconds.
BARS = {("front-end + regression", "60 s"): 0.1, ("diffusion", "10 min"): 2.0}
COMMAND = ".venv/bpy-5.0/bin/python -m benchmarks.gpu --record"


def best_seconds(call, runs: int) -> float:
    """The best of `runs` timed calls, after one untimed call (first-run setup on the device)."""
    call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def work(audio, frontend: embedding.FrontEnd, provider: str) -> dict:
    """The timed pieces of work on one provider preference ("CPU" or "GPU"), as calls. A
    regression engine that reads the speech embedding makes it itself; for one that does not, the
    front-end runs beside it, so the row always holds the front-end once."""
    reads_embedding = neural.load_engine("regression", provider=provider).frontend is not None

    def regression():
        if not reads_embedding:
            embedding.embed(audio.samples, frontend=frontend)
        return generation.perform(audio, engine="regression", layers=("lips",), provider=provider)

    def diffusion():
        return generation.perform(audio, engine="diffusion", layers=("lips",), provider=provider)

    return {"front-end + regression": regression, "diffusion": diffusion}


def card_name(given: str | None) -> str:
    if given:
        return given
    if shutil.which("nvidia-smi"):
        found = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                               capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip().splitlines()[0]
    return "unknown"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="write the figures into the sidecars (GPU only)")
    parser.add_argument("--card", help="the GPU's name for the record (default: from nvidia-smi)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        minute, rate, _ = festival_minute(Path(folder))
    clips = {name: audio_from_array(np.tile(minute, int(np.ceil(seconds * rate / len(minute))))[:int(seconds * rate)],
                                    rate)
             for name, seconds in DURATIONS.items()}

    cpu = neural.load_engine("diffusion", provider="CPU")
    gpu = neural.load_engine("diffusion", provider="GPU")
    cpu_frontend = embedding.load_frontend(provider="CPU")
    gpu_frontend = embedding.load_frontend(provider="GPU")
    on_gpu = set(gpu.providers) & set(models.GPU_PROVIDERS)
    reason = " ".join(gpu.warnings) or f"onnxruntime offers {', '.join(models.available_providers())}"
    if on_gpu:
        print(f"gpu: {gpu.provider} on {card_name(args.card)}")
    else:
        print(f"gpu: no GPU provider is available here: {reason} CPU figures only.")

    providers = ("CPU", "GPU") if on_gpu else ("CPU",)
    seconds: dict[tuple[str, str, str], float] = {}
    for duration, audio in clips.items():
        calls = {provider: work(audio, gpu_frontend if provider == "GPU" else cpu_frontend, provider)
                 for provider in providers}
        for provider in providers:
            for name, call in calls[provider].items():
                seconds[name, duration, provider] = best_seconds(call, args.runs)

    print("| work | audio | CPU s | GPU s | CPU / GPU | bar (NVIDIA GPU) |")
    print("|---|---|---|---|---|---|")
    for name in ("front-end + regression", "diffusion"):
        for duration in DURATIONS:
            cpu_s = seconds[name, duration, "CPU"]
            gpu_s = seconds.get((name, duration, "GPU"))
            bar = BARS.get((name, duration))
            print(f"| {name} | {duration} | {cpu_s:.3f} | {'-' if gpu_s is None else f'{gpu_s:.3f}'} | "
                  f"{'-' if gpu_s is None else f'{cpu_s / gpu_s:.1f}x'} | {'-' if bar is None else f'<= {bar:g} s'} |")

    parity = {}
    if on_gpu:
        minute_audio = clips["60 s"]
        parity["parity run"] = neural.parity_gap(gpu, cpu)
        parity["front-end, 60 s"] = neural.disagreement(embedding.embed(minute_audio.samples, frontend=gpu_frontend),
                                                        embedding.embed(minute_audio.samples, frontend=cpu_frontend))
        for engine in ("regression", "diffusion"):
            curves = [generation.perform(minute_audio, engine=engine, layers=("lips",), provider=provider).curves.values
                      for provider in ("GPU", "CPU")]
            parity[f"{engine} curves, 60 s"] = neural.disagreement(*curves)
        print("parity (|GPU - CPU| over max(1, |CPU|); bar <= 1e-3): "
              + ", ".join(f"{name} {value:.2g}" for name, value in parity.items()))

    if args.record and on_gpu:
        values = {"provider": gpu.provider, "card": card_name(args.card), "runs": args.runs,
                  "seconds": {f"{name}, {duration}, {provider}": round(value, 4)
                              for (name, duration, provider), value in seconds.items()},
                  "parity": {name: float(value) for name, value in parity.items()}}
        for model in ("regression", "diffusion"):
            print(f"recorded in {record.record(model, 'gpu', COMMAND, values)}")

    def figures(provider: str) -> str:
        return (f"front-end + regression 60 s {seconds['front-end + regression', '60 s', provider]:.3f} s, "
                f"diffusion 10 min {seconds['diffusion', '10 min', provider]:.3f} s")

    if on_gpu:
        print(f"gpu: {gpu.provider}: {figures('GPU')} (CPU {figures('CPU')})")
    else:
        print(f"gpu: no GPU provider is available here; CPU: {figures('CPU')}")


if __name__ == "__main__":
    main()
