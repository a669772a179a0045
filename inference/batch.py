"""Batches: many shots through one loaded engine, cached, each with its status, time and warnings.

A shot's result is cached under (audio content hash, settings): the sha256 of the decoded 16 kHz
samples it animates, with the engine, fps, seed, layers, emotion, transcript (phonetic), sampling
settings, constraints and the model files' checksums. Re-running an unchanged shot reads the
cache instead of running an engine. Cache entries and outputs are written whole or not at all
(a `.partial` file renamed into place), so a batch stopped or failing half-way loses nothing that
finished and leaves nothing half-written.

A cached entry is checked as a fresh result is (finite values, the 52 channels, the frame rate and
frame count the shot asks for); one that fails is made again. Outputs are strict JSON.

Shots run one after another in this process (the models open once, `models` keeps the sessions),
or in `workers` processes, each opening the models once; a worker ends when its parent process
does, even when the parent was killed (SIGKILL), so no orphan writes shots afterwards. A shot that
fails in any way (a bad file, a damaged model description, memory) fails alone. `should_stop()` is asked before each shot:
the batch then stops after the shot under way ("stopped after i of N").

Without Blender (`python -m inference batch`) each shot writes `<out>/<shot>.json` (the same curves
file as the single-file command; with `Settings.review` also `<out>/<shot>.review.json`, and the
report counts the shot's findings per kind) and the cache lives in `<out>/.lipkit-cache`; in Blender the
operator writes takes and keeps the cache in the extension's user folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import multiprocessing
import os
import signal
import threading
import time
import zipfile
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from . import arkit, generation, models, neural, review
from .audio import Audio, load_audio
from .curves import Curves
from .emotion import mix_to_weights
from .errors import LipkitError
from .files import write_all_or_none, write_atomically
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

    fps: float = generation.DEFAULT_FPS
    layers: tuple[str, ...] = generation.LAYERS
    provider: str = "AUTO"
    cpu_threads: int = 0
    review: bool = False
    voice: str = generation.DEFAULT_VOICE


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
    findings: dict | None = None       # with a review: findings per kind (`review.Review.counts`)


def request_for(shot: Shot, num_frames: int, settings: Settings) -> generation.Request:
    """The generation request of a shot: its engine, seed, emotion mix and transcript."""
    emotion = mix_to_weights(shot.emotion, num_frames) if shot.emotion else None
    return generation.Request(shot.engine, settings.fps, shot.seed, settings.layers,
                              transcript=shot.transcript if shot.engine == "phonetic" else "",
                              emotion=emotion, provider=settings.provider, cpu_threads=settings.cpu_threads,
                              voice=settings.voice)


def model_checksums(engine: str) -> list[str]:
    """The sha256 of each model file `engine` runs (none for the phonetic engine)."""
    if engine not in neural.ENGINES:
        return []
    folder = models.find_weights_dir()
    if engine == "regression":
        return [models.read_sidecar(folder / "regression.json")["sha256"]]
    denoiser = models.read_sidecar(folder / "diffusion.json")
    files = [models.read_sidecar(folder / f"{models.encoder_of(denoiser)}.json")["sha256"], denoiser["sha256"]]
    if neural.GESTURES_FROM in denoiser:       # the regression engine whose seal and rounding it draws
        files += model_checksums(denoiser[neural.GESTURES_FROM])
    return files


def cache_key(audio: Audio, request: generation.Request) -> str:
    """sha256 of (audio content, settings): equal keys give equal results."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(audio.samples, np.float32).tobytes())
    settings = {"format": CACHE_FORMAT, "rate": audio.sample_rate, "engine": request.engine, "fps": request.fps,
                "seed": request.seed, "layers": list(request.layers), "transcript": request.transcript,
                "recognition": request.recognition,
                "voice": request.voice if request.engine in neural.ENGINES else None,
                "steps": request.steps, "guidance": request.guidance,
                "models": model_checksums(request.engine)}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for array in (request.emotion,) + ((request.constraints.mask, request.constraints.values)
                                        if request.constraints is not None else ()):
        digest.update(b"-" if array is None else np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def cache_file(folder: Path, key: str) -> Path:
    return Path(folder) / f"{key}.npz"


def check_performance(performance: generation.Performance, fps: float, num_frames: int | None = None) -> None:
    """ValueError unless `performance` holds finite curves for the 52 ARKit channels at `fps`
    (and `num_frames` frames, when given), and finite head rotations [T, 3] when it has any."""
    curves = performance.curves
    if sorted(curves.channels) != sorted(arkit.NAMES):
        raise ValueError("the curves are not the 52 ARKit channels")
    if not np.isclose(curves.fps, fps, rtol=0, atol=1e-9):
        raise ValueError(f"the curves are at {curves.fps:g} fps, not {fps:g}")
    if num_frames is not None and curves.num_frames != num_frames:
        raise ValueError(f"the curves have {curves.num_frames} frames, not {num_frames}")
    if not np.all(np.isfinite(curves.values)):
        raise ValueError("the curves hold invalid (NaN or infinite) values")
    head = performance.head
    if head is not None:
        rotations = np.asarray(head.rotations)
        if rotations.ndim != 2 or rotations.shape[1] != 3 or not np.all(np.isfinite(rotations)):
            raise ValueError("the head motion holds invalid values")


def load_cached(folder: Path, key: str, fps: float | None = None,
                num_frames: int | None = None) -> generation.Performance | None:
    """The cached performance for `key`, or None (absent, unreadable or not what the shot asks
    for: it is then made again)."""
    path = cache_file(folder, key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"]))
            curves = Curves(float(stored["fps"]), stored["values"], tuple(stored["channels"].tolist()), 0.0,
                            meta["curves"])
            head = HeadMotion(float(stored["fps"]), stored["head"]) if meta["has_head"] else None
            performance = generation.Performance(curves, head, (), tuple(str(w) for w in meta["warnings"]))
        if fps is not None:
            check_performance(performance, fps, num_frames)
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("ignoring the unusable cache entry %s: %s", path, exc)
        return None
    return performance


def store_cached(folder: Path, key: str, performance: generation.Performance) -> None:
    """Cache `performance` under `key`, whole or not at all; OSError when the folder cannot take it."""
    folder = Path(folder)
    if folder.is_symlink():
        raise OSError(f"the cache folder {folder} is a symbolic link; Lipkit does not write through links")
    folder.mkdir(parents=True, exist_ok=True)
    curves = performance.curves
    meta = {"curves": curves.meta, "warnings": list(performance.warnings), "has_head": performance.head is not None}
    head = performance.head.rotations if performance.head is not None else np.zeros((0, 3), np.float32)
    buffer = io.BytesIO()
    np.savez(buffer, values=curves.values, channels=np.array(curves.channels), fps=curves.fps, head=head,
             meta=json.dumps(meta, default=str))
    write_atomically(cache_file(folder, key), buffer.getvalue())


def perform_cached(audio: Audio, request: generation.Request, cache_dir, progress=None,
                   should_cancel=None) -> tuple[generation.Performance, bool, str]:
    """(performance, from the cache?, key): the cached result, else a fresh run that is then cached.

    A cache that cannot be written costs a warning on the performance, never the result.
    """
    key = cache_key(audio, request)
    count = generation.num_frames(audio, request.fps)
    cached = load_cached(cache_dir, key, request.fps, count)
    if cached is not None:
        return cached, True, key
    performance = generation.run(audio, request, progress, should_cancel)
    check_performance(performance, request.fps)
    try:
        store_cached(cache_dir, key, performance)
    except OSError as exc:
        note = f"result not cached ({exc})"
        performance = replace(performance, warnings=performance.warnings + (note,))
    return performance, False, key


def curves_document(curves: Curves) -> dict:
    """The curves file of the headless commands: {"fps", "channels", "frames"}."""
    document = curves.to_json_dict()
    document.pop("start")
    return document


def curves_json(curves: Curves) -> str:
    """The curves file as strict JSON text (ValueError for NaN or infinite values, never a "NaN")."""
    return json.dumps(curves_document(curves), allow_nan=False)


def failure_message(exc: BaseException, shot: str = "") -> str:
    """What a shot's failure says: the message of an expected problem, else the error named (and
    its traceback logged), so that one shot's failure never ends a batch."""
    if isinstance(exc, (LipkitError, ValueError, OSError)):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory (the audio file may claim more audio than it holds)"
    log.error("shot %s failed unexpectedly", shot, exc_info=exc)
    return f"unexpected error ({type(exc).__name__}: {exc})"


def run_file_shot(shot: Shot, settings: Settings, out_dir: Path, cache_dir: Path) -> Outcome:
    """One shot without Blender: its audio file -> `<out>/<shot>.json`. Problems become a failed outcome."""
    began = time.perf_counter()
    try:
        target = output_path(out_dir, shot.name, ".json")
        audio = load_audio(shot.audio)
        request = request_for(shot, generation.num_frames(audio, settings.fps), settings)
        performance, cached, _ = perform_cached(audio, request, cache_dir)
        texts = {target: curves_json(performance.curves)}
        findings = None
        if settings.review:
            found = review.review_take(audio, performance.curves, performance.phones, request.transcript or shot.transcript,
                                       take_words=performance.words)
            texts[output_path(out_dir, shot.name, review.REPORT_SUFFIX)] = review.review_json(found)
            findings = found.counts()
        write_all_or_none(texts)
    except Exception as exc:  # noqa: BLE001 - one shot's failure, whatever it is, is that shot's alone
        return Outcome(shot.row, shot.name, FAILED, time.perf_counter() - began, error=failure_message(exc, shot.name))
    return Outcome(shot.row, shot.name, CACHED if cached else DONE, time.perf_counter() - began,
                   tuple(performance.warnings), output=str(target), findings=findings)


PARENT_POLL_S = 0.2
_PR_SET_PDEATHSIG = 1


def _end_with_parent(parent: int) -> None:
    """End this worker as soon as `parent` is gone (killed included): Linux tells the kernel to send
    SIGKILL; everywhere a watcher thread also polls the parent's id, which changes when it dies."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:       # the parent died before the request took effect
        os._exit(1)

    def watch():
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="lipkit-parent-watch", daemon=True).start()


def _start_worker(parent: int):
    """Worker processes leave Ctrl+C to the parent, which stops the batch after the shots under way,
    and end with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_parent(parent)


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
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                 initargs=(os.getpid(),)) as pool:
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
        if result.get("findings"):
            lines.append(f"row {result['row']} {result['shot']}: review: {review.summarise(result['findings'])}")
    return "\n".join(lines) + "\n"

