"""Secondary layers and prosody, measured: blink rate and shortest blink over a seeded 5-minute run,
and how long prosody (energy, pitch, voicing, accents) takes on 60 s of audio.

Run from the repository root:  python benchmarks/layers.py [--seeds 5] [--fps 30]
The 60 s of audio is festival speech (cmu_us_slt_arctic_hts) when festival is installed, else a
synthetic gliding buzz with noise.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference import layers, prosody  # noqa: E402

RUN_SECONDS = 300.0
FINE_FPS = 240  # blink shapes are measured on a fine render
AUDIO_SECONDS = 60.0
TEXT = ("The old lighthouse keeper never trusted the morning weather report. He walked down to the "
        "harbour, looked at the dark clouds, and decided to stay at home. ")


def festival_minute() -> tuple[np.ndarray, str]:
    """About 60 s of 16 kHz speech (one festival sentence pair, repeated), or a synthetic buzz."""
    sr = prosody.SAMPLE_RATE
    if shutil.which("festival"):
        with tempfile.TemporaryDirectory() as tmp:
            wav, script = Path(tmp) / "s.wav", Path(tmp) / "s.scm"
            script.write_text(f'(voice_cmu_us_slt_arctic_hts)\n(set! utt (utt.synth (Utterance Text "{TEXT}")))\n'
                              f"(utt.wave.resample utt 16000)\n(utt.save.wave utt \"{wav}\" 'riff)\n")
            subprocess.run(["festival", "-b", str(script)], capture_output=True, timeout=120)
            if wav.exists():
                with wave.open(str(wav)) as handle:
                    speech = np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float32) / 32768
                reps = int(np.ceil(AUDIO_SECONDS * sr / len(speech)))
                return np.tile(speech, reps)[: int(AUDIO_SECONDS * sr)], "festival speech"
    t = np.arange(int(AUDIO_SECONDS * sr)) / sr
    phase = 2 * np.pi * np.cumsum(150 + 40 * np.sin(2 * np.pi * 0.3 * t)) / sr
    buzz = sum(np.sin(k * phase) / k for k in range(1, 8)) * 0.1
    noise = 0.01 * np.random.default_rng(0).standard_normal(len(t))
    return (buzz + noise).astype(np.float32), "synthetic buzz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args()

    print(f"## Blinks over {RUN_SECONDS / 60:.0f} minutes (rendered at {FINE_FPS} fps; "
          f"duration = time with eyeBlink >= {layers.BLINK_HALF_CLOSURE})")
    print("| seed | blinks/min | shortest (ms) | longest (ms) | interval mean (s) | interval min (s) |")
    print("|---|---|---|---|---|---|")
    for seed in range(args.seeds):
        curves = layers.blinks(int(RUN_SECONDS * FINE_FPS), FINE_FPS, seed)
        durations = layers.measure_blinks(curves.channel("eyeBlinkLeft"), FINE_FPS)
        starts = [blink.time for blink in layers.blink_events(RUN_SECONDS, seed)]
        intervals = np.diff(starts)
        print(f"| {seed} | {len(durations) / (RUN_SECONDS / 60):.1f} | {1000 * durations.min():.1f} | "
              f"{1000 * durations.max():.1f} | {intervals.mean():.2f} | {intervals.min():.2f} |")

    audio, source = festival_minute()
    print(f"\n## Prosody on {len(audio) / prosody.SAMPLE_RATE:.0f} s of {source} at {args.fps:g} fps")
    prosody.analyse(audio[: prosody.SAMPLE_RATE], args.fps)  # warm-up
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        features = prosody.analyse(audio, args.fps)
        accents = prosody.detect_accents(features)
        timings.append(time.perf_counter() - start)
    voiced = features.f0[features.voiced]
    print(f"analyse + detect_accents: best {min(timings) * 1000:.0f} ms, median {np.median(timings) * 1000:.0f} ms "
          f"(5 runs); {features.voiced.mean():.0%} voiced, median F0 {np.median(voiced):.0f} Hz, "
          f"{len(accents) / (len(audio) / prosody.SAMPLE_RATE):.2f} accents/s")


if __name__ == "__main__":
    main()
