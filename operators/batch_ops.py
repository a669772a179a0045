"""Batches in Blender: the shot list (scanned from the sequencer or loaded from a CSV/JSON file),
`lipkit.batch` writing one take per shot, and the headless command `blender -b scene.blend
--command lipkit batch SHOTS [--save] [--report FILE] [--shot NAME] [--cache DIR]`.

Every shot is checked before anything runs; a broken one is reported by its row and the others run.
In the UI the batch is modal: one progress bar (shot i of N, and progress within the shot), ESC
stops after the shot under way. Under `blender -b` or from a script it runs synchronously. Either
way it is one undo step and ends with a summary (text datablock "Lipkit Batch") and a JSON report
(text datablock "Lipkit Batch.json", and a file when asked).

Results are cached by (audio content, settings) in the extension's user folder (`inference.batch`).
A shot whose take already holds the same result is left alone, or only shifted when its strip moved;
a changed shot gets a new take (the previous one stays in the list).
"""

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import bpy
from bpy.props import StringProperty

from .. import properties
from ..animation import character, takes
from ..inference import batch, cli, files, generation, review, shotlist
from ..inference.errors import LipkitError, TakeError
from . import jobs, sound as sound_mod
from .boundary import LipkitOperator
from .generate_ops import checked_fps, write_result
from .review_ops import character_lips

CHARACTER_PROPERTY = "lipkit_character"
SUMMARY_TEXT = "Lipkit Batch"
REPORT_TEXT = "Lipkit Batch.json"
COMMAND = "lipkit"
ADDON = __package__.rpartition(".")[0]


def addon_preferences(context):
    return context.preferences.addons[ADDON].preferences


def default_cache_dir() -> str:
    return bpy.utils.extension_path_user(ADDON, path="cache", create=True)


def project_folder() -> Path:
    """The .blend's folder (the current folder for an unsaved file): relative audio paths resolve here."""
    return Path(bpy.path.abspath("//")) if bpy.data.filepath else Path.cwd()


def character_head(name: str):
    """The head mesh of a character named as an object, or as a collection holding a mapped mesh."""
    obj = bpy.data.objects.get(name)
    if obj is not None:
        return obj if obj.type == "MESH" else None
    collection = bpy.data.collections.get(name)
    if collection is None:
        return None
    meshes = [member for member in collection.all_objects if member.type == "MESH"]
    return next((mesh for mesh in meshes if len(mesh.lipkit.channels)), meshes[0] if meshes else None)


def character_names() -> set[str]:
    return {obj.name for obj in bpy.data.objects if obj.type == "MESH"} | set(bpy.data.collections.keys())


def strip_character(strip, separator: str) -> str:
    """Who says a strip's line: its custom property, else the strip name up to the separator."""
    if strip.get(CHARACTER_PROPERTY):
        return str(strip[CHARACTER_PROPERTY])
    name = strip.name
    return name.split(separator, 1)[0] if separator and separator in name else name


def scan_sequencer(scene) -> int:
    """Fill the shot list with the scene's unmuted sound strips (by start frame); returns how many."""
    settings = scene.lipkit
    found = sorted((s for s in sound_mod.strips(scene) if s.type == "SOUND" and not s.mute),
                   key=lambda s: (s.frame_final_start, s.channel))
    known = character_names()
    settings.shots.clear()
    for row, strip in enumerate(found, start=1):
        item = settings.shots.add()
        item.name, item.row, item.strip = strip.name, row, strip.name
        item.start_frame = strip.frame_final_start
        item.engine, item.seed = settings.engine, settings.seed
        item.character = strip_character(strip, settings.character_separator)
        if item.character not in known:
            item.error = f"no object or collection named '{item.character}' for strip '{strip.name}'"
    settings.shot_index = 0
    return len(found)


def load_shot_list(scene, path) -> list:
    """Fill the shot list from a CSV or JSON file, in row order; broken rows stay listed with their
    problem (switched off). Returns the row errors. The whole file is read and checked before the
    list changes, and a row Blender cannot hold becomes a row error: the list is never half-loaded."""
    records = shotlist.read_records(Path(path))
    listed = shotlist.validate(records, project_folder(), character_names())
    settings = scene.lipkit
    settings.shots.clear()
    errors = list(listed.errors)
    for entry in sorted(listed.shots + listed.errors, key=lambda entry: entry.row):
        item = settings.shots.add()
        item.row = entry.row
        if isinstance(entry, shotlist.RowError):
            item.name, item.error, item.enabled = entry.shot[:shotlist.MAX_NAME_LENGTH], entry.message, False
            continue
        try:
            fill_item(item, entry)
        except (ValueError, TypeError, OverflowError) as exc:
            error = shotlist.RowError(entry.row, entry.name, f"Blender cannot hold this row: {exc}")
            item.error, item.enabled = error.message, False
            errors.append(error)
    settings.shot_index = 0
    return sorted(errors, key=lambda error: error.row)


def fill_item(item, shot: shotlist.Shot) -> None:
    item.name, item.audio, item.character, item.start_frame = (shot.name, str(shot.audio), shot.character,
                                                               shot.start_frame)
    item.engine, item.seed, item.transcript, item.take = shot.engine, shot.seed, shot.transcript, shot.take
    item.emotion = ", ".join(f"{name}={value:g}" for name, value in shot.emotion.items())


@dataclass
class ShotPlan:
    """One shot, gathered on the main thread: who, what sound, which request, the cache key."""

    index: int
    row: int
    name: str
    head: object
    objects: list
    pairs: dict
    sound: sound_mod.Sound
    request: generation.Request
    key: str


def check_item(item, seen: dict) -> None:
    """LipkitError/ValueError when a shot (as edited in the list) cannot run."""
    if item.error:
        raise LipkitError(item.error)
    shotlist.check_name(item.name)
    if shotlist.name_key(item.name) in seen:
        raise LipkitError(f"duplicate shot name '{item.name}' (first on row {seen[shotlist.name_key(item.name)]}; "
                          "names differing only in case collide)")
    shotlist.emotion_mix(item.emotion)
    if character_head(item.character) is None:
        raise LipkitError(f"unknown character '{item.character}': no mesh object or collection with a mesh"
                          if item.character else "no character: name the object or collection that says the line")


def batch_settings(context) -> batch.Settings:
    scene = context.scene
    prefs = addon_preferences(context)
    layers = tuple(layer for layer in generation.LAYERS if getattr(scene.lipkit, properties.LAYER_PROPERTIES[layer]))
    return batch.Settings(checked_fps(scene), layers, prefs.execution_provider, prefs.cpu_threads,
                          review=scene.lipkit.batch_review, voice=scene.lipkit.voice)


def plan_shot(context, index: int, item, settings: batch.Settings) -> ShotPlan:
    scene = context.scene
    head = character_head(item.character)
    objects = character.character_objects(head)
    takes.check_writable(objects)
    pairs = character.stored_pairs(head)
    if not pairs:
        raise TakeError(f"'{head.name}' has no mapping yet: run Detect Mapping on it first")
    if item.strip:
        sound = sound_mod.from_strip(scene, item.strip)
    else:
        sound = sound_mod.from_file(scene, bpy.path.abspath(item.audio), item.start_frame)
    shot = shotlist.Shot(item.row, item.name, Path(sound.path), item.character, item.start_frame, item.engine,
                         item.seed, shotlist.emotion_mix(item.emotion), item.transcript, item.take)
    sound = replace(sound, name=shot.take_name)
    request = batch.request_for(shot, generation.num_frames(sound.audio, settings.fps), settings)
    return ShotPlan(index, item.row, item.name, head, objects, pairs, sound, request,
                    batch.cache_key(sound.audio, request))


def batch_take(head, shot_name: str):
    """The newest take the batch wrote for this shot on this character, or None."""
    found = [item.action for item in head.lipkit.takes
             if item.action is not None and takes.take_info(item.action).get("batch_shot") == shot_name]
    return found[-1] if found else None


def reuse_take(plan: ShotPlan) -> str | None:
    """When the shot's take already holds this result: '' if in place, a note if it was shifted; else None."""
    action = batch_take(plan.head, plan.name)
    if action is None or takes.take_info(action).get("cache_key") != plan.key:
        return None
    delta = plan.sound.window.first_frame - int(takes.take_info(action)["frame_start"])
    if not delta:
        return ""
    takes.shift_take(action, takes.check_writable(plan.objects), delta)
    return f"take '{action.name}' moved to frame {plan.sound.window.first_frame} with its strip"


class BatchRun:
    """A batch over the scene's shot list: checks every shot first, then plans, runs and writes them one by one."""

    def __init__(self, context, cache_dir: str, report_path: str = "", only=()):
        if not context.scene.lipkit.shots:
            raise LipkitError("the shot list is empty: Scan Sequencer or Load a shot list first")
        self.context = context
        self.cache_dir = cache_dir or default_cache_dir()
        self.report_path = report_path
        self.settings = batch_settings(context)
        self.began = time.perf_counter()
        self.outcomes: list[batch.Outcome] = []
        self.queue: list[int] = []
        seen = {}
        for index, item in enumerate(context.scene.lipkit.shots):
            if (item.name not in only) if only else (not item.enabled and not item.error):
                continue
            try:
                check_item(item, seen)
            except (LipkitError, ValueError) as exc:
                self.outcomes.append(batch.Outcome(item.row, item.name, batch.INVALID, error=str(exc)))
                continue
            seen[shotlist.name_key(item.name)] = item.row
            self.queue.append(index)
        self.total = len(self.queue)
        self.finished = 0

    def item(self, index: int):
        return self.context.scene.lipkit.shots[index]

    def next_plan(self):
        """The next shot's plan, or an outcome when it is done without running an engine; None at the end."""
        while self.queue:
            index = self.queue.pop(0)
            item = self.item(index)
            began = time.perf_counter()
            try:
                plan = plan_shot(self.context, index, item, self.settings)
                note = reuse_take(plan)
            except Exception as exc:  # noqa: BLE001 - a shot that cannot be planned fails alone
                self.record(index, batch.Outcome(item.row, item.name, batch.FAILED, time.perf_counter() - began,
                                                 error=batch.failure_message(exc, item.name)))
                continue
            if note is None:
                return plan
            self.record(index, batch.Outcome(item.row, item.name, batch.CACHED, time.perf_counter() - began,
                                             (note,) if note else ()))
        return None

    def work(self, plan: ShotPlan):
        """The engine run (or cache read) of a plan and, with Review, its review: safe off the main
        thread (the character's lips are measured here, on the main thread, first)."""
        lips = character_lips(self.context, plan.head, plan.pairs) if self.settings.review else None

        def run(progress, cancel):
            performance, cached, key = batch.perform_cached(plan.sound.audio, plan.request, self.cache_dir,
                                                            progress, cancel)
            found = None
            if lips is not None:
                found = review.review_take(plan.sound.audio, performance.curves, performance.phones,
                                           plan.request.transcript or None, geometry=lips[0], geometry_name=lips[1],
                                           take_words=performance.words)
            return performance, cached, key, found
        return run

    def write(self, plan: ShotPlan, result, began: float, error: Exception | None = None):
        """Write the shot's take from `result` = (performance, cached, key), or record `error`."""
        warnings = []
        try:
            if error is not None:
                raise error
            performance, cached, key, found = result
            performance = replace(performance, head=None)  # head motion is per scene rig: not in batches
            action = write_result(self.context, plan.head, plan.objects, plan.pairs, plan.sound, performance,
                                  plan.request, lambda _level, message: warnings.append(message),
                                  extra={"batch_shot": plan.name, "cache_key": key})
            for entry in plan.head.lipkit.takes:
                if found is not None and entry.action == action:
                    entry.review_summary = found.summary()
        except Exception as exc:  # noqa: BLE001 - a shot that cannot be written fails alone
            outcome = batch.Outcome(plan.row, plan.name, batch.FAILED, time.perf_counter() - began,
                                    error=batch.failure_message(exc, plan.name))
        else:
            outcome = batch.Outcome(plan.row, plan.name, batch.CACHED if cached else batch.DONE,
                                    time.perf_counter() - began, tuple(warnings),
                                    findings=found.counts() if found is not None else None)
        self.record(plan.index, outcome)

    def record(self, index: int, outcome: batch.Outcome):
        self.outcomes.append(outcome)
        self.finished += 1
        self.item(index).status = outcome.status + (f": {outcome.error}" if outcome.error else "")

    def run_all(self):
        """Every shot, synchronously."""
        while (plan := self.next_plan()) is not None:
            began = time.perf_counter()
            try:
                result = self.work(plan)(None, None)
            except Exception as exc:  # noqa: BLE001 - handed to write(), which records the shot as failed
                self.write(plan, None, began, exc)
            else:
                self.write(plan, result, began)
        return self.finish()

    def finish(self, stopped: bool = False) -> dict:
        """The report: not-run shots listed, the summary and JSON written as text datablocks (and a file)."""
        for index in self.queue:
            item = self.item(index)
            self.outcomes.append(batch.Outcome(item.row, item.name, batch.NOT_RUN))
            item.status = batch.NOT_RUN
        self.queue = []
        document = batch.report(self.outcomes, time.perf_counter() - self.began, stopped)
        write_text(SUMMARY_TEXT, batch.summary_text(document))
        text = json.dumps(document, indent=1)
        write_text(REPORT_TEXT, text)
        if self.report_path:
            files.write_atomically(Path(bpy.path.abspath(self.report_path)), text)
        return document


def write_text(name: str, text: str):
    block = bpy.data.texts.get(name) or bpy.data.texts.new(name)
    block.clear()
    block.write(text)


def headline(document: dict) -> str:
    return batch.summary_text(document).splitlines()[0]


class LIPKIT_OT_batch(LipkitOperator, bpy.types.Operator):
    """Lip-sync every shot of the shot list onto its character, one take each (ESC stops after the current shot)"""

    bl_idname = "lipkit.batch"
    bl_label = "Run Batch"
    bl_options = {"REGISTER", "UNDO"}

    cache_dir: StringProperty(name="Cache Folder", subtype="DIR_PATH",
                              description="Where results are cached (empty: the extension's user folder)")
    report_path: StringProperty(name="Report", subtype="FILE_PATH", description="Also write the JSON report here")

    _run = None
    _job = None
    _plan = None
    _began = 0.0
    _stop = False
    _timer = None

    def conclude(self, document: dict):
        problems = document["failed"] + document["invalid"]
        self.report({"WARNING"} if problems else {"INFO"},
                    headline(document) + (f" (details in the text '{SUMMARY_TEXT}')" if problems else ""))
        return {"FINISHED"}

    def run(self, context):
        return self.conclude(BatchRun(context, self.cache_dir, self.report_path).run_all())

    def invoke(self, context, event):
        if bpy.app.background or context.window is None:
            return self.execute(context)
        if jobs.already_running(self, context):
            return {"CANCELLED"}
        self._run = self.guard(BatchRun, context, self.cache_dir, self.report_path)
        if not isinstance(self._run, BatchRun):
            return {"CANCELLED"}
        self._stop = False
        self._timer = jobs.begin_progress(self, context, "Batch (ESC stops after the current shot)")
        self._start_next(context)
        return {"RUNNING_MODAL"}

    def _start_next(self, context) -> bool:
        self._plan = None if self._stop else self._run.next_plan()
        if self._plan is None:
            return False
        self._began = time.perf_counter()
        self._job = jobs.Job(self._run.work(self._plan)).start()
        return True

    def _show_progress(self, context):
        run = self._run
        within = self._job.fraction if self._plan is not None else 0.0
        fraction = (run.finished + within) / run.total if run.total else 1.0
        state = context.window_manager.lipkit
        state.progress = 100.0 * fraction
        shot = min(run.finished + 1, run.total)
        state.message = (f"Stopping after shot {shot} of {run.total}" if self._stop
                         else f"Shot {shot} of {run.total} (ESC stops after it)")
        context.window_manager.progress_update(state.progress)

    def modal(self, context, event):
        if event.type == "ESC":
            self._stop = True
        if event.type != "TIMER":
            return {"RUNNING_MODAL"} if event.type == "ESC" else {"PASS_THROUGH"}
        if self._plan is not None and self._job.done:
            try:
                result, error = self._job.result(), None
            except Exception as exc:  # noqa: BLE001 - handed to write(), which records the shot as failed
                result, error = None, exc
            self.guard(self._run.write, self._plan, result, self._began, error)
            self._plan = None
        if self._plan is None and not self._start_next(context):
            jobs.end_progress(context, self._timer)
            return self.guard(lambda: self.conclude(self._run.finish(stopped=bool(self._run.queue))))
        self._show_progress(context)
        for area in context.screen.areas if context.screen else ():
            area.tag_redraw()
        return {"RUNNING_MODAL"}


class LIPKIT_OT_shots_scan(LipkitOperator, bpy.types.Operator):
    """Make the shot list from the scene's sound strips; a strip named <character><separator><line> is said by <character>"""

    bl_idname = "lipkit.shots_scan"
    bl_label = "Scan Sequencer"
    bl_options = {"REGISTER", "UNDO"}

    def run(self, context):
        count = scan_sequencer(context.scene)
        if not count:
            raise LipkitError("no unmuted sound strips in the sequencer")
        problems = sum(bool(item.error) for item in context.scene.lipkit.shots)
        self.report({"WARNING"} if problems else {"INFO"},
                    f"{count} shots{f', {problems} without a character' if problems else ''}")
        return {"FINISHED"}


class LIPKIT_OT_shots_load(LipkitOperator, bpy.types.Operator):
    """Load a shot list (CSV or JSON); rows that cannot run are listed with their problem"""

    bl_idname = "lipkit.shots_load"
    bl_label = "Load Shot List"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.csv;*.json", options={"HIDDEN"})

    def invoke(self, context, _event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def run(self, context):
        errors = load_shot_list(context.scene, bpy.path.abspath(self.filepath))
        count = len(context.scene.lipkit.shots)
        for error in errors:
            self.report({"WARNING"}, f"row {error.row} {error.shot}: {error.message}")
        self.report({"WARNING"} if errors else {"INFO"},
                    f"{count - len(errors)} shots{f', {len(errors)} broken rows' if errors else ''}")
        return {"FINISHED"}


class LIPKIT_OT_shot_remove(LipkitOperator, bpy.types.Operator):
    """Remove the highlighted shot from the list"""

    bl_idname = "lipkit.shot_remove"
    bl_label = "Remove Shot"
    bl_options = {"REGISTER", "UNDO"}

    def run(self, context):
        settings = context.scene.lipkit
        if not 0 <= settings.shot_index < len(settings.shots):
            raise LipkitError("no shot highlighted")
        settings.shots.remove(settings.shot_index)
        settings.shot_index = max(0, min(settings.shot_index, len(settings.shots) - 1))
        return {"FINISHED"}


classes = (LIPKIT_OT_batch, LIPKIT_OT_shots_scan, LIPKIT_OT_shots_load, LIPKIT_OT_shot_remove)


def file_problem() -> str:
    """Why the open .blend must not be batch-processed by this Blender ('' when it can be)."""
    if not bpy.data.filepath:
        return ("no .blend is open: give one before --command (a file this Blender cannot read, such as one "
                "saved by a much newer Blender, leaves none open)")
    saved, running = tuple(bpy.data.version), tuple(bpy.app.version)
    if saved[:2] > running[:2]:
        return (f"{bpy.path.basename(bpy.data.filepath)} was saved by Blender {'.'.join(map(str, saved))}, "
                f"newer than this Blender {bpy.app.version_string}: run the batch with Blender "
                f"{saved[0]}.{saved[1]} or later (this one could lose what it cannot read)")
    return ""


def command(argv) -> int:
    """`blender -b scene.blend --command lipkit batch SHOTS ...`: exit code 0, 1 (a shot failed) or 2."""
    try:
        args = cli.blender_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    context = bpy.context
    try:
        load_shot_list(context.scene, args.shots)
    except LipkitError as exc:
        print(f"lipkit: {exc}")
        return cli.EXIT_USAGE
    settings = context.scene.lipkit
    unknown = [name for name in args.shot if name not in {item.name for item in settings.shots}]
    if unknown:
        print(f"lipkit: no shot named {', '.join(unknown)} in {args.shots}")
        return cli.EXIT_USAGE
    problem = file_problem()
    if problem:
        for item in settings.shots:
            item.error = problem
    settings.batch_review = args.review
    document = BatchRun(context, str(args.cache or ""), str(args.report or ""), args.shot).run_all()
    print(batch.summary_text(document), end="")
    made = document["done"] + document["cached"]
    if args.save and made and not problem:
        bpy.ops.wm.save_mainfile()
    return cli.EXIT_FAILED if batch.failed(document) else 0


def register():
    if hasattr(bpy.utils, "register_cli_command"):
        global _command_handle
        _command_handle = bpy.utils.register_cli_command(COMMAND, command)


def unregister():
    global _command_handle
    if _command_handle is not None:
        bpy.utils.unregister_cli_command(_command_handle)
        _command_handle = None


_command_handle = None
