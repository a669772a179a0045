"""The speech-embedding front-end: the edited graph gives the original model's embeddings, on time,
for real speech of any length; missing or altered files are refused with the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from inference import embedding, features, onnx_edit
from inference.audio import load_audio
from inference.errors import ModelError

REPO = Path(__file__).resolve().parents[2]
LINE = REPO / "samples" / "line.wav"
FOLDER = embedding.find_folder()


@pytest.fixture(scope="module")
def line():
    return load_audio(LINE).samples


@pytest.fixture(scope="module")
def original():
    """The unedited embedding model, which takes exactly 76 mel frames."""
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(FOLDER / embedding.EMBEDDING_FILE), options,
                                        providers=["CPUExecutionProvider"])


def test_the_files_in_place_are_the_pinned_ones():
    for name, digest in embedding.FILES.items():
        assert len(embedding.verified_bytes(FOLDER / name, digest)) > 1_000_000


def test_every_frame_is_the_original_models_embedding_of_the_window_centred_on_it(line, original):
    frontend = embedding.load_frontend()
    got = embedding.embed(line, frontend=frontend)
    assert got.shape == (features.num_model_frames(features.num_feature_frames(line.size)), embedding.DIM)
    # the reference: the audio with CENTRE_SAMPLES of silence in front, its mel frames, and the
    # original graph on the 76 frames that start 4 m frames in (40 ms apart) for model frame 2 m
    padded = np.concatenate([np.zeros(embedding.CENTRE_SAMPLES, np.float32), line, np.zeros(16000, np.float32)])
    mel = embedding.mel_frames(frontend, padded)
    for m in range(0, got.shape[0] // 2, 7):
        window = mel[m * embedding.HOP_FRAMES:m * embedding.HOP_FRAMES + embedding.WINDOW_FRAMES]
        expected = original.run(None, {"input_1": window[None, :, :, None]})[0].reshape(-1)
        np.testing.assert_allclose(got[2 * m], expected, atol=1e-4, rtol=1e-5)
    # odd frames lie half way, 20 ms from both neighbours
    np.testing.assert_allclose(got[1:-1:2], 0.5 * (got[0:-2:2] + got[2::2]), atol=1e-5)


def test_a_window_centred_on_a_frame_is_that_frames_whatever_came_before(line, original):
    """Timing: the 775 ms of audio centred on model frame 2 m (at 640 m samples), alone, give
    (nearly: the mel floor is set per block) the embedding of frame 2 m."""
    got = embedding.embed(line)
    mel_model = embedding.load_frontend().mel
    span = (embedding.WINDOW_FRAMES - 1) * embedding.MEL_HOP + embedding.MEL_WINDOW
    close, shifted = [], []
    for m in range(8, got.shape[0] // 2 - 8, 5):
        start = 640 * m - embedding.CENTRE_SAMPLES
        alone = np.zeros(span, np.float32)
        part = line[max(start, 0):start + span]
        alone[max(start, 0) - start:max(start, 0) - start + part.size] = part
        mel = mel_model.run(None, {"input": (alone * embedding.INT16_SCALE)[None]})[0].reshape(-1, embedding.NUM_BANDS)
        reference = original.run(None, {"input_1": (mel / 10 + 2)[None, :, :, None]})[0].reshape(-1)
        close.append(np.abs(got[2 * m] - reference).mean())
        shifted.append(np.abs(got[2 * m + 4] - reference).mean())      # 80 ms later
    assert np.median(close) < 0.25 * np.median(shifted)


def test_long_audio_in_chunks_equals_one_pass(line, monkeypatch):
    long = np.tile(line, 5)
    whole = embedding.embed(long)
    monkeypatch.setattr(embedding, "EMBED_CHUNK", 37)
    np.testing.assert_allclose(embedding.embed(long), whole, atol=1e-4)


def test_short_audio_has_an_embedding_per_model_frame():
    for samples in (320, 1000, 4000):
        out = embedding.embed(np.zeros(samples, np.float32))
        assert out.shape == (features.num_model_frames(features.num_feature_frames(samples)), embedding.DIM)
        assert np.all(np.isfinite(out))


@pytest.mark.parametrize("damage", ["missing", "truncated", "altered"])
def test_a_missing_or_altered_file_is_refused_with_the_fix(tmp_path, damage):
    folder = tmp_path / embedding.FOLDER
    shutil.copytree(FOLDER, folder)
    target = folder / embedding.EMBEDDING_FILE
    if damage == "missing":
        target.unlink()
    elif damage == "truncated":
        target.write_bytes(target.read_bytes()[:5000])
    else:
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    embedding.clear_cache()
    with pytest.raises(ModelError, match=r"embedding_model\.onnx.*(missing|sha256).*scripts/setup\.sh"):
        embedding.load_frontend(tmp_path)
    embedding.clear_cache()


def test_the_graph_edit_refuses_a_graph_without_the_names():
    raw = (FOLDER / embedding.MEL_FILE).read_bytes()
    with pytest.raises(onnx_edit.OnnxEditError, match="input_1"):
        onnx_edit.edit_model(raw, embedding.EMBEDDING_SHAPES, embedding.EMBEDDING_CONSTANTS)
    with pytest.raises(onnx_edit.OnnxEditError):
        onnx_edit.edit_model(b"\x0a\xff\xff", {"x": [1]}, {})


def test_long_work_stops_when_cancelled(line):
    from inference.errors import CancelledError

    asked = []

    def cancel():
        asked.append(1)
        return len(asked) > 1

    with pytest.raises(CancelledError):
        embedding.embed(np.tile(line, 30), should_cancel=cancel)
    assert len(asked) == 2
