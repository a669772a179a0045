"""Augmentation for training windows, pure numpy, seeded through the caller's `numpy.random.Generator`.

Waveform: speed (pitch and tempo), gain, noise, reverberation, band-limiting (`augment`), and
breaths in the pauses (`add_breaths`: the targets there stay at rest).
Log-mel features (`augment_features`): a vocal-tract-length warp of the mel axis, a random smooth
equaliser curve, and SpecAugment-style masks of a few mel bands and a few short stretches of time.
The synthetic voices are learnt almost perfectly while real speakers are not; these are meant to
make the network rely less on any one voice's or microphone's spectrum (the README's model card
says how far that has got).

Tempo-only and pitch-only variety come from the synthesisers themselves (festival's
Duration_Stretch, espeak-ng's rate and pitch); `inference.voice.at_scale` changes both together,
as a faster tape does (the same resampling the neural engines use to lower a high voice), and the
caller scales the phone times by the same factor.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000


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


# Breaths: real speakers inhale audibly before and between phrases, and the mouth stays at rest for
# it. Synthetic speech has none and read speech few, and a network trained on them opened the lips for
# an audible breath before a line. A breath is turbulent noise, shaped by the vocal tract like an /h/, that swells
# and fades; it is put in a pause with room to spare before the next phone, at a level below the speech.
BREATH_PROBABILITY = 0.35        # per pause long enough to hold one
BREATH_SECONDS = (0.2, 0.6)
BREATH_MARGIN_S = 0.08           # clear of the phones either side, which the mouth anticipates
BREATH_BELOW_SPEECH_DB = (18.0, 40.0)


def breath_noise(length: int, rng: np.random.Generator) -> np.ndarray:
    """`length` samples of unit-RMS breath: noise through one or two broad resonances between 500 Hz
    and 4 kHz above a 150 Hz high-pass, under an envelope that swells and fades."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    octaves = np.log2(np.maximum(np.fft.rfftfreq(length, 1.0 / SAMPLE_RATE), 1.0))
    shape = np.full(octaves.size, 0.05)
    for _ in range(int(rng.integers(1, 3))):
        centre, width = np.log2(rng.uniform(500.0, 4000.0)), rng.uniform(0.4, 1.2)
        shape += np.exp(-0.5 * ((octaves - centre) / width) ** 2)
    shape[octaves < np.log2(150.0)] = 0.0
    noise = np.fft.irfft(spectrum * shape, n=length)
    peak_at = rng.uniform(0.3, 0.7)
    t = np.linspace(0.0, 1.0, length)
    envelope = np.where(t < peak_at, np.sin(0.5 * np.pi * t / peak_at),
                        np.cos(0.5 * np.pi * (t - peak_at) / (1.0 - peak_at))) ** 2
    noise *= envelope
    return (noise / (np.sqrt(np.mean(noise ** 2)) + 1e-12)).astype(np.float32)


def add_breaths(samples: np.ndarray, pauses: list[tuple[int, int]], speech_rms: float, rng: np.random.Generator,
                probability: float = BREATH_PROBABILITY) -> np.ndarray:
    """`samples` with a breath in some of the `pauses` ((start, end) sample ranges), each
    `BREATH_BELOW_SPEECH_DB` below `speech_rms`; everything outside the pauses is left as it is."""
    out = np.array(samples, np.float32)
    margin = int(BREATH_MARGIN_S * SAMPLE_RATE)
    shortest = int(BREATH_SECONDS[0] * SAMPLE_RATE)
    for start, end in pauses:
        room = (end - margin) - (start + margin)
        if room < shortest or speech_rms <= 0 or rng.random() >= probability:
            continue
        length = int(rng.integers(shortest, min(room, int(BREATH_SECONDS[1] * SAMPLE_RATE)) + 1))
        at = start + margin + int(rng.integers(0, room - length + 1))
        level = speech_rms * 10 ** (-rng.uniform(*BREATH_BELOW_SPEECH_DB) / 20)
        out[at:at + length] += level * breath_noise(length, rng)
    return out


# Feature-domain augmentation (log-mel [T, M]).
WARP_RANGE = (0.88, 1.12)        # vocal-tract-length factor on the mel axis
EQ_NATS = 1.0                    # largest tilt or bump of the equaliser curve, in log-power (1 nat = 4.3 dB)
BAND_MASKS, BAND_MASK_MAX = 2, 6           # mel bands
TIME_MASKS, TIME_MASK_MAX = 2, 4           # 10 ms feature frames: short, so closures stay audible


def warp_mels(features: np.ndarray, factor: float) -> np.ndarray:
    """The mel axis stretched by `factor` (> 1: formants move up, as for a shorter vocal tract)."""
    bins = features.shape[1]
    source = np.clip(np.arange(bins) / factor, 0, bins - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, bins - 1)
    frac = (source - low).astype(np.float32)
    return features[:, low] * (1 - frac) + features[:, high] * frac


def equaliser_curve(rng: np.random.Generator, bins: int) -> np.ndarray:
    """A smooth random gain per mel band (log-power): a tilt plus one broad bump or dip."""
    x = np.linspace(-1.0, 1.0, bins)
    tilt = rng.uniform(-EQ_NATS, EQ_NATS) * x
    centre, width = rng.uniform(-1.0, 1.0), rng.uniform(0.2, 0.6)
    bump = rng.uniform(-EQ_NATS, EQ_NATS) * np.exp(-0.5 * ((x - centre) / width) ** 2)
    return (tilt + bump).astype(np.float32)


def mask(features: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A few mel bands and short stretches of time set to the window's mean."""
    out = features.copy()
    frames, bins = out.shape
    fill = out.mean(axis=0)
    for _ in range(int(rng.integers(0, BAND_MASKS + 1))):
        width = int(rng.integers(1, BAND_MASK_MAX + 1))
        start = int(rng.integers(0, bins - width + 1))
        out[:, start:start + width] = fill[start:start + width]
    for _ in range(int(rng.integers(0, TIME_MASKS + 1))):
        width = int(rng.integers(1, TIME_MASK_MAX + 1))
        start = int(rng.integers(0, frames - width + 1))
        out[start:start + width] = fill
    return out


def augment_features(features: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random chain of the feature-domain augmentations on one window's log-mel features."""
    out = np.asarray(features, np.float32)
    if rng.random() < 0.7:
        out = warp_mels(out, float(rng.uniform(*WARP_RANGE)))
    if rng.random() < 0.7:
        out = out + equaliser_curve(rng, out.shape[1])
    if rng.random() < 0.5:
        out = mask(out, rng)
    return out.astype(np.float32)
