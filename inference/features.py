"""Audio features for the neural engines: log-mel frames at 100 per second, in plain numpy.

Training computes its inputs with this very function, so the shipped models see at run time
exactly what they saw when they learned. Frame i is centred on sample i * HOP (zero padding at
both ends), so frame i lies at i / FEATURE_RATE seconds; the models emit one output frame per two
feature frames (MODEL_FPS = 50), output frame j at j / MODEL_FPS seconds.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 512
WINDOW = 400                 # 25 ms
HOP = 160                    # 10 ms
FEATURE_RATE = SAMPLE_RATE / HOP
NUM_MELS = 64
MEL_RANGE_HZ = (60.0, 7600.0)
LOG_FLOOR = 1e-6
MODEL_STRIDE = 2
MODEL_FPS = FEATURE_RATE / MODEL_STRIDE
_CHUNK_FRAMES = 3000         # 30 s per block keeps memory flat on hour-long audio


def _hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, np.float64) / 700.0)


def _mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, np.float64) / 2595.0) - 1.0)


def mel_filterbank() -> np.ndarray:
    """Triangular HTK-mel filters [N_FFT // 2 + 1, NUM_MELS], float32."""
    edges = _mel_to_hz(np.linspace(*_hz_to_mel(MEL_RANGE_HZ), NUM_MELS + 2))
    bins = np.arange(N_FFT // 2 + 1) * SAMPLE_RATE / N_FFT
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).T.astype(np.float32)


_FILTERS = mel_filterbank()
_WINDOW = np.zeros(N_FFT, np.float32)
_WINDOW[(N_FFT - WINDOW) // 2:(N_FFT + WINDOW) // 2] = np.hanning(WINDOW + 2)[1:-1]


def num_feature_frames(num_samples: int) -> int:
    return int(num_samples) // HOP + 1


def num_model_frames(num_feature_frames_: int) -> int:
    return (int(num_feature_frames_) + MODEL_STRIDE - 1) // MODEL_STRIDE


def log_mel(samples: np.ndarray) -> np.ndarray:
    """Log-mel features [T, NUM_MELS] float32 of 16 kHz mono samples; T = len // HOP + 1."""
    samples = np.asarray(samples, np.float32).reshape(-1)
    total = num_feature_frames(samples.size)
    padded = np.pad(samples, (N_FFT // 2, N_FFT // 2 + HOP))
    out = np.empty((total, NUM_MELS), np.float32)
    for first in range(0, total, _CHUNK_FRAMES):
        count = min(_CHUNK_FRAMES, total - first)
        starts = (first + np.arange(count)) * HOP
        frames = padded[starts[:, None] + np.arange(N_FFT)[None, :]] * _WINDOW
        power = np.abs(np.fft.rfft(frames, axis=1)).astype(np.float32) ** 2
        out[first:first + count] = np.log(power @ _FILTERS + LOG_FLOOR)
    return out
