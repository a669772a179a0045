"""Render a small Cycles CPU preview of the demo scene: PNG frames and a GIF.

Small on purpose (it runs on a 2-core machine in about a minute): a front orthographic camera,
one sun and a grey world, a few samples, every few frames of the scene. The GIF plays the frames
at the scene's speed (each frame held for `step` scene frames), made with Pillow.
"""

import math
from pathlib import Path

import bpy
from PIL import Image

RESOLUTION = (480, 200)
SAMPLES = 12
WORLD_GREY = (0.35, 0.37, 0.4, 1.0)
SUN_ROTATION = (math.radians(60), math.radians(-20), math.radians(-25))
SUN_STRENGTH = 3.5


def add_camera(scene, center_x: float, width: float, height_z: float = 0.0):
    """A front orthographic camera looking along +Y at the row of heads, `width` wide."""
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    camera.data.type = "ORTHO"
    camera.data.ortho_scale = width
    camera.location = (center_x, -10.0, height_z)
    camera.rotation_euler = (math.radians(90), 0.0, 0.0)
    scene.collection.objects.link(camera)
    scene.camera = camera
    return camera


def add_light(scene):
    sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    sun.data.energy = SUN_STRENGTH
    sun.rotation_euler = SUN_ROTATION
    scene.collection.objects.link(sun)
    world = scene.world or bpy.data.worlds.new("World")
    scene.world = world
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = WORLD_GREY
    return sun


def use_cycles_cpu(scene, samples: int = SAMPLES):
    """Cycles on the CPU, few samples, no denoiser (not every bpy build has one), PNG output."""
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = False
    scene.cycles.use_adaptive_sampling = False
    scene.render.resolution_x, scene.render.resolution_y = RESOLUTION
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.film_transparent = False


def render_frames(scene, folder: Path, frames) -> list[Path]:
    """Render each scene frame in `frames` to folder/frame_NNNN.png; the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for frame in frames:
        scene.frame_set(frame)
        scene.render.filepath = str(folder / f"frame_{frame:04d}.png")
        bpy.ops.render.render(write_still=True)
        paths.append(Path(scene.render.filepath))
    return paths


def write_gif(frames: list[Path], path: Path, seconds_per_frame: float) -> Path:
    """A looping GIF of the PNG `frames`, each shown for `seconds_per_frame`."""
    images = [Image.open(frame).convert("RGB") for frame in frames]
    images[0].save(path, save_all=True, append_images=images[1:], loop=0,
                   duration=round(seconds_per_frame * 1000))
    return path
