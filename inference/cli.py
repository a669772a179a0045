"""The headless command, `python -m inference AUDIO... --out DIR`: curves files without Blender.

For each input it writes `DIR/<stem>.json` ({"fps", "channels", "frames"}, frame i at i/fps seconds
from the start of the audio) and, with `--format llf`, a Live Link Face CSV `DIR/<stem>.csv` too.
Engines: regression (default) and diffusion run the shipped models, opened once for all inputs;
phonetic runs pocketsphinx and articulation rules (`--recognition` picks how it finds phones
without a transcript); `--voice off` lets the models hear a high voice as recorded (`voice`).
`--constraints FILE.json` fixes channel values at output frames; every engine meets them exactly.
Each failed input gets one line on stderr and the exit code is 1; the other inputs still run.
Files appear only complete, and an input's files all or none; no write follows a symlink. Bad
options (a number out of its range in `limits`, an output folder that cannot be written, a bad
constraints file) are usage errors, exit code 2.

`python -m inference batch SHOTS --out DIR [--workers N] [--report FILE]` runs a shot list (CSV or
JSON, see `shotlist`): `DIR/<shot>.json` per shot, results cached in `DIR/.lipkit-cache`, a JSON
report (default `DIR/batch-report.json`). Broken rows are reported by row number and the others
run; exit code 1 when any row or shot failed, 2 for an unreadable shot list, 130 when Ctrl+C
stopped it (after the shots under way; a second Ctrl+C interrupts at once).

`python -m inference review AUDIO --curves FILE.json [--transcript TEXT] [--constraints FILE.json]
[--report FILE]` reviews a take (`review`): the frames to look at, printed one a line after a
summary, and a JSON report (default `<curves stem>.review.json` beside the curves). `--review`
on the single-file command and on `batch` writes `<stem>.review.json` beside each take; the batch
report then counts each shot's findings.

`blender_parser` is the argument parser of the Blender command
`blender -b scene.blend --command lipkit batch SHOTS ...` (registered by the extension), kept here
so that it is tested without Blender.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path

from . import batch, exchange, files, generation, limits, neural, review, shotlist
from .audio import load_audio
from .files import write_all_or_none, write_atomically
from .constraints import constraint_grid, read_constraints
from .curves import num_frames_for
from .emotion import mix_to_weights, parse_emotion_mix
from .errors import LipkitError
from .phones import DEFAULT_RECOGNITION, RECOGNITION_MODES

ENGINES = generation.ENGINES
PROVIDERS = ("auto", "cpu", "gpu")
FORMATS = ("json", "llf")
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_STOPPED = 130
BATCH = "batch"
REVIEW = "review"
REPORT_NAME = "batch-report.json"
VOICE_HELP = ("regression and diffusion engines: auto (default) hears a voice above the model's reference pitch "
              "lower, which they round and close better; off hears every voice as recorded")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m inference",
                                     description="Lip-sync audio files to ARKit-52 curves (no Blender needed).")
    parser.add_argument("audio", nargs="+", type=Path, help="audio files (WAV, FLAC, OGG; any rate and channels)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (created if needed)")
    parser.add_argument("--engine", choices=ENGINES, default=neural.DEFAULT_ENGINE,
                        help=f"default {neural.DEFAULT_ENGINE}")
    parser.add_argument("--transcript", help="phonetic engine: text, a text file, or a folder of <stem>.txt files")
    parser.add_argument("--recognition", choices=RECOGNITION_MODES,
                        help="phonetic engine without a transcript: words (decode words, then align them; "
                             "default) or phones (about 5x faster, misses more lip closures)")
    parser.add_argument("--fps", type=float, default=generation.DEFAULT_FPS, help="output frame rate (default 30)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the diffusion noise and of the blink, gaze, brow and head layers")
    parser.add_argument("--steps", type=int, help="diffusion: denoising steps (default: the model's)")
    parser.add_argument("--guidance", type=float, help="diffusion: emotion guidance scale (default: the model's)")
    parser.add_argument("--constraints", type=Path,
                        help='JSON list of {"frame", "channel", "value"} to meet exactly (frames at --fps)')
    parser.add_argument("--provider", choices=PROVIDERS, default="auto",
                        help="where the models run: auto (a GPU when usable), cpu or gpu")
    parser.add_argument("--voice", choices=generation.VOICE_MODES,
                        help=VOICE_HELP)
    parser.add_argument("--emotion", default="", help="e.g. happy=0.6,sad=0.2 (intensities 0-1)")
    parser.add_argument("--layers", default=",".join(generation.LAYERS),
                        help=f"comma-separated, from {','.join(generation.LAYERS)} (default: all)")
    parser.add_argument("--format", choices=FORMATS, default="json",
                        help="json (always written); llf adds a Live Link Face CSV")
    parser.add_argument("--review", action="store_true",
                        help="also review each take: <stem>.review.json beside it, a summary printed")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def build_review_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m inference review",
                                     description="List the frames of a take an animator should look at.")
    parser.add_argument("audio", type=Path, help="the take's audio file")
    parser.add_argument("--curves", required=True, type=Path,
                        help="the take: a Lipkit JSON or CSV curves file, frame 0 at the start of the audio")
    parser.add_argument("--transcript", help="what is said: text or a text file (else the words are recognised)")
    parser.add_argument("--constraints", type=Path,
                        help='the keys the take was made through: JSON list of {"frame", "channel", "value"}')
    parser.add_argument("--report", type=Path, help="the JSON report (default: <curves stem>.review.json beside it)")
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
        return _read_transcript(candidate)
    if source.is_file():
        return _read_transcript(source)
    return option


MAX_TRANSCRIPT_BYTES = 1 << 20


def _read_transcript(path: Path) -> str:
    try:
        return files.read_text(path, MAX_TRANSCRIPT_BYTES, "transcript")
    except ValueError as exc:
        raise LipkitError(str(exc)) from exc


def animate(path: Path, args, emotion: dict, layers: tuple[str, ...], constraints) -> generation.Performance:
    """One input's performance with the chosen engine, meeting `constraints` (entries) exactly."""
    audio = load_audio(path)
    count = num_frames_for(audio.duration, args.fps)
    grid, late = constraint_grid(constraints, count) if constraints else (None, ())
    request = generation.Request(args.engine, args.fps, args.seed, layers,
                                 transcript=transcript_for(path, args.transcript) or "",
                                 recognition=args.recognition or DEFAULT_RECOGNITION, steps=args.steps,
                                 guidance=args.guidance, emotion=mix_to_weights(emotion, count) if emotion else None,
                                 constraints=grid, provider=args.provider.upper(),
                                 voice=args.voice or generation.DEFAULT_VOICE)
    result = generation.run(audio, request)
    return dataclasses.replace(result, warnings=result.warnings + tuple(late))


def run_one(path: Path, args, emotion: dict, layers: tuple[str, ...], constraints) -> tuple[list[str], str]:
    """Animate one input and write its files; returns its warnings and, with --review, the review's summary."""
    result = animate(path, args, emotion, layers, constraints)
    texts = {args.out / f"{path.stem}.json": batch.curves_json(result.curves)}
    if args.format == "llf":
        rotations = result.head.rotations if result.head is not None else None
        texts[args.out / f"{path.stem}.csv"] = exchange.llf_csv_text(result.curves, rotations)
    summary = ""
    if args.review:
        grid = constraint_grid(constraints, result.curves.num_frames)[0] if constraints else None
        found = review.review_take(load_audio(path), result.curves, result.phones,
                                   transcript_for(path, args.transcript), grid, take_words=result.words)
        texts[args.out / f"{path.stem}{review.REPORT_SUFFIX}"] = review.review_json(found)
        summary = found.summary()
    write_all_or_none(texts)
    return list(result.warnings), summary


def check_engine_options(parser: argparse.ArgumentParser, args) -> None:
    """Usage errors for options the chosen engine does not take or values out of range."""
    if args.engine != "diffusion" and (args.steps is not None or args.guidance is not None):
        parser.error("--steps and --guidance apply to the diffusion engine only")
    if args.engine != "phonetic" and args.transcript:
        parser.error("--transcript applies to the phonetic engine only")
    if args.engine != "phonetic" and args.recognition is not None:
        parser.error("--recognition applies to the phonetic engine only")
    if args.engine == "phonetic" and args.voice is not None:
        parser.error("--voice applies to the regression and diffusion engines only")
    try:
        limits.check_fps(args.fps, "--fps")
        limits.check_seed(args.seed, "--seed")
        if args.steps is not None:
            limits.check_steps(args.steps, "--steps")
        if args.guidance is not None:
            limits.check_guidance(args.guidance, "--guidance")
    except ValueError as exc:
        parser.error(str(exc))


def prepare_out(parser: argparse.ArgumentParser, folder: Path) -> None:
    """The output folder made and writable, or a usage error saying why not."""
    try:
        files.prepare_folder(folder)
    except OSError as exc:
        parser.error(f"--out: {exc}")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == [BATCH]:
        return batch_main(argv[1:])
    if argv[:1] == [REVIEW]:
        return review_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        emotion = parse_emotion_mix(args.emotion) if args.emotion else {}
        layers = generation.check_layers(name.strip() for name in args.layers.split(",") if name.strip())
        constraints = read_constraints(args.constraints) if args.constraints else ()
    except ValueError as exc:
        parser.error(str(exc))
    check_engine_options(parser, args)
    stems = [path.stem.casefold() for path in args.audio]
    duplicates = sorted({path.stem for path in args.audio if stems.count(path.stem.casefold()) > 1})
    if duplicates:
        parser.error(f"inputs would overwrite each other's output (names differing only in case collide "
                     f"on Windows and macOS): {', '.join(duplicates)}")
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
    prepare_out(parser, args.out)

    failures = 0
    for path in args.audio:
        try:
            warnings, summary = run_one(path, args, emotion, layers, constraints)
            for warning in warnings:
                if warning not in model_warnings:   # already printed once above
                    print(f"warning: {path}: {warning}", file=sys.stderr)
            print(f"ok: {path} -> {args.out / (path.stem + '.json')}" + (f" (review: {summary})" if args.review else ""))
        except (LipkitError, ValueError, OSError) as exc:
            failures += 1
            print(f"FAILED: {path}: {exc}", file=sys.stderr)
        except MemoryError:
            failures += 1
            print(f"FAILED: {path}: out of memory (the file may claim more audio than it holds)", file=sys.stderr)
    if failures:
        print(f"{failures} of {len(args.audio)} inputs failed", file=sys.stderr)
        return EXIT_FAILED
    return 0


def add_batch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shots", type=Path, help="the shot list: a .csv or .json file")
    parser.add_argument("--report", type=Path, help="where to write the JSON report")


def build_batch_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m inference batch",
                                     description="Lip-sync every shot of a shot list (no Blender needed).")
    add_batch_options(parser)
    parser.add_argument("--out", required=True, type=Path, help="output folder: <shot>.json per shot")
    parser.add_argument("--workers", type=int, default=1, help="shots run in this many processes (default 1)")
    parser.add_argument("--project", type=Path,
                        help="folder that relative audio paths resolve against (default: the shot list's)")
    parser.add_argument("--fps", type=float, default=generation.DEFAULT_FPS, help="output frame rate (default 30)")
    parser.add_argument("--layers", default=",".join(generation.LAYERS),
                        help=f"comma-separated, from {','.join(generation.LAYERS)} (default: all)")
    parser.add_argument("--provider", choices=PROVIDERS, default="auto", help="where the models run")
    parser.add_argument("--voice", choices=generation.VOICE_MODES, default=generation.DEFAULT_VOICE,
                        help=VOICE_HELP)
    parser.add_argument("--review", action="store_true",
                        help="also review each shot: <shot>.review.json beside it, its findings counted in the report")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def review_main(argv) -> int:
    """`python -m inference review AUDIO --curves FILE`: the review printed and written as JSON."""
    parser = build_review_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        loaded = exchange.read_curves_file(args.curves)
        constraints = read_constraints(args.constraints) if args.constraints else ()
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    report_path = args.report or args.curves.with_name(args.curves.stem + review.REPORT_SUFFIX)
    curves = loaded.curves
    try:
        audio = load_audio(args.audio)
        grid = constraint_grid(constraints, curves.num_frames)[0] if constraints else None
        found = review.review_take(audio, curves, transcript=transcript_for(args.audio, args.transcript),
                                   constraints=grid)
        write_atomically(report_path, review.review_json(found))
    except (LipkitError, ValueError, OSError) as exc:
        print(f"FAILED: {args.audio}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for warning in loaded.warnings:
        print(f"warning: {args.curves}: {warning}", file=sys.stderr)
    for warning in found.warnings:
        print(f"warning: {args.audio}: {warning}", file=sys.stderr)
    if abs(curves.duration - audio.duration) > 1.0:
        print(f"warning: the curves last {curves.duration:.1f} s and the audio {audio.duration:.1f} s: "
              "is this the take's audio?", file=sys.stderr)
    print(f"review of {args.curves.name}: {found.summary()} (phones: {found.phone_source}) -> {report_path}")
    for finding in found.findings:
        print(f"  frames {finding.first}-{finding.last} ({finding.start:.2f}-{finding.end:.2f} s) "
              f"{finding.kind}: {finding.describe()}")
    return 0


def blender_parser() -> argparse.ArgumentParser:
    """`blender -b scene.blend --command lipkit batch SHOTS [--save] [--report FILE] [--shot NAME] [--cache DIR]
    [--review]`."""
    parser = argparse.ArgumentParser(prog="blender -b FILE.blend --command lipkit",
                                     description="Lipkit in Blender without its interface.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(BATCH, help="lip-sync every shot of a shot list onto the characters of the .blend")
    add_batch_options(run)
    run.add_argument("--save", action="store_true", help="save the .blend afterwards (not when nothing was made)")
    run.add_argument("--shot", action="append", default=[], metavar="NAME",
                     help="run only this shot (repeatable); the others stay as they are")
    run.add_argument("--cache", type=Path, help="cache folder (default: the extension's user folder); "
                                                "a folder shared by farm workers lets the last task collect their results")
    run.add_argument("--review", action="store_true",
                     help="also review each new take: its findings counted in the report, summarised on the take")
    return parser


class StopOnInterrupt:
    """The first Ctrl+C asks the batch to stop after the shots under way; the second interrupts."""

    def __init__(self):
        self.event = threading.Event()

    def __enter__(self):
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, _signum, _frame):
        print("stopping after the shot(s) under way (Ctrl+C again to interrupt)", file=sys.stderr, flush=True)
        self.event.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __exit__(self, *_exc):
        signal.signal(signal.SIGINT, self._previous)


def print_outcome(outcome: batch.Outcome, done: int, total: int) -> None:
    where = f"row {outcome.row} {outcome.shot}"
    if outcome.status == batch.FAILED:
        print(f"FAILED: {where}: {outcome.error}", file=sys.stderr, flush=True)
        return
    for warning in outcome.warnings:
        print(f"warning: {where}: {warning}", file=sys.stderr)
    note = " (cached)" if outcome.status == batch.CACHED else ""
    print(f"ok [{done}/{total}]: {where} -> {outcome.output}{note}", flush=True)


def batch_main(argv) -> int:
    parser = build_batch_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        limits.check_workers(args.workers, "--workers")
        limits.check_fps(args.fps, "--fps")
    except ValueError as exc:
        parser.error(str(exc))
    try:
        layers = generation.check_layers(name.strip() for name in args.layers.split(",") if name.strip())
        listed = shotlist.load_shot_list(args.shots, args.project)
    except ValueError as exc:
        parser.error(str(exc))
    except LipkitError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for error in listed.errors:
        print(f"FAILED: row {error.row} {error.shot}: {error.message}", file=sys.stderr)
    settings = batch.Settings(args.fps, layers, args.provider.upper(), review=args.review, voice=args.voice)
    began = time.perf_counter()
    prepare_out(parser, args.out)
    with StopOnInterrupt() as interrupt:
        outcomes, stopped = batch.run_file_shots(listed.shots, settings, args.out, args.workers,
                                                 on_outcome=print_outcome, should_stop=interrupt.event.is_set)
    document = batch.report(batch.invalid_outcomes(listed.errors) + outcomes, time.perf_counter() - began, stopped)
    report_path = args.report or args.out / REPORT_NAME
    try:
        write_atomically(report_path, json.dumps(document, indent=1))
    except OSError as exc:
        print(f"FAILED: cannot write the report {report_path}: {exc}", file=sys.stderr)
    sys.stderr.write(batch.summary_text(document))
    if stopped:
        return EXIT_STOPPED
    return EXIT_FAILED if batch.failed(document) else 0
