"""Lip geometry: where a face's lips are for any pose of its ARKit channels, in millimetres.

A `LipGeometry` is four landmarks (the inner upper- and lower-lip midpoints, the left and right
mouth corners) at rest, [4, 3] mm, and how far each channel moves them at full weight, [C, 4, 3]
mm. Posing is linear, as shape keys are: p = neutral + sum_c w_c delta_c. From the pose it reads
three measures per frame:

* aperture: the distance between the lip midpoints, 0 when the lower one is above the upper one
  (lips pressed or overlapping);
* width: the distance between the mouth corners;
* protrusion: how far the upper lip midpoint moved forward (+z) from rest.

`DEFAULT_LIPS` is the geometry used when there is no character: the lips of the project's own
demo head (scripts/head.py), scaled to a 50 mm wide mouth, as `scripts/default_lips.py` prints
them (the reference ARKit face in ../shared may not be shipped, so it is not used here).
Axes: x to the face's left, y up, z forward, origin at the upper lip midpoint. Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LANDMARKS = ("upper lip", "lower lip", "left corner", "right corner")
UP, FORWARD = 1, 2


@dataclass
class LipGeometry:
    """Four lip landmarks at rest, `neutral` [4, 3] mm, and their motion per unit weight of each
    of `channels`, `deltas` [C, 4, 3] mm."""

    channels: tuple[str, ...]
    neutral: np.ndarray
    deltas: np.ndarray

    @property
    def a0(self) -> float:
        """The lip aperture at rest, mm."""
        return float(self.measure(np.zeros((1, len(self.channels))))[0][0])

    @property
    def w0(self) -> float:
        """The mouth width at rest, mm."""
        return float(np.linalg.norm(self.neutral[2] - self.neutral[3]))

    def measure(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(aperture, width, protrusion) in mm, each [T], for weights [T, C] in `channels` order
        (clipped to [0, 1])."""
        w = np.clip(np.asarray(weights, np.float64), 0.0, 1.0)
        pts = self.neutral[None] + np.einsum("tc,cij->tij", w, self.deltas)
        upper, lower, left, right = pts[:, 0], pts[:, 1], pts[:, 2], pts[:, 3]
        aperture = np.linalg.norm(upper - lower, axis=1)
        aperture = np.where(lower[:, UP] > upper[:, UP], 0.0, aperture)
        width = np.linalg.norm(left - right, axis=1)
        protrusion = upper[:, FORWARD] - self.neutral[0, FORWARD]
        return aperture, width, protrusion

    def measure_curves(self, curves) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`measure` for a `Curves` (any channel order; channels it lacks stay at rest)."""
        return self.measure(curves.select(self.channels).values)

    def measure_named(self, **weights: float) -> tuple[float, float, float]:
        """(aperture, width - w0, protrusion) for one pose given as channel=weight keywords."""
        row = np.zeros((1, len(self.channels)))
        for name, value in weights.items():
            row[0, self.channels.index(name)] = value
        a, w, p = self.measure(row)
        return float(a[0]), float(w[0] - self.w0), float(p[0])


_DEFAULT_NEUTRAL = [(0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (-25.0, -1.9, -5.5), (25.0, -1.9, -5.5)]
_DEFAULT_DELTAS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "jawForward": ((0.0, 0.0, 0.0), (0.0, 0.0, 7.8), (0.0, 0.0, 2.3), (0.0, 0.0, 2.3)),
    "jawLeft": ((0.0, 0.0, 0.0), (7.8, 0.0, 0.0), (2.3, 0.0, 0.0), (2.3, 0.0, 0.0)),
    "jawRight": ((0.0, 0.0, 0.0), (-7.8, 0.0, 0.0), (-2.3, 0.0, 0.0), (-2.3, 0.0, 0.0)),
    "jawOpen": ((0.0, 0.0, 0.0), (0.0, -58.8, -3.9), (0.0, -17.6, -1.2), (0.0, -17.6, -1.2)),
    "mouthClose": ((0.0, -17.6, -1.2), (0.0, 41.2, 2.7), (0.0, 12.3, 0.8), (0.0, 12.3, 0.8)),
    "mouthFunnel": ((0.0, 4.9, 11.7), (0.0, -5.9, 11.7), (4.0, -0.8, 4.2), (-4.0, -0.8, 4.2)),
    "mouthPucker": ((0.0, 0.0, 11.7), (0.0, 0.0, 11.7), (2.9, -0.5, 3.1), (-2.9, -0.5, 3.1)),
    "mouthLeft": ((9.8, 0.0, 0.0), (9.8, 0.0, 0.0), (4.8, 0.0, 0.0), (4.8, 0.0, 0.0)),
    "mouthRight": ((-9.8, 0.0, 0.0), (-9.8, 0.0, 0.0), (-4.8, 0.0, 0.0), (-4.8, 0.0, 0.0)),
    "mouthSmileLeft": ((0.2, 0.4, -0.1), (0.2, 0.4, -0.1), (0.0, 0.0, 0.0), (4.8, 9.7, -1.9)),
    "mouthSmileRight": ((-0.2, 0.4, -0.1), (-0.2, 0.4, -0.1), (-4.8, 9.7, -1.9), (0.0, 0.0, 0.0)),
    "mouthFrownLeft": ((0.0, -0.3, 0.0), (0.0, -0.3, 0.0), (0.0, 0.0, 0.0), (0.0, -7.7, 0.0)),
    "mouthFrownRight": ((0.0, -0.3, 0.0), (0.0, -0.3, 0.0), (0.0, -7.7, 0.0), (0.0, 0.0, 0.0)),
    "mouthDimpleLeft": ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (2.9, 0.0, -3.8)),
    "mouthDimpleRight": ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (-2.9, 0.0, -3.8), (0.0, 0.0, 0.0)),
    "mouthStretchLeft": ((0.3, -0.1, 0.0), (0.3, -0.1, 0.0), (0.0, 0.0, 0.0), (7.7, -2.9, 0.0)),
    "mouthStretchRight": ((-0.3, -0.1, 0.0), (-0.3, -0.1, 0.0), (-7.7, -2.9, 0.0), (0.0, 0.0, 0.0)),
    "mouthRollLower": ((0.0, 0.0, 0.0), (0.0, 0.0, -3.9), (0.0, 1.2, -3.9), (0.0, 1.2, -3.9)),
    "mouthRollUpper": ((0.0, 0.0, -3.9), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
    "mouthShrugLower": ((0.0, 0.0, 0.0), (0.0, 4.3, 1.4), (0.0, 0.9, 0.3), (0.0, 0.9, 0.3)),
    "mouthShrugUpper": ((0.0, 3.8, 1.9), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
    "mouthPressLeft": ((0.0, -2.2, -0.1), (0.0, 5.2, 0.3), (0.0, 0.3, 0.0), (0.0, 3.4, 0.2)),
    "mouthPressRight": ((0.0, -2.2, -0.1), (0.0, 5.2, 0.3), (0.0, 3.4, 0.2), (0.0, 0.3, 0.0)),
    "mouthLowerDownLeft": ((0.0, 0.0, 0.0), (0.0, -4.1, 0.0), (0.0, 0.0, 0.0), (0.0, -3.7, 0.0)),
    "mouthLowerDownRight": ((0.0, 0.0, 0.0), (0.0, -4.1, 0.0), (0.0, -3.7, 0.0), (0.0, 0.0, 0.0)),
    "mouthUpperUpLeft": ((0.0, 4.5, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
    "mouthUpperUpRight": ((0.0, 4.5, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
    "cheekPuff": ((0.0, 0.0, 0.1), (0.0, 0.0, 0.1), (-0.8, -1.4, 2.2), (0.8, -1.4, 2.2)),
    "tongueOut": ((0.0, 0.0, 0.0), (0.0, -2.1, 1.4), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
}

DEFAULT_LIPS = LipGeometry(tuple(_DEFAULT_DELTAS), np.asarray(_DEFAULT_NEUTRAL, np.float64),
                           np.asarray(list(_DEFAULT_DELTAS.values()), np.float64))


# --------------------------------------------------------------------------- a character's own lips

LIP_MOTION_SHARE = 0.3        # lip vertices: moved by mouthClose at least this share of the most moved
MIDLINE_SHARE = 0.1           # midline candidates: within this share of the lips' width of the centre
CORNER_SHARE = 0.7            # corner candidates: moved inward by mouthPucker this share of the most
NEEDED = ("jawOpen", "mouthClose", "mouthPucker")


@dataclass(frozen=True)
class LipVertices:
    """The landmark vertex indices of a mesh (upper and lower lip midpoints, left and right mouth
    corners) and its axes: `lateral`, `up` and `forward` as (axis 0-2, sign)."""

    ids: tuple[int, int, int, int]
    lateral: tuple[int, int]
    up: tuple[int, int]
    forward: tuple[int, int]


def _delta(deltas: dict, name: str) -> np.ndarray:
    from .errors import GeometryError

    if name not in deltas:
        raise GeometryError(f"the lips are found from the {', '.join(NEEDED)} shape keys; {name} is not mapped")
    return np.asarray(deltas[name], np.float64)


def find_lip_vertices(basis: np.ndarray, deltas: dict[str, np.ndarray]) -> LipVertices:
    """The lip landmarks of a head mesh from its shape keys' vertex deltas (channel -> [V, 3]):
    mouthClose brings the lips together (so it marks them, upper moving down, lower up, against
    jawOpen); the midpoints are the closest upper/lower pair on the symmetry plane (the inner lip
    edges meet at rest); mouthPucker narrows the corners: of the vertices it moves inward nearly
    the most, the corner is the deepest (where the lips meet, not the skin around them). Axes are
    snapped to the mesh's own: lateral is the lips' widest extent, up is against jawOpen's motion,
    forward is where mouthPucker pushes the lips. GeometryError when a shape is missing or still."""
    from .errors import GeometryError

    basis = np.asarray(basis, np.float64)
    jaw, close, pucker = (_delta(deltas, name) for name in NEEDED)
    for name, delta in zip(NEEDED, (jaw, close, pucker)):
        if not np.abs(delta).max() > 0:
            raise GeometryError(f"the {name} shape key does not move any vertex")
    motion = np.linalg.norm(close, axis=1)
    lips = np.flatnonzero(motion >= LIP_MOTION_SHARE * motion.max())
    spread = np.ptp(basis[lips], axis=0)
    lateral = int(np.argmax(spread))
    centre = 0.5 * (basis[lips, lateral].min() + basis[lips, lateral].max())
    down = jaw[lips].sum(axis=0)
    down[lateral] = 0.0
    up_axis = int(np.argmax(np.abs(down)))
    up = (up_axis, -int(np.sign(down[up_axis])))
    forward_axis = 3 - lateral - up_axis
    push = pucker[lips, forward_axis].sum()
    forward = (forward_axis, int(np.sign(push)) or 1)
    rising = close[lips, up_axis] * up[1]
    near = np.abs(basis[lips, lateral] - centre) <= MIDLINE_SHARE * spread[lateral]
    upper_ids, lower_ids = lips[near & (rising < 0)], lips[near & (rising > 0)]
    if not len(upper_ids) or not len(lower_ids):
        raise GeometryError("mouthClose does not bring an upper and a lower lip together on the mesh's midline")
    gap = np.linalg.norm(basis[upper_ids][:, None] - basis[lower_ids][None], axis=2)
    gap += np.abs(basis[upper_ids, lateral] - centre)[:, None] + np.abs(basis[lower_ids, lateral] - centre)[None]
    i, j = np.unravel_index(int(np.argmin(gap)), gap.shape)
    side = np.sign(basis[:, lateral] - centre)
    inward = -pucker[:, lateral] * side
    depth = -basis[:, forward_axis] * forward[1]

    def corner(sign: int) -> int:
        moved = np.where(side == sign, inward, -np.inf)
        candidates = np.flatnonzero(moved >= CORNER_SHARE * moved.max())
        return int(candidates[np.argmax(depth[candidates])])

    return LipVertices((int(upper_ids[i]), int(lower_ids[j]), corner(-1), corner(1)), (lateral, 1), up, forward)


def character_geometry(basis: np.ndarray, deltas: dict[str, np.ndarray], mm_per_unit: float,
                       vertices: LipVertices | None = None) -> LipGeometry:
    """A `LipGeometry` of a head mesh (basis [V, 3] and channel -> delta [V, 3] in mesh units), at
    `vertices` (default: `find_lip_vertices`; the animator may choose others), in mm on the axes
    `LipGeometry` measures on (x lateral, y up, z forward)."""
    found = vertices or find_lip_vertices(basis, deltas)
    ids = list(found.ids)
    order = [found.lateral, found.up, found.forward]
    axes = [axis for axis, _ in order]
    signs = np.array([sign for _, sign in order], np.float64)

    def to_mm(points: np.ndarray) -> np.ndarray:
        return np.asarray(points, np.float64)[..., axes] * signs * mm_per_unit

    channels = tuple(deltas)
    neutral = to_mm(np.asarray(basis)[ids])
    moved = np.stack([to_mm(np.asarray(deltas[name])[ids]) for name in channels]) if channels else np.zeros((0, 4, 3))
    return LipGeometry(channels, neutral, moved)
