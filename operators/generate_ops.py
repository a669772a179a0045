"""Generate takes from sound, and regenerate parts of them: around hand keys, in a range, with emotion.

`lipkit.generate` runs as a modal operator in the UI (progress bar, ESC cancels, the work in a
`jobs.Job` thread) and synchronously under `blender -b` or when called from a script. Every
regeneration writes a new take (the previous one stays, muted, in the list) in which frames
outside the range, channels of locked regions and other regions are copied bit for bit.
"""

import json
from dataclasses import dataclass, replace
from pathlib import Path

import bpy
import numpy as np
from bpy.props import EnumProperty, FloatProperty, IntProperty

from .. import properties
from ..animation import character, head_motion, takes
from ..inference import arkit, editing, emotion, generation, limits, mapping, timeline
from ..inference.curves import Curves
from ..inference.errors import LipkitError, TakeError
from . import jobs, sound as sound_mod
from .boundary import LipkitOperator, active_head

_LISTED = 4
# What the take info and the preferences say ran a take no model made (phonetic engine, no lips layer).
NO_MODEL = "no model"


@dataclass
class Plan:
    """Everything a generation needs, gathered on the main thread before the work starts."""

    head: object
    objects: list
    pairs: dict
    sound: sound_mod.Sound
    request: generation.Request


def checked_fps(scene) -> float:
    """The scene's frame rate (fps / fps_base), refused outside `limits` (a take would be absurd)."""
    try:
        return limits.check_fps(takes.scene_fps(scene), "the scene's frame rate")
    except ValueError as exc:
        raise LipkitError(f"{exc}: set it in Output Properties > Format > Frame Rate") from exc


def ambiguity_warning(head) -> str:
    """A warning naming the channels Detect Mapping found ambiguous (left out of every take), or ''."""
    ambiguous = [item for item in head.lipkit.channels if item.status == mapping.AMBIGUOUS]
    if not ambiguous:
        return ""
    listed = "; ".join(f"{item.channel} ({item.candidates})" if item.candidates else item.channel
                       for item in ambiguous[:_LISTED])
    more = f" and {len(ambiguous) - _LISTED} more" if len(ambiguous) > _LISTED else ""
    return (f"{len(ambiguous)} ambiguous channel(s) left out of the take: {listed}{more}; "
            "pick a shape key for each in the Mapping list")


def character_setup(context):
    """(head, objects, pairs): the active character, checked writable and mapped."""
    head = active_head(context)
    objects = character.character_objects(head)
    takes.check_writable(objects)
    pairs = character.stored_pairs(head)
    if not pairs:
        raise TakeError(f"'{head.name}' has no mapping yet: run Detect Mapping in the Lip Sync panel first")
    return head, objects, pairs


def transcript_text(settings) -> str:
    if settings.transcript.strip() or not settings.transcript_file:
        return settings.transcript
    path = Path(bpy.path.abspath(settings.transcript_file))
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LipkitError(f"cannot read the transcript file {path}: {exc}") from exc


def emotion_weights(scene, first_frame: int, num_frames: int) -> np.ndarray:
    """The emotion sliders (as animated) on each take frame, times the intensity: [T, 8]."""
    settings = scene.lipkit
    frames = first_frame + np.arange(num_frames)
    intensity = takes.animated_values(scene, "lipkit.emotion_intensity", frames, settings.emotion_intensity)
    columns = []
    for category in emotion.CATEGORIES:
        name = properties.EMOTION_PROPERTY_PREFIX + category
        columns.append(takes.animated_values(scene, f"lipkit.{name}", frames, getattr(settings, name)))
    return np.clip(np.stack(columns, axis=1) * intensity[:, None], 0.0, 1.0).astype(np.float32)


def build_request(context, engine: str, seed: int, steps: int, guidance: float, first_frame: int,
                  num_frames: int, constraints=None) -> generation.Request:
    scene = context.scene
    settings = scene.lipkit
    prefs = context.preferences.addons[__package__.rpartition(".")[0]].preferences
    diffusion = engine == "diffusion"
    layers = tuple(layer for layer in generation.LAYERS if getattr(settings, properties.LAYER_PROPERTIES[layer]))
    return generation.Request(
        engine, checked_fps(scene), seed, layers,
        transcript=transcript_text(settings) if engine == "phonetic" else "",
        recognition=settings.recognition,
        steps=(steps or None) if diffusion else None,
        guidance=(guidance if guidance >= 0 else None) if diffusion else None,
        emotion=emotion_weights(scene, first_frame, num_frames), constraints=constraints,
        provider=prefs.execution_provider, cpu_threads=prefs.cpu_threads, voice=settings.voice)


def pick_sound(context, report) -> sound_mod.Sound:
    """The sound the panel names: a strip, or a file (added as a strip where Blender can)."""
    scene = context.scene
    settings = scene.lipkit
    if settings.sound_source == "STRIP":
        return sound_mod.from_strip(scene, settings.strip)
    if not settings.sound_file:
        raise LipkitError("no sound file chosen: pick one in the Lip Sync panel")
    path = bpy.path.abspath(settings.sound_file)
    sound_mod.decode(path)  # a missing or unreadable file is reported before a strip is added
    strip = sound_mod.add_file_strip(scene, path, settings.file_frame)
    if strip is None:
        report({"WARNING"}, "this Blender cannot add sound strips (built without Audaspace): "
                            f"following the file from frame {settings.file_frame}")
        return sound_mod.from_file(scene, path, settings.file_frame)
    settings.sound_source, settings.strip = "STRIP", strip.name
    return sound_mod.from_strip(scene, strip.name)


def write_result(context, head, objects, pairs, sound, performance, request, report, extra=None):
    """The performance as a new take (and head motion where a head rig is set); returns the take."""
    window = sound.window
    provider = performance.curves.meta.get("provider", NO_MODEL)
    info = {"engine": request.engine, "seed": request.seed, "steps": request.steps or 0,
            "guidance": -1.0 if request.guidance is None else request.guidance,
            "layers": ",".join(request.layers), "audio_path": sound.path, "audio_start": window.start,
            "audio_stop": window.stop, "provider": provider,
            "voice_scale": float(performance.curves.meta.get("voice_scale", 1.0)), **(extra or {})}
    if "style" in performance.curves.meta:      # the diffusion take's style, as the seed drew it
        info["style"] = ", ".join(f"{name} {value:+.2f}" for name, value in performance.curves.meta["style"].items())
    if performance.phones:      # the phonetic engine's phones and words, for the review (seconds from the take's start)
        info["phones"] = json.dumps([[p.phone, round(p.start, 4), round(p.end, 4)] for p in performance.phones])
        info["words"] = json.dumps([[w, round(s, 4), round(e, 4)] for w, s, e in performance.words])
    action = takes.write_take(objects, performance.curves, pairs, context.scene, window.first_frame,
                              source=sound.name, extra_info=info)
    character.add_take(head, action)
    context.window_manager.lipkit.last_provider = provider
    settings = context.scene.lipkit
    if performance.head is not None and settings.head_object is not None:
        head_motion.write(settings.head_object, settings.head_bone, performance.head, context.scene,
                          window.first_frame, action.name)
    for warning in performance.warnings + ((ambiguity_warning(head),) if ambiguity_warning(head) else ()):
        report({"WARNING"}, warning)
    return action


class EngineSettings:
    """Operator properties shared by every generating operator (shown in Adjust Last Operation)."""

    engine: EnumProperty(name="Engine", items=properties.ENGINE_ITEMS)
    seed: IntProperty(name="Seed", min=limits.MIN_SEED, max=limits.MAX_SEED)
    steps: IntProperty(name="Steps", min=0, max=limits.MAX_STEPS, description="Diffusion steps (0: the model's)")
    guidance: FloatProperty(name="Guidance", min=-1.0, max=limits.MAX_GUIDANCE, default=-1.0,
                            description="Diffusion emotion guidance (negative: the model's)")

    def fill_from_scene(self, context):
        """Unset properties take the panel's values (a script or the redo panel may set them)."""
        settings = context.scene.lipkit
        for name in ("engine", "seed", "steps", "guidance"):
            if not self.properties.is_property_set(name):
                setattr(self, name, getattr(settings, name))


class LIPKIT_OT_generate(EngineSettings, LipkitOperator, bpy.types.Operator):
    """Lip-sync the chosen sound onto the active character as a new take (ESC cancels)"""

    bl_idname = "lipkit.generate"
    bl_label = "Generate"
    bl_options = {"REGISTER", "UNDO"}

    _job = None
    _plan = None
    _timer = None

    def plan(self, context) -> Plan:
        self.fill_from_scene(context)
        head, objects, pairs = character_setup(context)
        sound = pick_sound(context, self.report)
        count = generation.num_frames(sound.audio, checked_fps(context.scene))
        request = build_request(context, self.engine, self.seed, self.steps, self.guidance,
                                sound.window.first_frame, count)
        return Plan(head, objects, pairs, sound, request)

    def finish(self, context, plan: Plan, performance):
        action = write_result(context, plan.head, plan.objects, plan.pairs, plan.sound, performance,
                              plan.request, self.report)
        self.report({"INFO"}, f"New take '{action.name}' ({plan.request.engine}, seed {plan.request.seed})")
        return {"FINISHED"}

    def run(self, context):
        plan = self.plan(context)
        return self.finish(context, plan, generation.run(plan.sound.audio, plan.request))

    def invoke(self, context, event):
        if bpy.app.background or context.window is None:
            return self.execute(context)
        if jobs.already_running(self, context):
            return {"CANCELLED"}
        plan = self.guard(self.plan, context)
        if not isinstance(plan, Plan):
            return {"CANCELLED"}
        self._plan = plan
        self._job = jobs.Job(lambda progress, cancel: generation.run(plan.sound.audio, plan.request, progress, cancel))
        self._job.start()
        self._timer = jobs.begin_progress(self, context, "Generating (ESC cancels)")
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC":
            self._job.cancel()
            context.window_manager.lipkit.message = "Cancelling..."
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        fraction = self._job.fraction
        context.window_manager.progress_update(100 * fraction)
        context.window_manager.lipkit.progress = 100 * fraction
        if not self._job.done:
            return {"RUNNING_MODAL"}
        jobs.end_progress(context, self._timer)
        return self.guard(lambda: self.finish(context, self._plan, self._job.result()))


# --------------------------------------------------------------------------- regeneration


def showing_take(head, keys):
    for key in keys:
        action = takes.active_take(key)
        if action is not None:
            if action.library is not None:
                raise TakeError(f"take '{action.name}' is linked from {action.library.filepath}: make it local to edit it")
            return action
    raise TakeError(f"no take is showing on '{head.name}': generate one or activate one in the Takes list")


def locked_columns(head) -> np.ndarray:
    return editing.region_columns(head.lipkit.locked_regions)


def gather_constraints(head, keys, pairs, first_frame: int, num_frames: int, use_keys: bool, report):
    """Hand keys on the take's frames plus the enabled listed constraints, as a grid; others reported."""
    entries = [(item.frame, item.channel, item.value) for item in head.lipkit.constraints
               if item.enabled and item.channel in pairs]
    if use_keys:
        for key in keys:
            entries += takes.animator_keys(key, pairs, first_frame, first_frame + num_frames - 1)
    grid, outside = editing.take_constraints(entries, first_frame, num_frames)
    if outside:
        listed = ", ".join(f"{channel} @ {frame}" for frame, channel, _ in outside[:_LISTED])
        report({"WARNING"}, f"{len(outside)} constraint(s) lie outside the take's frames "
                            f"{first_frame}-{first_frame + num_frames - 1} and were left out: {listed}")
    return grid


def regenerate(op, context, seed: int, first: int | None = None, last: int | None = None, columns=None,
               use_keys: bool = True, fade: int = 0, require_constraints: bool = False):
    """A new take from the showing one: frames [first, last] (scene frames; default all) of `columns`
    regenerated with `seed` through the constraints, the rest and locked regions kept bit for bit."""
    head, objects, pairs = character_setup(context)
    keys = takes.check_writable(objects)
    source = showing_take(head, keys)
    warning = takes.fps_mismatch(source, context.scene)
    if warning:
        raise TakeError(warning)
    info = takes.take_info(source)
    if "audio_path" not in info:
        raise TakeError(f"take '{source.name}' was imported, not generated: it has no sound to regenerate from")
    frames, old = takes.read_take(source, pairs)
    first_frame, count = int(frames[0]), len(frames)
    grid = gather_constraints(head, keys, pairs, first_frame, count, use_keys, op.report)
    if require_constraints and not grid.count:
        raise TakeError("no hand keys or enabled constraints on the take's frames: key a mapped shape key "
                        "(or pin a pose) first")
    window = timeline.Window(info["audio_start"], info["audio_stop"], first_frame)
    sound = sound_mod.from_window(info["audio_path"], window, info["source"])
    request = build_request(context, op.engine, seed, op.steps, op.guidance, first_frame, count, grid)
    performance = generation.run(sound.audio, request)
    new = performance.curves.select(arkit.NAMES).values
    new = np.concatenate([new, np.repeat(new[-1:], max(count - len(new), 0), axis=0)])[:count]
    lo = 0 if first is None else first - first_frame
    hi = count - 1 if last is None else last - first_frame
    try:
        values = editing.splice(old, new, lo, hi, columns, fade)
    except ValueError as exc:
        raise TakeError(str(exc)) from exc
    values = editing.keep_locked(old, values, locked_columns(head))
    curves = Curves(performance.curves.fps, values, meta=performance.curves.meta)
    result = replace(performance, curves=curves, warnings=())
    return write_result(context, head, objects, pairs, sound, result, request, op.report,
                        extra={"derived_from": source.name})


class RegenerateOperator(EngineSettings, LipkitOperator):
    """A generating operator on the showing take; unset settings come from the panel.

    By default it regenerates the whole take (`require_constraints`: only with keys to go through).
    """

    require_constraints = False
    done = ""

    def run(self, context):
        self.fill_from_scene(context)
        action = regenerate(self, context, self.seed, require_constraints=self.require_constraints)
        self.report({"INFO"}, f"New take '{action.name}' {self.done}")
        return {"FINISHED"}


class LIPKIT_OT_regenerate_around_keys(RegenerateOperator, bpy.types.Operator):
    """Regenerate the showing take through your hand keys and pinned poses (exact at them, smooth around)"""

    bl_idname = "lipkit.regenerate_around_keys"
    bl_label = "Regenerate Around Keys"
    bl_options = {"REGISTER", "UNDO"}
    require_constraints = True
    done = "through the keys"


def resolve_range(scene, mode: str, start: int, end: int, marker_start: str, marker_end: str) -> tuple[int, int]:
    """Scene frames (first, last) of a range given as the preview range, two markers, or typed."""
    if mode == "PREVIEW":
        if not scene.use_preview_range:
            raise LipkitError("the scene has no preview range: set one (Ctrl+Alt+P) or choose another range")
        return scene.frame_preview_start, scene.frame_preview_end
    if mode == "MARKERS":
        found = {marker.name: marker.frame for marker in scene.timeline_markers}
        missing = [name or "(none)" for name in (marker_start, marker_end) if name not in found]
        if missing:
            raise LipkitError(f"marker(s) not found: {', '.join(missing)}")
        return tuple(sorted((found[marker_start], found[marker_end])))
    return start, end


class RangeSettings:
    range_mode: EnumProperty(name="Range", items=(
        ("PREVIEW", "Preview Range", ""), ("MARKERS", "Markers", ""), ("TYPED", "Frames", "")), default="TYPED")
    range_start: IntProperty(name="Start", min=limits.MIN_FRAME, max=limits.MAX_FRAME)
    range_end: IntProperty(name="End", min=limits.MIN_FRAME, max=limits.MAX_FRAME)
    fade: IntProperty(name="Seam Frames", default=editing.DEFAULT_FADE_FRAMES, min=0, max=100,
                      description="Frames over which the new part blends in at each end of the range")

    def fill_range(self, context):
        settings = context.scene.lipkit
        for name in ("range_mode", "range_start", "range_end"):
            if not self.properties.is_property_set(name):
                setattr(self, name, getattr(settings, name))
        return resolve_range(context.scene, self.range_mode, self.range_start, self.range_end,
                             settings.marker_start, settings.marker_end)


class LIPKIT_OT_resample_range(RangeSettings, RegenerateOperator, bpy.types.Operator):
    """Regenerate only a range of the showing take with a new seed (the previous version stays a take)"""

    bl_idname = "lipkit.resample_range"
    bl_label = "Resample Range"
    bl_options = {"REGISTER", "UNDO"}

    def invoke(self, context, event):
        if not self.properties.is_property_set("seed"):
            self.seed = context.scene.lipkit.seed + 1
        return self.execute(context)

    def run(self, context):
        self.fill_from_scene(context)
        first, last = self.fill_range(context)
        action = regenerate(self, context, self.seed, first, last, fade=self.fade)
        self.report({"INFO"}, f"New take '{action.name}': frames {first}-{last} resampled with seed {self.seed}")
        return {"FINISHED"}


class LIPKIT_OT_region_regenerate(RangeSettings, RegenerateOperator, bpy.types.Operator):
    """Regenerate one face region in a range of the showing take"""

    bl_idname = "lipkit.region_regenerate"
    bl_label = "Regenerate Region"
    bl_options = {"REGISTER", "UNDO"}

    region: EnumProperty(name="Region", items=properties.REGION_ITEMS)

    def run(self, context):
        self.fill_from_scene(context)
        first, last = self.fill_range(context)
        action = regenerate(self, context, self.seed, first, last, editing.region_columns([self.region]),
                            fade=self.fade)
        self.report({"INFO"}, f"New take '{action.name}': {self.region} regenerated on {first}-{last}")
        return {"FINISHED"}


class LIPKIT_OT_apply_emotion(RegenerateOperator, bpy.types.Operator):
    """Regenerate the showing take with the emotion sliders as animated (hand keys and constraints kept)"""

    bl_idname = "lipkit.apply_emotion"
    bl_label = "Apply Emotion"
    bl_options = {"REGISTER", "UNDO"}
    done = "with the emotion sliders"


classes = (LIPKIT_OT_generate, LIPKIT_OT_regenerate_around_keys, LIPKIT_OT_resample_range,
           LIPKIT_OT_region_regenerate, LIPKIT_OT_apply_emotion)
