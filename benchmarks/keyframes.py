"""Keyframe writing speed: 52 channels x 3,600 frames through Lipkit's `animation` (bulk
`foreach_set`) against a `keyframe_insert` loop on the same data, measured side by side in one run.

Run with a bpy environment:  .venv/bpy-5.0/bin/python benchmarks/keyframes.py
Last line: `keyframes: 52x3600 in <S> s, <R>x faster than keyframe_insert`.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests" / "blender"))  # the test helpers enable the add-on like Blender

import bpy  # noqa: E402
from bpy_helpers import REPO_MODULE, enable_addon, make_active, make_mesh, submodule  # noqa: E402


def _fresh_head(names):
    bpy.ops.wm.read_homefile(use_empty=True)
    head = make_mesh("Head", names)
    make_active(head)
    return head


def time_lipkit(values, repeats: int) -> float:
    arkit = submodule("inference.arkit")
    curves = submodule("inference.curves").Curves(30.0, values)
    takes = submodule("animation.takes")
    times = []
    for _ in range(repeats):
        head = _fresh_head(arkit.NAMES)
        bpy.context.scene.render.fps = 30
        pairs = {name: name for name in arkit.NAMES}
        start = time.perf_counter()
        takes.write_take([head], curves, pairs, bpy.context.scene, 1, "bench")
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def time_keyframe_insert(values, frames: int) -> float:
    arkit = submodule("inference.arkit")
    head = _fresh_head(arkit.NAMES)
    blocks = [head.data.shape_keys.key_blocks[name] for name in arkit.NAMES]
    start = time.perf_counter()
    for frame in range(frames):
        for block, value in zip(blocks, values[frame]):
            block.value = float(value)
            block.keyframe_insert("value", frame=frame + 1)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3600)
    parser.add_argument("--repeats", type=int, default=3, help="median of N for the bulk writer")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "lipkit").symlink_to(REPO_ROOT, target_is_directory=True)
        bpy.context.preferences.extensions.repos.new(name="bench", module=REPO_MODULE,
                                                     custom_directory=folder, source="USER")
        enable_addon()
        values = np.random.default_rng(0).random((args.frames, 52), dtype=np.float32)
        bulk = time_lipkit(values, args.repeats)
        loop = time_keyframe_insert(values, args.frames)
    print(f"Blender {bpy.app.version_string}: bulk {bulk:.3f} s (median of {args.repeats}), "
          f"keyframe_insert loop {loop:.2f} s")
    print(f"keyframes: 52x{args.frames} in {bulk:.3f} s, {loop / bulk:.0f}x faster than keyframe_insert")


if __name__ == "__main__":
    main()
