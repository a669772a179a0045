"""Batch speed: 50 shots of 10 s of speech, regression engine, headless, against one process per shot.

The speech is made here with espeak-ng (a few long readings in different voices, cut into 50
different 10 s clips, so no two shots share a cache entry). Both sides run in this one run, on the
same clips, with an empty cache: `python -m inference batch SHOTS --out DIR` once, then
`python -m inference CLIP --out DIR` once per shot. Both write the same curves files (checked).
Run:  .venv/bpy-5.0/bin/python -m benchmarks.batch [--shots 50] [--seconds 10] [--workers 1]
Last line: `batch: 50 shots in <S> s, <R>x faster than one process per shot`.
"""

import argparse
import filecmp
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from benchmarks import speed
from inference.audio import load_audio

REPO_ROOT = Path(__file__).resolve().parents[1]
SENTENCES = speed.SENTENCES + (
    "Seven sailors sang softly while the lighthouse keeper polished the lamp.",
    "My brother bought a map of the old city and a bag of warm bread.",
)
VOICES = ("en-us", "en", "en-us+f3", "en+m3")
SAMPLE_RATE = 16000


def espeak_reading(folder: Path, voice: str, rotation: int, seconds: float) -> np.ndarray:
    """At least `seconds` of espeak-ng speech in `voice` (16 kHz float32)."""
    order = SENTENCES[rotation:] + SENTENCES[:rotation]
    words_needed = int(seconds * 3.5) + 1  # espeak reads about 3 words a second: with a margin
    text = " ".join(order)
    while len(text.split()) < words_needed:
        text += " " + " ".join(order)
    wav = folder / f"{voice.replace('+', '_')}_{rotation}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True, capture_output=True)
    return load_audio(wav).samples


def write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SAMPLE_RATE)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def make_shots(folder: Path, count: int, seconds: float) -> list[Path]:
    """`count` different clips of `seconds` each, and a shot list naming them."""
    per_reading = -(-count // len(VOICES))
    length = int(seconds * SAMPLE_RATE)
    clips = []
    for index, voice in enumerate(VOICES):
        reading = espeak_reading(folder, voice, index, seconds * per_reading)
        for part in range(per_reading):
            if len(clips) == count:
                break
            piece = reading[part * length:(part + 1) * length]
            if len(piece) < length:
                raise SystemExit(f"espeak-ng read {voice} for only {len(reading) / SAMPLE_RATE:.1f} s")
            clip = folder / f"shot{len(clips):03d}.wav"
            write_wav(clip, piece)
            clips.append(clip)
    (folder / "shots.csv").write_text("shot,audio\n" + "".join(f"{clip.stem},{clip.name}\n" for clip in clips))
    return clips


def timed(command) -> float:
    began = time.perf_counter()
    subprocess.run(command, cwd=REPO_ROOT, check=True, capture_output=True, text=True)
    return time.perf_counter() - began


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="the batch's --workers")
    args = parser.parse_args()
    python = [sys.executable, "-m", "inference"]
    with tempfile.TemporaryDirectory(prefix="lipkit-batch-bench-") as name:
        folder = Path(name)
        clips = make_shots(folder, args.shots, args.seconds)
        durations = [load_audio(clip).duration for clip in clips]
        print(f"{len(clips)} shots, {min(durations):.2f}-{max(durations):.2f} s each, regression engine")
        batch_seconds = timed(python + ["batch", str(folder / "shots.csv"), "--out", str(folder / "batch"),
                                        "--workers", str(args.workers)])
        print(f"one batch (--workers {args.workers}): {batch_seconds:.1f} s")
        single_seconds = sum(timed(python + [str(clip), "--out", str(folder / "single")]) for clip in clips)
        print(f"one process per shot: {single_seconds:.1f} s")
        names = [f"{clip.stem}.json" for clip in clips]
        match, mismatch, errors = filecmp.cmpfiles(folder / "batch", folder / "single", names, shallow=False)
        if mismatch or errors:
            raise SystemExit(f"the batch and the single-file command disagree on {mismatch + errors}")
        print(f"the same curves files from both ({len(match)} compared)")
    print(f"batch: {len(clips)} shots in {batch_seconds:.1f} s, {single_seconds / batch_seconds:.1f}x faster "
          "than one process per shot")


if __name__ == "__main__":
    main()
