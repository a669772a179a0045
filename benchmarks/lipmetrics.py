"""Lip geometry on the reference ARKit face and the lip-sync quality metrics built on it.

The reference face (Neutral.obj + one OBJ per ARKit shape, metres) is posed linearly,
v = neutral + sum_k w_k (shape_k - neutral), and three per-frame measures are read from it, in mm:

* a(t) lip aperture: distance between the inner upper- and lower-lip midpoints, 0 when the lower
  midpoint is above the upper one (lips pressed or overlapping);
* w(t) mouth width: distance between the two mouth corners;
* p(t) protrusion: how far the upper inner-lip midpoint moved forward (+z) from neutral.

Landmarks are found from the mesh: the mouth is the boundary loop that jawOpen moves most, its two
vertices on the symmetry plane x=0 are the lip midpoints (the upper one rides on the skull, so
jawOpen moves it least), and the corners are its vertices with the smallest and largest x.

The metrics (BIL, BIL40, BILmin, OPEN, ROUND, RFA, REST, SYNC r/lag, JITTER) follow the definitions
in the shared evaluation README; they are scored against TIMIT's hand-labelled 61-label phones.
This module is benchmark code: it is not shipped and may be slow-ish, but it is vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.lips import LipGeometry

# ---- thresholds (mm, seconds), from the evaluation README ----
CLOSE_MM = 1.5
OPEN_MM = 8.0
ROUND_MM = 6.0
PROTRUDE_MM = 3.0
REST_MM = 3.0

BIL_MIN_S = 0.030
BIL40_TOL_S = 0.040
OPEN_MIN_S = 0.060
ROUND_MIN_S = 0.050
SPREAD_MIN_S = 0.050
REST_MIN_S = 0.300
REST_EDGE_S = 0.100
SYNC_SMOOTH_S = 0.060
SYNC_MAX_LAG_S = 0.200
JITTER_FPS = 100.0

BILABIALS = frozenset({"pcl", "bcl", "p", "b", "m", "em"})
OPEN_VOWELS = frozenset({"aa", "ae", "ah", "ao", "aw", "ay", "eh"})
ROUNDED = frozenset({"uw", "ux", "ow", "w", "oy"})
SPREAD = frozenset({"iy", "ih", "ey", "eh", "ae"})
SILENCES = frozenset({"h#", "pau", "epi"})
STOP_CLOSURES = frozenset({"bcl", "dcl", "gcl", "pcl", "tcl", "kcl"})
TIMIT_VOWELS = frozenset({
    "iy", "ih", "eh", "ey", "ae", "aa", "aw", "ay", "ah", "ao", "oy", "ow", "uh", "uw", "ux",
    "er", "ax", "ix", "axr", "ax-h",
})
# SYNC's openness scale.
SYNC_OPEN, SYNC_VOWEL, SYNC_CONSONANT, SYNC_CLOSED = 1.0, 0.6, 0.3, 0.0

MM_PER_M = 1000.0
TIMIT_RATE = 16000


# ---------------------------------------------------------------- geometry


def _read_obj(path: Path) -> tuple[np.ndarray, np.ndarray]:
    verts, faces = [], []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("v "):
                verts.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("f "):
                faces.append([int(tok.split("/")[0]) - 1 for tok in line.split()[1:]])
    return np.asarray(verts, np.float64), faces


def _boundary_loops(faces) -> list[list[int]]:
    """Closed loops of edges that belong to exactly one face."""
    count: dict[tuple[int, int], int] = {}
    for face in faces:
        for i in range(len(face)):
            a, b = face[i], face[(i + 1) % len(face)]
            key = (min(a, b), max(a, b))
            count[key] = count.get(key, 0) + 1
    neighbours: dict[int, list[int]] = {}
    for (a, b), n in count.items():
        if n == 1:
            neighbours.setdefault(a, []).append(b)
            neighbours.setdefault(b, []).append(a)
    loops, seen = [], set()
    for start in neighbours:
        if start in seen:
            continue
        loop, prev, cur = [start], None, start
        seen.add(start)
        while True:
            nxt = [v for v in neighbours[cur] if v != prev and v not in seen]
            if not nxt:
                break
            prev, cur = cur, nxt[0]
            seen.add(cur)
            loop.append(cur)
        loops.append(loop)
    return loops


@dataclass
class ReferenceFace(LipGeometry):
    """The reference face reduced to its lip landmarks (`inference.lips.LipGeometry`), with the
    mesh's vertex indices of the landmarks."""

    landmark_ids: tuple[int, int, int, int] = (0, 0, 0, 0)
    info: dict = field(default_factory=dict)


def load_reference_face(obj_dir, channels) -> ReferenceFace:
    """Load Neutral.obj + `<channel>.obj` (missing shapes, e.g. tongueOut, have no effect)."""
    obj_dir = Path(obj_dir)
    neutral, faces = _read_obj(obj_dir / "Neutral.obj")
    neutral = neutral * MM_PER_M
    full_deltas = np.zeros((len(channels),) + neutral.shape)
    for c, name in enumerate(channels):
        path = obj_dir / f"{name}.obj"
        if path.exists():
            full_deltas[c] = _read_obj(path)[0] * MM_PER_M - neutral
    jaw = full_deltas[list(channels).index("jawOpen")]
    jaw_motion = np.linalg.norm(jaw, axis=1)
    loops = _boundary_loops(faces)
    mouth = max(loops, key=lambda loop: jaw_motion[loop].mean())
    on_plane = [v for v in mouth if abs(neutral[v, 0]) < 1e-6]
    if len(on_plane) != 2:
        raise ValueError(f"expected 2 mouth-loop vertices on x=0, found {len(on_plane)}")
    upper, lower = sorted(on_plane, key=lambda v: jaw_motion[v])
    left = min(mouth, key=lambda v: neutral[v, 0])
    right = max(mouth, key=lambda v: neutral[v, 0])
    ids = (upper, lower, left, right)
    return ReferenceFace(
        tuple(channels), neutral[list(ids)], full_deltas[:, list(ids)], ids,
        {"loops": sorted(len(loop) for loop in loops), "mouth_loop": len(mouth)},
    )


# ---------------------------------------------------------------- labels


@dataclass(frozen=True)
class Label:
    """One raw TIMIT label (61-label set), seconds."""

    label: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def read_phn_labels(path) -> list[Label]:
    out = []
    with open(path, encoding="ascii") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) == 3:
                out.append(Label(parts[2], int(parts[0]) / TIMIT_RATE, int(parts[1]) / TIMIT_RATE))
    return out


def bilabial_events(labels: list[Label]) -> list[tuple[float, float]]:
    """Touching bilabial intervals merged; only events of at least BIL_MIN_S."""
    events: list[list[float]] = []
    for lab in labels:
        if lab.label not in BILABIALS:
            continue
        if events and abs(events[-1][1] - lab.start) < 1e-9:
            events[-1][1] = lab.end
        else:
            events.append([lab.start, lab.end])
    return [(s, e) for s, e in events if e - s >= BIL_MIN_S - 1e-9]


def sync_value(label: str) -> float:
    if label in SILENCES or label in STOP_CLOSURES or label in BILABIALS:
        return SYNC_CLOSED
    if label in OPEN_VOWELS:
        return SYNC_OPEN
    if label in TIMIT_VOWELS:
        return SYNC_VOWEL
    return SYNC_CONSONANT


# ---------------------------------------------------------------- scoring


def frames_in(times: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """Indices of frames whose time lies in [t0, t1]; else the frame nearest the window's centre."""
    idx = np.nonzero((times >= t0 - 1e-9) & (times <= t1 + 1e-9))[0]
    if len(idx) == 0:
        idx = np.array([int(np.argmin(np.abs(times - 0.5 * (t0 + t1))))])
    return idx


def sync_target(labels: list[Label], times: np.ndarray) -> np.ndarray:
    """The openness target on a 1 ms grid (each label covering its end sample too), smoothed by a
    centred moving average of about 60 ms (odd width, edges held) and interpolated at `times`."""
    length = labels[-1].end
    grid = np.zeros(int(np.ceil(length * 1000)) + 1)
    for lab in labels:
        grid[int(round(lab.start * 1000)): int(round(lab.end * 1000)) + 1] = sync_value(lab.label)
    width = int(round(SYNC_SMOOTH_S * 1000)) | 1
    padded = np.pad(grid, width // 2, mode="edge")
    smooth = np.convolve(padded, np.ones(width) / width, mode="valid")
    return np.interp(times, np.arange(len(smooth)) / 1000.0, smooth)


def best_lag(target: np.ndarray, a: np.ndarray, fps: float) -> tuple[float, float]:
    """Peak Pearson r of target(t) with a(t + lag), lag in whole frames within +-200 ms; lag in s."""
    max_k = int(np.floor(SYNC_MAX_LAG_S * fps + 1e-9))
    best_r, best_k = -np.inf, 0
    n = len(target)
    for k in range(-max_k, max_k + 1):
        if k >= 0:
            x, y = target[: n - k], a[k:]
        else:
            x, y = target[-k:], a[: n + k]
        if len(x) < 3 or np.std(y) == 0 or np.std(x) == 0:
            r = 0.0
        else:
            r = float(np.corrcoef(x, y)[0, 1])
        if r > best_r:
            best_r, best_k = r, k
    if np.std(a) == 0:
        return 0.0, float("nan")
    return best_r, best_k / fps


def jitter(a: np.ndarray, times: np.ndarray) -> float:
    if len(a) < 3:
        return 0.0
    grid = np.arange(times[0], times[-1] + 1e-9, 1.0 / JITTER_FPS)
    res = np.interp(grid, times, a)
    if len(res) < 3:
        return 0.0
    return float(np.mean(np.abs(res[2:] - 2 * res[1:-1] + res[:-2])))


def round_test(width: np.ndarray, protrusion: np.ndarray, w0: float) -> np.ndarray:
    return (width <= w0 - ROUND_MM) | (protrusion >= PROTRUDE_MM)


@dataclass
class UtteranceScore:
    """Hit counts and per-utterance values for one utterance."""

    bil_hits: int = 0
    bil40_hits: int = 0
    bil_n: int = 0
    bil_min: list = field(default_factory=list)
    open_hits: int = 0
    open_n: int = 0
    round_hits: int = 0
    round_n: int = 0
    rfa_hits: int = 0
    rfa_n: int = 0
    rest_hits: int = 0
    rest_frames: int = 0
    rest_segs: int = 0
    sync_r: float = 0.0
    sync_lag: float = float("nan")
    jitter: float = 0.0
    aperture: np.ndarray | None = None
    times: np.ndarray | None = None


def score_utterance(face: ReferenceFace, fps: float, weights: np.ndarray, labels: list[Label]) -> UtteranceScore:
    """Score weights [T, C] (face.channels order, frame i at i/fps) against one utterance's labels."""
    length = labels[-1].end
    times = np.arange(len(weights)) / fps
    keep = times <= length + 1e-9
    times, weights = times[keep], weights[keep]
    a, w, p = face.measure(weights)
    w0 = face.w0
    s = UtteranceScore(aperture=a, times=times)
    one = 1.0 / fps
    for t0, t1 in bilabial_events(labels):
        m = float(a[frames_in(times, t0 - one, t1 + one)].min())
        m40 = float(a[frames_in(times, t0 - BIL40_TOL_S, t1 + BIL40_TOL_S)].min())
        s.bil_n += 1
        s.bil_hits += m <= CLOSE_MM
        s.bil40_hits += m40 <= CLOSE_MM
        s.bil_min.append(m)
    rounded = round_test(w, p, w0)
    for lab in labels:
        d = lab.duration
        if lab.label in OPEN_VOWELS and d >= OPEN_MIN_S - 1e-9:
            s.open_n += 1
            s.open_hits += float(a[frames_in(times, lab.start + d / 4, lab.end - d / 4)].max()) >= OPEN_MM
        if lab.label in ROUNDED and d >= ROUND_MIN_S - 1e-9:
            s.round_n += 1
            s.round_hits += bool(rounded[frames_in(times, lab.start, lab.end)].any())
        if lab.label in SPREAD and d >= SPREAD_MIN_S - 1e-9:
            s.rfa_n += 1
            s.rfa_hits += bool(rounded[frames_in(times, lab.start + d / 4, lab.end - d / 4)].any())
        if lab.label in SILENCES and d >= REST_MIN_S - 1e-9:
            idx = np.nonzero((times >= lab.start + REST_EDGE_S) & (times <= lab.end - REST_EDGE_S))[0]
            s.rest_segs += 1
            s.rest_frames += len(idx)
            s.rest_hits += int((a[idx] <= REST_MM).sum())
    s.sync_r, s.sync_lag = best_lag(sync_target(labels, times), a, fps)
    s.jitter = jitter(a, times)
    return s


def _pct(hits: int, n: int) -> float:
    return 100.0 * hits / n if n else float("nan")


def aggregate(scores: list[UtteranceScore]) -> dict:
    """Data-set figures: pooled rates, median BILmin, mean SYNC r, median lag (ms), mean JITTER."""
    tot = lambda attr: sum(getattr(s, attr) for s in scores)  # noqa: E731
    bil_min = [m for s in scores for m in s.bil_min]
    lags = [s.sync_lag for s in scores if np.isfinite(s.sync_lag)]
    return {
        "n": len(scores),
        "BIL": _pct(tot("bil_hits"), tot("bil_n")), "BIL_h": tot("bil_hits"), "BIL_n": tot("bil_n"),
        "BIL40": _pct(tot("bil40_hits"), tot("bil_n")),
        "BILmin": float(np.median(bil_min)) if bil_min else float("nan"),
        "OPEN": _pct(tot("open_hits"), tot("open_n")), "OPEN_h": tot("open_hits"), "OPEN_n": tot("open_n"),
        "ROUND": _pct(tot("round_hits"), tot("round_n")), "ROUND_h": tot("round_hits"), "ROUND_n": tot("round_n"),
        "RFA": _pct(tot("rfa_hits"), tot("rfa_n")),
        "REST": _pct(tot("rest_hits"), tot("rest_frames")), "REST_segs": tot("rest_segs"),
        "SYNC_r": float(np.mean([s.sync_r for s in scores])) if scores else float("nan"),
        "SYNC_lag_ms": 1000.0 * float(np.median(lags)) if lags else float("nan"),
        "JITTER": float(np.mean([s.jitter for s in scores])) if scores else float("nan"),
    }


MARKDOWN_HEADER = (
    "| engine | n | BIL % (h/n) | BIL40 % | BILmin mm | OPEN % (h/n) | ROUND % (h/n) | RFA % | REST % (segs) "
    "| SYNC r | lag ms | JITTER |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def markdown_row(name: str, agg: dict) -> str:
    return (
        f"| {name} | {agg['n']} | {agg['BIL']:.1f} ({agg['BIL_h']}/{agg['BIL_n']}) | {agg['BIL40']:.1f} "
        f"| {agg['BILmin']:.2f} | {agg['OPEN']:.1f} ({agg['OPEN_h']}/{agg['OPEN_n']}) "
        f"| {agg['ROUND']:.1f} ({agg['ROUND_h']}/{agg['ROUND_n']}) | {agg['RFA']:.1f} "
        f"| {agg['REST']:.1f} ({agg['REST_segs']}) | {agg['SYNC_r']:.3f} | {agg['SYNC_lag_ms']:+.0f} "
        f"| {agg['JITTER']:.3f} |"
    )
