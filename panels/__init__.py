"""The "Lip Sync" tab in the 3D viewport sidebar: character, mapping and takes. Draw code only."""

import bpy

from ..animation import character, takes
from ..inference import mapping

STATUS_ICONS = {mapping.MATCHED: "CHECKMARK", mapping.MISSING: "X",
                mapping.AMBIGUOUS: "QUESTION", mapping.MANUAL: "GREASEPENCIL"}


def _head(context):
    obj = context.active_object
    return obj if obj is not None and obj.type == "MESH" else None


class LipkitPanel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Lip Sync"


class LIPKIT_UL_channels(bpy.types.UIList):
    """ARKit channels with the shape key each drives; the shape key is editable (manual override)."""

    def draw_item(self, context, layout, _data, item, _icon, _active_data, _active_prop, _index=0):
        row = layout.row(align=True)
        row.label(text=item.channel, icon=STATUS_ICONS.get(item.status, "DOT"))
        key = context.active_object.data.shape_keys if _head(context) else None
        if key is not None:
            row.prop_search(item, "shape_key", key, "key_blocks", text="")
        else:
            row.prop(item, "shape_key", text="")

    def filter_items(self, _context, data, propname):
        items = getattr(data, propname)
        if not data.show_problems_only:
            return [], []
        flags = [self.bitflag_filter_item if item.status in (mapping.MISSING, mapping.AMBIGUOUS) else 0
                 for item in items]
        return flags, []


class LIPKIT_UL_meshes(bpy.types.UIList):
    def draw_item(self, _context, layout, _data, item, _icon, _active_data, _active_prop, _index=0):
        layout.prop(item, "object", text="", emboss=False, icon="MESH_DATA")


class LIPKIT_UL_takes(bpy.types.UIList):
    """Takes by name (double-click renames), the one showing marked, fps mismatches flagged."""

    def draw_item(self, context, layout, data, item, _icon, _active_data, _active_prop, _index=0):
        action = item.action
        if action is None:
            layout.label(text="(deleted)", icon="ERROR")
            return
        head = data.id_data
        showing = head.data.shape_keys is not None and takes.active_take(head.data.shape_keys) == action
        row = layout.row(align=True)
        row.prop(action, "name", text="", emboss=False, icon="PLAY" if showing else "ACTION")
        if takes.fps_mismatch(action, context.scene):
            row.label(text="", icon="ERROR")


class LIPKIT_PT_main(LipkitPanel, bpy.types.Panel):
    bl_label = "Lip Sync"
    bl_idname = "LIPKIT_PT_main"

    def draw(self, context):
        layout = self.layout
        obj = context.active_object
        if obj is None:
            layout.label(text="Select the character's head mesh", icon="INFO")
            return
        if obj.type != "MESH":
            layout.label(text=f"'{obj.name}' is not a mesh", icon="ERROR")
            return
        layout.label(text=obj.name, icon="OUTLINER_OB_MESH")
        if obj.library is not None:
            layout.label(text="Linked data: make it local or override it", icon="LIBRARY_DATA_DIRECT")
        if obj.data.shape_keys is None:
            layout.label(text="This mesh has no shape keys", icon="ERROR")
            return
        counts = character.mapping_counts(obj)
        if not obj.lipkit.channels:
            layout.label(text="Not mapped yet", icon="QUESTION")
        else:
            mapped = counts[mapping.MATCHED] + counts[mapping.MANUAL]
            icon = "CHECKMARK" if mapped == len(obj.lipkit.channels) else "INFO"
            layout.label(text=f"{mapped} / {len(obj.lipkit.channels)} channels mapped", icon=icon)
            if counts[mapping.AMBIGUOUS]:
                layout.label(text=f"{counts[mapping.AMBIGUOUS]} ambiguous: pick in Mapping", icon="QUESTION")
        layout.operator("lipkit.mapping_detect", icon="VIEWZOOM")


class LIPKIT_PT_meshes(LipkitPanel, bpy.types.Panel):
    bl_label = "Character Meshes"
    bl_parent_id = "LIPKIT_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    @classmethod
    def poll(cls, context):
        return _head(context) is not None

    def draw(self, context):
        head = context.active_object
        layout = self.layout
        layout.label(text="Also driven by this mapping:")
        row = layout.row()
        row.template_list("LIPKIT_UL_meshes", "", head.lipkit, "meshes", head.lipkit, "mesh_index", rows=2)
        column = row.column(align=True)
        column.operator("lipkit.character_mesh_add", text="", icon="ADD")
        column.operator("lipkit.character_mesh_remove", text="", icon="REMOVE")


class LIPKIT_PT_mapping(LipkitPanel, bpy.types.Panel):
    bl_label = "Mapping"
    bl_parent_id = "LIPKIT_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    @classmethod
    def poll(cls, context):
        head = _head(context)
        return head is not None and len(head.lipkit.channels) > 0

    def draw(self, context):
        head = context.active_object
        layout = self.layout
        layout.prop(head.lipkit, "show_problems_only")
        layout.template_list("LIPKIT_UL_channels", "", head.lipkit, "channels", head.lipkit, "channel_index",
                             rows=6)
        channels = head.lipkit.channels
        if 0 <= head.lipkit.channel_index < len(channels):
            item = channels[head.lipkit.channel_index]
            layout.label(text=item.description, icon="INFO")
            if item.candidates:
                layout.label(text=f"Candidates: {item.candidates}")
        row = layout.row(align=True)
        row.operator("lipkit.mapping_preset_load", text="Load Preset", icon="IMPORT")
        row.operator("lipkit.mapping_preset_save", text="Save Preset", icon="EXPORT")


class LIPKIT_PT_takes(LipkitPanel, bpy.types.Panel):
    bl_label = "Takes"
    bl_parent_id = "LIPKIT_PT_main"

    @classmethod
    def poll(cls, context):
        head = _head(context)
        return head is not None and head.data.shape_keys is not None

    def draw(self, context):
        head = context.active_object
        layout = self.layout
        row = layout.row()
        row.template_list("LIPKIT_UL_takes", "", head.lipkit, "takes", head.lipkit, "take_index", rows=3)
        column = row.column(align=True)
        column.operator("lipkit.take_activate", text="", icon="PLAY")
        column.operator("lipkit.take_delete", text="", icon="TRASH")
        row = layout.row(align=True)
        row.operator("lipkit.take_import", icon="IMPORT")
        row.operator("lipkit.take_restore_original", text="Original", icon="LOOP_BACK")


classes = (LIPKIT_UL_channels, LIPKIT_UL_meshes, LIPKIT_UL_takes,
           LIPKIT_PT_main, LIPKIT_PT_meshes, LIPKIT_PT_mapping, LIPKIT_PT_takes)


def register():
    for cls in classes:
        bpy.utils.register_class(cls)


def unregister():
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
