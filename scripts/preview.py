"""Render the demo scene with Cycles on the CPU: stills, frames for a GIF, and a labelled strip.

Sized for a 2-core machine: few samples, then Cycles' own denoiser (OpenImageDenoise, in the bpy
wheels of Blender 4.2 and 5.0) in its fast mode, when this build has it; without a denoiser, more
samples instead. Light paths are short (the scene is matte skin under a sun, a fill and a grey sky).
The GIF plays the frames at the scene's speed (each frame held for `step` scene frames), made with
Pillow, as is the strip (one labelled row per image).
"""

import math
from pathlib import Path

import bpy
from PIL import Image, ImageDraw, ImageFont

WORLD_GREY = (0.35, 0.37, 0.4, 1.0)
SUN_ROTATION = (math.radians(60), math.radians(-20), math.radians(-25))
SUN_STRENGTH = 3.5
FILL_ROTATION = (math.radians(75), math.radians(10), math.radians(35))
FILL_STRENGTH = 1.0
# Light paths: matte surfaces need a bounce or two, nothing is transparent or refractive.
MAX_BOUNCES, DIFFUSE_BOUNCES, GLOSSY_BOUNCES = 3, 2, 1
NOISY_SAMPLES_FACTOR = 4  # without a denoiser, this many times the samples
LABEL_WIDTH, LABEL_TEXT_SIZE, LABEL_COLOUR, LABEL_BACKGROUND = 230, 18, (235, 235, 235), (40, 42, 46)


def has_denoiser() -> bool:
    """Whether this Blender's Cycles was built with OpenImageDenoise."""
    import _cycles
    return bool(getattr(_cycles, "with_openimagedenoise", False))


def add_camera(scene, center_x: float, width: float, height_z: float = 0.0, name: str = "Camera"):
    """A front orthographic camera looking along +Y at the heads, `width` wide, made the scene's."""
    camera = bpy.data.objects.new(name, bpy.data.cameras.new(name))
    camera.data.type = "ORTHO"
    camera.data.ortho_scale = width
    camera.location = (center_x, -10.0, height_z)
    camera.rotation_euler = (math.radians(90), 0.0, 0.0)
    scene.collection.objects.link(camera)
    scene.camera = camera
    return camera


def add_closeup_camera(scene, target, offset, lens_mm: float, name: str = "Close-up"):
    """A perspective camera at `target + offset` aimed at `target` (both world positions)."""
    from mathutils import Vector
    camera = bpy.data.objects.new(name, bpy.data.cameras.new(name))
    camera.data.lens = lens_mm
    camera.location = Vector(target) + Vector(offset)
    camera.rotation_euler = (Vector(target) - camera.location).to_track_quat("-Z", "Y").to_euler()
    scene.collection.objects.link(camera)
    return camera


def add_light(scene):
    """A key sun, a weaker fill sun from the other side, and a grey sky."""
    lights = []
    for name, rotation, strength in (("Sun", SUN_ROTATION, SUN_STRENGTH), ("Fill", FILL_ROTATION, FILL_STRENGTH)):
        sun = bpy.data.objects.new(name, bpy.data.lights.new(name, "SUN"))
        sun.data.energy = strength
        sun.rotation_euler = rotation
        scene.collection.objects.link(sun)
        lights.append(sun)
    world = scene.world or bpy.data.worlds.new("World")
    scene.world = world
    if bpy.app.version < (5, 0, 0):  # node trees are always on from 5.0
        world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = WORLD_GREY
    return lights


def use_cycles_cpu(scene, samples: int) -> bool:
    """Cycles on the CPU with short light paths, PNG output, and the fast denoiser when there is one
    (else `NOISY_SAMPLES_FACTOR` times the samples). Returns whether it denoises."""
    scene.render.engine = "CYCLES"
    cycles = scene.cycles
    cycles.device = "CPU"
    cycles.use_adaptive_sampling = False
    cycles.max_bounces, cycles.diffuse_bounces, cycles.glossy_bounces = MAX_BOUNCES, DIFFUSE_BOUNCES, GLOSSY_BOUNCES
    cycles.transmission_bounces = cycles.volume_bounces = 0
    cycles.caustics_reflective = cycles.caustics_refractive = False
    cycles.use_light_tree = False  # three lights: sampling them all is cheaper than the tree
    denoise = has_denoiser()
    cycles.use_denoising = denoise
    cycles.samples = samples if denoise else samples * NOISY_SAMPLES_FACTOR
    if denoise:
        cycles.denoiser = "OPENIMAGEDENOISE"
        cycles.denoising_input_passes = "RGB"
        cycles.denoising_prefilter = "NONE"
        if hasattr(cycles, "denoising_quality"):  # Blender 4.1+
            cycles.denoising_quality = "FAST"
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.film_transparent = False
    return denoise


def render_still(scene, camera, path: Path, resolution, frame: int) -> Path:
    """Render scene frame `frame` through `camera` at `resolution` to `path`."""
    scene.camera = camera
    scene.render.resolution_x, scene.render.resolution_y = resolution
    scene.frame_set(frame)
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    return path


def render_frames(scene, camera, folder: Path, resolution, frames) -> list[Path]:
    """Render each scene frame in `frames` through `camera` to folder/frame_NNNN.png; the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    return [render_still(scene, camera, folder / f"frame_{frame:04d}.png", resolution, frame) for frame in frames]


def write_gif(frames: list[Path], path: Path, seconds_per_frame: float) -> Path:
    """A looping GIF of the PNG `frames`, each shown for `seconds_per_frame`."""
    images = [Image.open(frame).convert("RGB") for frame in frames]
    images[0].save(path, save_all=True, append_images=images[1:], loop=0,
                   duration=round(seconds_per_frame * 1000))
    return path


def write_strip(rows: list[tuple[str, Path]], path: Path, columns=()) -> Path:
    """The images stacked top to bottom, each with its label on a dark band at its left; `columns`
    titles equal columns of the images along the top."""
    images = [Image.open(image).convert("RGB") for _, image in rows]
    width = LABEL_WIDTH + max(image.width for image in images)
    header_height = 2 * LABEL_TEXT_SIZE if columns else 0
    sheet = Image.new("RGB", (width, header_height + sum(image.height for image in images)), LABEL_BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=LABEL_TEXT_SIZE)
    column_width = (width - LABEL_WIDTH) / max(len(columns), 1)
    for index, title in enumerate(columns):
        draw.text((LABEL_WIDTH + (index + 0.5) * column_width, LABEL_TEXT_SIZE), title, fill=LABEL_COLOUR,
                  font=font, anchor="mm")
    top = header_height
    for (label, _), image in zip(rows, images):
        sheet.paste(image, (LABEL_WIDTH, top))
        draw.text((10, top + image.height // 2), label, fill=LABEL_COLOUR, font=font, anchor="lm")
        top += image.height
    sheet.save(path)
    return path
