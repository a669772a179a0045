"""ONNX export of the trained models into `weights/`, each with its JSON sidecar.

The graphs have named inputs and outputs, opset `OPSET` and a dynamic time axis. The sidecar
carries everything the runtime needs (I/O names and shapes, rates, channel order, receptive
field, diffusion schedule) plus provenance: sha256, size, parameter count, training data and
credits. Measured quality and speed are added by the benchmarks (`--record`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from inference import arkit, emotion, embedding, features
from inference.models import file_sha256

from . import models, targets
from .corpus import CREDITS

OPSET = 17
VERSION = "1.0.0"
REPO_ROOT = Path(__file__).resolve().parents[1]
WEIGHTS_DIR = REPO_ROOT / "weights"
# The diffusion engine's encoder: the regression model of the denoiser's own snapshot, shipped as a
# model of its own, so the regression engine can ship another snapshot (`select` chooses each
# engine on its own).
ENCODER = "encoder"


def _common(name: str, path: Path, model: torch.nn.Module, training: dict) -> dict:
    return {
        "name": name, "version": VERSION, "file": path.name, "sha256": file_sha256(path), "bytes": path.stat().st_size,
        "opset": OPSET, "parameters": models.count_parameters(model),
        "sample_rate": features.SAMPLE_RATE, "feature_rate": features.FEATURE_RATE, "fps": features.MODEL_FPS,
        "stride": features.MODEL_STRIDE,
        "features": {"kind": "log_mel", "n_fft": features.N_FFT, "window": features.WINDOW, "hop": features.HOP,
                     "mels": features.NUM_MELS, "range_hz": list(features.MEL_RANGE_HZ)},
        "channels": list(arkit.NAMES), "emotion_categories": list(emotion.CATEGORIES),
        **model.gesture_decisions.sidecar(),
        "training": training,
    }


def export_regression(model: models.RegressionModel, out_dir: Path, training: dict, name: str = "regression") -> Path:
    """The regression model as `<name>.onnx` with its sidecar: "regression" for the regression
    engine, `ENCODER` for the diffusion engine's copy of its own snapshot's."""
    model = model.eval()
    path = out_dir / f"{name}.onnx"
    out_dir.mkdir(parents=True, exist_ok=True)
    sample_features = torch.randn(1, 401, models.NUM_MELS)
    sample_emotion = torch.zeros(1, 201, models.NUM_EMOTIONS)
    sample_embedding = torch.zeros(1, 201, models.EMBEDDING_DIM)
    torch.onnx.export(model, (sample_features, sample_emotion, sample_embedding), str(path),
                      input_names=["features", "emotion", "embedding"],
                      output_names=["curves", "audio_hidden"], opset_version=OPSET, dynamo=False,
                      dynamic_axes={"features": {1: "F"}, "emotion": {1: "T"}, "embedding": {1: "T"},
                                    "curves": {1: "T"}, "audio_hidden": {1: "T"}})
    sidecar = _common(name, path, model, training)
    sidecar.update({"inputs": {"features": [1, "F", models.NUM_MELS], "emotion": [1, "T", models.NUM_EMOTIONS],
                               "embedding": [1, "T", models.EMBEDDING_DIM]},
                    "outputs": {"curves": [1, "T", models.NUM_CHANNELS], "audio_hidden": [1, "T", model.hidden]},
                    "hidden": model.hidden, "receptive_field": model.receptive_field,
                    "frontend": frontend_record()})
    (out_dir / f"{name}.json").write_text(json.dumps(sidecar, indent=1) + "\n")
    return path


# The bands the diffusion model's takes draw their style in (`inference.models.take_bands`), from
# `benchmarks.styles` on timit_dev. Each entry alone at -1, -0.5, +0.5, +1: a jaw under the
# average take's misses open vowels and one at the top of its range opens in silences; rounding
# and spreading under the average miss open vowels (rounding also rounded ones); the lip gains
# and lopsidedness touch no bar; talking out of one side is what sets takes apart (at +-0.5 it is
# 0.012 from the average take over the mouth, the other entries 0.0002-0.0016) and costs no
# closure up to 0.5 (at 1, one in seventy). So the gains are drawn at or above the average, the
# gains' bands as wide as keeps the bars at both corners (`benchmarks.styles --bands`: every entry
# at its band's top, then its bottom; at the top the gains add up, opening the lips in silences
# and rounding spread vowels), and every take talks out of one side by 0.4 to 0.5 of what the model
# learned: no more than costs no closure, no less than keeps seeds 0 and 1 0.02 apart.
TAKE_BANDS = {"jaw": {"centre": 0.15, "reach": [0.0, 0.15]}, "round": {"centre": 0.4, "reach": [0.0, 0.4]},
              "spread": {"centre": 0.4, "reach": [0.0, 0.4]}, "lips": {"centre": 0.0, "reach": [0.0, 1.0]},
              "asymmetry": {"centre": 0.0, "reach": [0.0, 1.0]}, "side": {"centre": 0.0, "reach": [0.4, 0.5]}}


def style_record() -> dict:
    """The diffusion sidecar's "style": the entries' names, the range they were learned over, and
    the bands takes draw them in."""
    return {"names": list(targets.STYLE_NAMES), "range": [-1.0, 1.0], "takes": TAKE_BANDS,
            "meaning": "the take: jaw, rounding, spreading and lip gains, lopsidedness (+ left), side "
                       "(+ mouthLeft); 0 is the average take; each seed draws every entry at its band's "
                       "centre plus or minus a reach in the band's, seeds in mirrored pairs"}


def export_diffusion(denoiser: models.Denoiser, audio_hidden: int, out_dir: Path, training: dict,
                     default_steps: int = 10, requires: str = ENCODER) -> Path:
    """The denoiser as diffusion.onnx with its sidecar, which names the model that gives it
    `audio_hidden` (`requires`: the encoder exported beside it)."""
    denoiser = denoiser.eval()
    path = out_dir / "diffusion.onnx"
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = 201
    sample = (torch.randn(1, frames, models.NUM_CHANNELS), torch.tensor([500.0]),
              torch.randn(1, frames, audio_hidden), torch.zeros(1, frames, models.NUM_EMOTIONS),
              torch.zeros(1, models.NUM_STYLE))
    torch.onnx.export(denoiser, sample, str(path),
                      input_names=["noisy", "timestep", "audio_hidden", "emotion", "style"],
                      output_names=["denoised"], opset_version=OPSET, dynamo=False,
                      dynamic_axes={"noisy": {1: "T"}, "audio_hidden": {1: "T"}, "emotion": {1: "T"},
                                    "denoised": {1: "T"}})
    sidecar = _common("diffusion", path, denoiser, training)
    sidecar.update({
        "inputs": {"noisy": [1, "T", models.NUM_CHANNELS], "timestep": [1], "audio_hidden": [1, "T", audio_hidden],
                   "emotion": [1, "T", models.NUM_EMOTIONS], "style": [1, models.NUM_STYLE]},
        "outputs": {"denoised": [1, "T", models.NUM_CHANNELS]},
        "requires": requires, "hidden": audio_hidden, "receptive_field": denoiser.receptive_field,
        "schedule": {"kind": "cosine", "train_steps": models.TRAIN_STEPS, "offset": models.COSINE_OFFSET},
        "prediction": "x0", "data_scale": 2.0, "data_shift": -1.0, "unconditional_emotion": models.UNCONDITIONAL_EMOTION,
        "default_steps": default_steps, "default_guidance": 1.0,
        "style": style_record(),
    })
    (out_dir / "diffusion.json").write_text(json.dumps(sidecar, indent=1) + "\n")
    return path


def frontend_record() -> dict:
    """The sidecar's "frontend": the frozen speech embedding the model reads, pinned by sha256."""
    return {"kind": "speech_embedding", "package": f"{embedding.PACKAGE}@{embedding.PACKAGE_VERSION}",
            "files": dict(embedding.FILES), "hop_ms": 1000 * embedding.HOP_FRAMES * embedding.MEL_HOP
            / features.SAMPLE_RATE, "dim": embedding.DIM, "licence": "Apache-2.0", "credit": embedding.CREDIT}


def training_record(steps: int, counts: dict[str, int], hours: dict[str, float], speakers: dict[str, int] | None = None,
                    denoiser_alone: int = 0, command: str = "python -m training all", snapshot: str | None = None,
                    fine_tuned_from: int = 0) -> dict:
    """The sidecar's "training" entry (utterances, hours and voices per source): `command` the one
    that exported it, `snapshot` the checkpoint it came from (its cache folder and path there),
    `fine_tuned_from` the steps of the checkpoint its run started from (0: a run from scratch),
    `denoiser_alone` steps of a last fine-tune of the denoiser on its own."""
    run = "one run trains both models (training/train.py)"
    if fine_tuned_from:
        run += (f", fine-tuned on from a checkpoint of {fine_tuned_from} steps (python -m training train "
                "--init-from; the model card says which)")
    if denoiser_alone:
        run += (f", then the denoiser alone for the last {denoiser_alone} of these steps, on the frozen "
                "regression model (python -m training train --diffusion-only)")
    return {"steps": steps, "command": command, **({"snapshot": snapshot} if snapshot else {}), "run": run,
            "data": {source: {"utterances": counts.get(source, 0), "hours": round(hours.get(source, 0.0), 3),
                              **({"speakers": speakers[source]} if speakers and source in speakers else {}),
                              "credit": CREDITS[source]} for source in counts},
            "targets": "the project's phonetic engine (articulation rules) on synthesiser or pocketsphinx phones, "
                       "random emotion mixes and articulation styles",
            "not_used": "TIMIT (evaluation only)"}


def max_difference_torch_onnx(model, onnx_path: Path, inputs: dict[str, np.ndarray]) -> float:
    """Largest absolute difference between torch and onnxruntime outputs on the same inputs."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, inputs)
    with torch.no_grad():
        expected = model(*(torch.from_numpy(value) for value in inputs.values()))
    expected = expected if isinstance(expected, tuple) else (expected,)
    return max(float(np.max(np.abs(e.numpy() - g))) for e, g in zip(expected, got))
