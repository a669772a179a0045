"""How far a take's jaw may close before its open vowels stop opening: the floor of the jaw gain
the diffusion model's seeds draw (prints markdown).

    PYTHONPATH=. .venv/bpy-5.0/bin/python -m benchmarks.style [--cache DIR] [--limit N]

A take's style scales the articulation (`training.targets.apply_style`); the jaw gain scales
jawOpen (and mouthClose with it, so closures stay closed). The models learn gains from 0.6 to 1.4, but a take drawn at the low end opens its vowels
too little to read. This measures it on the articulation alone (no model, no audio), over the
festival part of the training corpus (the project's own speech, with festival's exact phone
timings; TIMIT is never read): for each jaw gain, the OPEN figure of `benchmarks.lipmetrics` on
the styled curves, scored on the reference face. The floor is the lowest gain on the grid whose
OPEN still meets the models' bar; `training.targets.TAKE_JAW_FLOOR` holds it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from benchmarks import lipmetrics
from inference import arkit
from inference.articulation import articulate
from inference.phonemes import SILENCE
from training import corpus, targets

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = Path(os.environ.get("LIPKIT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
FACE_SUBDIR = "faces/arkit_reference_face/obj"
FPS = 30.0
OPEN_BAR = 93.0
JAW_GAINS = tuple(np.round(np.arange(targets.STYLE_RANGE["jaw"][0], 1.0 + 1e-9, 0.05), 2))


def labels_of(phones) -> list[lipmetrics.Label]:
    """The corpus's phones as the metrics' labels (ARPAbet names are TIMIT's; silence is a pause)."""
    return [lipmetrics.Label("pau" if p.phone == SILENCE else p.phone.lower(), p.start, p.end) for p in phones]


def open_by_jaw_gain(utterances, face, gains=JAW_GAINS) -> dict[float, float]:
    """OPEN (%) of the articulation of `utterances`, its jaw scaled by each of `gains`."""
    scored = [(articulate(u.phones, FPS, u.duration).select(face.channels).values, labels_of(u.phones))
              for u in utterances]
    result = {}
    for gain in gains:
        scores = [lipmetrics.score_utterance(face, FPS, targets.apply_style(values, {"jaw": gain}), labels)
                  for values, labels in scored]
        result[float(gain)] = lipmetrics.aggregate(scores)["OPEN"]
    return result


def jaw_floor(open_by_gain: dict[float, float], bar: float = OPEN_BAR) -> float | None:
    """The lowest gain from which every higher gain on the grid meets `bar` (None: not even 1.0)."""
    floor = None
    for gain in sorted(open_by_gain, reverse=True):
        if open_by_gain[gain] < bar:
            break
        floor = gain
    return floor


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=corpus.DEFAULT_CACHE, help="training cache (its corpus/)")
    parser.add_argument("--shared-data", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--limit", type=int, help="only the first N festival utterances")
    args = parser.parse_args(argv)
    shard = args.cache / "corpus" / "festival.npz"
    face_dir = args.shared_data / FACE_SUBDIR
    if not shard.exists() or not face_dir.is_dir():
        print(f"needs {shard} (python -m training data) and {face_dir}", file=sys.stderr)
        return 2
    utterances = corpus.load_shard(shard)[: args.limit]
    face = lipmetrics.load_reference_face(face_dir, arkit.NAMES)
    figures = open_by_jaw_gain(utterances, face)
    print(f"# OPEN of the articulation by jaw gain ({len(utterances)} festival utterances, {FPS:g} fps)\n")
    print("| jaw gain | OPEN % |\n|---|---|")
    for gain, value in figures.items():
        print(f"| {gain:.2f} | {value:.1f} |")
    floor = jaw_floor(figures)
    print(f"\nfloor: the lowest jaw gain meeting OPEN >= {OPEN_BAR:g} is "
          + ("none on the grid" if floor is None else f"{floor:.2f}") + f" (training.targets.TAKE_JAW_FLOOR)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
