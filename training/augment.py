"""Waveform augmentation for training windows: speed (pitch and tempo), gain, noise, reverberation,
band-limiting. Pure numpy, seeded through the caller's `numpy.random.Generator`.

Tempo-only and pitch-only variety come from the synthesisers themselves (festival's
Duration_Stretch, espeak-ng's rate and pitch); `change_speed` changes both together, as a
faster tape does, and the caller scales the phone times by the same factor.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000


def change_speed(samples: np.ndarray, factor: float) -> np.ndarray:
    """Play `factor` times faster (factor > 1: shorter and higher); linear interpolation."""
    if abs(factor - 1.0) < 1e-6:
        return samples
    count = max(1, int(round(samples.size / factor)))
    positions = np.arange(count) * factor
    return np.interp(positions, np.arange(samples.size), samples).astype(np.float32)


def add_noise(samples: np.ndarray, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    """White or pink-ish noise at `snr_db` below the signal's active power."""
    power = float(np.mean(samples ** 2)) + 1e-10
    noise = rng.standard_normal(samples.size).astype(np.float32)
    if rng.random() < 0.5:   # pink-ish: a one-pole low-pass tilts the spectrum
        spectrum = np.fft.rfft(noise)
        spectrum /= np.sqrt(np.maximum(np.arange(spectrum.size), 1.0))
        noise = np.fft.irfft(spectrum, n=samples.size).astype(np.float32)
    noise *= np.sqrt(power / (float(np.mean(noise ** 2)) + 1e-12) / 10 ** (snr_db / 10))
    return samples + noise


def reverberate(samples: np.ndarray, rng: np.random.Generator, rt60: float) -> np.ndarray:
    """Convolve with a synthetic room: a direct path plus exponentially decaying noise."""
    length = int(rt60 * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60) * rng.uniform(0.1, 0.5)
    tail[: int(0.002 * SAMPLE_RATE)] = 0.0
    tail[0] = 1.0
    size = 1 << int(np.ceil(np.log2(samples.size + length)))
    wet = np.fft.irfft(np.fft.rfft(samples, size) * np.fft.rfft(tail, size), size)[: samples.size]
    wet *= np.sqrt((np.mean(samples ** 2) + 1e-12) / (np.mean(wet ** 2) + 1e-12))
    return wet.astype(np.float32)


def band_limit(samples: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """Remove everything above `cutoff_hz` (e.g. 4000: speech that went through 8 kHz audio)."""
    spectrum = np.fft.rfft(samples)
    freqs = np.fft.rfftfreq(samples.size, 1.0 / SAMPLE_RATE)
    spectrum[freqs > cutoff_hz] = 0.0
    return np.fft.irfft(spectrum, n=samples.size).astype(np.float32)


def augment(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random chain of the above on one window; silence stays silence apart from added noise."""
    out = np.asarray(samples, np.float32)
    if rng.random() < 0.3:
        out = reverberate(out, rng, rng.uniform(0.15, 0.7))
    if rng.random() < 0.25:
        out = band_limit(out, rng.uniform(3400.0, 7000.0))
    if rng.random() < 0.5:
        out = add_noise(out, rng, rng.uniform(8.0, 40.0))
    peak = float(np.max(np.abs(out))) + 1e-9
    gain_db = rng.uniform(-24.0, 0.0)
    return (out / peak * 10 ** (gain_db / 20) * rng.uniform(0.5, 1.0)).astype(np.float32)
