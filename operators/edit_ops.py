"""Operators that edit what a take shows: constraints (from keys, pinned poses), per-region locks
and edits (scale, smooth, clear), takes compared on the NLA (solo, mute), renamed, layers muted,
and the rig (jaw bone driver). Regions are those of `inference.arkit.REGIONS`.
"""

import bpy
import numpy as np
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty

from .. import properties
from ..animation import character, head_motion, takes
from ..inference import arkit, editing, layers
from ..inference.errors import LipkitError, TakeError
from .boundary import LipkitOperator, active_head
from .generate_ops import RangeSettings, character_setup, gather_constraints, locked_columns, showing_take


def _take_frames(head, objects, pairs):
    keys = takes.check_writable(objects)
    action = showing_take(head, keys)
    frames, values = takes.read_take(action, pairs)
    return keys, action, frames, values


class LIPKIT_OT_constraints_from_keys(LipkitOperator, bpy.types.Operator):
    """List your hand keys on mapped shape keys (within the showing take) as constraints"""

    bl_idname = "lipkit.constraints_from_keys"
    bl_label = "Keys to Constraints"
    bl_options = {"REGISTER", "UNDO"}

    def run(self, context):
        head, objects, pairs = character_setup(context)
        keys, _, frames, _ = _take_frames(head, objects, pairs)
        grid = gather_constraints(head, keys, pairs, int(frames[0]), len(frames), True, self.report)
        known = {(item.frame, item.channel) for item in head.lipkit.constraints}
        added = 0
        for frame, column in zip(*np.nonzero(grid.mask)):
            entry = (int(frames[0]) + int(frame), arkit.NAMES[column])
            if entry not in known:
                item = head.lipkit.constraints.add()
                item.frame, item.channel, item.value = entry[0], entry[1], float(grid.values[frame, column])
                added += 1
        self.report({"INFO"}, f"{added} constraint(s) added")
        return {"FINISHED"}


class LIPKIT_OT_pin_pose(LipkitOperator, bpy.types.Operator):
    """Keep a region's current pose at the current frame as constraints"""

    bl_idname = "lipkit.pin_pose"
    bl_label = "Pin Pose"
    bl_options = {"REGISTER", "UNDO"}

    region: EnumProperty(name="Region", items=properties.REGION_ITEMS)

    def run(self, context):
        head, _, pairs = character_setup(context)
        frame = context.scene.frame_current
        blocks = head.data.shape_keys.key_blocks
        listed = {(item.frame, item.channel): item for item in head.lipkit.constraints}
        pinned = 0
        for channel in arkit.REGION_CHANNELS[self.region]:
            if channel not in pairs or pairs[channel] not in blocks:
                continue
            item = listed.get((frame, channel)) or head.lipkit.constraints.add()
            item.frame, item.channel, item.enabled = frame, channel, True
            item.value = min(max(blocks[pairs[channel]].value, 0.0), 1.0)
            pinned += 1
        if not pinned:
            raise LipkitError(f"no mapped {self.region} channels on '{head.name}' to pin")
        self.report({"INFO"}, f"Pinned {pinned} {self.region} channel(s) at frame {frame}")
        return {"FINISHED"}


class LIPKIT_OT_constraint_remove(LipkitOperator, bpy.types.Operator):
    """Remove the highlighted constraint (or all of them)"""

    bl_idname = "lipkit.constraint_remove"
    bl_label = "Remove Constraint"
    bl_options = {"REGISTER", "UNDO"}

    all: BoolProperty(name="All", default=False)

    def run(self, context):
        head = active_head(context)
        entries = head.lipkit.constraints
        if self.all:
            entries.clear()
        elif 0 <= head.lipkit.constraint_index < len(entries):
            entries.remove(head.lipkit.constraint_index)
        else:
            raise LipkitError("no constraint highlighted in the list")
        head.lipkit.constraint_index = max(0, min(head.lipkit.constraint_index, len(entries) - 1))
        return {"FINISHED"}


class LIPKIT_OT_region_lock(LipkitOperator, bpy.types.Operator):
    """Lock or unlock a region: a locked region is left bit-identical by every regeneration and edit"""

    bl_idname = "lipkit.region_lock"
    bl_label = "Lock Region"
    bl_options = {"REGISTER", "UNDO"}

    region: EnumProperty(name="Region", items=properties.REGION_ITEMS)
    lock: BoolProperty(name="Lock", default=True)

    def run(self, context):
        head = active_head(context)
        locked = set(head.lipkit.locked_regions)
        head.lipkit.locked_regions = (locked | {self.region}) if self.lock else (locked - {self.region})
        return {"FINISHED"}


class RegionEdit(RangeSettings, LipkitOperator):
    """Edits one region of the showing take in place over a range (default: the whole take)."""

    region: EnumProperty(name="Region", items=properties.REGION_ITEMS)
    whole_take: BoolProperty(name="Whole Take", default=True, description="Edit every frame of the take")

    def edit(self, values, columns, first, last):
        raise NotImplementedError

    def run(self, context):
        head, objects, pairs = character_setup(context)
        _, action, frames, values = _take_frames(head, objects, pairs)
        if self.region in head.lipkit.locked_regions:
            raise TakeError(f"the {self.region} region is locked: unlock it to edit it")
        first, last = (int(frames[0]), int(frames[-1])) if self.whole_take else self.fill_range(context)
        columns = editing.region_columns([self.region]) & ~locked_columns(head)
        try:
            edited = self.edit(values, columns, first - int(frames[0]), last - int(frames[0]))
        except ValueError as exc:
            raise TakeError(str(exc)) from exc
        takes.overwrite_take(action, pairs, edited)
        self.report({"INFO"}, f"{self.bl_label}: {self.region} on '{action.name}', frames {first}-{last}")
        return {"FINISHED"}


class LIPKIT_OT_region_scale(RegionEdit, bpy.types.Operator):
    """Scale the intensity of a region on the showing take"""

    bl_idname = "lipkit.region_scale"
    bl_label = "Scale Region"
    bl_options = {"REGISTER", "UNDO"}

    factor: FloatProperty(name="Factor", default=1.2, min=0.0, max=5.0)

    def edit(self, values, columns, first, last):
        return editing.scale(values, columns, self.factor, first, last, self.fade)


class LIPKIT_OT_region_smooth(RegionEdit, bpy.types.Operator):
    """Smooth a region's curves on the showing take"""

    bl_idname = "lipkit.region_smooth"
    bl_label = "Smooth Region"
    bl_options = {"REGISTER", "UNDO"}

    radius: IntProperty(name="Radius", default=editing.DEFAULT_SMOOTH_RADIUS, min=1, max=30)

    def edit(self, values, columns, first, last):
        return editing.smooth(values, columns, self.radius, first, last, self.fade)


class LIPKIT_OT_region_clear(RegionEdit, bpy.types.Operator):
    """Ease a region to rest on the showing take"""

    bl_idname = "lipkit.region_clear"
    bl_label = "Clear Region"
    bl_options = {"REGISTER", "UNDO"}

    def edit(self, values, columns, first, last):
        return editing.clear(values, columns, first, last, self.fade)


def _listed_take(head, index: int):
    character.prune_takes(head)
    index = head.lipkit.take_index if index < 0 else index
    if not 0 <= index < len(head.lipkit.takes):
        raise TakeError("no take highlighted in the list")
    return head.lipkit.takes[index].action


class LIPKIT_OT_take_compare(LipkitOperator, bpy.types.Operator):
    """Compare takes on the NLA: solo this take, or mute/unmute it over the others"""

    bl_idname = "lipkit.take_compare"
    bl_label = "Compare Take"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(name="Take", default=-1)
    mode: EnumProperty(name="Mode", items=(("SOLO", "Solo", "Play only this take"),
                                           ("TOGGLE_MUTE", "Mute/Unmute", "Toggle this take's track")))

    def run(self, context):
        head, objects, _ = character_setup(context)
        action = _listed_take(head, self.index)
        for key in takes.check_writable(objects):
            if self.mode == "SOLO":
                takes.solo(key, action, on=takes.active_take(key) != action or not any(
                    track.is_solo for track, _ in takes.take_tracks(key)))
            else:
                takes.set_muted(key, action, not takes.is_muted(key, action))
        return {"FINISHED"}


class LIPKIT_OT_take_rename(LipkitOperator, bpy.types.Operator):
    """Rename a take (names are unique: an existing name is refused)"""

    bl_idname = "lipkit.take_rename"
    bl_label = "Rename Take"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(name="Take", default=-1)
    name: StringProperty(name="Name")

    def invoke(self, context, event):
        head = active_head(context)
        self.name = _listed_take(head, self.index).name
        return context.window_manager.invoke_props_dialog(self)

    def run(self, context):
        action = _listed_take(active_head(context), self.index)
        name = self.name.strip()
        if not name:
            raise TakeError("a take needs a name")
        if name != action.name and name in bpy.data.actions:
            raise TakeError(f"a take or action named '{name}' exists already: choose another name")
        if len(name) > takes.MAX_NAME_LENGTH:
            raise TakeError(f"names are at most {takes.MAX_NAME_LENGTH} characters")
        action.name = name
        return {"FINISHED"}


LAYER_CHANNELS = {"blinks": layers.BLINK_CHANNELS, "gaze": layers.GAZE_CHANNELS}


class LIPKIT_OT_layer_mute(LipkitOperator, bpy.types.Operator):
    """Mute or unmute the blink or gaze channels of the showing take"""

    bl_idname = "lipkit.layer_mute"
    bl_label = "Mute Layer"
    bl_options = {"REGISTER", "UNDO"}

    layer: EnumProperty(name="Layer", items=(("blinks", "Blinks", ""), ("gaze", "Gaze", "")))
    mute: BoolProperty(name="Mute", default=True)

    def run(self, context):
        head, objects, pairs = character_setup(context)
        action = showing_take(head, takes.check_writable(objects))
        count = takes.mute_channels(action, pairs, LAYER_CHANNELS[self.layer], self.mute)
        self.report({"INFO"}, f"{'Muted' if self.mute else 'Unmuted'} {count} {self.layer} F-curve(s)")
        return {"FINISHED"}


class LIPKIT_OT_jaw_bone_drive(LipkitOperator, bpy.types.Operator):
    """Drive the rig's jaw bone from the jawOpen shape key"""

    bl_idname = "lipkit.jaw_bone_drive"
    bl_label = "Drive Jaw Bone"
    bl_options = {"REGISTER", "UNDO"}

    bone: StringProperty(name="Bone", description="Jaw bone (empty: the first bone named like a jaw)")
    radians: FloatProperty(name="Open Angle", subtype="ANGLE", default=head_motion.JAW_OPEN_RADIANS)

    def run(self, context):
        head, _, pairs = character_setup(context)
        armature = context.scene.lipkit.head_object
        if armature is None or armature.type != "ARMATURE":
            raise LipkitError("set the Head Rig to the character's armature first")
        bone = self.bone or head_motion.find_jaw_bone(armature)
        if not bone:
            raise LipkitError(f"'{armature.name}' has no bone named like a jaw: type its name")
        if "jawOpen" not in pairs:
            raise LipkitError("jawOpen is not mapped on this character")
        head_motion.drive_jaw(armature, bone, head.data.shape_keys, pairs["jawOpen"], self.radians)
        self.report({"INFO"}, f"'{bone}' follows jawOpen")
        return {"FINISHED"}


classes = (LIPKIT_OT_constraints_from_keys, LIPKIT_OT_pin_pose, LIPKIT_OT_constraint_remove,
           LIPKIT_OT_region_lock, LIPKIT_OT_region_scale, LIPKIT_OT_region_smooth, LIPKIT_OT_region_clear,
           LIPKIT_OT_take_compare, LIPKIT_OT_take_rename, LIPKIT_OT_layer_mute, LIPKIT_OT_jaw_bone_drive)
