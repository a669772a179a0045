"""Batches: many shots through one loaded engine, cached, each with its status, time and warnings.

A shot's result is cached under (audio content hash, settings): the sha256 of the decoded 16 kHz
samples it animates, with the engine, fps, seed, layers, emotion, transcript (phonetic), sampling
settings, constraints and the model files' checksums. Re-running an unchanged shot reads the
cache instead of running an engine. Cache entries and outputs are written whole or not at all
(a `.partial` file renamed into place), so a batch stopped or failing half-way loses nothing that
finished and leaves nothing half-written.

Shots run one after another in this process (the models open once, `models` keeps the sessions),
or in `workers` processes, each opening the models once. `should_stop()` is asked before each shot:
the batch then stops after the shot under way ("stopped after i of N").

Without Blender (`python -m inference batch`) each shot writes `<out>/<shot>.json` (the same curves
file as the single-file command) and the cache lives in `<out>/.lipkit-cache`; in Blender the
operator writes takes and keeps the cache in the extension's user folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import signal
import time
import zipfile
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from . import generation, models, neural, phonetic
from .audio import Audio, load_audio
from .curves import Curves
from .emotion import mix_to_weights
from .errors import LipkitError
from .layers import HeadMotion
from .shotlist import Shot, output_path

log = logging.getLogger(__name__)

CACHE_FOLDER = ".lipkit-cache"
CACHE_FORMAT = 1
DONE, CACHED, FAILED, INVALID, NOT_RUN = "done", "cached", "failed", "invalid", "not run"
PROBLEMS = (FAILED, INVALID)


@dataclass(frozen=True)
class Settings:
    """What every shot of a batch shares."""

    fps: float = phonetic.DEFAULT_FPS
    layers: tuple[str, ...] = phonetic.LAYERS
    provider: str = "AUTO"
    cpu_threads: int = 0


@dataclass(frozen=True)
class Outcome:
    """What became of one shot (or of a broken row)."""

    row: int
    shot: str
    status: str
    seconds: float = 0.0
    warnings: tuple[str, ...] = ()
    error: str = ""
    output: str = ""


def request_for(shot: Shot, num_frames: int, settings: Settings) -> generation.Request:
    """The generation request of a shot: its engine, seed, emotion mix and transcript."""
    emotion = mix_to_weights(shot.emotion, num_frames) if shot.emotion else None
    return generation.Request(shot.engine, settings.fps, shot.seed, settings.layers,
                              transcript=shot.transcript if shot.engine == "phonetic" else "",
                              emotion=emotion, provider=settings.provider, cpu_threads=settings.cpu_threads)


def model_checksums(engine: str) -> list[str]:
    """The sha256 of each model file `engine` runs (none for the phonetic engine)."""
    if engine not in neural.ENGINES:
        return []
    names = ["regression"] + (["diffusion"] if engine == "diffusion" else [])
    folder = models.find_weights_dir()
    return [models.read_sidecar(folder / f"{name}.json")["sha256"] for name in names]


def cache_key(audio: Audio, request: generation.Request) -> str:
    """sha256 of (audio content, settings): equal keys give equal results."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(audio.samples, np.float32).tobytes())
    settings = {"format": CACHE_FORMAT, "rate": audio.sample_rate, "engine": request.engine, "fps": request.fps,
                "seed": request.seed, "layers": list(request.layers), "transcript": request.transcript,
                "recognition": request.recognition,
                "steps": request.steps, "guidance": request.guidance,
                "models": model_checksums(request.engine)}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for array in (request.emotion,) + ((request.constraints.mask, request.constraints.values)
                                        if request.constraints is not None else ()):
        digest.update(b"-" if array is None else np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def cache_file(folder: Path, key: str) -> Path:
    return Path(folder) / f"{key}.npz"


def load_cached(folder: Path, key: str) -> phonetic.Performance | None:
    """The cached performance for `key`, or None (absent or unreadable: it is then made again)."""
    path = cache_file(folder, key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"]))
            curves = Curves(float(stored["fps"]), stored["values"], tuple(stored["channels"].tolist()), 0.0,
                            meta["curves"])
            head = HeadMotion(float(stored["fps"]), stored["head"]) if meta["has_head"] else None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("ignoring the unreadable cache entry %s: %s", path, exc)
        return None
    return phonetic.Performance(curves, head, (), tuple(meta["warnings"]))


def store_cached(folder: Path, key: str, performance: phonetic.Performance) -> None:
    """Cache `performance` under `key`, whole or not at all; OSError when the folder cannot take it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    curves = performance.curves
    meta = {"curves": curves.meta, "warnings": list(performance.warnings), "has_head": performance.head is not None}
    head = performance.head.rotations if performance.head is not None else np.zeros((0, 3), np.float32)
    partial = cache_file(folder, key).with_suffix(".partial")
    try:
        with open(partial, "wb") as handle:
            np.savez(handle, values=curves.values, channels=np.array(curves.channels), fps=curves.fps, head=head,
                     meta=json.dumps(meta, default=str))
        os.replace(partial, cache_file(folder, key))
    finally:
        partial.unlink(missing_ok=True)


def perform_cached(audio: Audio, request: generation.Request, cache_dir, progress=None,
                   should_cancel=None) -> tuple[phonetic.Performance, bool, str]:
    """(performance, from the cache?, key): the cached result, else a fresh run that is then cached.

    A cache that cannot be written costs a warning on the performance, never the result.
    """
    key = cache_key(audio, request)
    cached = load_cached(cache_dir, key)
    if cached is not None:
        return cached, True, key
    performance = generation.run(audio, request, progress, should_cancel)
    try:
        store_cached(cache_dir, key, performance)
    except OSError as exc:
        note = f"result not cached ({exc})"
        performance = replace(performance, warnings=performance.warnings + (note,))
    return performance, False, key


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` so that the file is either absent, as before, or complete."""
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        if partial.is_file():
            partial.unlink()


def curves_document(curves: Curves) -> dict:
    """The curves file of the headless commands: {"fps", "channels", "frames"}."""
    document = curves.to_json_dict()
    document.pop("start")
    return document


def run_file_shot(shot: Shot, settings: Settings, out_dir: Path, cache_dir: Path) -> Outcome:
    """One shot without Blender: its audio file -> `<out>/<shot>.json`. Problems become a failed outcome."""
    began = time.perf_counter()
    try:
        target = output_path(out_dir, shot.name, ".json")
        audio = load_audio(shot.audio)
        request = request_for(shot, generation.num_frames(audio, settings.fps), settings)
        performance, cached, _ = perform_cached(audio, request, cache_dir)
        write_atomically(target, json.dumps(curves_document(performance.curves)))
    except (LipkitError, ValueError, OSError) as exc:
        return Outcome(shot.row, shot.name, FAILED, time.perf_counter() - began, error=str(exc))
    return Outcome(shot.row, shot.name, CACHED if cached else DONE, time.perf_counter() - began,
                   tuple(performance.warnings), output=str(target))


def _ignore_interrupts():
    """Worker processes leave Ctrl+C to the parent, which stops the batch after the shots under way."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def threads_per_worker(workers: int) -> int:
    """Model threads for each of `workers` processes: the cores shared out, at least one each."""
    return max(1, (os.cpu_count() or 1) // workers)


def run_file_shots(shots, settings: Settings, out_dir: Path, workers: int = 1, on_outcome=None,
                   should_stop=None) -> tuple[list[Outcome], bool]:
    """(outcomes in shot order, stopped early?) for shots from audio files.

    `on_outcome(outcome, done, total)` hears of each shot as it finishes.
    """
    out_dir = Path(out_dir)
    cache_dir = out_dir / CACHE_FOLDER
    shots = list(shots)
    results: dict[int, Outcome] = {}

    def stopping() -> bool:
        return should_stop is not None and should_stop()

    def finished(index: int, outcome: Outcome):
        results[index] = outcome
        if on_outcome is not None:
            on_outcome(outcome, len(results), len(shots))

    if workers <= 1:
        for index, shot in enumerate(shots):
            if stopping():
                break
            finished(index, run_file_shot(shot, settings, out_dir, cache_dir))
    else:
        settings = replace(settings, cpu_threads=settings.cpu_threads or threads_per_worker(workers))
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_ignore_interrupts) as pool:
            pending = {}
            queue = list(enumerate(shots))
            while queue or pending:
                while queue and len(pending) < workers and not stopping():
                    index, shot = queue.pop(0)
                    pending[pool.submit(run_file_shot, shot, settings, out_dir, cache_dir)] = index
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    finished(pending.pop(future), future.result())
    outcomes = [results.get(index, Outcome(shot.row, shot.name, NOT_RUN)) for index, shot in enumerate(shots)]
    return outcomes, len(results) < len(shots)


def invalid_outcomes(errors) -> list[Outcome]:
    return [Outcome(error.row, error.shot, INVALID, error=error.message) for error in errors]


def report(outcomes, seconds: float, stopped: bool = False) -> dict:
    """The JSON report: counts, whether it stopped early, and each shot's status, time and warnings."""
    ordered = sorted(outcomes, key=lambda outcome: outcome.row)
    counts = {status: sum(outcome.status == status for outcome in ordered)
              for status in (DONE, CACHED, FAILED, INVALID, NOT_RUN)}
    finished = counts[DONE] + counts[CACHED] + counts[FAILED]
    runnable = len(ordered) - counts[INVALID]
    return {"shots": len(ordered), **{status.replace(" ", "_"): count for status, count in counts.items()},
            "stopped_after": finished if stopped else None, "of": runnable, "seconds": round(seconds, 3),
            "results": [{**asdict(outcome), "seconds": round(outcome.seconds, 3), "warnings": list(outcome.warnings)}
                        for outcome in ordered]}


def failed(document: dict) -> bool:
    """True when any shot failed or any row was broken (the commands then exit non-zero)."""
    return bool(document["failed"] or document["invalid"])


def summary_text(document: dict) -> str:
    """The report for a person: one headline, then one line per shot that needs attention."""
    if document["stopped_after"] is not None:
        head = f"stopped after {document['stopped_after']} of {document['of']} shots"
    else:
        head = f"{document['shots']} shots"
    lines = [f"Lipkit batch: {head}: {document['done']} made, {document['cached']} from the cache, "
             f"{document['failed']} failed, {document['invalid']} invalid rows, {document['not_run']} not run "
             f"({document['seconds']:.1f} s)"]
    for result in document["results"]:
        if result["status"] in PROBLEMS:
            lines.append(f"row {result['row']} {result['shot'] or '(no name)'}: {result['status']}: {result['error']}")
        for warning in result["warnings"]:
            lines.append(f"row {result['row']} {result['shot']}: warning: {warning}")
    return "\n".join(lines) + "\n"

