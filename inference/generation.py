"""One generation as the Blender side asks for it: an engine run on a cut of audio, with emotion
and constraints, checked and cancellable. Pure Python; the operators only gather its inputs.

Emotion enters the neural engines as conditioning (both models were trained to follow it; diffusion
is also guided by it); for the phonetic engine it is laid over the result as a layer
(`emotion.apply_emotion`).
Constraints are met exactly by every engine: diffusion inpaints them, the others are corrected
smoothly through them (`constraints.enforce`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from . import emotion as emotion_mod
from . import neural, phonetic
from .audio import Audio
from .constraints import Constraints, enforce
from .curves import num_frames_for
from .errors import CancelledError
from .phones import DEFAULT_RECOGNITION

ENGINES: tuple[str, ...] = ("regression", "diffusion", "phonetic")
SAMPLED_ENGINES = ("diffusion",)


@dataclass(frozen=True)
class Request:
    """What to generate: engine and its settings, emotion weights [T, 8] or None, constraints or None."""

    engine: str
    fps: float
    seed: int = 0
    layers: tuple[str, ...] = phonetic.LAYERS
    transcript: str = ""
    recognition: str = DEFAULT_RECOGNITION   # phonetic engine without a transcript: words | phones
    steps: int | None = None
    guidance: float | None = None
    emotion: np.ndarray | None = None
    constraints: Constraints | None = None
    provider: str = "AUTO"
    cpu_threads: int = 0


def num_frames(audio: Audio, fps: float) -> int:
    return num_frames_for(audio.duration, fps)


def _check_cancel(should_cancel):
    if should_cancel is not None and should_cancel():
        raise CancelledError("generation cancelled: nothing was written")


def run(audio: Audio, request: Request, progress=None, should_cancel=None) -> phonetic.Performance:
    """The performance for `audio`; `CancelledError` as soon as `should_cancel()` says so."""
    if request.engine not in ENGINES:
        raise ValueError(f"unknown engine {request.engine!r}; choose from {', '.join(ENGINES)}")
    _check_cancel(should_cancel)
    emotion = request.emotion if request.emotion is not None and request.emotion.any() else None
    if request.engine == "phonetic":
        result = phonetic.perform(audio, fps=request.fps, transcript=request.transcript or None,
                                  seed=request.seed, layers=request.layers, recognition=request.recognition)
        curves = result.curves
        if emotion is not None:
            curves = emotion_mod.apply_emotion(curves, emotion)
        if request.constraints is not None and request.constraints.count:
            curves = enforce(curves, request.constraints)
    else:  # the models take emotion as conditioning and meet the constraints themselves
        sampled = request.engine in SAMPLED_ENGINES
        result = neural.perform(audio, engine=request.engine, fps=request.fps, seed=request.seed,
                                emotion=emotion, layers=request.layers,
                                steps=request.steps if sampled else None,
                                guidance=request.guidance if sampled else None,
                                constraints=request.constraints,
                                provider=request.provider, cpu_threads=request.cpu_threads,
                                progress=progress, should_cancel=should_cancel)
        curves = result.curves
    _check_cancel(should_cancel)
    if progress is not None:
        progress(1, 1)
    return dataclasses.replace(result, curves=curves)
