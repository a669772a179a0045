"""What each part of a diffusion take's style does to the lips: one row per style entry at each end
of its range, the others at the average take's.

    .venv/bpy-5.0/bin/python -m benchmarks.styles [--data DIR] [--at 0.5,1] [--seed 0] [--bands]

A take's style (`inference.neural.take_style`: jaw, rounding, spreading and lip gains,
lopsidedness, side) is not heard in the audio, so any value is a fair take, but not every value
keeps the quality bars: a small jaw misses open vowels, a big one opens in silences. Each row is
scored like `benchmarks.quality` scores the diffusion model on timit_dev (no transcript, lips
only, 30 fps; the sampler's noise from `--seed`) with one entry at each of -AT and +AT, beside the average
take (all 0), and gives how far that take is from the average one (mean absolute difference over
the mouth and jaw channels, as `benchmarks.quality` measures two takes). It shows which entries
can be drawn over their whole range for takes that differ, and which must stay near the middle
for every take to meet the bars. `--bands` scores the takes at the corners of the bands the
sidecar draws takes in (every entry at the top of its band, then at the bottom).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from benchmarks import lipmetrics, quality
from inference import arkit, emotion
from inference.curves import Curves


def style_engine(style: np.ndarray, seed: int, fps: float, weights_dir: Path | None = None) -> quality.Engine:
    """The diffusion model drawing its take in `style` (lips only, no transcript, neutral emotion)."""
    from inference import neural
    from inference.audio import load_audio
    from inference.generation import num_frames_for

    def engine(wav: Path) -> Curves:
        audio = load_audio(wav)
        count = num_frames_for(audio.duration, fps)
        neutral = np.zeros((count, len(emotion.CATEGORIES)), np.float32)
        mouth, _, _ = neural.animate_mouth(audio, "diffusion", fps, count, seed, neutral,
                                           weights_dir=weights_dir, style=style)
        return mouth
    return engine


def styles_to_score(names: list[str], at: tuple[float, ...]) -> list[tuple[str, np.ndarray]]:
    """(row name, style): the average take, then each entry at each of -at and +at."""
    rows = [("average take", np.zeros(len(names), np.float32))]
    for i, name in enumerate(names):
        for value in sorted({sign * reach for reach in at for sign in (-1.0, 1.0)}):
            style = np.zeros(len(names), np.float32)
            style[i] = value
            rows.append((f"{name} {value:+g}", style))
    return rows


def band_corners(bands: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[tuple[str, np.ndarray]]:
    """(row name, style): the average take, then every entry at the top of its take band, then at
    the bottom (`inference.models.take_bands`): the biggest and smallest takes a seed can draw,
    where a bar that a band's takes miss is missed first."""
    centre, _, farthest = bands
    return [("average take", np.zeros(len(centre), np.float32)),
            ("every entry at its band's top", (centre + farthest).astype(np.float32)),
            ("every entry at its band's bottom", (centre - farthest).astype(np.float32))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared-data", type=Path, default=quality.DEFAULT_SHARED, help="shared data folder")
    ap.add_argument("--data", type=Path, help="TIMIT-style folder (default <shared>/speech/timit_dev)")
    ap.add_argument("--fps", type=float, default=quality.DEFAULT_FPS)
    ap.add_argument("--at", default="0.5,1", help="how far from the middle each entry goes, comma-separated "
                                                   "(1: its range's end)")
    ap.add_argument("--seed", type=int, default=0, help="the sampler's noise")
    ap.add_argument("--bands", action="store_true",
                    help="instead: the takes at the corners of the sidecar's take bands (both ends of every entry)")
    ap.add_argument("--limit", type=int, help="only the first N utterances")
    args = ap.parse_args(argv)
    try:
        at = tuple(float(part) for part in args.at.split(","))
    except ValueError:
        ap.error(f"--at takes numbers, got {args.at!r}")
    if not all(0 < reach <= 1 for reach in at):
        ap.error("--at values must be in (0, 1]")

    from inference import models
    data_dir = args.data or args.shared_data / quality.TIMIT_SUBDIR
    wavs = quality.list_utterances(data_dir)[: args.limit]
    if not wavs:
        print(f"no utterances in {data_dir}", file=sys.stderr)
        return 2
    face = lipmetrics.load_reference_face(args.shared_data / quality.FACE_SUBDIR, arkit.NAMES)
    sidecar = models.load_model("diffusion").sidecar
    names = sidecar["style"]["names"]
    rows = band_corners(models.take_bands(sidecar)) if args.bands else styles_to_score(names, at)
    speakers = [wav.parent.name for wav in wavs]
    print("| style | BIL40 | lowest speaker | OPEN | ROUND | RFA | REST | SYNC r | from the average take |")
    print("|---|---|---|---|---|---|---|---|---|")
    average = None
    for row, style in rows:
        scores, _, takes = quality.run_engine(style_engine(style, args.seed, args.fps), wavs, face, None)
        if average is None:
            average = takes
        agg = lipmetrics.aggregate(scores)
        lowest = min(quality.speaker_bil40(scores, speakers).values())
        print(f"| {row} | {agg['BIL40']:.1f} | {lowest:.1f} | {agg['OPEN']:.1f} | {agg['ROUND']:.1f} | "
              f"{agg['RFA']:.1f} | {agg['REST']:.1f} | {agg['SYNC_r']:.3f} | "
              f"{quality.mouth_difference(average, takes):.4f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
