"""The ranges of every number a user gives Lipkit, defined once and checked the same way at every
boundary: the headless commands (a usage error, exit code 2), shot lists (a row error) and the
operators and properties in Blender (property limits, and a report for what a scene holds).

Each `check_*` takes a number (int or float, never text or a bool) and returns it (as int/float)
or raises `ValueError` with a sentence naming the setting, its range and the value given.
"""

from __future__ import annotations

import math
import numbers

# Frame rates: the slowest and fastest output a person animates at (Blender's own fps field stops at 120).
MIN_FPS = 1.0
MAX_FPS = 240.0
# Seeds are stored in Blender's 32-bit signed int properties.
MIN_SEED = 0
MAX_SEED = 2**31 - 1
# Scene frames: Blender's own frame range (MINAFRAME, MAXFRAME).
MIN_FRAME = -1048574
MAX_FRAME = 1048574
# Diffusion sampling.
MIN_STEPS = 1
MAX_STEPS = 1000
MIN_GUIDANCE = 0.0
MAX_GUIDANCE = 20.0
# Batch worker processes (Windows allows at most 61).
MIN_WORKERS = 1
MAX_WORKERS = 32
# Constraint frames in a file (output frames from 0): an hour at the fastest frame rate.
MAX_CONSTRAINT_FRAME = int(3600 * MAX_FPS)


def _whole(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or (isinstance(value, float) and not (math.isfinite(value) and value.is_integer())):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a whole number, got {value!r}") from None


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return number


def check_int(value, low: int, high: int, what: str) -> int:
    number = _whole(value, what)
    if not low <= number <= high:
        raise ValueError(f"{what} must be from {low} to {high}, got {number}")
    return number


def check_float(value, low: float, high: float, what: str) -> float:
    number = _number(value, what)
    if not low <= number <= high:
        raise ValueError(f"{what} must be from {low:g} to {high:g}, got {number:g}")
    return number


def check_fps(value, what: str = "fps") -> float:
    return check_float(value, MIN_FPS, MAX_FPS, what)


def check_seed(value, what: str = "seed") -> int:
    return check_int(value, MIN_SEED, MAX_SEED, what)


def check_frame(value, what: str = "frame") -> int:
    return check_int(value, MIN_FRAME, MAX_FRAME, what)


def check_steps(value, what: str = "steps") -> int:
    return check_int(value, MIN_STEPS, MAX_STEPS, what)


def check_guidance(value, what: str = "guidance") -> float:
    return check_float(value, MIN_GUIDANCE, MAX_GUIDANCE, what)


def check_workers(value, what: str = "workers") -> int:
    return check_int(value, MIN_WORKERS, MAX_WORKERS, what)
