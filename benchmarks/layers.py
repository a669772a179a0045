"""Secondary layers and prosody, measured: the blink layer against real faces over seeded 5-minute
runs, and how long prosody (energy, pitch, voicing, accents) takes on 60 s of audio.

Blinks are counted as the 10 real Live Link Face captures of issue 23 were (5.5 min at 60 fps): a
blink is an excursion of eyeBlinkLeft above 0.3; its length is the time at least half closed
(eyeBlink >= 0.5), counted in frames. Each seed is one take: the blink layer with the gaze layer's
seed (so larger gaze shifts carry blinks), no audio. Each figure is printed against its bar
(issue 23) and the real captures' value, and a seed that misses a bar is marked MISS.

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
BLINK_FPS = 60  # the real captures' frame rate
# The bars of issue 23: (low, high) per figure, and the real captures' value for reference.
BARS = {
    "blinks/min": (15.0, 22.0),
    "median ms >= 0.5": (55.0, 90.0),
    "% peaks < 0.85": (25.0, 100.0),
    "L/R correlation": (0.95, 1.0),
}
BAR_TEXT = {"blinks/min": "15-22", "median ms >= 0.5": "55-90", "% peaks < 0.85": ">= 25", "L/R correlation": ">= 0.95"}
REAL = {"blinks/min": "18.5", "median ms >= 0.5": "67", "% peaks < 0.85": "88 (under-read)", "L/R correlation": ""}
SHALLOW_PEAK = 0.85
GAZE_SEED_OFFSET = 1000  # the gaze layer's seed of take `seed` (any other stream than the blinks')
AUDIO_SECONDS = 60.0
TEXT = ("The old lighthouse keeper never trusted the morning weather report. He walked down to the "
        "harbour, looked at the dark clouds, and decided to stay at home. ")


def blink_figures(seed: int, seconds: float = RUN_SECONDS, fps: float = BLINK_FPS) -> dict[str, float]:
    """The figures of one seeded run of the blink layer (with its gaze coupling), keyed as `BARS`."""
    curves = layers.blinks(int(seconds * fps), fps, seed, gaze_seed=seed + GAZE_SEED_OFFSET)
    left, right = curves.channel("eyeBlinkLeft"), curves.channel("eyeBlinkRight")
    peaks, half = layers.blink_excursions(left, fps)
    return {
        "blinks/min": len(peaks) / (seconds / 60.0),
        "median ms >= 0.5": 1000.0 * float(np.median(half)),
        "% peaks < 0.85": 100.0 * float(np.mean(peaks < SHALLOW_PEAK)),
        "L/R correlation": float(np.corrcoef(left, right)[0, 1]),
    }


def misses(figures: dict[str, float]) -> list[str]:
    """The names of the figures outside their bars."""
    return [name for name, (low, high) in BARS.items() if not low <= figures[name] <= high]


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
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate of the prosody analysis")
    parser.add_argument("--skip-prosody", action="store_true", help="only the blink figures")
    args = parser.parse_args()

    print(f"## Blinks over {RUN_SECONDS / 60:.0f} minutes at {BLINK_FPS} fps (a blink: eyeBlinkLeft above "
          f"{layers.BLINK_EXCURSION_LEVEL}; its time at least {layers.BLINK_HALF_CLOSURE} closed)")
    print("| seed | " + " | ".join(BARS) + " | bars |")
    print("|---|" + "---|" * (len(BARS) + 1))
    print("| bar | " + " | ".join(BAR_TEXT[name] for name in BARS) + " | |")
    print("| real captures | " + " | ".join(REAL[name] for name in BARS) + " | |")
    missed = 0
    for seed in range(args.seeds):
        figures = blink_figures(seed)
        failed = misses(figures)
        missed += bool(failed)
        print(f"| {seed} | {figures['blinks/min']:.1f} | {figures['median ms >= 0.5']:.0f} | "
              f"{figures['% peaks < 0.85']:.0f} | {figures['L/R correlation']:.3f} | "
              f"{'MISS ' + ', '.join(failed) if failed else 'met'} |")
    print(f"\n{args.seeds - missed} of {args.seeds} seeds meet every bar")
    if args.skip_prosody:
        return

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
