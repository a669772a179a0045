"""Lipkit's data in Blender: `Object.lipkit` (mapping, character meshes, takes) and preferences."""

import bpy
from bpy.props import (BoolProperty, CollectionProperty, EnumProperty, IntProperty, PointerProperty,
                       StringProperty)

from .inference import arkit, mapping

STATUS_ITEMS = (
    (mapping.MATCHED, "Matched", "Found automatically from the shape-key name", "CHECKMARK", 0),
    (mapping.MISSING, "Missing", "No shape key found for this channel", "X", 1),
    (mapping.AMBIGUOUS, "Ambiguous", "Several shape keys fit: pick one", "QUESTION", 2),
    (mapping.MANUAL, "Manual", "Chosen by hand; kept when detecting again", "GREASEPENCIL", 3),
)


def _on_shape_key_edit(self, _context):
    """An edit in the mapping list is a manual choice; clearing it makes the channel missing.

    Detection sets `status` after `shape_key`, so its own writes end up with the detected status.
    """
    self.status = mapping.MANUAL if self.shape_key else mapping.MISSING


class LIPKIT_PG_channel(bpy.types.PropertyGroup):
    """One ARKit channel and the shape key that drives it."""

    channel: StringProperty(name="Channel", description="ARKit blendshape name")
    shape_key: StringProperty(name="Shape Key", description="Shape key driven by this channel",
                              update=_on_shape_key_edit)
    status: EnumProperty(name="Status", items=STATUS_ITEMS, default=mapping.MISSING)
    candidates: StringProperty(name="Candidates", description="Shape keys that fit equally well")

    @property
    def description(self) -> str:
        return arkit.DESCRIPTIONS.get(self.channel, "")


def _is_mesh(_self, obj) -> bool:
    return obj.type == "MESH"


class LIPKIT_PG_mesh(bpy.types.PropertyGroup):
    """A further mesh of the character (teeth, tongue, lashes) driven by the same mapping."""

    object: PointerProperty(name="Mesh", type=bpy.types.Object, poll=_is_mesh)


class LIPKIT_PG_take(bpy.types.PropertyGroup):
    """A take: an Action written by Lipkit."""

    action: PointerProperty(name="Action", type=bpy.types.Action)


class LIPKIT_PG_object(bpy.types.PropertyGroup):
    """Per-character settings, stored on the character's main (head) mesh object."""

    channels: CollectionProperty(type=LIPKIT_PG_channel)
    channel_index: IntProperty(name="Active Channel")
    meshes: CollectionProperty(type=LIPKIT_PG_mesh)
    mesh_index: IntProperty(name="Active Mesh")
    takes: CollectionProperty(type=LIPKIT_PG_take)
    take_index: IntProperty(name="Active Take")
    show_problems_only: BoolProperty(name="Problems Only", default=False,
                                   description="List only channels that are missing or ambiguous")


class LIPKIT_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    execution_provider: EnumProperty(
        name="Run Models On",
        items=(
            ("AUTO", "Auto", "The GPU when one is usable (CUDA, DirectML, CoreML), else the CPU"),
            ("CPU", "CPU", "Always the CPU"),
            ("GPU", "GPU", "The GPU; falls back to the CPU with a note when none is usable"),
        ),
        default="AUTO",
    )
    cpu_threads: IntProperty(name="CPU Threads", description="Threads for model inference (0: automatic)",
                             default=0, min=0, max=256)

    def draw(self, _context):
        layout = self.layout
        layout.use_property_split = True
        layout.prop(self, "execution_provider")
        layout.prop(self, "cpu_threads")


classes = (LIPKIT_PG_channel, LIPKIT_PG_mesh, LIPKIT_PG_take, LIPKIT_PG_object, LIPKIT_AddonPreferences)


def register():
    for cls in classes:
        bpy.utils.register_class(cls)
    bpy.types.Object.lipkit = PointerProperty(type=LIPKIT_PG_object)


def unregister():
    del bpy.types.Object.lipkit
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
