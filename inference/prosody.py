"""Prosody: per-frame energy, voicing and pitch of speech, and the prosodic accents they carry.

Input is mono float32 audio at 16 kHz (what `inference.audio` returns); output is sampled at a
frame rate `fps`, frame i centred on `start + i / fps` seconds, like `Curves`:

- `energy_db` [T] float32: RMS level of a 40 ms window in dB re full scale (floor `ENERGY_FLOOR_DB`),
- `f0` [T] float32: fundamental frequency in Hz (60-500), 0 on unvoiced frames: a vectorised YIN
  (the cumulative-mean-normalised difference function, by FFT, on audio decimated to 8 kHz,
  with parabolic refinement and a 50 ms median filter inside voiced stretches),
- `voiced` [T] bool and `periodicity` [T] float32 (1 - the YIN dip, 0..1),
- `detect_accents` finds prosodic accents: peaks of a pitch + energy salience on voiced stretches,
  at least `min_spacing` seconds apart, each with a strength 0..1,
- `pause_times` finds the starts of pauses (phrase boundaries) for layers that like them.

Pure numpy; 60 s of audio analyses in about 0.1 s at 30-60 fps (see benchmarks/layers.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .curves import num_frames_for

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000

# Analysis window: 40 ms holds two periods of the lowest pitch tracked.
WINDOW_SECONDS = 0.040
F0_MIN_HZ = 60.0
F0_MAX_HZ = 500.0
# YIN: the first dip of the normalised difference below this threshold is the period.
YIN_THRESHOLD = 0.15
# A frame is voiced when its best dip is below this and it is loud enough.
VOICING_MAX_DIP = 0.35
VOICING_MIN_DB_BELOW_PEAK = 40.0
VOICING_MIN_DB = -60.0
ENERGY_FLOOR_DB = -100.0
# Median filter over voiced frames (seconds) that removes isolated octave jumps.
F0_MEDIAN_SECONDS = 0.05
# Pitch is tracked on audio decimated to this rate (half the work; speech F0 needs far less).
PITCH_SAMPLE_RATE = 8000
# Half-band low-pass (Hann-windowed sinc) applied before decimating.
DECIMATION_TAPS = 31
DECIMATION_BLOCK = 1 << 16     # output samples per product
# Frames analysed per batch (energy windows, pitch FFTs): bounds memory on long files.
BATCH_FRAMES = 2048

# Accents: salience = z(pitch in semitones) + z(energy in dB), both measured over voiced frames,
# each relative to a slowly moving baseline so declination and loudness drift do not count.
ACCENT_BASELINE_SECONDS = 1.5
ACCENT_SMOOTH_SECONDS = 0.06
ACCENT_PITCH_WEIGHT = 0.6
ACCENT_ENERGY_WEIGHT = 0.4
ACCENT_MIN_SALIENCE = 0.5
# Strength = 1 - exp(-salience / ACCENT_SALIENCE_SCALE): monotonic, 0.39 at 1, 0.63 at 2.
ACCENT_SALIENCE_SCALE = 2.0
ACCENT_MIN_SPACING = 0.3
# Voiced stretches shorter than this carry no accent (clicks, voiced consonant edges).
ACCENT_MIN_VOICED_SECONDS = 0.06

# Pauses: unvoiced, quiet stretches at least this long (phrase boundaries, breaths).
PAUSE_MIN_SECONDS = 0.2
PAUSE_DB_BELOW_PEAK = 30.0


@dataclass(frozen=True)
class Prosody:
    """Per-frame prosodic features at `fps`, frame i centred on `start + i / fps` seconds."""

    fps: float
    energy_db: np.ndarray
    f0: np.ndarray
    voiced: np.ndarray
    periodicity: np.ndarray
    start: float = 0.0

    @property
    def num_frames(self) -> int:
        return int(self.energy_db.shape[0])

    def times(self) -> np.ndarray:
        return self.start + np.arange(self.num_frames, dtype=np.float64) / self.fps


@dataclass(frozen=True)
class Accents:
    """Prosodic accents: `times` in seconds (sorted) and `strengths` 0..1, both [N] float64."""

    times: np.ndarray
    strengths: np.ndarray

    def __len__(self) -> int:
        return int(len(self.times))


def _frame_windows(samples: np.ndarray, fps: float, frames: np.ndarray, length: int, sample_rate: int) -> np.ndarray:
    """[len(frames), length] float32 windows, each starting `length // 2` before its frame's time.

    Zeros stand in beyond the ends. Only the stretch of `samples` the frames cover is copied, so
    calling this batch by batch costs time linear in the clip's length."""
    centres = np.rint(np.asarray(frames) * sample_rate / fps).astype(np.int64)
    starts = np.clip(centres - length // 2, -length, len(samples))
    if starts.size == 0:
        return np.zeros((0, length), np.float32)
    lo, hi = int(starts.min()), int(starts.max()) + length
    segment = np.zeros(hi - lo, np.float32)
    first, last = max(lo, 0), min(hi, len(samples))
    if last > first:
        segment[first - lo:last - lo] = samples[first:last]
    return np.lib.stride_tricks.sliding_window_view(segment, length)[starts - lo]


def frame_energy_db(samples: np.ndarray, fps: float, sample_rate: int = SAMPLE_RATE,
                    num_frames: int | None = None) -> np.ndarray:
    """RMS level in dBFS of a `WINDOW_SECONDS` window around each frame, [T] float32."""
    samples = np.asarray(samples, dtype=np.float32)
    if num_frames is None:
        num_frames = num_frames_for(len(samples) / sample_rate, fps)
    length = int(round(WINDOW_SECONDS * sample_rate))
    rms = np.zeros(num_frames, np.float64)
    for lo in range(0, num_frames, BATCH_FRAMES):
        hi = min(lo + BATCH_FRAMES, num_frames)
        frames = _frame_windows(samples, fps, np.arange(lo, hi), length, sample_rate).astype(np.float64)
        rms[lo:hi] = np.sqrt(np.mean(frames * frames, axis=1))
    return np.maximum(20.0 * np.log10(rms + 1e-12), ENERGY_FLOOR_DB).astype(np.float32)


def _yin_batch(windows: np.ndarray, width: int, max_lag: int, n_fft: int) -> np.ndarray:
    """Cumulative-mean-normalised difference d'(tau) for tau in [0, max_lag], [B, max_lag + 1].

    d(tau) = sum_{j<width} (x_j - x_{j+tau})^2 = E(0, width) + E(tau, tau+width) - 2 r(tau),
    with r(tau) the cross-correlation of the first `width` samples with the whole window.
    """
    x = windows.astype(np.float64)
    head = np.zeros_like(x)
    head[:, :width] = x[:, :width]
    spec = np.fft.rfft(x, n_fft) * np.conj(np.fft.rfft(head, n_fft))
    r = np.fft.irfft(spec, n_fft)[:, : max_lag + 1]
    csum = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x * x, axis=1)], axis=1)
    lags = np.arange(max_lag + 1)
    energy_lag = csum[:, lags + width] - csum[:, lags]
    diff = np.maximum(energy_lag[:, :1] + energy_lag - 2.0 * r, 0.0)
    cum = np.cumsum(diff[:, 1:], axis=1)
    norm = np.ones_like(diff)
    norm[:, 1:] = diff[:, 1:] * lags[1:] / np.maximum(cum, 1e-12)
    return norm


def _pick_periods(norm: np.ndarray, min_lag: int, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Period (fractional samples) and dip depth of each row of d'(tau)."""
    rows = np.arange(norm.shape[0])
    search = norm[:, min_lag : max_lag + 1]
    below = search < YIN_THRESHOLD
    # Walk from the first sub-threshold lag to the bottom of that dip.
    rising = np.zeros_like(below)
    rising[:, :-1] = search[:, 1:] >= search[:, :-1]
    rising[:, -1] = True
    has_dip = below.any(axis=1)
    first = np.argmax(below, axis=1)
    after = rising & (np.arange(search.shape[1])[None, :] >= first[:, None])
    dip = np.argmax(after, axis=1)
    fallback = np.argmin(search, axis=1)
    best = np.where(has_dip, dip, fallback) + min_lag
    # Parabolic interpolation around the dip.
    lo = np.clip(best - 1, 0, norm.shape[1] - 1)
    hi = np.clip(best + 1, 0, norm.shape[1] - 1)
    a, b, c = norm[rows, lo], norm[rows, best], norm[rows, hi]
    denom = a - 2.0 * b + c
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (a - c) / np.where(denom == 0, 1.0, denom), 0.0)
    shift = np.clip(shift, -0.5, 0.5)
    return best + shift, b


def _median_filter(values: np.ndarray, size: int) -> np.ndarray:
    if size < 3:
        return values
    half = size // 2
    padded = np.pad(values, (half, half), mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, size), axis=1)


def _smooth_voiced_f0(f0: np.ndarray, voiced: np.ndarray, size: int) -> np.ndarray:
    """Median-filter f0 inside each voiced stretch (unvoiced frames are left out)."""
    out = f0.copy()
    for lo, hi in _runs(voiced):
        if hi - lo >= 3:
            out[lo:hi] = _median_filter(f0[lo:hi], min(size, (hi - lo) | 1))
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the True stretches of a boolean array."""
    padded = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def _decimate(samples: np.ndarray, factor: int) -> np.ndarray:
    """Low-pass (windowed sinc at the new Nyquist) and keep every `factor`-th sample."""
    if factor <= 1:
        return samples
    n = np.arange(DECIMATION_TAPS) - (DECIMATION_TAPS - 1) / 2
    kernel = np.sinc(n / factor) / factor * np.hanning(DECIMATION_TAPS + 2)[1:-1]
    kernel = (kernel / kernel.sum()).astype(np.float32)
    half = DECIMATION_TAPS // 2
    padded = np.pad(samples.astype(np.float32, copy=False), (half, half))
    # Only every `factor`-th output is needed: matrix-vector products over strided windows, a block
    # at a time (a product copies its windows, so one over a long clip would take gigabytes).
    windows = np.lib.stride_tricks.sliding_window_view(padded, DECIMATION_TAPS)[::factor]
    out = np.empty(len(windows), np.float32)
    for lo in range(0, len(windows), DECIMATION_BLOCK):
        out[lo:lo + DECIMATION_BLOCK] = windows[lo:lo + DECIMATION_BLOCK] @ kernel[::-1]
    return out


def track_pitch(samples: np.ndarray, fps: float, sample_rate: int = SAMPLE_RATE,
                num_frames: int | None = None, f0_min: float = F0_MIN_HZ,
                f0_max: float = F0_MAX_HZ) -> tuple[np.ndarray, np.ndarray]:
    """F0 in Hz (0 where no period is found) and periodicity 0..1 per frame, both [T] float32.

    Voicing by periodicity alone; `analyse` adds the loudness condition.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if num_frames is None:
        num_frames = num_frames_for(len(samples) / sample_rate, fps)
    factor = max(int(sample_rate // PITCH_SAMPLE_RATE), 1)
    if factor > 1 and sample_rate % factor == 0:
        samples = _decimate(samples, factor)
        sample_rate //= factor
    width = int(round(WINDOW_SECONDS * sample_rate))
    max_lag = int(np.ceil(sample_rate / f0_min))
    min_lag = max(int(np.floor(sample_rate / f0_max)), 2)
    length = width + max_lag + 1
    n_fft = 1 << int(np.ceil(np.log2(length)))
    f0 = np.zeros(num_frames, np.float32)
    dips = np.ones(num_frames, np.float32)
    for lo in range(0, num_frames, BATCH_FRAMES):
        hi = min(lo + BATCH_FRAMES, num_frames)
        windows = _frame_windows(samples, fps, np.arange(lo, hi), length, sample_rate)
        norm = _yin_batch(windows, width, max_lag, n_fft)
        period, dip = _pick_periods(norm, min_lag, max_lag)
        f0[lo:hi] = sample_rate / np.maximum(period, 1.0)
        dips[lo:hi] = dip
    periodicity = np.clip(1.0 - dips, 0.0, 1.0).astype(np.float32)
    f0 = np.where(dips < VOICING_MAX_DIP, f0, 0.0).astype(np.float32)
    return f0, periodicity


def analyse(samples: np.ndarray, fps: float, sample_rate: int = SAMPLE_RATE, start: float = 0.0,
            num_frames: int | None = None, f0_min: float = F0_MIN_HZ, f0_max: float = F0_MAX_HZ) -> Prosody:
    """Energy, pitch and voicing of `samples` (mono float32) at `fps` frames per second."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"prosody needs mono samples [N], got shape {samples.shape}")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if num_frames is None:
        num_frames = num_frames_for(len(samples) / sample_rate, fps)
    energy = frame_energy_db(samples, fps, sample_rate, num_frames)
    f0, periodicity = track_pitch(samples, fps, sample_rate, num_frames, f0_min, f0_max)
    peak_db = float(np.percentile(energy, 99)) if num_frames else 0.0
    loud = (energy > peak_db - VOICING_MIN_DB_BELOW_PEAK) & (energy > VOICING_MIN_DB)
    voiced = (f0 > 0) & loud
    size = max(int(round(F0_MEDIAN_SECONDS * fps)) | 1, 3)
    f0 = np.where(voiced, _smooth_voiced_f0(f0, voiced, size), 0.0).astype(np.float32)
    log.debug("prosody: %d frames, %.0f%% voiced", num_frames, 100.0 * voiced.mean() if num_frames else 0)
    return Prosody(float(fps), energy, f0, voiced, periodicity, float(start))


def _moving_average(values: np.ndarray, size: int) -> np.ndarray:
    if size < 2:
        return values.astype(np.float64)
    kernel = np.ones(size) / size
    half = size // 2
    padded = np.pad(values.astype(np.float64), (half, size - 1 - half), mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def _masked_baseline(values: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
    """Moving average of `values` over the frames where `mask` holds (interpolated elsewhere)."""
    weights = _moving_average(mask.astype(np.float64), size)
    sums = _moving_average(np.where(mask, values, 0.0), size)
    base = np.where(weights > 1e-6, sums / np.maximum(weights, 1e-6), np.nan)
    good = np.isfinite(base)
    if not good.any():
        return np.zeros_like(values, dtype=np.float64)
    idx = np.arange(len(values))
    return np.interp(idx, idx[good], base[good])


def accent_salience(prosody: Prosody) -> np.ndarray:
    """Per-frame accent salience [T] float64: pitch and energy prominence on voiced frames, else 0."""
    voiced = np.asarray(prosody.voiced, bool).copy()
    min_run = max(int(round(ACCENT_MIN_VOICED_SECONDS * prosody.fps)), 1)
    for lo, hi in _runs(voiced):
        if hi - lo < min_run:
            voiced[lo:hi] = False
    if voiced.sum() < 3:
        return np.zeros(prosody.num_frames)
    semitones = 12.0 * np.log2(np.maximum(prosody.f0, 1.0) / 100.0)
    energy = prosody.energy_db.astype(np.float64)
    base_size = max(int(round(ACCENT_BASELINE_SECONDS * prosody.fps)), 3)
    pitch_rel = semitones - _masked_baseline(semitones, voiced, base_size)
    energy_rel = energy - _masked_baseline(energy, voiced, base_size)

    def z(values):
        spread = float(np.std(values[voiced]))
        return values / max(spread, 1e-6)

    salience = ACCENT_PITCH_WEIGHT * z(pitch_rel) + ACCENT_ENERGY_WEIGHT * z(energy_rel)
    salience = np.where(voiced, salience, -np.inf)
    smooth = max(int(round(ACCENT_SMOOTH_SECONDS * prosody.fps)), 1)
    finite = np.where(voiced, salience, 0.0)
    smoothed = _moving_average(finite, smooth) / np.maximum(_moving_average(voiced.astype(float), smooth), 1e-6)
    return np.where(voiced, smoothed, 0.0)


def detect_accents(prosody: Prosody, min_spacing: float = ACCENT_MIN_SPACING,
                   min_salience: float = ACCENT_MIN_SALIENCE) -> Accents:
    """Prosodic accents: local peaks of `accent_salience`, strongest first, `min_spacing` s apart."""
    salience = accent_salience(prosody)
    n = len(salience)
    if n < 3:
        return Accents(np.zeros(0), np.zeros(0))
    is_peak = np.zeros(n, bool)
    is_peak[1:-1] = (salience[1:-1] >= salience[:-2]) & (salience[1:-1] > salience[2:])
    is_peak &= salience >= min_salience
    candidates = np.flatnonzero(is_peak)
    order = candidates[np.argsort(-salience[candidates], kind="stable")]
    # Greedy non-maximum suppression: a kept peak blocks every frame closer than min_spacing.
    reach = int(np.ceil(min_spacing * prosody.fps - 1e-9))
    blocked = np.zeros(n, bool)
    kept: list[int] = []
    for frame in order:
        if not blocked[frame]:
            kept.append(int(frame))
            blocked[max(frame - reach + 1, 0) : frame + reach] = True
    kept.sort()
    frames = np.asarray(kept, dtype=np.int64)
    times = prosody.start + frames / prosody.fps
    strengths = 1.0 - np.exp(-np.maximum(salience[frames], 0.0) / ACCENT_SALIENCE_SCALE)
    return Accents(times.astype(np.float64), strengths.astype(np.float64))


def pause_times(prosody: Prosody, min_pause: float = PAUSE_MIN_SECONDS) -> np.ndarray:
    """Start times (s) of pauses: quiet, unvoiced stretches of at least `min_pause` after speech."""
    if prosody.num_frames == 0:
        return np.zeros(0)
    peak_db = float(np.percentile(prosody.energy_db, 99))
    quiet = (~np.asarray(prosody.voiced, bool)) & (prosody.energy_db < peak_db - PAUSE_DB_BELOW_PEAK)
    min_frames = max(int(round(min_pause * prosody.fps)), 1)
    starts = [lo for lo, hi in _runs(quiet) if hi - lo >= min_frames and lo > 0]
    return prosody.start + np.asarray(starts, dtype=np.float64) / prosody.fps
