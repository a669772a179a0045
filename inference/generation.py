"""The one generation pipeline: audio -> an engine's mouth -> emotion -> face layers -> constraints.

Engines are peers and make only the mouth (`neural.animate_mouth` for the regression and
diffusion models, `phonetic.animate_mouth` for phones and articulation rules). Everything after
the mouth is a stage of this pipeline, in the same order for every engine:

1. emotion: the neural engines take it as conditioning (both models were trained to follow it;
   diffusion is also guided by it); for the phonetic engine, or with the lips layer off, it is
   laid over the mouth as a layer (`emotion.apply_emotion`, which never reopens a lip closure);
2. the secondary layers, each from its own seed (`layer_seed`): blinks, gaze, brow raises and head
   motion, following the audio's prosody (`add_secondary_layers`);
3. constraints, met exactly by every engine (`constraints.enforce`; diffusion has already inpainted
   them, the regression model's curves are corrected smoothly through them).

`perform` is the pipeline for one clip; `run` is one `Request` as the Blender side, the headless
command and batches ask for it, checked and cancellable. Pure Python.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from . import emotion as emotion_mod
from . import layers as layers_mod
from . import neural, phonetic
from . import prosody as prosody_mod
from .audio import Audio
from .constraints import Constraints, enforce, largest_residual
from .curves import Curves, num_frames_for
from .errors import CancelledError
from .layers import HeadMotion
from .phonemes import PhoneInterval
from .phones import DEFAULT_RECOGNITION
from .voice import DEFAULT_MODE as DEFAULT_VOICE
from .voice import MODES as VOICE_MODES
from .voice import check_mode as check_voice

log = logging.getLogger(__name__)

ENGINES: tuple[str, ...] = ("regression", "diffusion", "phonetic")
DEFAULT_ENGINE = neural.DEFAULT_ENGINE
SAMPLED_ENGINES = ("diffusion",)
LAYERS: tuple[str, ...] = ("lips", "blinks", "gaze", "brows", "head")
DEFAULT_FPS = 30.0


@dataclass(frozen=True)
class Performance:
    """One clip's result: the 52-channel curves, head rotations (if asked), phones, warnings, and
    the words (word, start, end) the phones were aligned to, when the phonetic engine has them."""

    curves: Curves
    head: HeadMotion | None
    phones: tuple[PhoneInterval, ...]
    warnings: tuple[str, ...] = ()
    words: tuple[tuple[str, float, float], ...] = ()


@dataclass(frozen=True)
class Request:
    """What to generate: engine and its settings, emotion weights [T, 8] or None, constraints or None."""

    engine: str
    fps: float
    seed: int = 0
    layers: tuple[str, ...] = LAYERS
    transcript: str = ""
    recognition: str = DEFAULT_RECOGNITION   # phonetic engine without a transcript: words | phones
    steps: int | None = None
    guidance: float | None = None
    emotion: np.ndarray | None = None
    constraints: Constraints | None = None
    provider: str = "AUTO"
    cpu_threads: int = 0
    voice: str = DEFAULT_VOICE                # neural engines: auto (a high voice heard lower) | off


def layer_seed(seed: int, layer: str) -> int:
    """A stable per-layer seed: the same take seed gives each layer its own, independent stream."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, LAYERS.index(layer)]).generate_state(1)[0])


def check_layers(names) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(names))
    unknown = [name for name in names if name not in LAYERS]
    if unknown:
        raise ValueError(f"unknown layer(s) {', '.join(unknown)}; choose from {', '.join(LAYERS)}")
    return names


def num_frames(audio: Audio, fps: float) -> int:
    return num_frames_for(audio.duration, fps)


def emotion_weights(emotion, count: int) -> np.ndarray:
    """Per-frame emotion [count, 8] in `emotion.CATEGORIES` order from a mix dict, an [8] row or [T, 8]."""
    if emotion is None:
        return np.zeros((count, len(emotion_mod.CATEGORIES)), np.float32)
    if isinstance(emotion, dict):
        return emotion_mod.mix_to_weights(emotion, count)
    return emotion_mod.check_weights(emotion, count)


def add_secondary_layers(curves: Curves, audio: Audio, seed: int, layers) -> tuple[Curves, HeadMotion | None]:
    """`curves` (the mouth) with the blink, gaze and brow layers added, and head motion, as `layers` asks.

    Blinks, brows and head follow the audio's prosody (pauses, accents); each layer draws from its
    own seed (`layer_seed`), so switching one on or off never changes the others.
    """
    fps = curves.fps
    prosody = accents = None
    if {"blinks", "brows", "head"} & set(layers):
        prosody = prosody_mod.analyse(audio.samples, fps, num_frames=curves.num_frames)
        accents = prosody_mod.detect_accents(prosody)
    extra = []
    if "blinks" in layers:
        # the gaze seed, whether or not gaze is on, so larger gaze shifts carry a blink and switching
        # gaze off never changes the blinks
        extra.append(layers_mod.blinks(curves.num_frames, fps, layer_seed(seed, "blinks"), prosody,
                                       gaze_seed=layer_seed(seed, "gaze")))
    if "gaze" in layers:
        extra.append(layers_mod.gaze(curves.num_frames, fps, layer_seed(seed, "gaze")))
    if "brows" in layers:
        extra.append(layers_mod.brows(accents, curves.num_frames, fps, layer_seed(seed, "brows")))
    head = None
    if "head" in layers:
        head = layers_mod.head_motion(curves.num_frames, fps, layer_seed(seed, "head"), accents)
    return layers_mod.combine(curves, *extra), head


def perform(audio: Audio, engine: str = DEFAULT_ENGINE, fps: float = DEFAULT_FPS, seed: int = 0, emotion=None,
            layers=LAYERS, transcript: str | None = None, recognition: str = DEFAULT_RECOGNITION,
            steps: int | None = None, guidance: float | None = None, constraints: Constraints | None = None,
            weights_dir=None, provider: str = "AUTO", cpu_threads: int = 0, progress=None,
            should_cancel=None, voice: str = DEFAULT_VOICE) -> Performance:
    """Animate one clip with any engine.

    `emotion`: a mix {name: intensity}, an [8] row or per-frame weights [T, 8] at `fps`.
    `transcript` / `recognition`: the phonetic engine's. `steps` / `guidance`: diffusion only
    (default: the model's). `voice`: the neural engines' (`inference.voice`): "auto" hears a voice
    above the model's reference pitch lower, "off" every voice as recorded. `constraints`: a grid
    of [num_frames_for(audio.duration, fps), 52], met exactly. `progress(done, total)` counts model
    passes; `should_cancel()` stops the work with `CancelledError`.
    """
    layers = check_layers(layers)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    check_voice(voice)
    count = num_frames_for(audio.duration, fps)
    if constraints is not None and constraints.num_frames != count:
        raise ValueError(f"constraints cover {constraints.num_frames} frames; this clip has {count} at {fps:g} fps")
    weights = emotion_weights(emotion, count)
    warnings = list(audio.warnings)
    phones: tuple[PhoneInterval, ...] = ()
    words: tuple[tuple[str, float, float], ...] = ()
    meta: dict = {"engine": engine, "seed": seed, "layers": list(layers)}
    if engine in neural.ENGINES:
        meta.update(steps=None, guidance=None)
    conditioned = False
    if "lips" not in layers:
        mouth = Curves.zeros(count, fps)
    elif engine == "phonetic":
        mouth, found, notes = phonetic.animate_mouth(audio, fps, transcript, recognition)
        phones, words = tuple(found), tuple(found.words)
        warnings.extend(notes)
        meta["transcript"] = bool(transcript)
        if not transcript:
            meta["recognition"] = recognition
    else:
        mouth, model_meta, notes = neural.animate_mouth(audio, engine, fps, count, seed, weights, steps, guidance,
                                                        constraints, weights_dir, provider, cpu_threads, progress,
                                                        should_cancel, voice)
        meta.update(model_meta)
        warnings.extend(notes)
        conditioned = True
    if not conditioned and weights.any():
        mouth = emotion_mod.apply_emotion(mouth, weights)
    curves, head = add_secondary_layers(mouth, audio, seed, layers)
    if constraints is not None and constraints.count:
        if conditioned:
            meta["constraint_residual"] = largest_residual(curves, constraints)
        curves = enforce(curves, constraints)
    log.info("%s: %d frames at %g fps", engine, count, fps)
    return Performance(Curves(fps, curves.values, curves.channels, 0.0, meta), head, phones,
                       tuple(dict.fromkeys(warnings)), words)


def _check_cancel(should_cancel):
    if should_cancel is not None and should_cancel():
        raise CancelledError("generation cancelled: nothing was written")


def run(audio: Audio, request: Request, progress=None, should_cancel=None) -> Performance:
    """The performance for `audio`; `CancelledError` as soon as `should_cancel()` says so."""
    if request.engine not in ENGINES:
        raise ValueError(f"unknown engine {request.engine!r}; choose from {', '.join(ENGINES)}")
    _check_cancel(should_cancel)
    emotion = request.emotion if request.emotion is not None and request.emotion.any() else None
    sampled = request.engine in SAMPLED_ENGINES
    result = perform(audio, engine=request.engine, fps=request.fps, seed=request.seed, emotion=emotion,
                     layers=request.layers, transcript=request.transcript or None, recognition=request.recognition,
                     steps=request.steps if sampled else None, guidance=request.guidance if sampled else None,
                     constraints=request.constraints, provider=request.provider, cpu_threads=request.cpu_threads,
                     progress=progress, should_cancel=should_cancel, voice=request.voice)
    _check_cancel(should_cancel)
    if progress is not None:
        progress(1, 1)
    return result
