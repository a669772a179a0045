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

from inference import arkit, emotion, embedding, features, neural
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
# The regression models' output of the gestures they drew (0..1 per frame, `models.GESTURES`
# order), the input of a denoiser that draws another model's gestures in place of its own, and
# the sidecar key naming that model: the runtime's names (`inference.neural`).
GESTURES, GESTURES_FROM = neural.GESTURES, neural.GESTURES_FROM


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
                      output_names=["curves", "audio_hidden", GESTURES], opset_version=OPSET, dynamo=False,
                      dynamic_axes={"features": {1: "F"}, "emotion": {1: "T"}, "embedding": {1: "T"},
                                    "curves": {1: "T"}, "audio_hidden": {1: "T"}, GESTURES: {1: "T"}})
    sidecar = _common(name, path, model, training)
    sidecar.update({"inputs": {"features": [1, "F", models.NUM_MELS], "emotion": [1, "T", models.NUM_EMOTIONS],
                               "embedding": [1, "T", models.EMBEDDING_DIM]},
                    "outputs": {"curves": [1, "T", models.NUM_CHANNELS], "audio_hidden": [1, "T", model.hidden],
                                GESTURES: [1, "T", len(models.GESTURES)]},
                    "gestures": list(models.GESTURES),
                    "hidden": model.hidden, "receptive_field": model.receptive_field,
                    "frontend": frontend_record()})
    (out_dir / f"{name}.json").write_text(json.dumps(sidecar, indent=1) + "\n")
    return path


# The bands the diffusion model's takes draw their style in (`inference.models.take_bands`), from
# `benchmarks.styles --at 1` on timit_dev (each entry alone at -1 and +1, the others at the
# average take's), with the engine drawing the regression engine's seal and rounding, so no band
# moves where the lips close or round. The average take already rounds 10.3 % of the spread
# vowels; rounding up rounds more (11.7 at +1, 9.1 at -1) and spreading up opens the vowels
# rounding down would close (OPEN 97.4 at +1, 93.9 for rounding at -1), so rounding is drawn
# below the average and spreading above it. A jaw under the average misses open vowels (OPEN
# 82.7 at -1), one at the top opens the lips in silences (REST 96.3) and rounds (RFA 12.0): it
# stays near the average. The lip gains and lopsidedness touch no bar and barely move the mouth
# (0.0003-0.0006 from the average take over the mouth). What sets takes apart: talking out of one
# side (0.024 at +-1, three closures of 132 fewer; drawn at 0.4 to 0.5, which costs none), the
# corners held (0.025-0.027 at +-1: down, a frown, rounds fewer spread vowels, RFA 9.4; up, a
# smile, widens rounded vowels out of their rounding, ROUND 83.9 at +1), so the corners are drawn
# from a frown to a hint of a smile (-1 to 0.2), and the lower lip held (0.014: rolled in, +1,
# costs a closure and a silence, BIL40 95.5 and REST 97.8; pushed up, -1, closes open vowels,
# OPEN 88.2), so it is drawn from a little pushed up to rolled in (-0.2 to 1). Seeds 0 and 1 then
# differ by 0.044 and the 28 pairs of seeds 0-7 by 0.032 on average, every seed meeting every
# bar (`benchmarks.quality --diversity-seeds 8`).
TAKE_BANDS = {"jaw": {"centre": 0.15, "reach": [0.0, 0.15]}, "round": {"centre": -0.75, "reach": [0.0, 0.25]},
              "spread": {"centre": 0.75, "reach": [0.0, 0.25]}, "lips": {"centre": 0.0, "reach": [0.0, 1.0]},
              "asymmetry": {"centre": 0.0, "reach": [0.0, 1.0]}, "side": {"centre": 0.0, "reach": [0.4, 0.5]},
              "corners": {"centre": -0.4, "reach": [0.2, 0.6]}, "lower_lip": {"centre": 0.4, "reach": [0.2, 0.6]}}


def style_record() -> dict:
    """The diffusion sidecar's "style": the entries' names, the range they were learned over, and
    the bands takes draw them in."""
    return {"names": list(targets.STYLE_NAMES), "range": [-1.0, 1.0], "takes": TAKE_BANDS,
            "meaning": "the take: jaw, rounding, spreading and lip gains, lopsidedness (+ left), side "
                       "(+ mouthLeft), the corners held up (+ smile) or down (- frown), the lower lip held "
                       "rolled in (+) or pushed up (-); 0 is the average take; each seed draws every entry at "
                       "its band's centre plus or minus a reach in the band's, seeds in mirrored pairs"}


def export_diffusion(denoiser: models.Denoiser, audio_hidden: int, out_dir: Path, training: dict,
                     default_steps: int = 10, requires: str = ENCODER, gestures_from: str | None = None) -> Path:
    """The denoiser as diffusion.onnx with its sidecar, which names the model that gives it
    `audio_hidden` (`requires`: the encoder exported beside it) and, with `gestures_from`, the
    model whose drawn gestures (its `GESTURES` output) it imposes in place of its own (an input
    `GESTURES` [1, T, 2]; the sidecar's `GESTURES_FROM`)."""
    denoiser = denoiser.eval()
    path = out_dir / "diffusion.onnx"
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = 201
    sample = (torch.randn(1, frames, models.NUM_CHANNELS), torch.tensor([500.0]),
              torch.randn(1, frames, audio_hidden), torch.zeros(1, frames, models.NUM_EMOTIONS),
              torch.zeros(1, models.NUM_STYLE))
    names = ["noisy", "timestep", "audio_hidden", "emotion", "style"]
    inputs = {"noisy": [1, "T", models.NUM_CHANNELS], "timestep": [1], "audio_hidden": [1, "T", audio_hidden],
              "emotion": [1, "T", models.NUM_EMOTIONS], "style": [1, models.NUM_STYLE]}
    if gestures_from is not None:
        sample += (torch.rand(1, frames, len(models.GESTURES)),)
        names.append(GESTURES)
        inputs[GESTURES] = [1, "T", len(models.GESTURES)]
    torch.onnx.export(denoiser, sample, str(path), input_names=names,
                      output_names=["denoised"], opset_version=OPSET, dynamo=False,
                      dynamic_axes={**{name: {1: "T"} for name, shape in inputs.items() if "T" in shape},
                                    "denoised": {1: "T"}})
    sidecar = _common("diffusion", path, denoiser, training)
    if gestures_from is not None:
        sidecar.update({GESTURES_FROM: gestures_from, GESTURES: list(models.GESTURES)})
    sidecar.update({
        "inputs": inputs,
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
                    fine_tuned_from: int = 0, style_only: tuple[str, ...] = (), corpus: str | None = None) -> dict:
    """The sidecar's "training" entry (utterances, hours and voices per source): `command` the one
    that exported it, `snapshot` the checkpoint it came from (its cache folder and path there),
    `fine_tuned_from` the steps of the checkpoint its run started from (0: a run from scratch),
    `denoiser_alone` steps of a last fine-tune of the denoiser on its own (`style_only`: of these
    style entries' input columns alone), `corpus` the digest of the corpus the counts are of
    (`training.corpus.digest`: the same digest, the same corpus)."""
    run = "one run trains both models (training/train.py)"
    if fine_tuned_from:
        run += (f", fine-tuned on from a checkpoint of {fine_tuned_from} steps (python -m training train "
                "--init-from; the model card says which)")
    if denoiser_alone and style_only:
        run += (f", then the denoiser's input columns for the style entries {', '.join(style_only)} alone for "
                f"the last {denoiser_alone} of these steps, every other weight as it was (python -m training "
                "train --style-only)")
    elif denoiser_alone:
        run += (f", then the denoiser alone for the last {denoiser_alone} of these steps, on the frozen "
                "regression model (python -m training train --diffusion-only)")
    return {"steps": steps, "command": command, **({"snapshot": snapshot} if snapshot else {}),
            **({"corpus": corpus} if corpus else {}), "run": run,
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
