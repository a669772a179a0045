"""DDIM sampling for an x0-predicting denoiser, with RePaint-style inpainting, in plain numpy.

The sampler knows nothing about audio or ONNX: it takes `denoise(x_t, t) -> x0`, a callable that
returns the predicted clean sample in data space for a noisy sample `x_t` [T, C] at timestep `t`
(a float in [1, train_steps]), and a `CosineSchedule` (Nichol & Dhariwal 2021):

    alpha_bar(t) = f(t) / f(0),  f(t) = cos(((t / N) + s) / (1 + s) * pi / 2) ^ 2,  clipped to [1e-5, 1]

DDIM (Song et al. 2021) walks `steps` timesteps from N down to 0: x0 = denoise(x_t, t) clipped to
the data range, eps = (x_t - sqrt(ab_t) x0) / sqrt(1 - ab_t), x_s = sqrt(ab_s) x0 +
sqrt(1 - ab_s - sigma^2) eps + sigma z, with sigma = 0 for eta = 0 (deterministic given x_N).

Inpainting (Lugmayr et al. 2022, RePaint): entries of `Known.mask` are known. After every step
their entries of x_s are replaced by the known values noised to level s; `resample` redoes each
step that many more times after jumping back to level t with fresh noise, which lets the unknown
entries settle around the known ones. The result meets the known values exactly: the last clean
estimate is joined to them by the constraints' smooth correction (`settle_known`) rather than by
a hard paste, so a model that misses a known value a little leaves no step there.

All randomness (x_N, the noise on known values, eta and resampling noise) comes from one
`numpy.random.default_rng(seed)`: the same seed gives the same result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .constraints import correct_channel
from .errors import CancelledError

ALPHA_BAR_RANGE = (1e-5, 1.0)


@dataclass(frozen=True)
class CosineSchedule:
    """The cosine noise schedule over `train_steps` timesteps with offset `offset` (s)."""

    train_steps: int = 1000
    offset: float = 0.008

    def alpha_bar(self, t) -> np.ndarray:
        """Share of signal variance left at timestep(s) t, float64."""
        def f(step):
            return np.cos((np.asarray(step, np.float64) / self.train_steps + self.offset)
                          / (1.0 + self.offset) * np.pi / 2.0) ** 2
        return np.clip(f(t) / f(0.0), *ALPHA_BAR_RANGE)


@dataclass(frozen=True)
class Known:
    """Inpainting input: `mask` [T, C] bool marks known entries, `values` [T, C] their data-space values.

    `fade_frames` (shortest, longest): the span over which the final sample is joined to them
    (see `settle_known`).
    """

    mask: np.ndarray
    values: np.ndarray
    fade_frames: tuple[int, int]


def ddim_timesteps(steps: int, train_steps: int) -> np.ndarray:
    """`steps + 1` timesteps, float64, from `train_steps` down to 0 in near-equal strides."""
    if not 1 <= int(steps) <= train_steps:
        raise ValueError(f"steps must be between 1 and {train_steps}, got {steps}")
    return np.round(np.linspace(train_steps, 0, int(steps) + 1))


def ddim_step(x_t: np.ndarray, x0: np.ndarray, alpha_bar_t: float, alpha_bar_s: float, eta: float,
              rng: np.random.Generator) -> np.ndarray:
    """x_s from x_t and the predicted x0 (DDIM; eta = 0 deterministic, eta = 1 like DDPM)."""
    eps = (x_t - np.sqrt(alpha_bar_t) * x0) / np.sqrt(1.0 - alpha_bar_t)
    sigma = eta * np.sqrt((1.0 - alpha_bar_s) / (1.0 - alpha_bar_t) * (1.0 - alpha_bar_t / alpha_bar_s))
    x_s = np.sqrt(alpha_bar_s) * x0 + np.sqrt(max(1.0 - alpha_bar_s - sigma ** 2, 0.0)) * eps
    if sigma > 0:
        x_s = x_s + sigma * rng.standard_normal(x_t.shape, dtype=np.float32)
    return x_s.astype(np.float32)


def noise_to(x: np.ndarray, alpha_bar: float, rng: np.random.Generator) -> np.ndarray:
    """Clean `x` noised to the level `alpha_bar` (q(x_t | x_0))."""
    return (np.sqrt(alpha_bar) * x + np.sqrt(1.0 - alpha_bar) * rng.standard_normal(x.shape, dtype=np.float32)
            ).astype(np.float32)


def renoise(x_s: np.ndarray, alpha_bar_s: float, alpha_bar_t: float, rng: np.random.Generator) -> np.ndarray:
    """Jump back from level s to the noisier level t (q(x_t | x_s)), for resampling."""
    ratio = alpha_bar_t / alpha_bar_s
    return (np.sqrt(ratio) * x_s + np.sqrt(1.0 - ratio) * rng.standard_normal(x_s.shape, dtype=np.float32)
            ).astype(np.float32)


def paste_known(x: np.ndarray, known: Known | None, alpha_bar: float, rng: np.random.Generator) -> np.ndarray:
    """`x` with its known entries replaced by the known values noised to `alpha_bar`."""
    if known is None:
        return x
    return np.where(known.mask, noise_to(known.values, alpha_bar, rng), x).astype(np.float32)


def settle_known(x0: np.ndarray, known: Known, data_range: tuple[float, float]) -> np.ndarray:
    """The clean sample `x0` meeting the known values exactly, joined to them smoothly.

    A hard paste would leave a step wherever the model's last estimate missed a known value;
    the constraints' smooth correction spreads that miss over the neighbouring frames instead.
    """
    out = x0.astype(np.float32)
    for column in np.flatnonzero(known.mask.any(axis=0)):
        frames = np.flatnonzero(known.mask[:, column])
        out[:, column] = correct_channel(x0[:, column], frames, known.values[frames, column], *known.fade_frames,
                                         value_range=data_range)
    return out


def sample(denoise: Callable[[np.ndarray, float], np.ndarray], shape: tuple[int, int], schedule: CosineSchedule,
           steps: int, seed: int, *, eta: float = 0.0, known: Known | None = None, resample: int = 0,
           data_range: tuple[float, float] = (-1.0, 1.0), progress=None, should_cancel=None) -> np.ndarray:
    """A clean sample [T, C] float32 in data space.

    `progress(done, total)` is called after each denoiser evaluation (total = steps x
    (1 + resample)); `should_cancel()` is asked before each and raises `CancelledError`.
    """
    if known is not None and (known.mask.shape != tuple(shape) or known.values.shape != tuple(shape)):
        raise ValueError(f"inpainting mask and values must be {tuple(shape)}, got {known.mask.shape} "
                         f"and {known.values.shape}")
    if int(resample) < 0 or not eta >= 0:
        raise ValueError("resample and eta must not be negative")
    rng = np.random.default_rng(seed)
    timesteps = ddim_timesteps(steps, schedule.train_steps)
    alpha_bars = schedule.alpha_bar(timesteps)
    x = paste_known(rng.standard_normal(shape, dtype=np.float32), known, alpha_bars[0], rng)
    total, done = int(steps) * (1 + int(resample)), 0
    for i, t in enumerate(timesteps[:-1]):
        for attempt in range(1 + int(resample)):
            if should_cancel is not None and should_cancel():
                raise CancelledError("Cancelled; nothing was written.")
            x0 = np.clip(denoise(x, float(t)), *data_range)
            x_s = ddim_step(x, x0, alpha_bars[i], alpha_bars[i + 1], eta, rng)
            x_s = paste_known(x_s, known, alpha_bars[i + 1], rng)
            done += 1
            if progress is not None:
                progress(done, total)
            if attempt < int(resample):
                x = renoise(x_s, alpha_bars[i + 1], alpha_bars[i], rng)
        x = x_s
    return x if known is None else settle_known(x0, known, data_range)
