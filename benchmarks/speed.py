"""Engine speed: seconds to turn 60 s of speech into 52-channel curves, on this machine's CPU.

The speech is made here with festival (a minute of varied sentences), so the benchmark needs no
shared data. Each engine runs on the same audio in one process, best and median of N runs.
Run:  .venv/bpy-5.0/bin/python -m benchmarks.speed
Last line: `speed: phonetic <S> s without transcript, <S> s with transcript for 60 s of audio`.
"""

import argparse
import statistics
import subprocess
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from inference import phonetic
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        samples, rate, transcript = festival_minute(Path(folder))
    audio = audio_from_array(samples, rate)
    rows = {
        "without transcript": lambda: phonetic.perform(audio),
        "with transcript": lambda: phonetic.perform(audio, transcript=transcript),
    }
    per_minute = {}
    scale = TARGET_SECONDS / audio.duration
    print(f"{audio.duration:.1f} s of festival speech, all layers, 30 fps, {args.runs} runs each; "
          f"times scaled to 60 s of audio")
    for name, call in rows.items():
        best, median = timed(call, args.runs)
        per_minute[name] = median * scale
        print(f"  phonetic {name}: best {best * scale:.3f} s, median {median * scale:.3f} s, "
              f"{audio.duration / median:.0f}x real time")
    print(f"speed: phonetic {per_minute['without transcript']:.2f} s without transcript, "
          f"{per_minute['with transcript']:.2f} s with transcript for 60 s of audio")


if __name__ == "__main__":
    main()
