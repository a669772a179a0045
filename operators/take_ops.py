"""Operators for takes: import curves as a take, activate, delete, restore the animator's action."""

from pathlib import Path

import bpy
from bpy.props import FloatProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ImportHelper

from ..animation import character, takes
from ..inference import exchange
from ..inference.errors import TakeError
from .boundary import LipkitOperator, active_head


def _character_keys(head):
    return takes.check_writable(character.character_objects(head))


def _highlighted_take(head, index: int):
    character.prune_takes(head)
    entries = head.lipkit.takes
    index = head.lipkit.take_index if index < 0 else index
    if not 0 <= index < len(entries):
        raise TakeError("no take highlighted in the list")
    return entries[index].action, index


class LIPKIT_OT_take_import(LipkitOperator, bpy.types.Operator, ImportHelper):
    """Import ARKit curves (Lipkit JSON, or a per-frame CSV such as Face Cap's) as a new take"""

    bl_idname = "lipkit.take_import"
    bl_label = "Import Curves as Take"
    bl_options = {"REGISTER", "UNDO"}
    filter_glob: StringProperty(default="*.json;*.csv", options={"HIDDEN"})

    frame_start: IntProperty(name="Start Frame", description="Scene frame at which the curves' time 0 lands",
                             default=1)
    fps: FloatProperty(name="FPS (CSV without time)", default=0.0, min=0.0,
                       description="Frame rate of a CSV with no time column (0: read it from the file)")

    def invoke(self, context, event):
        self.frame_start = context.scene.frame_start
        return super().invoke(context, event)

    def run(self, context):
        head = active_head(context)
        try:
            loaded = exchange.read_curves_file(self.filepath, fps=self.fps or None)
        except ValueError as exc:
            raise TakeError(str(exc)) from exc
        pairs = character.stored_pairs(head)
        action = takes.write_take(character.character_objects(head), loaded.curves, pairs, context.scene,
                                  self.frame_start, source=Path(self.filepath).stem,
                                  extra_info={"engine": "import"})
        character.add_take(head, action)
        for warning in loaded.warnings:
            self.report({"WARNING"}, warning)
        self.report({"INFO"}, f"New take '{action.name}': {len(pairs)} channels, "
                              f"{takes.take_info(action)['frame_count']} frames")
        return {"FINISHED"}


class LIPKIT_OT_take_activate(LipkitOperator, bpy.types.Operator):
    """Show this take on the character (other takes and your own action are kept)"""

    bl_idname = "lipkit.take_activate"
    bl_label = "Activate Take"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(name="Take", default=-1, description="Take list index (-1: the highlighted one)")

    def run(self, context):
        head = active_head(context)
        action, index = _highlighted_take(head, self.index)
        for key in _character_keys(head):
            takes.assign(key, action)
        head.lipkit.take_index = index
        warning = takes.fps_mismatch(action, context.scene)
        if warning:
            self.report({"WARNING"}, warning)
        return {"FINISHED"}


class LIPKIT_OT_take_delete(LipkitOperator, bpy.types.Operator):
    """Delete this take and its NLA tracks (your own animation is untouched)"""

    bl_idname = "lipkit.take_delete"
    bl_label = "Delete Take"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(name="Take", default=-1, description="Take list index (-1: the highlighted one)")

    def run(self, context):
        head = active_head(context)
        action, index = _highlighted_take(head, self.index)
        name = action.name
        takes.delete_take(action, _character_keys(head))
        character.prune_takes(head)
        self.report({"INFO"}, f"Deleted take '{name}'")
        return {"FINISHED"}


class LIPKIT_OT_take_restore_original(LipkitOperator, bpy.types.Operator):
    """Mute every take: only your own animation shows (the takes stay in the list)"""

    bl_idname = "lipkit.take_restore_original"
    bl_label = "Restore Original Action"
    bl_options = {"REGISTER", "UNDO"}

    def run(self, context):
        head = active_head(context)
        restored = [key for key in _character_keys(head) if takes.mute_takes(key)]
        if restored:
            self.report({"INFO"}, "Takes muted: your own animation shows")
        else:
            self.report({"INFO"}, "Takes muted: the character has no animation of its own")
        return {"FINISHED"}


classes = (LIPKIT_OT_take_import, LIPKIT_OT_take_activate, LIPKIT_OT_take_delete,
           LIPKIT_OT_take_restore_original)
