"""The demo: lip-sync the line the project ships (samples/line.wav, made with festival) and show it.

Runs the headless command with the default engine (the bundled regression model), and, to compare,
the diffusion model and the phonetic engine with the transcript. Then, in Blender (the bpy module),
with Lipkit enabled as an extension: three procedural heads (scripts/head.py: lips, teeth, tongue,
eyes, lids, brows, all 52 ARKit shape keys), one per engine, each given a take by Lipkit's own
operators from the line as a sound strip; saved as demo.blend and rendered with Cycles on the CPU,
denoised (scripts/preview.py). `build_scene` and `bilabials` are shared with the demo's test
(tests/blender/test_demo_bpy.py), which measures the meshes of the same scene.

Writes to out/demo/: curves (JSON and Live Link Face CSV) per engine; curves.png, the mouth and eye
channels of the regression model over time against the aligned phones, with the findings of its
review (`--review`, regression/line.review.json) marked in red; demo.blend; preview.png (the
three heads at 1280x720), closeup.png (one mouth), bilabials.png (the three mouths at each bilabial
of the line), frames/*.png and preview.gif (left to right: regression, diffusion, phonetic). Prints
at how many bilabials each head's lips meet on the mesh. Run it through scripts/demo.sh (which sets
up).
"""

import json
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from inference import phonetic  # noqa: E402
from inference import phones as phones_mod  # noqa: E402
from inference.audio import load_audio  # noqa: E402
from inference.curves import num_frames_for  # noqa: E402

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import bpy  # noqa: E402
from mathutils import Vector  # noqa: E402
import head  # noqa: E402
import preview  # noqa: E402

SAMPLE = REPO_ROOT / "samples" / "line.wav"
TRANSCRIPT = SAMPLE.with_suffix(".txt")
ENGINES = ("regression", "diffusion", "phonetic")
DEMO_REPO = "lipkit_demo"  # the extensions repository the demo enables Lipkit from
FPS = 30
HEAD_SPACING = 1.9
# The take seed: seed 0's blink layer has one complete blink in the line, in the pause after "map"
# (frames 62-68, eyeBlink up to 0.93 at frame 64), which the demo's test checks the lids on.
SEED = 0
LAYERS = ("lips", "blinks", "gaze", "brows")
PLOTTED = ("jawOpen", "mouthClose", "mouthPucker", "mouthFunnel", "mouthRollLower", "mouthSmileLeft",
           "eyeBlinkLeft", "browInnerUp")
# Renders (scripts/preview.py): samples before Cycles' denoiser, sizes, and what each camera frames.
FRONT_WIDTH, FRONT_Z = 3 * HEAD_SPACING + 0.3, -0.2  # the row of heads, front view, orthographic
PREVIEW_RESOLUTION, PREVIEW_SAMPLES = (1280, 720), 8
PREVIEW_FRAME = 112  # during "five"
GIF_RESOLUTION, GIF_SAMPLES, GIF_STEP = (480, 270), 4, 3  # every 3rd scene frame
CLOSEUP_RESOLUTION, CLOSEUP_SAMPLES, CLOSEUP_LENS_MM = (800, 450), 8, 85.0
CLOSEUP_OFFSET = (0.9, -4.6, 0.12)  # from the mouth: in front, a little to the character's left
CLOSEUP_ENGINE, CLOSEUP_FRAME = "phonetic", 111  # "five"
MOUTHS_RESOLUTION, MOUTHS_SAMPLES = (1100, 110), 4  # the three mouths in a row
MOUTHS_HEIGHT = MOUTHS_RESOLUTION[1] / MOUTHS_RESOLUTION[0] * 3 * HEAD_SPACING  # world units
BILABIALS = ("p", "b", "m")


def headless(wav: Path, out: Path, *extra):
    """The headless command, exactly as a user runs it."""
    command = [sys.executable, "-m", "inference", str(wav), "--out", str(out), "--format", "llf", *extra]
    subprocess.run(command, cwd=REPO_ROOT, check=True)
    return json.loads((out / f"{wav.stem}.json").read_text())


def plot(document: dict, phones, path: Path, title: str, findings=()):
    """The PLOTTED channels over time, the phones below, and each review finding (a dict of the
    review report) as a red span labelled with its kind."""
    frames = np.asarray(document["frames"])
    times = np.arange(len(frames)) / document["fps"]
    figure, axes = plt.subplots(2, 1, figsize=(12, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    for name in PLOTTED:
        axes[0].plot(times, frames[:, document["channels"].index(name)], label=name)
    axes[0].set_ylabel("weight")
    axes[0].set_title(title)
    axes[0].legend(loc="upper right", ncol=4, fontsize=8)
    for phone in phones:
        if phone.phone != "sil":
            axes[1].axvspan(phone.start, phone.end, alpha=0.15, color="tab:blue" if phone.phone in ("p", "b", "m") else "grey")
            axes[1].text((phone.start + phone.end) / 2, 0.5, phone.phone, ha="center", va="center", fontsize=8)
    for finding in findings:
        start, end = finding["first"] / document["fps"], (finding["last"] + 1) / document["fps"]
        axes[0].axvspan(start, end, alpha=0.2, color="tab:red")
        axes[0].text(start, 0.98, f"{finding['kind']} {finding['phone']}".strip(), color="tab:red", fontsize=7,
                     va="top", transform=axes[0].get_xaxis_transform())
    axes[1].set_yticks([])
    axes[1].set_xlabel("seconds (phones: bilabials in blue; review findings in red)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def enable_lipkit(folder: Path):
    """Enable Lipkit from an extensions repository holding this checkout, as Blender does (by its id)."""
    import addon_utils
    (folder / "lipkit").symlink_to(REPO_ROOT, target_is_directory=True)
    bpy.context.preferences.extensions.repos.new(name="Lipkit demo", module=DEMO_REPO,
                                                 custom_directory=str(folder), source="USER")
    return addon_utils.enable(f"bl_ext.{DEMO_REPO}.lipkit", default_set=True)


def use_line(scene):
    """The sample line as a sound strip at frame 1 (a file followed from frame 1 without Audaspace)."""
    settings = scene.lipkit
    settings.transcript_file = str(TRANSCRIPT)
    if bpy.app.build_options.audaspace:
        editor = scene.sequence_editor_create()
        strips = editor.strips if hasattr(editor, "strips") else editor.sequences
        settings.sound_source, settings.strip = "STRIP", strips.new_sound("line", str(SAMPLE), 1, 1).name
    else:
        settings.sound_source, settings.sound_file, settings.file_frame = "FILE", str(SAMPLE), 1


def lip_sync(obj, engine: str, scene):
    """Map `obj`'s shape keys and give it a take from `engine`, through Lipkit's operators."""
    for other in bpy.context.view_layer.objects:
        other.select_set(False)
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    bpy.ops.lipkit.mapping_detect()
    settings = scene.lipkit
    settings.engine = engine
    settings.seed = SEED
    for layer in ("lips", "blinks", "gaze", "brows", "head"):
        setattr(settings, f"layer_{layer}", layer in LAYERS)
    bpy.ops.lipkit.generate()


def add_label(text: str, location):
    curve = bpy.data.curves.new(text, "FONT")
    curve.body, curve.align_x, curve.size = text, "CENTER", 0.3
    label = bpy.data.objects.new(f"{text} label", curve)
    label.location, label.rotation_euler = location, (math.radians(90), 0.0, 0.0)
    bpy.context.scene.collection.objects.link(label)


def build_scene(seconds: float) -> tuple:
    """A new scene with the line as a sound strip and one head per engine, each mapped and given a
    take by Lipkit, with the lights. (scene, {engine: head})."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    scene.frame_start, scene.frame_end = 1, num_frames_for(seconds, FPS)  # the take's frames
    use_line(scene)
    heads = {}
    for index, engine in enumerate(ENGINES):
        x = (index - 1) * HEAD_SPACING
        heads[engine] = head.add_head(engine.capitalize(), (x, 0.0, 0.0))
        lip_sync(heads[engine], engine, scene)
        add_label(engine, (x, -1.5, -1.38))
    preview.add_light(scene)
    return scene, heads


def bilabials(line: str) -> list[tuple[str, str, int]]:
    """Each bilabial of the sample line, aligned to the transcript: (phone, word, the scene frame
    nearest its middle). The strip starts at scene frame 1."""
    result = phones_mod.align_phones(load_audio(SAMPLE).samples, line)
    found = []
    for phone in result.intervals:
        if phone.phone in BILABIALS:
            middle = (phone.start + phone.end) / 2
            word = next((w for w, start, end in result.words if start <= middle <= end), "?")
            found.append((phone.phone, word, 1 + round(middle * FPS)))
    return found


def render(scene, heads: dict, out: Path, line: str) -> dict[str, Path]:
    """The demo's pictures: the preview still and GIF frames (front), the close-up, the bilabial strip."""
    preview.use_cycles_cpu(scene, PREVIEW_SAMPLES)
    front = preview.add_camera(scene, 0.0, FRONT_WIDTH, FRONT_Z)
    mouth_z = head.MOUTH_Z
    mouths = preview.add_camera(scene, 0.0, 3 * HEAD_SPACING, mouth_z, name="Mouths")
    target = heads[CLOSEUP_ENGINE].matrix_world @ Vector((0.0, float(head.surface_y(0.0, mouth_z)), mouth_z))
    closeup = preview.add_closeup_camera(scene, target, CLOSEUP_OFFSET, CLOSEUP_LENS_MM)
    scene.camera = front
    bpy.ops.wm.save_as_mainfile(filepath=str(out / "demo.blend"))
    pictures = {"preview.png": preview.render_still(scene, front, out / "preview.png", PREVIEW_RESOLUTION,
                                                    PREVIEW_FRAME)}
    scene.cycles.samples = CLOSEUP_SAMPLES
    pictures["closeup.png"] = preview.render_still(scene, closeup, out / "closeup.png", CLOSEUP_RESOLUTION,
                                                   CLOSEUP_FRAME)
    scene.cycles.samples = MOUTHS_SAMPLES
    rows, met = [], dict.fromkeys(ENGINES, 0)
    with tempfile.TemporaryDirectory(prefix="lipkit-demo-mouths-") as folder:
        for phone, word, frame in bilabials(line):
            path = preview.render_still(scene, mouths, Path(folder) / f"{frame:04d}.png", MOUTHS_RESOLUTION, frame)
            rows.append((f"{phone} in \"{word}\" ({frame})", path))
            depsgraph = bpy.context.evaluated_depsgraph_get()
            for engine in ENGINES:
                met[engine] += head.mouth_and_eyes(heads[engine], depsgraph)[0] <= 0.0
        pictures["bilabials.png"] = preview.write_strip(rows, out / "bilabials.png", columns=ENGINES)
    scene.cycles.samples = GIF_SAMPLES
    shutil.rmtree(out / "frames", ignore_errors=True)
    frames = preview.render_frames(scene, front, out / "frames", GIF_RESOLUTION,
                                   range(scene.frame_start, scene.frame_end + 1, GIF_STEP))
    pictures["preview.gif"] = preview.write_gif(frames, out / "preview.gif", GIF_STEP / FPS)
    scene.camera = front
    print("demo: the lips meet (on the mesh) at the bilabials: "
          + ", ".join(f"{engine} {count} of {len(rows)}" for engine, count in met.items()))
    return pictures


def main():
    out = REPO_ROOT / "out" / "demo"
    out.mkdir(parents=True, exist_ok=True)
    line = TRANSCRIPT.read_text(encoding="utf-8").strip()
    regression = headless(SAMPLE, out / "regression", "--emotion", "happy=0.3", "--review")
    findings = json.loads((out / "regression" / f"{SAMPLE.stem}.review.json").read_text())["findings"]
    headless(SAMPLE, out / "diffusion", "--engine", "diffusion", "--seed", "1")
    headless(SAMPLE, out / "phonetic", "--engine", "phonetic", "--transcript", str(TRANSCRIPT))
    phones = phonetic.find_phones(load_audio(SAMPLE), line)[0]
    plot(regression, phones, out / "curves.png", f'"{line}" (regression model, happy 0.3)', findings)
    with tempfile.TemporaryDirectory(prefix="lipkit-demo-extensions-") as extensions:
        enable_lipkit(Path(extensions))
        scene, heads = build_scene(load_audio(SAMPLE).duration)
        pictures = render(scene, heads, out, line)
    folders = ", ".join(str((out / name).relative_to(REPO_ROOT)) for name in ENGINES)
    shown = lambda path: path.relative_to(REPO_ROOT)  # noqa: E731
    print(f"demo: {shown(SAMPLE)} lip-synced; curves in {folders}; plot {shown(out / 'curves.png')}; "
          f"Blender file {shown(out / 'demo.blend')}; pictures {', '.join(str(shown(p)) for p in pictures.values())}")


if __name__ == "__main__":
    main()
