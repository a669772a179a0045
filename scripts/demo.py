"""The demo: lip-sync the line the project ships (samples/line.wav, made with festival) and show it.

Runs the headless command with the default engine (the bundled regression model), and, to compare,
the diffusion model and the phonetic engine with the transcript. Then, in Blender (the bpy module),
with Lipkit enabled as an extension: three procedural heads with the 52 ARKit shape keys
(scripts/head.py), one per engine, each given a take by Lipkit's own operators from the line as a
sound strip; saved as demo.blend and rendered with Cycles on the CPU (scripts/preview.py).

Writes to out/demo/: curves (JSON and Live Link Face CSV) per engine; curves.png, the mouth and eye
channels of the regression model over time against the aligned phones; demo.blend; frames/*.png
and preview.gif (left to right: regression, diffusion, phonetic). Run it through scripts/demo.sh
(which sets up).
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
from inference.audio import load_audio  # noqa: E402

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import bpy  # noqa: E402
import head  # noqa: E402
import preview  # noqa: E402

SAMPLE = REPO_ROOT / "samples" / "line.wav"
TRANSCRIPT = SAMPLE.with_suffix(".txt")
ENGINES = ("regression", "diffusion", "phonetic")
DEMO_REPO = "lipkit_demo"  # the extensions repository the demo enables Lipkit from
FPS = 30
HEAD_SPACING = 2.2
RENDER_STEP = 3  # render every 3rd frame
LAYERS = ("lips", "blinks", "brows")
PLOTTED = ("jawOpen", "mouthClose", "mouthPucker", "mouthFunnel", "mouthRollLower", "mouthSmileLeft",
           "eyeBlinkLeft", "browInnerUp")


def headless(wav: Path, out: Path, *extra):
    """The headless command, exactly as a user runs it."""
    command = [sys.executable, "-m", "inference", str(wav), "--out", str(out), "--format", "llf", *extra]
    subprocess.run(command, cwd=REPO_ROOT, check=True)
    return json.loads((out / f"{wav.stem}.json").read_text())


def plot(document: dict, phones, path: Path, title: str):
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
    axes[1].set_yticks([])
    axes[1].set_xlabel("seconds (phones: bilabials in blue)")
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
    for layer in ("lips", "blinks", "gaze", "brows", "head"):
        setattr(settings, f"layer_{layer}", layer in LAYERS)
    bpy.ops.lipkit.generate()


def add_label(text: str, location):
    curve = bpy.data.curves.new(text, "FONT")
    curve.body, curve.align_x, curve.size = text, "CENTER", 0.32
    label = bpy.data.objects.new(f"{text} label", curve)
    label.location, label.rotation_euler = location, (math.radians(90), 0.0, 0.0)
    bpy.context.scene.collection.objects.link(label)


def animate_in_blender(out: Path, seconds: float) -> list[Path]:
    """One head per engine, lip-synced by Lipkit in Blender; saves demo.blend and renders the preview."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    scene.frame_start, scene.frame_end = 1, 1 + math.ceil(seconds * FPS)
    use_line(scene)
    for index, engine in enumerate(ENGINES):
        x = (index - 1) * HEAD_SPACING
        lip_sync(head.add_head(engine.capitalize(), (x, 0.0, 0.0)), engine, scene)
        add_label(engine, (x, -1.5, -1.4))
    preview.add_camera(scene, 0.0, 3 * HEAD_SPACING + 0.3, -0.1)
    preview.add_light(scene)
    preview.use_cycles_cpu(scene)
    bpy.ops.wm.save_as_mainfile(filepath=str(out / "demo.blend"))
    shutil.rmtree(out / "frames", ignore_errors=True)
    frames = preview.render_frames(scene, out / "frames", range(scene.frame_start, scene.frame_end + 1, RENDER_STEP))
    preview.write_gif(frames, out / "preview.gif", RENDER_STEP / FPS)
    return frames


def main():
    out = REPO_ROOT / "out" / "demo"
    out.mkdir(parents=True, exist_ok=True)
    line = TRANSCRIPT.read_text(encoding="utf-8").strip()
    regression = headless(SAMPLE, out / "regression", "--emotion", "happy=0.3")
    headless(SAMPLE, out / "diffusion", "--engine", "diffusion", "--seed", "1")
    headless(SAMPLE, out / "phonetic", "--engine", "phonetic", "--transcript", str(TRANSCRIPT))
    phones = phonetic.find_phones(load_audio(SAMPLE), line)[0]
    plot(regression, phones, out / "curves.png", f'"{line}" (regression model, happy 0.3)')
    with tempfile.TemporaryDirectory(prefix="lipkit-demo-extensions-") as extensions:
        enable_lipkit(Path(extensions))
        frames = animate_in_blender(out, load_audio(SAMPLE).duration)
    folders = ", ".join(str((out / name).relative_to(REPO_ROOT)) for name in ENGINES)
    shown = lambda path: path.relative_to(REPO_ROOT)  # noqa: E731
    print(f"demo: {shown(SAMPLE)} lip-synced; curves in {folders}; plot {shown(out / 'curves.png')}; "
          f"Blender file {shown(out / 'demo.blend')}; {len(frames)} frames in {shown(out / 'frames')}; "
          f"{shown(out / 'preview.gif')}")


if __name__ == "__main__":
    main()
