"""Engine speed: seconds to turn 60 s of speech into 52-channel curves, on this machine's CPU.

The speech is made here with festival (a minute of varied sentences), so the benchmark needs no
shared data. Every engine runs on the same audio in one process (models loaded beforehand, CPU
provider), best and median of N runs. For the neural engines it also checks that cost is linear in
length (10 s, 60 s, 600 s) and measures peak memory of a fresh process animating 600 s. Last, the
start-up: the wall time of the headless command (`python -m inference`, default engine) on the
first second of the speech, a fresh process each run, median of `STARTUP_RUNS`.
Run:  .venv/bpy-5.0/bin/python -m benchmarks.speed [--runs 3] [--no-scaling]
Last line: `speed: regression <S> s, diffusion <S> s for 60 s of audio`.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from benchmarks import record
from inference import generation, neural
from inference.audio import audio_from_array

SENTENCES = (
    "The quick brown fox jumps over the lazy dog near the riverbank.",
    "Please bring me my blue umbrella before the storm rolls in from the bay.",
    "We moved the piano up five flights of stairs without dropping it once.",
    "Would you believe that the museum opens at nine on most Thursdays?",
    "Mothers and fathers waited by the bus stop, chatting about the big match.",
    "A few of the sheep wandered off, but the farmer found them by morning.",
)
TARGET_SECONDS = 60.0
STARTUP_RUNS = 5


def festival_minute(folder: Path) -> tuple[np.ndarray, int, str]:
    """About a minute of festival speech (samples, rate, transcript)."""
    text = " ".join(SENTENCES)
    wav = folder / "minute.wav"
    subprocess.run(["text2wave", "-o", str(wav), "-eval", "(voice_cmu_us_slt_arctic_hts)"],
                   input=text, text=True, check=True, capture_output=True)
    with wave.open(str(wav)) as handle:
        rate = handle.getframerate()
        once = np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float32) / 32768
    repeats = int(np.ceil(TARGET_SECONDS * rate / len(once)))  # whole repeats: the transcript matches
    return np.tile(once, repeats), rate, " ".join([text] * repeats)


def timed(call, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def neural_call(audio, engine: str):
    return lambda: generation.perform(audio, engine=engine, provider="CPU")


def own_peak_kb() -> int:
    """This process's peak resident memory in KiB since it started its program: Linux's VmHWM (the
    high-water mark of its own address space). Not `getrusage`'s ru_maxrss, which Linux carries
    across exec: a child started by a big parent would report the parent's size at the fork."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_memory_mb(samples: np.ndarray, rate: int, engine: str) -> float:
    """Peak resident memory (MiB) of a fresh process that animates `samples` with `engine`."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "audio.npy"
        np.save(path, samples)
        code = ("import json, sys, numpy as np\n"
                "from benchmarks.speed import own_peak_kb\n"
                "from inference import generation\nfrom inference.audio import audio_from_array\n"
                f"audio = audio_from_array(np.load({str(path)!r}), {rate})\n"
                f"generation.perform(audio, engine={engine!r}, provider='CPU')\n"
                "print(json.dumps(own_peak_kb()))\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1]) / 1024


def scaling(samples: np.ndarray, rate: int, runs: int) -> None:
    """Seconds per engine at 10, 60 and 600 s, and each as a multiple of the 60 s time."""
    clips = {seconds: np.tile(samples, int(np.ceil(seconds * rate / len(samples))))[: seconds * rate]
             for seconds in (10, 60, 600)}
    for engine in neural.ENGINES:
        times = {seconds: timed(neural_call(audio_from_array(clip, rate), engine), 1 if seconds == 600 else runs)[1]
                 for seconds, clip in clips.items()}
        print(f"  {engine} length scaling: 10 s {times[10]:.3f} s, 60 s {times[60]:.3f} s, 600 s {times[600]:.2f} s "
              f"(600 s / 60 s = {times[600] / times[60]:.1f}, 60 s / 10 s = {times[60] / times[10]:.1f}); "
              f"peak memory at 600 s {peak_memory_mb(clips[600], rate, engine):.0f} MB")


def startup_seconds(samples: np.ndarray, rate: int, runs: int = STARTUP_RUNS) -> float:
    """Median wall seconds of `python -m inference` (a fresh process) on the first second of `samples`."""
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "second.wav"
        with wave.open(str(wav), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(rate)
            handle.writeframes((np.clip(samples[:rate], -1, 1) * 32767).astype("<i2").tobytes())
        command = [sys.executable, "-m", "inference", str(wav), "--out", str(Path(folder) / "out")]
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, cwd=Path(__file__).resolve().parents[1])
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-scaling", action="store_true", help="skip the 10/60/600 s and memory checks")
    parser.add_argument("--record", action="store_true",
                        help="write the models' seconds per 60 s into their sidecars (weights/*.json)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        samples, rate, transcript = festival_minute(Path(folder))
    audio = audio_from_array(samples, rate)
    for engine in neural.ENGINES:                      # open the sessions before timing
        neural.load_engine(engine, provider="CPU")
    rows = {
        "phonetic without transcript": lambda: generation.perform(audio, engine="phonetic"),
        "phonetic without transcript, phone recognition": lambda: generation.perform(audio, engine="phonetic",
                                                                                     recognition="phones"),
        "phonetic with transcript": lambda: generation.perform(audio, engine="phonetic", transcript=transcript),
        "regression": neural_call(audio, "regression"),
        "diffusion": neural_call(audio, "diffusion"),
    }
    per_minute = {}
    scale = TARGET_SECONDS / audio.duration
    print(f"{audio.duration:.1f} s of festival speech, all layers, 30 fps, CPU, {args.runs} runs each; "
          f"times scaled to 60 s of audio")
    for name, call in rows.items():
        best, median = timed(call, args.runs)
        per_minute[name] = median * scale
        print(f"  {name}: best {best * scale:.3f} s, median {median * scale:.3f} s, "
              f"{audio.duration / median:.0f}x real time")
    if not args.no_scaling:
        scaling(samples, rate, args.runs)
    print(f"phonetic: {per_minute['phonetic without transcript']:.2f} s without transcript "
          f"({per_minute['phonetic without transcript, phone recognition']:.2f} s with --recognition phones), "
          f"{per_minute['phonetic with transcript']:.2f} s with transcript for 60 s of audio")
    startup = startup_seconds(samples, rate)
    print(f"start-up: the headless command on 1 s of audio {startup:.2f} s wall (median of {STARTUP_RUNS})")
    if args.record:
        command = " ".join(["python -m benchmarks.speed", *sys.argv[1:]])
        for engine in neural.ENGINES:
            record.record(engine, "speed", command, {"cpu": "2-core shared CPU, CPU provider",
                                                     "seconds_per_60s": round(per_minute[engine], 3)})
    print(f"speed: regression {per_minute['regression']:.2f} s, diffusion {per_minute['diffusion']:.2f} s "
          f"for 60 s of audio")


if __name__ == "__main__":
    main()
