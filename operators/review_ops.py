"""The review of the showing take (`inference.review`): its findings listed on the character, marked
on the timeline as `LK <kind> <phone>` markers, summarised on the take, and a missed closure fixed
by a constraint (mouthClose up, jawOpen down at its frame) and the Regenerate Around Keys path.

The lips are measured in millimetres on the character's own mesh (`inference.lips`: found from
its shape keys, or at the vertices the animator set in the panel); where they cannot be found
(a mouth shape missing or still) on the default lips (the demo head's), and the report says why. Its
phones: a phonetic take's own (stored on the take when it was written), else the scene's transcript
for a phonetic take, else recognition.
"""

import json
from dataclasses import dataclass, replace

import bpy
import numpy as np

from ..animation import character, takes
from ..inference import lips, review, timeline
from ..inference.curves import Curves
from ..inference.errors import GeometryError, LipkitError, TakeError
from ..inference.phonemes import PhoneInterval
from . import jobs, sound as sound_mod
from .boundary import LipkitOperator, active_head
from .generate_ops import RegenerateOperator, character_setup, gather_constraints, showing_take, transcript_text

MARKER_PREFIX = "LK "
FIXABLE = (review.MISSED_CLOSURE,)
# The constraint Fix adds at a missed closure: the jaw nearly shut and mouthClose past it, which
# closes the lips on ARKit rigs (mouthClose cancels jawOpen at equal weights).
FIX_JAW = 0.05
FIX_CLOSE = 0.1
MM_PER_METRE = 1000.0
# Axes of a Blender head when the animator chose the vertices and the shape keys cannot say:
# x lateral, z up, facing -y.
BLENDER_AXES = ((0, 1), (2, 1), (1, -1))


def character_lips(context, head, pairs) -> tuple[lips.LipGeometry | None, str]:
    """(the head's lip geometry in mm, or None, and what was used or why not)."""
    basis, deltas = character.shape_key_deltas(head, pairs)
    scale = MM_PER_METRE * context.scene.unit_settings.scale_length * float(np.mean(head.matrix_world.to_scale()))
    chosen = tuple(head.lipkit.lip_vertices)
    try:
        vertices = None
        if max(chosen) >= 0:
            if max(chosen) >= len(basis):
                raise GeometryError(f"the lip vertices {chosen} are not all on '{head.name}' ({len(basis)} vertices)")
            try:
                found = lips.find_lip_vertices(basis, deltas)
            except GeometryError:
                if min(chosen) < 0:
                    raise
                found = lips.LipVertices(chosen, *BLENDER_AXES)
            ids = tuple(mine if mine >= 0 else theirs for mine, theirs in zip(chosen, found.ids))
            vertices = lips.LipVertices(ids, found.lateral, found.up, found.forward)
        geometry = lips.character_geometry(basis, deltas, scale, vertices)
    except GeometryError as exc:
        return None, f"the default lips, the demo head's ({head.name}'s: {exc})"
    return geometry, f"{head.name}'s lips" + (" at the chosen vertices" if max(chosen) >= 0 else "")


def marker_name(finding) -> str:
    return f"{MARKER_PREFIX}{finding.kind} {finding.phone}".rstrip()


def clear_markers(scene) -> int:
    """Remove every Lipkit review marker from the timeline; returns how many."""
    ours = [marker for marker in scene.timeline_markers if marker.name.startswith(MARKER_PREFIX)]
    for marker in ours:
        scene.timeline_markers.remove(marker)
    return len(ours)


@dataclass
class ReviewPlan:
    """What a review needs, gathered on the main thread before the work starts."""

    head: object
    action: object
    curves: Curves
    audio: object
    first_frame: int
    constraints: object
    transcript: str
    phones: tuple
    words: tuple
    geometry: lips.LipGeometry | None
    measured_on: str

    def work(self, progress=None, should_cancel=None) -> review.Review:
        """The review itself (finding the phones is the slow part): safe off the main thread."""
        return review.review_take(self.audio, self.curves, self.phones, transcript=self.transcript or None,
                                  constraints=self.constraints, geometry=self.geometry,
                                  geometry_name=self.measured_on, progress=progress, should_cancel=should_cancel,
                                  take_words=self.words)


def plan_review(context) -> ReviewPlan:
    """The showing take of the active character, its sound, keys, transcript and lips."""
    head, objects, pairs = character_setup(context)
    keys = takes.check_writable(objects)
    action = showing_take(head, keys)
    warning = takes.fps_mismatch(action, context.scene)
    if warning:
        raise TakeError(warning)
    info = takes.take_info(action)
    if "audio_path" not in info:
        raise TakeError(f"take '{action.name}' was imported, not generated: it has no sound to review it against")
    frames, values = takes.read_take(action, pairs)
    first_frame = int(frames[0])
    curves = Curves(takes.scene_fps(context.scene), values)
    window = timeline.Window(info["audio_start"], info["audio_stop"], first_frame)
    audio = sound_mod.from_window(info["audio_path"], window, info["source"]).audio
    grid = gather_constraints(head, keys, pairs, first_frame, len(frames), True, lambda *_: None)
    transcript = transcript_text(context.scene.lipkit) if info.get("engine") == "phonetic" else ""
    geometry, measured_on = character_lips(context, head, pairs)
    phones, words = take_phones(info)
    return ReviewPlan(head, action, curves, audio, first_frame, grid, transcript, phones, words, geometry,
                      measured_on)


def take_phones(info: dict) -> tuple[tuple[PhoneInterval, ...], tuple[tuple[str, float, float], ...]]:
    """The phones and words a phonetic take was made from (stored on it by `write_result`), or none."""
    try:
        phones = tuple(PhoneInterval(*entry) for entry in json.loads(info.get("phones", "[]")))
        words = tuple((str(w), float(s), float(e)) for w, s, e in json.loads(info.get("words", "[]")))
    except (ValueError, TypeError):
        return (), ()       # an edited or damaged record: the review finds the phones itself
    return phones, words


def store_review(scene, head, action, result: review.Review, first_frame: int) -> None:
    """The findings onto the character (scene frames), the summary onto the take, markers on the timeline."""
    head.lipkit.findings.clear()
    clear_markers(scene)
    for finding in result.findings:
        if finding.key_frame >= 0:
            finding = replace(finding, key_frame=first_frame + finding.key_frame)    # in scene frames
        item = head.lipkit.findings.add()
        item.kind, item.phone, item.word, item.channel = finding.kind, finding.phone, finding.word, finding.channel
        item.message, item.severity = finding.describe(), finding.severity
        item.frame, item.first, item.last = (first_frame + finding.frame, first_frame + finding.first,
                                             first_frame + finding.last)
        scene.timeline_markers.new(marker_name(finding), frame=item.frame)
    head.lipkit.reviewed_take = action
    for entry in head.lipkit.takes:
        if entry.action == action:
            entry.review_summary = result.summary()


def finding_channels(item) -> tuple[str, ...]:
    """The channels a finding is about: its own channel, else the mouth and jaw."""
    return (item.channel,) if item.channel else review.MOUTH_CHANNELS


def show_finding(context, head) -> None:
    """Jump to the highlighted finding's frame and select its F-curves in the reviewed take."""
    index = head.lipkit.finding_index
    if not 0 <= index < len(head.lipkit.findings):
        return
    item = head.lipkit.findings[index]
    context.scene.frame_set(item.frame)
    action = head.lipkit.reviewed_take
    if action is not None and takes.is_take(action):
        takes.select_channels(action, character.stored_pairs(head), finding_channels(item))


class LIPKIT_OT_review_take(LipkitOperator, bpy.types.Operator):
    """List the frames of the showing take to look at (missed closures, open silences, jumps...) and mark them (ESC cancels)"""

    bl_idname = "lipkit.review_take"
    bl_label = "Review Take"
    bl_options = {"REGISTER", "UNDO"}

    _job = None
    _plan = None
    _timer = None

    def finish(self, context, plan: ReviewPlan, result: review.Review):
        store_review(context.scene, plan.head, plan.action, result, plan.first_frame)
        plan.head.lipkit.finding_index = -1
        self.report({"INFO"}, f"Review of '{plan.action.name}': {result.summary()} (phones: {result.phone_source}; "
                              f"measured on {result.geometry})")
        return {"FINISHED"}

    def run(self, context):
        plan = plan_review(context)
        return self.finish(context, plan, plan.work())

    def invoke(self, context, event):
        if bpy.app.background or context.window is None:
            return self.execute(context)
        if jobs.already_running(self, context):
            return {"CANCELLED"}
        plan = self.guard(plan_review, context)
        if not isinstance(plan, ReviewPlan):
            return {"CANCELLED"}
        self._plan = plan
        self._job = jobs.Job(plan.work).start()
        self._timer = jobs.begin_progress(self, context, "Reviewing (ESC cancels)")
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC":
            self._job.cancel()
            context.window_manager.lipkit.message = "Cancelling..."
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        context.window_manager.progress_update(100 * self._job.fraction)
        context.window_manager.lipkit.progress = 100 * self._job.fraction
        if not self._job.done:
            return {"RUNNING_MODAL"}
        jobs.end_progress(context, self._timer)
        return self.guard(lambda: self.finish(context, self._plan, self._job.result()))


class LIPKIT_OT_review_clear_markers(LipkitOperator, bpy.types.Operator):
    """Remove the review's markers (LK ...) from the timeline"""

    bl_idname = "lipkit.review_clear_markers"
    bl_label = "Clear Markers"
    bl_options = {"REGISTER", "UNDO"}

    def run(self, context):
        self.report({"INFO"}, f"{clear_markers(context.scene)} review marker(s) removed")
        return {"FINISHED"}


class LIPKIT_OT_review_fix(RegenerateOperator, bpy.types.Operator):
    """Close the lips at the highlighted missed closure: a constraint there (mouthClose up, jawOpen down), then Regenerate Around Keys"""

    bl_idname = "lipkit.review_fix"
    bl_label = "Fix Closure"
    bl_options = {"REGISTER", "UNDO"}
    require_constraints = True
    done = "with the lips closed at the missed closure"

    def run(self, context):
        head = active_head(context)
        index = head.lipkit.finding_index
        if not 0 <= index < len(head.lipkit.findings):
            raise LipkitError("no finding highlighted: Review Take, then pick a missed closure in the list")
        item = head.lipkit.findings[index]
        if item.kind not in FIXABLE:
            raise LipkitError(f"Fix closes the lips at a missed closure; the highlighted finding is {item.kind}")
        entries = head.lipkit.constraints
        before = [(entry.frame, entry.channel, entry.value, entry.enabled) for entry in entries]
        listed = {(entry.frame, entry.channel): entry for entry in entries}
        for channel, value in (("jawOpen", FIX_JAW), ("mouthClose", FIX_CLOSE)):
            entry = listed.get((item.frame, channel)) or entries.add()
            entry.frame, entry.channel, entry.value, entry.enabled = item.frame, channel, value, True
        try:
            result = super().run(context)
        except Exception:
            entries.clear()                  # nothing was made: the list goes back to what it was
            for frame, channel, value, enabled in before:
                entry = entries.add()
                entry.frame, entry.channel, entry.value, entry.enabled = frame, channel, value, enabled
            raise
        scene = context.scene
        for marker in [m for m in scene.timeline_markers if m.frame == item.frame and m.name == marker_name(item)]:
            scene.timeline_markers.remove(marker)
        head.lipkit.findings.remove(index)
        head.lipkit.finding_index = -1
        return result


classes = (LIPKIT_OT_review_take, LIPKIT_OT_review_clear_markers, LIPKIT_OT_review_fix)
