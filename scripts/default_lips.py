"""Print `inference.lips`'s default lip geometry, measured on the project's own demo head.

    .venv/bpy-5.0/bin/python scripts/default_lips.py

The review measures a take on the character's own lips where there is a character; without one
(the headless review) it needs lips of some face. The reference ARKit face in ../shared may be used
by tests and benchmarks only, never shipped, so the shipped default comes from the demo head that
scripts/head.py builds in project code: its lip mesh's landmarks, found from the shape keys as on
any character (`lips.find_lip_vertices`), scaled so that the mouth is `MOUTH_WIDTH_MM` wide at rest
(an adult's mouth is about 50 mm wide), rounded to 0.1 mm. Channels that move no landmark by
0.05 mm are left out. The output is the `_DEFAULT_*` block of `inference/lips.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "scripts")]

MOUTH_WIDTH_MM = 50.0
LIPS_OBJECT = "Default lips"   # scripts/head.py names the lip mesh "<head> lips"


def demo_head_lips():
    """The demo head's lip geometry in mm (`inference.lips.LipGeometry`), every ARKit channel it has."""
    import bpy

    import head as head_builder
    from inference import arkit, lips

    bpy.ops.wm.read_factory_settings(use_empty=True)
    head_builder.add_head("Default", (0.0, 0.0, 0.0))
    mesh = bpy.data.objects[LIPS_OBJECT].data
    count = len(mesh.vertices)

    def positions(block) -> np.ndarray:
        co = np.empty(3 * count, np.float32)
        block.data.foreach_get("co", co)
        return co.reshape(count, 3).astype(np.float64)

    key = mesh.shape_keys
    basis = positions(key.reference_key)
    deltas = {block.name: positions(block) - basis for block in key.key_blocks
              if block != key.reference_key and block.name in arkit.INDEX}
    deltas = {name: deltas[name] for name in arkit.NAMES if name in deltas}
    unit = lips.character_geometry(basis, deltas, 1.0)
    return lips.character_geometry(basis, deltas, MOUTH_WIDTH_MM / unit.w0)


def table_lines(geometry) -> list[str]:
    """The geometry as `inference/lips.py` stores it: origin at the upper lip, 0.1 mm."""
    def rounded(points) -> tuple:
        return tuple(tuple(round(float(x), 1) + 0.0 for x in point) for point in points)

    lines = [f"_DEFAULT_NEUTRAL = {list(rounded(geometry.neutral - geometry.neutral[0]))}",
             "_DEFAULT_DELTAS: dict[str, tuple[tuple[float, float, float], ...]] = {"]
    for name, deltas in zip(geometry.channels, geometry.deltas):
        if np.abs(deltas).max() >= 0.05:
            lines.append(f'    "{name}": {rounded(deltas)},')
    lines.append("}")
    return lines


if __name__ == "__main__":
    print("\n".join(table_lines(demo_head_lips())))
