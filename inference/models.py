"""The shipped ONNX models: sidecar checks, verified files, execution providers, cached sessions.

Each model is `<name>.onnx` plus its sidecar `<name>.json` (file name, byte size, sha256, input and
output shapes, rates, channel order, receptive field, credits). `load_model` checks the file
against its sidecar before onnxruntime opens it, so a missing, truncated or altered file is a
`ModelError` that names the file and the fix, not a crash deep inside onnxruntime.

Sidecar shapes name their time axis with a letter: "F" for feature frames (100 per second, see
`features`), "T" for model frames (50 per second, one per `stride` feature frames). `run_windowed`
uses them to run a model over long audio in overlapping windows, each keeping only the frames
farther than the receptive field from its cut edges, so the stitched result equals one pass over
the whole sequence while memory stays flat.

Sessions are cached per (file, sha256, provider preference, threads): a batch opens each model
once; `clear_cache` drops them. A file's sha256 is remembered per (path, mtime, size), so only the
first load of a file reads it in full.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings as python_warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

# onnxruntime's telemetry keeps a database under the user's home (~/.cache/Microsoft/DeveloperTools)
# from the moment it is imported, unless this is set first; the user's own setting wins.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
import onnxruntime  # noqa: E402
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state  # noqa: E402

from . import arkit, emotion, features
from .errors import CancelledError, ModelError

log = logging.getLogger(__name__)

WEIGHTS_ENV = "LIPKIT_WEIGHTS_DIR"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
WEIGHTS_FOLDER = "weights"

PREFERENCES = ("AUTO", "CPU", "GPU")
CPU_PROVIDER = "CPUExecutionProvider"
DIRECTML_PROVIDER = "DmlExecutionProvider"
GPU_PROVIDERS = ("CUDAExecutionProvider", DIRECTML_PROVIDER, "CoreMLExecutionProvider")
# onnxruntime's own log: errors only (its provider fallbacks come back to us as warnings).
ORT_LOG_ERRORS_ONLY = 3
# What each GPU provider needs to start, named in the note when it could not be loaded ({cuda}: the
# CUDA version the installed onnxruntime-gpu was built for; onnxruntime's log names the missing file).
PROVIDER_NEEDS = {
    "CUDAExecutionProvider": "an NVIDIA GPU and driver with the CUDA {cuda} and cuDNN 9 runtime libraries",
    "DmlExecutionProvider": "a DirectX 12 GPU on Windows 10 (1903) or later",
    "CoreMLExecutionProvider": "Core ML on macOS",
}

REQUIRED_KEYS = ("name", "version", "file", "sha256", "bytes", "inputs", "outputs", "sample_rate",
                 "feature_rate", "fps", "stride", "channels", "emotion_categories", "receptive_field")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_names(value) -> bool:
    return isinstance(value, list) and all(isinstance(name, str) for name in value)


def _is_shapes(value) -> bool:
    return isinstance(value, dict) and all(
        isinstance(shape, list) and all(_is_int(size) or isinstance(size, str) for size in shape) for shape in value.values())


# What each required sidecar value must be, checked before any is used.
SIDECAR_TYPES = {
    "name": lambda v: isinstance(v, str), "version": lambda v: isinstance(v, str), "file": lambda v: isinstance(v, str),
    "sha256": lambda v: isinstance(v, str), "bytes": lambda v: _is_int(v) and v >= 0,
    "inputs": _is_shapes, "outputs": _is_shapes, "sample_rate": _is_number, "feature_rate": _is_number,
    "fps": _is_number, "stride": _is_int, "channels": _is_names, "emotion_categories": _is_names,
    "receptive_field": lambda v: _is_int(v) and v >= 0,
}
# Time-axis letters in sidecar shapes -> input frames per model frame.
FEATURE_AXIS = "F"
MODEL_AXIS = "T"
# Windows keep one model frame more than the receptive field from their cut edges: feature frame
# i belongs to model frame i // stride, and a field counted the other way round is one frame wider.
WINDOW_SLACK_FRAMES = 1
HASH_BLOCK_BYTES = 1 << 20
# How `features.log_mel` computes its input; a sidecar that names its features must match.
FEATURE_SETTINGS = {"kind": "log_mel", "n_fft": features.N_FFT, "window": features.WINDOW, "hop": features.HOP,
                    "mels": features.NUM_MELS, "range_hz": list(features.MEL_RANGE_HZ)}
FIX = "Reinstall the Lipkit extension (or set LIPKIT_WEIGHTS_DIR to a complete weights folder)."

ORT_ERRORS = (RuntimeError, ort_state.Fail, ort_state.InvalidArgument, ort_state.NoSuchFile,
              ort_state.NoModel, ort_state.EngineError, ort_state.RuntimeException,
              ort_state.InvalidProtobuf, ort_state.InvalidGraph, ort_state.NotImplemented,
              ort_state.EPFail)
_DIGESTS: dict[tuple[str, int, int], str] = {}
_SESSIONS: dict[tuple[str, str, str, int], "Model"] = {}


@dataclass(frozen=True)
class Model:
    """An open model: its sidecar, its onnxruntime session, the provider running it, load warnings."""

    sidecar: dict
    session: onnxruntime.InferenceSession
    provider: str
    warnings: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.sidecar["name"]

    @property
    def version(self) -> str:
        return self.sidecar["version"]

    @property
    def receptive_field(self) -> int:
        """Model frames, one side: an output frame depends only on inputs this close to it."""
        return int(self.sidecar["receptive_field"])

    def time_axis(self, tensor: str) -> tuple[int, int] | None:
        """(axis, frames per model frame) of a sidecar input or output; None if it has no time axis."""
        shape = self.sidecar["inputs"].get(tensor) or self.sidecar["outputs"][tensor]
        for axis, size in enumerate(shape):
            if size == FEATURE_AXIS:
                return axis, int(self.sidecar["stride"])
            if size == MODEL_AXIS:
                return axis, 1
        return None

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One pass: float32 feeds by input name -> outputs by name; invalid values are a ModelError."""
        feeds = {name: np.ascontiguousarray(value, np.float32) for name, value in feeds.items()}
        try:
            values = self.session.run(None, feeds)
        except ORT_ERRORS as exc:
            raise ModelError(f"The {self.name} model failed to run ({exc}).") from exc
        names = [output.name for output in self.session.get_outputs()]
        outputs = dict(zip(names, values))
        for name, value in outputs.items():
            if not np.all(np.isfinite(value)):
                raise ModelError(f"The {self.name} model produced invalid values (NaN/inf) in '{name}'. {FIX}")
        return outputs


def find_weights_dir(explicit=None) -> Path:
    """`explicit`, else $LIPKIT_WEIGHTS_DIR, else the `weights` folder beside `inference/`."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get(WEIGHTS_ENV) or PACKAGE_ROOT / WEIGHTS_FOLDER)


def _require(condition: bool, path: Path, problem: str) -> None:
    if not condition:
        raise ModelError(f"{path}: {problem}. {FIX}")


def read_sidecar(path: Path) -> dict:
    """The sidecar at `path`, checked against the runtime's rates, channels and emotions."""
    _require(path.is_file(), path, "the model description is missing")
    try:
        sidecar = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: the model description cannot be read ({exc}). {FIX}") from exc
    _require(isinstance(sidecar, dict), path, "the model description is not a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in sidecar]
    _require(not missing, path, f"the model description lacks {', '.join(missing)}")
    wrong = [key for key, check in SIDECAR_TYPES.items() if not check(sidecar[key])]
    _require(not wrong, path, f"the model description has values of the wrong type for {', '.join(wrong)}")
    rates = {"sample_rate": features.SAMPLE_RATE, "feature_rate": features.FEATURE_RATE,
             "fps": features.MODEL_FPS, "stride": features.MODEL_STRIDE}
    for key, expected in rates.items():
        _require(sidecar[key] == expected, path, f"{key} is {sidecar[key]}, this Lipkit expects {expected}")
    _require(sorted(sidecar["channels"]) == sorted(arkit.NAMES), path, "channels are not the 52 ARKit names")
    _require(sorted(sidecar["emotion_categories"]) == sorted(emotion.CATEGORIES), path,
             f"emotion_categories are not {', '.join(emotion.CATEGORIES)}")
    _require(all(MODEL_AXIS in shape for shape in sidecar["outputs"].values()), path,
             f"every output needs a time axis '{MODEL_AXIS}'")
    _require(sidecar.get("features", FEATURE_SETTINGS) == FEATURE_SETTINGS, path,
             f"the model was trained on features {sidecar.get('features')}, this Lipkit computes {FEATURE_SETTINGS}")
    try:
        take_bands(sidecar)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path}: the style of takes is malformed ({exc}). {FIX}") from exc
    return sidecar


def encoder_of(diffusion_sidecar: dict) -> str:
    """The model that gives a denoiser its `audio_hidden` (its sidecar's "requires"; models from
    before the engines shipped their own snapshots name none and use the regression model)."""
    return diffusion_sidecar.get("requires", "regression")


def take_bands(sidecar: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(centre, nearest, farthest) [S] of the bands a diffusion model's takes draw their style in,
    from the sidecar's "style": each entry is drawn at centre ± a reach between nearest and
    farthest (`style.takes[name]`: {"centre", "reach": [nearest, farthest]}); an entry without a
    band, or a sidecar without "takes", spans the whole learned "range". None for a model without
    a style. ValueError when a band is malformed or leaves the range."""
    style = sidecar.get("style")
    if style is None:
        return None
    names, (low, high) = style["names"], (float(value) for value in style["range"])
    size = sidecar.get("inputs", {}).get("style")
    if size is not None and int(size[-1]) != len(names):
        raise ValueError(f"{len(names)} style names for a style input of {size[-1]}")
    bands = style.get("takes", {})
    unknown = sorted(set(bands) - set(names))
    if unknown:
        raise ValueError(f"take bands for unknown style entries {', '.join(unknown)}")
    rows = []
    for name in names:
        band = bands.get(name, {"centre": (low + high) / 2, "reach": [0.0, (high - low) / 2]})
        try:
            centre, (nearest, farthest) = float(band["centre"]), (float(value) for value in band["reach"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the take band of {name!r} is not {{centre, reach: [nearest, farthest]}}") from exc
        if not (0 <= nearest <= farthest and low <= centre - farthest and centre + farthest <= high):
            raise ValueError(f"the take band of {name!r} ({centre:g} ± {nearest:g}..{farthest:g}) "
                             f"leaves the learned range {low:g}..{high:g}")
        rows.append((centre, nearest, farthest))
    centre, nearest, farthest = (np.array(column, np.float64) for column in zip(*rows))
    return centre, nearest, farthest


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, remembered per (path, mtime, size)."""
    status = path.stat()
    key = (str(path.resolve()), status.st_mtime_ns, status.st_size)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(HASH_BLOCK_BYTES), b""):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def verify_weights(path: Path, sidecar: dict) -> None:
    """ModelError unless `path` exists with the sidecar's byte size and sha256."""
    _require(path.is_file(), path, "the model file is missing")
    size = path.stat().st_size
    _require(size == sidecar["bytes"], path,
             f"the model file is {size} bytes but should be {sidecar['bytes']}: it is truncated or damaged")
    _require(file_sha256(path) == sidecar["sha256"], path,
             "the model file does not match its checksum: it was altered or damaged")


def choose_providers(preference: str, available) -> tuple[list[str], tuple[str, ...]]:
    """(onnxruntime providers in order, warnings) for "AUTO", "CPU" or "GPU" given those available."""
    preference = str(preference).upper()
    if preference not in PREFERENCES:
        raise ValueError(f"unknown provider preference {preference!r}; choose from {', '.join(PREFERENCES)}")
    if preference == "CPU":
        return [CPU_PROVIDER], ()
    gpus = [name for name in GPU_PROVIDERS if name in available]
    if gpus:
        return [gpus[0], CPU_PROVIDER], ()
    if preference == "GPU":
        return [CPU_PROVIDER], ("No GPU is usable for the models here (onnxruntime offers "
                                f"{', '.join(available) or 'nothing'}); running on the CPU.",)
    return [CPU_PROVIDER], ()


def available_providers() -> list[str]:
    return onnxruntime.get_available_providers()


def provider_needs(provider: str) -> str:
    """What `provider` needs to start, for the note when it could not be loaded."""
    from onnxruntime.capi import build_and_package_info

    cuda = getattr(build_and_package_info, "cuda_version", None) or "12 or 13"
    return PROVIDER_NEEDS.get(provider, "its runtime libraries").format(cuda=cuda)


def _new_session(source, providers: list[str], cpu_threads: int) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = int(cpu_threads)
    options.log_severity_level = ORT_LOG_ERRORS_ONLY
    if providers[0] == DIRECTML_PROVIDER:
        options.enable_mem_pattern = False   # DirectML runs without onnxruntime's memory patterns
    with python_warnings.catch_warnings():
        python_warnings.simplefilter("ignore")   # an unavailable provider is reported below instead
        return onnxruntime.InferenceSession(source if isinstance(source, bytes) else str(source), options,
                                            providers=providers)


def open_session(source, providers: list[str], cpu_threads: int = 0, path: Path | None = None):
    """(session, warnings) for a model file or its bytes (`path` names them in messages): a provider
    that fails to start falls back to the CPU with a warning."""
    wanted = providers[0]
    path = path or source
    try:
        session = _new_session(source, providers, cpu_threads)
    except ORT_ERRORS as exc:
        if wanted == CPU_PROVIDER:
            raise ModelError(f"{path}: onnxruntime cannot open the model ({exc}). {FIX}") from exc
        session, _ = open_session(source, [CPU_PROVIDER], cpu_threads, path)
        return session, (f"{wanted} failed to start ({exc}); running on the CPU.",)
    if session.get_providers()[0] != wanted:
        return session, (f"{wanted} could not be loaded (it needs {provider_needs(wanted)}); running on the CPU.",)
    return session, ()


def _check_tensor_names(session, sidecar: dict, path: Path) -> None:
    for group, found in (("inputs", session.get_inputs()), ("outputs", session.get_outputs())):
        names = sorted(tensor.name for tensor in found)
        _require(names == sorted(sidecar[group]), path,
                 f"its {group} are {', '.join(names)} but the sidecar says {', '.join(sorted(sidecar[group]))}")


def load_model(name: str, weights_dir=None, provider: str = "AUTO", cpu_threads: int = 0) -> Model:
    """The model `name` from the weights folder, verified and opened (cached for later calls)."""
    if int(cpu_threads) < 0:
        raise ValueError(f"cpu_threads must be 0 (automatic) or more, got {cpu_threads}")
    folder = find_weights_dir(weights_dir)
    _require(folder.is_dir(), folder, "the model weights folder is missing")
    sidecar_path = folder / f"{name}.json"
    sidecar = read_sidecar(sidecar_path)
    _require(sidecar["name"] == name, sidecar_path, f"it describes '{sidecar['name']}', not '{name}'")
    path = folder / sidecar["file"]
    verify_weights(path, sidecar)
    key = (str(path.resolve()), sidecar["sha256"], str(provider).upper(), int(cpu_threads))
    if key not in _SESSIONS:
        providers, notes = choose_providers(provider, available_providers())
        session, fallbacks = open_session(path, providers, cpu_threads)
        _check_tensor_names(session, sidecar, path)
        model = Model(sidecar, session, session.get_providers()[0], notes + fallbacks)
        log.info("loaded %s %s on %s%s", name, sidecar["version"], model.provider,
                 "".join(f" ({warning})" for warning in model.warnings))
        _SESSIONS[key] = model
    elif _SESSIONS[key].sidecar != sidecar:      # the same weights, their description edited: read it anew
        _check_tensor_names(_SESSIONS[key].session, sidecar, path)
        _SESSIONS[key] = replace(_SESSIONS[key], sidecar=sidecar)
    return _SESSIONS[key]


def clear_cache() -> None:
    """Forget every open session and remembered checksum (e.g. after the weights changed)."""
    _SESSIONS.clear()
    _DIGESTS.clear()


# --------------------------------------------------------------------------- windowed inference


@dataclass(frozen=True)
class Window:
    """Model frames [start, stop) run together, of which [keep_start, keep_stop) are kept."""

    start: int
    stop: int
    keep_start: int
    keep_stop: int


def plan_windows(num_frames: int, window_frames: int, margin: int) -> list[Window]:
    """Windows of at most `window_frames` whose kept parts tile [0, num_frames) in order.

    Every kept frame lies at least `margin` frames from its window's edges, except at the ends
    of the sequence, where nothing was cut.
    """
    if num_frames <= window_frames:
        return [Window(0, num_frames, 0, num_frames)]
    core = window_frames - 2 * margin
    if core < 1:
        raise ValueError(f"a window of {window_frames} frames keeps nothing with a margin of {margin} frames")
    return [Window(max(0, first - margin), min(num_frames, first + core + margin), first, min(first + core, num_frames))
            for first in range(0, num_frames, core)]


def _frames(ndim: int, axis: int, start: int, stop: int) -> tuple:
    """An index selecting [start, stop) along `axis` of an array with `ndim` axes."""
    index = [slice(None)] * ndim
    index[axis] = slice(start, stop)
    return tuple(index)


def cut_feeds(model: Model, feeds: dict[str, np.ndarray], window: Window) -> dict[str, np.ndarray]:
    """Whole-sequence feeds cut to a window: along their time axis (feature-rate ones at `stride`
    frames per model frame); feeds without a time axis whole."""
    cut = {}
    for name, array in feeds.items():
        time_axis = model.time_axis(name)
        if time_axis is None:
            cut[name] = array
        else:
            axis, rate = time_axis
            cut[name] = array[_frames(array.ndim, axis, window.start * rate, window.stop * rate)]
    return cut


def run_windowed(model: Model, feeds_for: Callable[[Window], dict[str, np.ndarray]], num_frames: int,
                 window_frames: int, keep=None, should_cancel=None) -> dict[str, np.ndarray]:
    """`model` over `num_frames` model frames in overlapping windows; equals one pass over all of it.

    `feeds_for(window)` gives the inputs of one window (e.g. `cut_feeds`); the outputs named in
    `keep` (default: all) are stitched from each window's kept frames. `should_cancel()` is asked
    before each window.
    """
    margin = model.receptive_field + WINDOW_SLACK_FRAMES
    outputs: dict[str, np.ndarray] = {}
    for window in plan_windows(num_frames, window_frames, margin):
        if should_cancel is not None and should_cancel():
            raise CancelledError("Cancelled; nothing was written.")
        part = model.run(feeds_for(window))
        for name, value in part.items():
            if keep is not None and name not in keep:
                continue
            axis, _ = model.time_axis(name)
            if value.shape[axis] != window.stop - window.start:
                raise ModelError(f"The {model.name} model gave {value.shape[axis]} frames of '{name}' "
                                 f"for {window.stop - window.start}. {FIX}")
            if name not in outputs:
                shape = list(value.shape)
                shape[axis] = num_frames
                outputs[name] = np.empty(shape, np.float32)
            kept = _frames(value.ndim, axis, window.keep_start - window.start, window.keep_stop - window.start)
            outputs[name][_frames(value.ndim, axis, window.keep_start, window.keep_stop)] = value[kept]
    return outputs
