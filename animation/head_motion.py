"""Head motion and the jaw bone: rotations onto a bone or an object, and a jawOpen driver.

Head motion (yaw, pitch, roll from `inference.layers.HeadMotion`) becomes an Action of rotation
F-curves on the target (an object, or a pose bone of an armature), in the target's own rotation
mode (Euler in any order, or quaternion) through `mathutils`, stacked on the target's NLA like a
take. yaw turns about Z, pitch about X, roll about Y (Blender's Z-up, -Y-forward head).
"""

from __future__ import annotations

import bpy
import numpy as np
from mathutils import Euler

from ..inference.errors import TakeError
from . import takes

OBJECT_ID_TYPE = "OBJECT"
JAW_OPEN_RADIANS = 0.35  # jaw bone rotation at jawOpen = 1 (about 20 degrees)
JAW_NAMES = ("jaw",)


def _owner(target, bone_name: str):
    """(the rotated thing, its data-path prefix)."""
    if target.library is not None:
        raise TakeError(f"'{target.name}' is linked from {target.library.filepath}: make it local first")
    if not bone_name:
        return target, ""
    if target.type != "ARMATURE" or bone_name not in target.pose.bones:
        raise TakeError(f"'{target.name}' has no bone '{bone_name}': pick an armature bone or leave it empty")
    return target.pose.bones[bone_name], f'pose.bones["{bpy.utils.escape_identifier(bone_name)}"].'


def rotation_rows(motion, mode: str) -> tuple[str, np.ndarray]:
    """(property name, values [T, 3 or 4]) of yaw/pitch/roll in a rotation mode."""
    if mode == "AXIS_ANGLE":
        raise TakeError("axis-angle rotation is not supported for head motion: use Euler or quaternion")
    rows = []
    for yaw, pitch, roll in motion.rotations:
        euler = Euler((float(pitch), float(roll), float(yaw)), "XYZ")
        if mode == "QUATERNION":
            rows.append(tuple(euler.to_quaternion()))
        else:
            rows.append(tuple(euler.to_matrix().to_euler(mode)))
    name = "rotation_quaternion" if mode == "QUATERNION" else "rotation_euler"
    return name, np.array(rows, np.float32)


def write(target, bone_name: str, motion, scene, frame_start: int, take_name: str):
    """The head motion as a new Action on `target` (or its bone), stacked and playing; returns it."""
    owner, prefix = _owner(target, bone_name)
    prop, values = rotation_rows(motion, owner.rotation_mode)
    frames = frame_start + np.arange(motion.num_frames, dtype=np.float64)
    action = bpy.data.actions.new(f"{take_name} head")
    try:
        _, container = takes.new_channel_container(action, OBJECT_ID_TYPE)
        group = container.groups.new("Head")
        for index in range(values.shape[1]):
            takes.write_fcurve(container, prefix + prop, group, frames, values[:, index], index)
        action[takes.TAKE_PROPERTY] = {"source": f"{take_name} head", "take": 1, "fps": takes.scene_fps(scene),
                                       "frame_start": int(frame_start), "frame_count": motion.num_frames}
        takes.assign(target, action)
    except Exception:
        bpy.data.actions.remove(action)
        raise
    return action


def find_jaw_bone(armature) -> str:
    """The name of a bone called like a jaw, '' when there is none."""
    if armature is None or armature.type != "ARMATURE":
        return ""
    return next((bone.name for bone in armature.pose.bones
                 if any(word in bone.name.lower() for word in JAW_NAMES)), "")


def drive_jaw(armature, bone_name: str, key, shape_key: str, radians: float = JAW_OPEN_RADIANS):
    """Drive the jaw bone's X rotation from the jawOpen shape key (replacing an earlier Lipkit driver)."""
    owner, prefix = _owner(armature, bone_name)
    owner.rotation_mode = "XYZ" if owner.rotation_mode in ("QUATERNION", "AXIS_ANGLE") else owner.rotation_mode
    path = prefix + "rotation_euler"
    armature.driver_remove(path, 0)
    fcurve = armature.driver_add(path, 0)
    driver = fcurve.driver
    driver.type = "SCRIPTED"
    variable = driver.variables.new()
    variable.name = "jaw"
    variable.type = "SINGLE_PROP"
    variable.targets[0].id_type = "KEY"
    variable.targets[0].id = key
    variable.targets[0].data_path = takes.shape_key_data_path(shape_key)
    driver.expression = f"jaw * {radians:.6g}"
    return fcurve
