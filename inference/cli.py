"""The headless command, `python -m inference AUDIO... --out DIR`: curves files without Blender.

For each input it writes `DIR/<stem>.json` ({"fps", "channels", "frames"}, frame i at i/fps seconds
from the start of the audio) and, with `--format llf`, a Live Link Face CSV `DIR/<stem>.csv` too.
Each failed input gets one line on stderr and the exit code is 1; the other inputs still run.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from . import exchange, phonetic
from .audio import load_audio
from .emotion import parse_emotion_mix
from .errors import LipkitError

ENGINES = ("phonetic",)
FORMATS = ("json", "llf")
EXIT_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m inference",
                                     description="Lip-sync audio files to ARKit-52 curves (no Blender needed).")
    parser.add_argument("audio", nargs="+", type=Path, help="audio files (WAV, FLAC, OGG; any rate and channels)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (created if needed)")
    parser.add_argument("--engine", choices=ENGINES, default="phonetic")
    parser.add_argument("--transcript", help="text, a text file, or a folder of <stem>.txt files")
    parser.add_argument("--fps", type=float, default=phonetic.DEFAULT_FPS, help="output frame rate (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the blink, gaze, brow and head layers")
    parser.add_argument("--emotion", default="", help="e.g. happy=0.6,sad=0.2 (intensities 0-1)")
    parser.add_argument("--layers", default=",".join(phonetic.LAYERS),
                        help=f"comma-separated, from {','.join(phonetic.LAYERS)} (default: all)")
    parser.add_argument("--format", choices=FORMATS, default="json",
                        help="json (always written); llf adds a Live Link Face CSV")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def transcript_for(audio_path: Path, option: str | None) -> str | None:
    """The transcript of one input: literal text, one file for all, or `<stem>.txt` in a folder."""
    if not option:
        return None
    source = Path(option)
    if source.is_dir():
        candidate = source / f"{audio_path.stem}.txt"
        if not candidate.is_file():
            raise LipkitError(f"no transcript {candidate} for {audio_path.name}")
        return candidate.read_text(encoding="utf-8")
    if source.is_file():
        return source.read_text(encoding="utf-8")
    return option


def run_one(path: Path, args, emotion: dict, layers: tuple[str, ...]) -> list[str]:
    """Animate one input and write its files; returns its warnings."""
    audio = load_audio(path)
    result = phonetic.perform(audio, fps=args.fps, transcript=transcript_for(path, args.transcript),
                              seed=args.seed, emotion=emotion or None, layers=layers)
    document = result.curves.to_json_dict()
    document.pop("start")
    (args.out / f"{path.stem}.json").write_text(json.dumps(document), encoding="utf-8")
    if args.format == "llf":
        rotations = result.head.rotations if result.head is not None else None
        (args.out / f"{path.stem}.csv").write_text(exchange.llf_csv_text(result.curves, rotations), encoding="utf-8")
    return list(result.warnings)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        emotion = parse_emotion_mix(args.emotion) if args.emotion else {}
        layers = phonetic.check_layers(name.strip() for name in args.layers.split(",") if name.strip())
    except ValueError as exc:
        parser.error(str(exc))
    if not args.fps > 0:
        parser.error("--fps must be positive")
    stems = [path.stem for path in args.audio]
    duplicates = sorted({stem for stem in stems if stems.count(stem) > 1})
    if duplicates:
        parser.error(f"inputs would overwrite each other's output: {', '.join(duplicates)}")
    args.out.mkdir(parents=True, exist_ok=True)

    failures = 0
    for path in args.audio:
        try:
            for warning in run_one(path, args, emotion, layers):
                print(f"warning: {path}: {warning}", file=sys.stderr)
            print(f"ok: {path} -> {args.out / (path.stem + '.json')}")
        except (LipkitError, ValueError, OSError) as exc:
            failures += 1
            print(f"FAILED: {path}: {exc}", file=sys.stderr)
    if failures:
        print(f"{failures} of {len(args.audio)} inputs failed", file=sys.stderr)
        return EXIT_FAILED
    return 0
