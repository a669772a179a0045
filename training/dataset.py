"""Training windows: a random piece of a random utterance, augmented, with features and targets.

A window is WINDOW_S seconds. Short utterances sit at a random place in it, padded with silence
(the phones with `sil`); long ones are cropped at a random model frame. Targets are computed on the
whole (padded, speed-changed) utterance and then cropped, so coarticulation at the window's edges is
right. Every crop starts on a model frame (320 samples), so feature frames, model frames and
targets stay aligned exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference import voice
from inference.embedding import DIM as EMBEDDING_DIM
from inference.features import HOP, MODEL_FPS, MODEL_STRIDE, log_mel, num_feature_frames, num_model_frames
from inference.phonemes import SILENCE, PhoneInterval

from . import augment, targets
from .corpus import EMBEDDING_PAD_S, SAMPLE_RATE, Utterance

WINDOW_S = 4.0
FRAME_SAMPLES = HOP * MODEL_STRIDE
WINDOW_SAMPLES = int(WINDOW_S * SAMPLE_RATE)
WINDOW_FEATURES = num_feature_frames(WINDOW_SAMPLES)
WINDOW_FRAMES = num_model_frames(WINDOW_FEATURES)

# Real speech is closest to what animators bring. Speech Commands (hundreds of speakers and
# microphones, each clip aligned to its known word) is drawn most; LibriSpeech and LJSpeech have no
# transcripts here, so their phones come from recognised words, which are sometimes wrong, and a
# network trained on them long enough learns those mistakes too: with LibriSpeech at 0.30 and
# Speech Commands at 0.20 the lips closed at fewer of timit_dev's bilabials as training went on
# (README, *Benchmarks*, *Training runs*). pocketsphinx's test data is only 10 clips, so it is drawn rarely.
SOURCE_WEIGHTS = {"festival": 0.20, "espeak": 0.12, "librispeech": 0.10, "speech_commands": 0.38, "fsdd": 0.06,
                  "ljspeech": 0.04, "pocketsphinx": 0.05}



@dataclass
class Batch:
    features: np.ndarray   # [B, F, 64]
    embedding: np.ndarray  # [B, T, 96]: the speech embedding at model frames
    emotion: np.ndarray    # [B, T, 8]
    targets: np.ndarray    # [B, T, 52]
    gestures: np.ndarray   # [B, T, 2]: the seal and rounding (`models.GESTURES`)
    style: np.ndarray      # [B, NUM_STYLE]: the take's style as the denoiser sees it


def _pad_phones(phones, before_s: float, total_s: float) -> list[PhoneInterval]:
    shifted = [PhoneInterval(p.phone, p.start + before_s, p.end + before_s) for p in phones]
    out = []
    if before_s > 0:
        out.append(PhoneInterval(SILENCE, 0.0, shifted[0].start if shifted else before_s))
    out.extend(shifted)
    end = out[-1].end if out else 0.0
    if total_s > end:
        out.append(PhoneInterval(SILENCE, end, total_s))
    return out


def _pauses(phones: list[PhoneInterval], crop: int) -> list[tuple[int, int]]:
    """The silences of `phones` as sample ranges of the window that starts at sample `crop`."""
    ranges = ((int(round(p.start * SAMPLE_RATE)) - crop, int(round(p.end * SAMPLE_RATE)) - crop)
              for p in phones if p.phone == SILENCE)
    return [(max(start, 0), min(end, WINDOW_SAMPLES)) for start, end in ranges
            if end > 0 and start < WINDOW_SAMPLES]


def window_embedding(embedding: np.ndarray | None, first_sample: int, factor: float) -> np.ndarray:
    """The speech embedding [WINDOW_FRAMES, 96] of a window whose frame 0 is `first_sample` samples
    into the utterance as sped up by `factor`, read off the utterance's stored embedding (clean
    audio, EMBEDDING_PAD_S of silence either side) by linear interpolation; beyond its ends the
    embedding of silence it ends with. Zeros for an utterance without one (e.g. the smoke test's)."""
    if embedding is None:
        return np.zeros((WINDOW_FRAMES, EMBEDDING_DIM), np.float32)
    times = (first_sample + np.arange(WINDOW_FRAMES) * FRAME_SAMPLES) * factor / SAMPLE_RATE
    position = np.clip(times * MODEL_FPS + EMBEDDING_PAD_S * MODEL_FPS, 0, len(embedding) - 1)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, len(embedding) - 1)
    weight = (position - low)[:, None].astype(np.float32)
    return (embedding[low].astype(np.float32) * (1 - weight) + embedding[high].astype(np.float32) * weight)


def make_window(utt: Utterance, rng: np.random.Generator, augment_audio: bool = True,
                style: bool = True, augment_features: bool = True
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(features [F, 64], embedding [T, 96], emotion [T, 8], targets [T, 52], gestures [T, 2],
    style [NUM_STYLE]) for one random window of `utt`.

    `augment_audio` changes the speed and the waveform (breaths in the pauses among it);
    `augment_features` (with it) also warps, equalises and masks the log-mel features. The
    embedding follows the speed change; it is the clean audio's (see `window_embedding`).
    """
    samples = utt.samples.astype(np.float32) / 32768.0
    factor = float(rng.uniform(0.85, 1.15)) if augment_audio and rng.random() < 0.5 else 1.0
    samples = voice.at_scale(samples, factor)
    phones = [PhoneInterval(p.phone, p.start / factor, p.end / factor) for p in utt.phones]

    slack = WINDOW_SAMPLES - samples.size
    before = int(rng.integers(0, slack // FRAME_SAMPLES + 1)) * FRAME_SAMPLES if slack > 0 else 0
    total = max(WINDOW_SAMPLES, before + samples.size)
    total = int(np.ceil(total / FRAME_SAMPLES)) * FRAME_SAMPLES
    padded = np.zeros(total, np.float32)
    padded[before:before + samples.size] = samples
    crop = int(rng.integers(0, (total - WINDOW_SAMPLES) // FRAME_SAMPLES + 1)) * FRAME_SAMPLES

    weights = targets.sample_emotion(rng, WINDOW_FRAMES)
    full_frames = total // FRAME_SAMPLES + 1
    first = crop // FRAME_SAMPLES
    full_weights = np.zeros((full_frames, weights.shape[1]), np.float32)
    full_weights[:] = weights[0]
    full_weights[first:first + WINDOW_FRAMES] = weights
    full_weights[first + WINDOW_FRAMES:] = weights[-1]
    take = targets.sample_style(rng) if style else None
    padded_phones = _pad_phones(phones, before / SAMPLE_RATE, total / SAMPLE_RATE)
    values, gestures = targets.target_curves(padded_phones, total / SAMPLE_RATE, full_weights, take)
    window_targets = values[first:first + WINDOW_FRAMES]
    window_audio = padded[crop:crop + WINDOW_SAMPLES]
    if augment_audio:
        speech_rms = float(np.sqrt(np.mean(samples ** 2)))
        window_audio = augment.add_breaths(window_audio, _pauses(padded_phones, crop), speech_rms, rng)
        window_audio = augment.augment(window_audio, rng)
    features = log_mel(window_audio)
    if augment_audio and augment_features:
        features = augment.augment_features(features, rng)
    assert features.shape[0] == WINDOW_FEATURES and window_targets.shape[0] == WINDOW_FRAMES
    embedding = window_embedding(utt.embedding, crop - before, factor)
    return (features, embedding, weights, window_targets, gestures[first:first + WINDOW_FRAMES],
            targets.style_vector(take))


class Sampler:
    """Random windows from the corpus, sources drawn by `source_weights` (default `SOURCE_WEIGHTS`,
    renormalised over the sources the corpus has; a source missing from them is never drawn)."""

    def __init__(self, corpus: dict[str, list[Utterance]], seed: int, augment_audio: bool = True,
                 style: bool = True, augment_features: bool = True, source_weights: dict[str, float] | None = None):
        source_weights = SOURCE_WEIGHTS if source_weights is None else source_weights
        self.sources = [name for name in corpus if corpus[name] and source_weights.get(name, 0.0) > 0]
        if not self.sources:
            raise ValueError(f"no corpus source has a weight above 0 (corpus: {', '.join(corpus)}; "
                             f"weights: {source_weights})")
        weights = np.array([source_weights[name] for name in self.sources])
        self.probabilities = weights / weights.sum()
        self.corpus = corpus
        self.rng = np.random.default_rng(seed)
        self.augment_audio = augment_audio
        self.style = style
        self.augment_features = augment_features

    def batch(self, size: int) -> Batch:
        items = []
        for _ in range(size):
            source = self.sources[self.rng.choice(len(self.sources), p=self.probabilities)]
            utts = self.corpus[source]
            items.append(make_window(utts[self.rng.integers(len(utts))], self.rng, self.augment_audio, self.style,
                                     self.augment_features))
        return Batch(*(np.stack(column) for column in zip(*items)))
