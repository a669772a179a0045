"""The neural engines' mouth: audio -> log-mel features and speech embedding -> ONNX models -> ARKit curves.

- "regression": `regression.onnx` maps features and emotion to curves in one deterministic pass.
- "diffusion": `diffusion.onnx`, an x0-predicting denoiser, samples curves by DDIM (`sampler`),
  conditioned on the regression model's emotion-free audio encoding (`audio_hidden`) and on
  emotion, with classifier-free guidance; constraints are inpainted. Seeded: the same seed gives
  the same take, another seed another take. Where the sidecar has a "style" input (how wide the
  jaw opens, how much the lips round or spread, lopsidedness, talking out of one side, the corners
  and the lower lip it holds), the seed also draws the take's style (`take_style`) in the bands its
  sidecar gives (the learned range where it gives none), seeds in mirrored pairs. Where the
  sidecar names the regression engine under "gestures_from", the denoiser draws that engine's
  seal and rounding (`drawn_gestures`, the regression model's "gestures" output, heard at its own
  voice scale) in place of its own: every take closes and rounds the lips where the regression
  engine does, and the seed chooses how the rest of the mouth moves.

Shapes and rates (see `features` and the sidecars): features [F, 64] at 100 per second; model
frames T = ceil(F / 2) at 50 per second, frame j at j / 50 s; curves [T, 52] (0-1) in the
sidecar's channel order; emotion [T, 8] in the sidecar's category order; audio_hidden [T, H];
diffusion data space x = curves * data_scale + data_shift. A model with a reference pitch in its
sidecar hears a higher voice played slower (`voice`), so its frames come 50 / scale to a second of
the clip. The model's curves are resampled to the output rate (frame i at i / fps s from the start
of the audio). The emotion, face layers and the final constraint pass are the pipeline's
(`generation`), as for every engine.

Long audio runs window by window (`models.run_windowed`, `WINDOW_SECONDS` each), features
included, so model memory stays flat on hour-long audio (what grows is per-frame arrays: curves
and, for diffusion, the audio encoding) and the result equals one pass over all of it.

Where the models run (`load_engine`): the preference ("AUTO", "CPU", "GPU", see
`models.choose_providers`) picks a GPU provider when onnxruntime offers one; a provider that fails
to start falls back to the CPU with a note (`models.open_session`). An engine that did start on a
GPU provider then makes a short parity run (`parity_gap`: `PARITY_SECONDS` of seeded noise through
every model of the engine, each fed the CPU's inputs) against the same models on the CPU; only
within `PARITY_TOLERANCE` does the GPU run the take, otherwise the CPU does, with a note naming
the provider and the disagreement. The verdict is kept per (models, provider, threads).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from . import arkit, features
from . import embedding as embedding_mod
from . import emotion as emotion_mod
from . import voice
from .audio import Audio
from .constraints import Constraints, correction_spans, to_model_frames
from .curves import Curves
from .errors import AudioError, ModelError
from .models import (FIX, GPU_PROVIDERS, ORT_ERRORS, Model, cut_feeds, encoder_of, load_model, run_windowed,
                     take_bands)
from .sampler import CosineSchedule, Known, sample

ENGINES = ("regression", "diffusion")
DEFAULT_ENGINE = "regression"
WINDOW_SECONDS = 60.0
WINDOW_FRAMES = int(WINDOW_SECONDS * features.MODEL_FPS)
# The shortest audio the models can animate: one model frame (20 ms).
MIN_SAMPLES = features.HOP * features.MODEL_STRIDE
# Feature frames each side whose samples a frame's FFT window reaches into.
FEATURE_CONTEXT_FRAMES = -(-features.N_FFT // (2 * features.HOP))
REGRESSION_OUTPUTS = ("curves", "audio_hidden")
EMBEDDING_INPUT = "embedding"
# RePaint resampling: each denoising step is redone this many more times when constraints are inpainted.
INPAINT_RESAMPLE = 1
UNCONDITIONAL_KEY = "unconditional_emotion"
STYLE_INPUT = "style"
# A denoiser whose sidecar names a model under GESTURES_FROM draws that model's gestures (its
# GESTURES output, the seal and rounding it drew, 0..1 per frame) in place of its own: the input
# GESTURES [1, T, 2], in the order of the denoiser's sidecar "gestures" (each sidecar names its order).
GESTURES = "gestures"
GESTURES_FROM = "gestures_from"
STYLE_STREAM = 0x5717      # the style's random numbers never share a stream with the sampler's noise
DIFFUSION_KEYS = ("requires", "schedule", "prediction", "data_scale", "data_shift", "default_steps",
                  "default_guidance")
# The parity run of a GPU provider against the CPU: every output within this (|gpu - cpu| over
# max(1, the CPU output's largest magnitude), so absolute for curves in 0-1), on this much seeded
# noise at this loudness (-20 dBFS RMS); the denoiser once, mid-schedule.
PARITY_TOLERANCE = 1e-3
PARITY_SECONDS = 2.0
PARITY_RMS = 0.1
PARITY_SEED = 0x9A41
PARITY_TIMESTEP = 500.0
_PARITY: dict[tuple, str | None] = {}


@dataclass(frozen=True)
class Engine:
    """The open models of one engine: the regression model, for "diffusion" the denoiser, the
    speech-embedding front-end when the regression model reads it, and the engine whose gestures
    the denoiser draws when its sidecar names one (`GESTURES_FROM`)."""

    regression: Model
    diffusion: Model | None = None
    frontend: embedding_mod.FrontEnd | None = None
    notes: tuple[str, ...] = ()
    gestures: "Engine | None" = None

    @property
    def warnings(self) -> tuple[str, ...]:
        found = (self.notes + self.regression.warnings + (self.diffusion.warnings if self.diffusion else ())
                 + (self.frontend.warnings if self.frontend else ()) + (self.gestures.warnings if self.gestures else ()))
        return tuple(dict.fromkeys(found))

    @property
    def providers(self) -> tuple[str, ...]:
        """The onnxruntime providers running the engine's models, each once (front-end first)."""
        parts = (self.frontend, self.regression, self.diffusion)
        own = tuple(part.provider for part in parts if part is not None)
        return tuple(dict.fromkeys(own + (self.gestures.providers if self.gestures else ())))

    @property
    def provider(self) -> str:
        """Who runs the models, for the user: one provider's name, or several joined by " + "."""
        return " + ".join(self.providers)

    @property
    def versions(self) -> dict[str, str]:
        own = {model.name: model.version for model in (self.regression, self.diffusion) if model is not None}
        return {**(self.gestures.versions if self.gestures else {}), **own}


def _check_diffusion(denoiser: Model, regression: Model) -> None:
    """ModelError unless the denoiser's sidecar describes what this sampler runs, fed by `regression`."""
    side = denoiser.sidecar
    problems = [f"lacks {key}" for key in DIFFUSION_KEYS if key not in side]
    if side.get("schedule", {}).get("kind") != "cosine":
        problems.append("needs a cosine schedule")
    if side.get("prediction") != "x0":
        problems.append("needs a model that predicts x0")
    wanted, given = side["inputs"].get("audio_hidden", [None])[-1], regression.sidecar["outputs"]["audio_hidden"][-1]
    if wanted != given:
        problems.append(f"expects audio_hidden of size {wanted} but the {regression.name} model gives {given}")
    if problems:
        raise ModelError(f"The diffusion model description {'; '.join(problems)}. {FIX}")


def load_frontend_for(regression: Model, weights_dir=None, provider: str = "AUTO",
                      cpu_threads: int = 0) -> embedding_mod.FrontEnd | None:
    """The speech-embedding front-end if the regression model reads one (its sidecar has an
    "embedding" input), after checking it is the front-end the model was trained with."""
    if EMBEDDING_INPUT not in regression.sidecar["inputs"]:
        return None
    wanted = regression.sidecar.get("frontend", {}).get("files")
    if wanted != embedding_mod.FILES:
        raise ModelError(f"The {regression.name} model was trained with another speech-embedding front-end "
                         f"({wanted}) than this Lipkit has ({embedding_mod.FILES}). {FIX}")
    return embedding_mod.load_frontend(weights_dir, provider, cpu_threads)


def _open_engine(engine: str, weights_dir, provider: str, cpu_threads: int) -> Engine:
    """The models `engine` runs, verified and opened once (sessions are cached in `models`)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    if engine == "regression":
        regression = load_model("regression", weights_dir, provider, cpu_threads)
        return Engine(regression, None, load_frontend_for(regression, weights_dir, provider, cpu_threads))
    denoiser = load_model("diffusion", weights_dir, provider, cpu_threads)
    regression = load_model(encoder_of(denoiser.sidecar), weights_dir, provider, cpu_threads)
    _check_diffusion(denoiser, regression)
    gestures = None
    if GESTURES_FROM in denoiser.sidecar:
        gestures = _open_engine(_gesture_source(denoiser), weights_dir, provider, cpu_threads)
        given = gestures.regression.sidecar.get(GESTURES, ()) if GESTURES in gestures.regression.sidecar["outputs"] else ()
        if sorted(given) != sorted(denoiser.sidecar[GESTURES]) or len(set(given)) != len(given):
            raise ModelError(f"The diffusion model draws the gestures {denoiser.sidecar[GESTURES]} of the "
                             f"{gestures.regression.name} model, which gives {list(given) or 'none'}. {FIX}")
    return Engine(regression, denoiser, load_frontend_for(regression, weights_dir, provider, cpu_threads),
                  gestures=gestures)


def _gesture_source(denoiser: Model) -> str:
    """The engine whose gestures `denoiser` draws (its sidecar's `GESTURES_FROM`), checked."""
    source = denoiser.sidecar[GESTURES_FROM]
    if source != "regression":
        raise ModelError(f"The diffusion model description takes its gestures from {source!r}; only the "
                         f"regression engine gives them. {FIX}")
    names, size = denoiser.sidecar.get(GESTURES), denoiser.sidecar["inputs"].get(GESTURES, [None])[-1]
    if not (isinstance(names, list) and all(isinstance(name, str) for name in names) and len(names) == size):
        raise ModelError(f"The diffusion model description takes its gestures from the regression engine but "
                         f"does not name as many as its {GESTURES!r} input takes. {FIX}")
    return source


def disagreement(value: np.ndarray, reference: np.ndarray) -> float:
    """max |value - reference| over max(1, max |reference|); inf for a shape mismatch or non-finite values."""
    value, reference = np.asarray(value, np.float64), np.asarray(reference, np.float64)
    if value.shape != reference.shape or not (np.all(np.isfinite(value)) and np.all(np.isfinite(reference))):
        return math.inf
    if value.size == 0:
        return 0.0
    return float(np.max(np.abs(value - reference)) / max(1.0, float(np.max(np.abs(reference)))))


def parity_gap(candidate: Engine, reference: Engine) -> float:
    """The largest `disagreement` of `candidate`'s outputs with `reference`'s (the same models on
    other providers) on `PARITY_SECONDS` of seeded noise: the front-end, the regression model fed
    the reference's embedding, and one denoiser pass fed the reference's audio encoding."""
    rng = np.random.default_rng(PARITY_SEED)
    samples = (PARITY_RMS * rng.standard_normal(int(PARITY_SECONDS * features.SAMPLE_RATE))).astype(np.float32)
    num_frames = features.num_model_frames(features.num_feature_frames(len(samples)))
    emotion = rng.uniform(0.0, 1.0, (num_frames, len(emotion_mod.CATEGORIES))).astype(np.float32)
    pairs = []
    speech = speech_for(reference, samples)
    if speech is not None:
        pairs.append((speech_for(candidate, samples), speech))
    expected = regress(reference.regression, samples, emotion, speech=speech)
    found = regress(candidate.regression, samples, emotion, speech=speech)
    pairs += [(found[name], expected[name]) for name in expected]
    if reference.diffusion is not None:
        noisy = rng.standard_normal((num_frames, len(reference.diffusion.sidecar["channels"]))).astype(np.float32)
        gestures = None
        if reference.gestures is not None:
            gestures = rng.uniform(0.0, 1.0, (num_frames, len(reference.diffusion.sidecar[GESTURES]))).astype(np.float32)
        denoised = [guided_denoiser(engine.diffusion, expected["audio_hidden"], emotion, 1.0,
                                    gestures=gestures)(noisy, PARITY_TIMESTEP)
                    for engine in (candidate, reference)]
        pairs.append(tuple(denoised))
    gap = max(disagreement(value, wanted) for value, wanted in pairs)
    if reference.gestures is not None:
        gap = max(gap, parity_gap(candidate.gestures, reference.gestures))
    return gap


def _parity_note(candidate: Engine, reference: Engine) -> str | None:
    """None when `candidate` agrees with `reference` within PARITY_TOLERANCE, else the note saying why not."""
    try:
        gap = parity_gap(candidate, reference)
    except (ModelError, ValueError, *ORT_ERRORS) as exc:
        return f"{candidate.provider} failed the parity run against the CPU ({exc}); running on the CPU."
    if gap <= PARITY_TOLERANCE:
        return None
    return (f"{candidate.provider} disagrees with the CPU by {gap:.3g} on the parity run (more than "
            f"{PARITY_TOLERANCE:g}); running on the CPU.")


def load_engine(engine: str = DEFAULT_ENGINE, weights_dir=None, provider: str = "AUTO",
                cpu_threads: int = 0) -> Engine:
    """The models `engine` runs on the provider the preference `provider` picks (see the module's
    docstring): a GPU provider only where it starts and passes the parity run, else the CPU."""
    loaded = _open_engine(engine, weights_dir, provider, cpu_threads)
    if not set(loaded.providers) & set(GPU_PROVIDERS):
        return loaded
    reference = _open_engine(engine, weights_dir, "CPU", cpu_threads)
    models = (loaded.regression, loaded.diffusion, loaded.gestures.regression if loaded.gestures else None)
    key = (engine, tuple(model.sidecar["sha256"] for model in models if model is not None), loaded.provider,
           int(cpu_threads))
    if key not in _PARITY:
        _PARITY[key] = _parity_note(loaded, reference)
    if _PARITY[key] is None:
        return loaded
    return dataclasses.replace(reference, notes=(_PARITY[key],))


def emotion_for_model(weights: np.ndarray, fps: float, num_model_frames: int, model: Model,
                      model_rate: float = features.MODEL_FPS) -> np.ndarray:
    """Output-rate emotion [T_out, 8] resampled to model frames [T, 8] (`model_rate` of them per
    second of the clip) in the model's category order."""
    at_model_rate = Curves(fps, weights, emotion_mod.CATEGORIES).resample(model_rate, 0.0, num_model_frames)
    return at_model_rate.values[:, [emotion_mod.CATEGORY_INDEX[name] for name in model.sidecar["emotion_categories"]]]


def log_mel_frames(samples: np.ndarray, first: int, stop: int) -> np.ndarray:
    """Frames [first, stop) of `features.log_mel(samples)`, computed from the samples they need only.

    AudioError for samples that are not numbers (NaN/inf).
    """
    start = max(0, first - FEATURE_CONTEXT_FRAMES)
    part = samples[start * features.HOP:(stop + FEATURE_CONTEXT_FRAMES) * features.HOP]
    frames = features.log_mel(part)[first - start:stop - start]
    if not np.all(np.isfinite(frames)):
        raise AudioError("The audio contains invalid (NaN/inf) samples; load it with load_audio or "
                         "audio_from_array, which replace them.")
    return frames


def regress(model: Model, samples: np.ndarray, emotion: np.ndarray, window_frames: int = WINDOW_FRAMES,
            keep=REGRESSION_OUTPUTS, should_cancel=None, speech: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The regression model's outputs named in `keep` for 16 kHz samples and emotion [T, 8].

    Without the batch axis: "curves" [T, 52] in the model's channel order, "audio_hidden" [T, H].
    Features are computed window by window; `speech` is the whole clip's speech embedding [T, 96]
    (`embedding.embed`), for a model that reads one.
    """
    num_frames = features.num_model_frames(features.num_feature_frames(len(samples)))
    if (speech is None) != (EMBEDDING_INPUT not in model.sidecar["inputs"]):
        raise ValueError(f"the {model.name} model {'needs' if speech is None else 'takes no'} speech embedding")

    def feeds_for(window):
        feeds = {"features": log_mel_frames(samples, window.start * features.MODEL_STRIDE,
                                            window.stop * features.MODEL_STRIDE)[None],
                 "emotion": emotion[None, window.start:window.stop]}
        if speech is not None:
            feeds[EMBEDDING_INPUT] = speech[None, window.start:window.stop]
        return feeds

    outputs = run_windowed(model, feeds_for, num_frames, window_frames, keep, should_cancel)
    return {name: value[0] for name, value in outputs.items()}


def speech_for(loaded: Engine, samples: np.ndarray, should_cancel=None) -> np.ndarray | None:
    """The speech embedding [T, 96] of the clip if the engine's regression model reads one, else None."""
    if loaded.frontend is None:
        return None
    return embedding_mod.embed(samples, frontend=loaded.frontend, should_cancel=should_cancel)


def style_size(model: Model) -> int | None:
    """Entries of the denoiser's style input; None for a model without one."""
    shape = model.sidecar["inputs"].get(STYLE_INPUT)
    return None if shape is None else int(shape[-1])


def take_style(model: Model, seed: int) -> np.ndarray | None:
    """The style [S] the diffusion model draws a take in for `seed`; None for a model without a
    style input.

    Each entry is drawn in its take band (`models.take_bands`, from the sidecar: the part of the
    learned range where a take keeps the quality bars, and for entries that hardly touch them a
    reach that keeps takes apart), on a side of the band's centre the draw picks. Seeds come in
    mirrored pairs: seed 2k draws, seed 2k + 1 takes its mirror image about each band's centre.
    Two independent draws are sometimes nearly the same take (the shipped model's seeds 0 and 1
    once differed by 0.005 over the mouth); a pair is as unlike as its style can make it, so the
    first other take an animator tries is another take.
    """
    size = style_size(model)
    if size is None:
        return None
    centre, nearest, farthest = take_bands(model.sidecar)
    rng = np.random.default_rng([STYLE_STREAM, int(seed) // 2])
    reach = nearest + rng.uniform(0.0, 1.0, size) * (farthest - nearest)
    side = np.where(rng.uniform(0.0, 1.0, size) < 0.5, -1.0, 1.0) * (-1.0 if int(seed) % 2 else 1.0)
    return (centre + side * reach).astype(np.float32)


def guided_denoiser(model: Model, audio_hidden: np.ndarray, emotion: np.ndarray, guidance: float,
                    window_frames: int = WINDOW_FRAMES, should_cancel=None, style: np.ndarray | None = None,
                    gestures: np.ndarray | None = None):
    """`denoise(x_t, t) -> x0` for the sampler: the denoiser windowed, with classifier-free guidance.

    The unconditional prediction sees every emotion weight set to the sidecar's
    "unconditional_emotion" (the "no emotion given" token, 0 when the sidecar has none); guided
    x0 = uncond + guidance x (cond - uncond). With guidance 1, or emotion equal to that token,
    this is the conditional prediction, so one pass is enough. A model with a style input gets
    `style` (None: all 0, the average take). A model that draws another's gestures gets
    `gestures` [T, 2] (`drawn_gestures`).
    """
    num_frames = len(audio_hidden)
    extra = {}
    size = style_size(model)
    if size is not None:
        extra[STYLE_INPUT] = (np.zeros(size, np.float32) if style is None else np.asarray(style, np.float32))[None]
    if (gestures is None) != (GESTURES not in model.sidecar["inputs"]):
        raise ValueError(f"the {model.name} model {'needs' if gestures is None else 'takes no'} gestures")
    if gestures is not None:
        extra[GESTURES] = np.asarray(gestures, np.float32)[None]
    no_emotion = np.full_like(emotion, model.sidecar.get(UNCONDITIONAL_KEY, 0.0))
    single_pass = guidance == 1.0 or np.array_equal(emotion, no_emotion)

    def run(x_t, emotion_input, t):
        feeds = {"noisy": x_t[None], "timestep": np.array([t], np.float32), "audio_hidden": audio_hidden[None],
                 "emotion": emotion_input[None], **extra}
        outputs = run_windowed(model, lambda window: cut_feeds(model, feeds, window), num_frames, window_frames,
                               should_cancel=should_cancel)
        return outputs["denoised"][0]

    def denoise(x_t: np.ndarray, t: float) -> np.ndarray:
        conditional = run(x_t, emotion, t)
        if single_pass:
            return conditional
        plain = run(x_t, no_emotion, t)
        return plain + guidance * (conditional - plain)

    return denoise


def diffuse(model: Model, audio_hidden: np.ndarray, emotion: np.ndarray, seed: int, steps: int, guidance: float,
            known: Constraints | None = None, progress=None, should_cancel=None,
            model_rate: float = features.MODEL_FPS, style: np.ndarray | None = None,
            gestures: np.ndarray | None = None) -> np.ndarray:
    """Curves [T, 52] (0-1, the model's channel order) sampled by DDIM; `known` (0-1) inpainted,
    joined to the sample over spans of `model_rate` frames per second of the clip. `style`: the
    take's style (`take_style`; None for a model without one); `gestures`: the gestures it draws
    (`drawn_gestures`; None for a model that draws its own)."""
    side = model.sidecar
    scale, shift = float(side["data_scale"]), float(side["data_shift"])
    schedule = CosineSchedule(int(side["schedule"]["train_steps"]), float(side["schedule"]["offset"]))
    inpaint = None
    if known is not None:
        inpaint = Known(known.mask, known.values * scale + shift, correction_spans(model_rate))
    data_range = (min(shift, scale + shift), max(shift, scale + shift))
    denoise = guided_denoiser(model, audio_hidden, emotion, guidance, should_cancel=should_cancel,
                              style=style, gestures=gestures)
    x = sample(denoise,
               (len(audio_hidden), len(side["channels"])), schedule, steps, seed, known=inpaint,
               resample=INPAINT_RESAMPLE if inpaint is not None else 0, data_range=data_range,
               progress=progress, should_cancel=should_cancel)
    return np.clip((x - shift) / scale, 0.0, 1.0)


def resolve_sampling(loaded: Engine, steps=None, guidance=None) -> tuple[int | None, float | None]:
    """(steps, guidance), checked, with the model's defaults for diffusion; both must be None otherwise."""
    if loaded.diffusion is None:
        if steps is not None or guidance is not None:
            raise ValueError("steps and guidance apply to the diffusion engine only")
        return None, None
    side = loaded.diffusion.sidecar
    steps = int(side["default_steps"] if steps is None else steps)
    guidance = float(side["default_guidance"] if guidance is None else guidance)
    if not 1 <= steps <= side["schedule"]["train_steps"]:
        raise ValueError(f"steps must be between 1 and {side['schedule']['train_steps']}, got {steps}")
    if not (math.isfinite(guidance) and guidance >= 0):
        raise ValueError(f"guidance must be a number >= 0, got {guidance}")
    return steps, guidance


def voice_scale(audio: Audio, regression: Model, voice_mode: str = voice.DEFAULT_MODE) -> float:
    """The factor the models hear this clip at (`voice.formant_scale`, with the regression
    model's reference pitch; 1 for a model without one, or with `voice_mode` "off")."""
    reference = None if voice.check_mode(voice_mode) == "off" else regression.sidecar.get(voice.SIDECAR_KEY)
    return voice.formant_scale(audio.samples, None if reference is None else float(reference), audio.sample_rate)


@dataclass(frozen=True)
class Heard:
    """A clip as an engine's models hear it: at `scale` (`voice_scale`), its `samples` at that
    scale, `rate` model frames per second of the clip, `num_frames` model frames, and its speech
    embedding (None for models that read none)."""

    scale: float
    samples: np.ndarray
    rate: float
    num_frames: int
    speech: np.ndarray | None


def hear(audio: Audio, loaded: Engine, voice_mode: str = voice.DEFAULT_MODE, should_cancel=None,
         earlier: Heard | None = None) -> Heard:
    """The clip as `loaded`'s regression model hears it; what `earlier` (another engine's hearing)
    computed at the same scale is reused, the speech embedding too where both read it."""
    scale = voice_scale(audio, loaded.regression, voice_mode)
    if earlier is not None and earlier.scale == scale:
        speech = earlier.speech if (earlier.speech is None) == (loaded.frontend is None) else \
            speech_for(loaded, earlier.samples, should_cancel)
        return dataclasses.replace(earlier, speech=speech)
    samples = voice.at_scale(audio.samples, scale)
    return Heard(scale, samples, features.MODEL_FPS / scale,
                 features.num_model_frames(features.num_feature_frames(len(samples))),
                 speech_for(loaded, samples, should_cancel))


def drawn_gestures(audio: Audio, source: Engine, names, emotion: np.ndarray, fps: float, model_rate: float,
                   num_model_frames: int, voice_mode: str = voice.DEFAULT_MODE, earlier: Heard | None = None,
                   should_cancel=None) -> np.ndarray:
    """The gestures `names` [num_model_frames, len(names)] the regression engine `source` draws for
    this clip (its `GESTURES` output: the seal and rounding, 0..1), at `model_rate` frames per
    second of the clip.

    `source` hears the clip at its own voice scale (`hear`, reusing `earlier`, the caller's
    hearing, at the same scale); its frames are interpolated to the caller's.
    """
    regression = source.regression
    heard = hear(audio, source, voice_mode, should_cancel, earlier)
    drawn = regress(regression, heard.samples, emotion_for_model(emotion, fps, heard.num_frames, regression, heard.rate),
                    keep=(GESTURES,), should_cancel=should_cancel, speech=heard.speech)[GESTURES]
    own = Curves(heard.rate, np.clip(drawn, 0.0, 1.0), regression.sidecar[GESTURES])
    return own.select(names).resample(model_rate, 0.0, num_model_frames).values


def mouth_curves(audio: Audio, loaded: Engine, fps: float, num_frames: int, seed: int, emotion: np.ndarray,
                 steps: int | None, guidance: float | None, constraints: Constraints | None,
                 progress=None, should_cancel=None, voice_mode: str = voice.DEFAULT_MODE,
                 style: np.ndarray | None = None) -> tuple[Curves, float]:
    """The models' curves for this audio at the output rate (`num_frames` frames in ARKit order)
    and the voice scale they heard it at. `style`: the diffusion take's (`take_style`).

    The models hear the clip at its `voice_scale` (`inference.voice`): their frames then come
    `features.MODEL_FPS / scale` to a second of the clip. Progress counts whole-sequence model
    passes: the regression pass, then each denoiser step.
    """
    regression = loaded.regression
    heard = hear(audio, loaded, voice_mode, should_cancel)
    scale, model_rate, num_model_frames = heard.scale, heard.rate, heard.num_frames
    inpainting = constraints is not None and constraints.count > 0
    denoiser_passes = steps * (1 + (INPAINT_RESAMPLE if inpainting else 0)) if loaded.diffusion is not None else 0
    outputs = regress(regression, heard.samples, emotion_for_model(emotion, fps, num_model_frames, regression, model_rate),
                      keep=REGRESSION_OUTPUTS if loaded.diffusion is not None else ("curves",),
                      should_cancel=should_cancel, speech=heard.speech)
    values = outputs["curves"]
    if progress is not None:
        progress(1, 1 + denoiser_passes)
    channels = regression.sidecar["channels"]
    if loaded.diffusion is not None:
        denoiser = loaded.diffusion
        channels = denoiser.sidecar["channels"]
        known = None
        if inpainting:
            known = to_model_frames(constraints, fps, num_model_frames, model_rate, channels)
        after_regression = None if progress is None else (lambda done, total: progress(1 + done, 1 + total))
        denoiser_emotion = emotion_for_model(emotion, fps, num_model_frames, denoiser, model_rate)
        gestures = None
        if loaded.gestures is not None:
            gestures = drawn_gestures(audio, loaded.gestures, denoiser.sidecar[GESTURES], emotion, fps, model_rate,
                                      num_model_frames, voice_mode, heard, should_cancel)
        values = diffuse(denoiser, outputs["audio_hidden"], denoiser_emotion, seed, steps, guidance, known,
                         after_regression, should_cancel, model_rate, style, gestures)
    model_curves = Curves(model_rate, np.clip(values, 0.0, 1.0), channels)
    return model_curves.select(arkit.NAMES).resample(fps, 0.0, num_frames), scale


def animate_mouth(audio: Audio, engine: str, fps: float, num_frames: int, seed: int, emotion: np.ndarray,
                  steps: int | None = None, guidance: float | None = None, constraints: Constraints | None = None,
                  weights_dir=None, provider: str = "AUTO", cpu_threads: int = 0, progress=None,
                  should_cancel=None, voice_mode: str = voice.DEFAULT_MODE,
                  style: np.ndarray | None = None) -> tuple[Curves, dict, tuple[str, ...]]:
    """(the mouth [num_frames, 52] at `fps`, what ran, warnings) of one clip by a neural engine.

    `emotion`: per-frame weights [num_frames, 8] (the models' conditioning). `constraints`: a grid
    of [num_frames, 52], inpainted by diffusion (the pipeline meets them exactly afterwards).
    `steps` / `guidance`: diffusion only (default: the model's). `voice_mode`: "auto" hears a high
    voice lower as the model's sidecar says, "off" as recorded (`inference.voice`). `style`: the
    diffusion take's style [S] (default: the one `seed` draws, `take_style`).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    if len(audio.samples) < MIN_SAMPLES:
        raise AudioError(f"{audio.source or 'The audio'} is {1000 * audio.duration:.0f} ms long; "
                         f"the models need at least {1000 * MIN_SAMPLES / features.SAMPLE_RATE:.0f} ms.")
    loaded = load_engine(engine, weights_dir, provider, cpu_threads)
    steps, guidance = resolve_sampling(loaded, steps, guidance)
    if loaded.diffusion is not None and style is None:
        style = take_style(loaded.diffusion, seed)
    mouth, scale = mouth_curves(audio, loaded, fps, num_frames, seed, emotion, steps, guidance, constraints,
                                progress, should_cancel, voice_mode, style)
    meta = {"steps": steps, "guidance": guidance, "model_versions": loaded.versions,
            "provider": loaded.provider, "voice_scale": round(scale, 4)}
    if style is not None:       # the take's style, as drawn or given
        meta["style"] = {name: round(float(value), 3)
                         for name, value in zip(loaded.diffusion.sidecar[STYLE_INPUT]["names"], style)}
    return mouth, meta, loaded.warnings
