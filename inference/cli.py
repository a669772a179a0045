"""The headless command, `python -m inference AUDIO... --out DIR`: curves files without Blender.

For each input it writes `DIR/<stem>.json` ({"fps", "channels", "frames"}, frame i at i/fps seconds
from the start of the audio) and, with `--format llf`, a Live Link Face CSV `DIR/<stem>.csv` too.
Engines: regression (default) and diffusion run the shipped models, opened once for all inputs;
phonetic runs pocketsphinx and articulation rules. `--constraints FILE.json` fixes channel values
at output frames; every engine meets them exactly.
Each failed input gets one line on stderr and the exit code is 1; the other inputs still run.
Files appear only complete. Bad options (and a bad constraints file) are usage errors, exit code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import sys
from pathlib import Path

from . import exchange, neural, phonetic
from .audio import load_audio
from .constraints import constraint_grid, enforce, read_constraints
from .curves import num_frames_for
from .emotion import parse_emotion_mix
from .errors import LipkitError

ENGINES = (*neural.ENGINES, "phonetic")
PROVIDERS = ("auto", "cpu", "gpu")
FORMATS = ("json", "llf")
EXIT_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m inference",
                                     description="Lip-sync audio files to ARKit-52 curves (no Blender needed).")
    parser.add_argument("audio", nargs="+", type=Path, help="audio files (WAV, FLAC, OGG; any rate and channels)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (created if needed)")
    parser.add_argument("--engine", choices=ENGINES, default=neural.DEFAULT_ENGINE,
                        help=f"default {neural.DEFAULT_ENGINE}")
    parser.add_argument("--transcript", help="phonetic engine: text, a text file, or a folder of <stem>.txt files")
    parser.add_argument("--fps", type=float, default=phonetic.DEFAULT_FPS, help="output frame rate (default 30)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the diffusion noise and of the blink, gaze, brow and head layers")
    parser.add_argument("--steps", type=int, help="diffusion: denoising steps (default: the model's)")
    parser.add_argument("--guidance", type=float, help="diffusion: emotion guidance scale (default: the model's)")
    parser.add_argument("--constraints", type=Path,
                        help='JSON list of {"frame", "channel", "value"} to meet exactly (frames at --fps)')
    parser.add_argument("--provider", choices=PROVIDERS, default="auto",
                        help="where the models run: auto (a GPU when usable), cpu or gpu")
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


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` so that the file is either absent, as before, or complete."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def animate(path: Path, args, emotion: dict, layers: tuple[str, ...], constraints) -> phonetic.Performance:
    """One input's performance with the chosen engine, meeting `constraints` (entries) exactly."""
    audio = load_audio(path)
    grid, late = constraint_grid(constraints, num_frames_for(audio.duration, args.fps)) if constraints else (None, ())
    if args.engine == "phonetic":
        result = phonetic.perform(audio, fps=args.fps, transcript=transcript_for(path, args.transcript),
                                  seed=args.seed, emotion=emotion or None, layers=layers)
        if grid is not None:
            result = dataclasses.replace(result, curves=enforce(result.curves, grid))
    else:
        result = neural.perform(audio, engine=args.engine, fps=args.fps, seed=args.seed, emotion=emotion or None,
                                layers=layers, steps=args.steps, guidance=args.guidance, constraints=grid,
                                provider=args.provider.upper())
    return dataclasses.replace(result, warnings=result.warnings + late)


def run_one(path: Path, args, emotion: dict, layers: tuple[str, ...], constraints) -> list[str]:
    """Animate one input and write its files; returns its warnings."""
    result = animate(path, args, emotion, layers, constraints)
    document = result.curves.to_json_dict()
    document.pop("start")
    texts = {args.out / f"{path.stem}.json": json.dumps(document)}
    if args.format == "llf":
        rotations = result.head.rotations if result.head is not None else None
        texts[args.out / f"{path.stem}.csv"] = exchange.llf_csv_text(result.curves, rotations)
    for target, text in texts.items():
        write_atomically(target, text)
    return list(result.warnings)


def check_engine_options(parser: argparse.ArgumentParser, args) -> None:
    """Usage errors for options the chosen engine does not take or values out of range."""
    if args.engine != "diffusion" and (args.steps is not None or args.guidance is not None):
        parser.error("--steps and --guidance apply to the diffusion engine only")
    if args.engine != "phonetic" and args.transcript:
        parser.error("--transcript applies to the phonetic engine only")
    if args.steps is not None and args.steps < 1:
        parser.error("--steps must be 1 or more")
    if args.guidance is not None and not (math.isfinite(args.guidance) and args.guidance >= 0):
        parser.error("--guidance must be a number >= 0")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        emotion = parse_emotion_mix(args.emotion) if args.emotion else {}
        layers = phonetic.check_layers(name.strip() for name in args.layers.split(",") if name.strip())
        constraints = read_constraints(args.constraints) if args.constraints else ()
    except ValueError as exc:
        parser.error(str(exc))
    if not args.fps > 0:
        parser.error("--fps must be positive")
    check_engine_options(parser, args)
    stems = [path.stem for path in args.audio]
    duplicates = sorted({stem for stem in stems if stems.count(stem) > 1})
    if duplicates:
        parser.error(f"inputs would overwrite each other's output: {', '.join(duplicates)}")
    model_warnings: tuple[str, ...] = ()
    if args.engine in neural.ENGINES and "lips" in layers:
        try:
            loaded = neural.load_engine(args.engine, provider=args.provider.upper())
            neural.resolve_sampling(loaded, args.steps, args.guidance)
        except ValueError as exc:
            parser.error(str(exc))
        except LipkitError as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return EXIT_FAILED
        model_warnings = loaded.warnings
        for warning in model_warnings:
            print(f"warning: {warning}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)

    failures = 0
    for path in args.audio:
        try:
            for warning in run_one(path, args, emotion, layers, constraints):
                if warning not in model_warnings:   # already printed once above
                    print(f"warning: {path}: {warning}", file=sys.stderr)
            print(f"ok: {path} -> {args.out / (path.stem + '.json')}")
        except (LipkitError, ValueError, OSError) as exc:
            failures += 1
            print(f"FAILED: {path}: {exc}", file=sys.stderr)
    if failures:
        print(f"{failures} of {len(args.audio)} inputs failed", file=sys.stderr)
        return EXIT_FAILED
    return 0
