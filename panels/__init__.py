"""The "Lip Sync" tab in the 3D viewport sidebar: character, mapping, generation, emotion, takes,
constraints, range, regions, the review's findings and the batch's shot list. Draw code only."""

import bpy

from .. import properties
from ..animation import character, takes
from ..inference import arkit, emotion, generation, mapping, review

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
        key = head.data.shape_keys
        showing = key is not None and takes.active_take(key) == action
        row = layout.row(align=True)
        row.prop(action, "name", text="", emboss=False, icon="PLAY" if showing else "ACTION")
        if key is not None and not showing and not takes.is_muted(key, action):
            row.label(text="", icon="HIDE_OFF")
        if takes.fps_mismatch(action, context.scene):
            row.label(text="", icon="ERROR")
        if item.review_summary:
            row.label(text=item.review_summary, icon="VIEWZOOM")


class LIPKIT_UL_constraints(bpy.types.UIList):
    """Constraints: enabled toggle, channel, frame and value."""

    def draw_item(self, _context, layout, _data, item, _icon, _active_data, _active_prop, _index=0):
        row = layout.row(align=True)
        row.prop(item, "enabled", text="")
        row.label(text=item.channel)
        row.prop(item, "frame", text="")
        row.prop(item, "value", text="")


FINDING_ICONS = {review.MISSED_CLOSURE: "ERROR", review.FORCED_OPEN: "KEYFRAME_HLT", review.CLOSED_VOWEL: "TRIA_DOWN",
                 review.UNROUNDED: "MESH_CIRCLE", review.OPEN_SILENCE: "MUTE_IPO_OFF", review.JUMP: "IPO_CONSTANT",
                 review.STUCK: "PAUSE"}


class LIPKIT_UL_findings(bpy.types.UIList):
    """The review's findings: frame and what is wrong there (a click jumps to the frame)."""

    def draw_item(self, _context, layout, _data, item, _icon, _active_data, _active_prop, _index=0):
        row = layout.row(align=True)
        row.label(text=str(item.frame), icon=FINDING_ICONS.get(item.kind, "INFO"))
        row.label(text=item.message)


class LIPKIT_UL_shots(bpy.types.UIList):
    """Shots: run toggle, name (double-click renames), character, and the last batch's result."""

    def draw_item(self, _context, layout, _data, item, _icon, _active_data, _active_prop, _index=0):
        row = layout.row(align=True)
        row.prop(item, "enabled", text="")
        icon = "ERROR" if item.error or item.status.startswith(("failed", "invalid")) else (
            "CHECKMARK" if item.status in ("done", "cached") else "SOUND" if item.strip else "FILE_SOUND")
        row.prop(item, "name", text="", emboss=False, icon=icon)
        row.label(text=item.character or "?")


def _mapped_head(context):
    head = _head(context)
    return head if head is not None and head.data.shape_keys is not None and len(head.lipkit.channels) else None


class HeadSubPanel(LipkitPanel):
    """A closed sub-panel of "Lip Sync" shown for a mesh."""

    bl_parent_id = "LIPKIT_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    @classmethod
    def poll(cls, context):
        return _head(context) is not None


class MappedSubPanel(HeadSubPanel):
    """A closed sub-panel of "Lip Sync" shown for a mapped mesh with shape keys."""

    @classmethod
    def poll(cls, context):
        return _mapped_head(context) is not None


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
        column.operator("lipkit.take_compare", text="", icon="SOLO_ON").mode = "SOLO"
        column.operator("lipkit.take_compare", text="", icon="HIDE_OFF").mode = "TOGGLE_MUTE"
        column.operator("lipkit.take_rename", text="", icon="GREASEPENCIL")
        column.operator("lipkit.take_delete", text="", icon="TRASH")
        row = layout.row(align=True)
        row.operator("lipkit.take_import", icon="IMPORT")
        row.operator("lipkit.take_restore_original", text="Original", icon="LOOP_BACK")


class LIPKIT_PT_generate(HeadSubPanel, bpy.types.Panel):
    bl_label = "Generate"
    bl_options = set()

    def draw(self, context):
        scene = context.scene
        settings = scene.lipkit
        layout = self.layout
        layout.use_property_split = True
        layout.prop(settings, "sound_source", expand=True)
        if settings.sound_source == "STRIP":
            editor = scene.sequence_editor
            if editor is None:
                layout.label(text="No sound strips: add one or pick a file", icon="INFO")
            else:
                collection = "strips_all" if hasattr(editor, "strips_all") else "sequences_all"
                layout.prop_search(settings, "strip", editor, collection, icon="SOUND")
        else:
            layout.prop(settings, "sound_file")
            layout.prop(settings, "file_frame")
        layout.prop(settings, "engine")
        if settings.engine == "phonetic":
            layout.prop(settings, "transcript")
            layout.prop(settings, "transcript_file")
            if not settings.transcript.strip() and not settings.transcript_file:
                layout.prop(settings, "recognition")
        else:
            layout.prop(settings, "voice")
        layout.prop(settings, "seed")
        if settings.engine == "diffusion":
            layout.prop(settings, "steps")
            layout.prop(settings, "guidance")
        column = layout.column(heading="Layers", align=True)
        for layer in generation.LAYERS:
            column.prop(settings, properties.LAYER_PROPERTIES[layer])
        if settings.layer_head:
            layout.prop(settings, "head_object")
            if settings.head_object is not None and settings.head_object.type == "ARMATURE":
                layout.prop_search(settings, "head_bone", settings.head_object.data, "bones")
        job = context.window_manager.lipkit
        if job.running:
            layout.prop(job, "progress", text=job.message or "Generating")
        else:
            layout.operator("lipkit.generate", icon="PLAY_SOUND")


class LIPKIT_PT_emotion(HeadSubPanel, bpy.types.Panel):
    bl_label = "Emotion"

    def draw(self, context):
        settings = context.scene.lipkit
        layout = self.layout
        layout.use_property_split = True
        column = layout.column(align=True)
        for category in emotion.CATEGORIES:
            column.prop(settings, properties.EMOTION_PROPERTY_PREFIX + category, slider=True)
        layout.prop(settings, "emotion_intensity", slider=True)
        layout.operator("lipkit.apply_emotion", icon="SHADERFX")


class LIPKIT_PT_constraints(MappedSubPanel, bpy.types.Panel):
    bl_label = "Keys and Constraints"

    def draw(self, context):
        head = context.active_object
        layout = self.layout
        row = layout.row()
        row.template_list("LIPKIT_UL_constraints", "", head.lipkit, "constraints", head.lipkit, "constraint_index",
                          rows=3)
        column = row.column(align=True)
        column.operator("lipkit.constraints_from_keys", text="", icon="KEYINGSET")
        column.operator("lipkit.constraint_remove", text="", icon="REMOVE")
        column.operator("lipkit.constraint_remove", text="", icon="X").all = True
        layout.operator_menu_enum("lipkit.pin_pose", "region", text="Pin Pose", icon="PINNED")
        layout.operator("lipkit.regenerate_around_keys", icon="FILE_REFRESH")


class LIPKIT_PT_review(MappedSubPanel, bpy.types.Panel):
    bl_label = "Review"

    def draw(self, context):
        head = context.active_object
        layout = self.layout
        layout.operator("lipkit.review_take", icon="VIEWZOOM")
        reviewed = head.lipkit.reviewed_take
        if reviewed is not None:
            summary = next((item.review_summary for item in head.lipkit.takes if item.action == reviewed), "")
            layout.label(text=f"{reviewed.name}: {summary}", icon="INFO")
        layout.template_list("LIPKIT_UL_findings", "", head.lipkit, "findings", head.lipkit, "finding_index", rows=4)
        row = layout.row(align=True)
        findings, index = head.lipkit.findings, head.lipkit.finding_index
        fixable = 0 <= index < len(findings) and findings[index].kind == review.MISSED_CLOSURE
        sub = row.row(align=True)
        sub.enabled = fixable
        sub.operator("lipkit.review_fix", icon="CON_TRANSLIKE")
        row.operator("lipkit.review_clear_markers", icon="MARKER")
        layout.prop(head.lipkit, "lip_vertices")


class LIPKIT_PT_range(MappedSubPanel, bpy.types.Panel):
    bl_label = "Resample Range"

    def draw(self, context):
        scene = context.scene
        settings = scene.lipkit
        layout = self.layout
        layout.use_property_split = True
        layout.prop(settings, "range_mode")
        if settings.range_mode == "MARKERS":
            layout.prop_search(settings, "marker_start", scene, "timeline_markers")
            layout.prop_search(settings, "marker_end", scene, "timeline_markers")
        elif settings.range_mode == "TYPED":
            layout.prop(settings, "range_start")
            layout.prop(settings, "range_end")
        layout.operator("lipkit.resample_range", icon="FILE_REFRESH")


class LIPKIT_PT_regions(MappedSubPanel, bpy.types.Panel):
    bl_label = "Regions"

    def draw(self, context):
        head = context.active_object
        layout = self.layout
        for region in arkit.REGIONS:
            locked = region in head.lipkit.locked_regions
            row = layout.row(align=True)
            lock = row.operator("lipkit.region_lock", text="", icon="LOCKED" if locked else "UNLOCKED")
            lock.region, lock.lock = region, not locked
            row.label(text=region.title())
            sub = row.row(align=True)
            sub.enabled = not locked
            for idname, icon in (("lipkit.region_regenerate", "FILE_REFRESH"), ("lipkit.region_scale", "FULLSCREEN_ENTER"),
                                 ("lipkit.region_smooth", "MOD_SMOOTH"), ("lipkit.region_clear", "X")):
                sub.operator(idname, text="", icon=icon).region = region
        row = layout.row(align=True)
        row.operator("lipkit.layer_mute", text="Mute Blinks").layer = "blinks"
        row.operator("lipkit.layer_mute", text="Mute Gaze").layer = "gaze"
        layout.operator("lipkit.jaw_bone_drive", icon="BONE_DATA")


class LIPKIT_PT_batch(LipkitPanel, bpy.types.Panel):
    bl_label = "Batch"
    bl_parent_id = "LIPKIT_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        settings = context.scene.lipkit
        layout = self.layout
        row = layout.row(align=True)
        row.operator("lipkit.shots_scan", icon="SEQUENCE")
        row.operator("lipkit.shots_load", text="Load", icon="FILEBROWSER")
        layout.prop(settings, "character_separator")
        layout.prop(settings, "batch_review")
        row = layout.row()
        row.template_list("LIPKIT_UL_shots", "", settings, "shots", settings, "shot_index", rows=4)
        row.column(align=True).operator("lipkit.shot_remove", text="", icon="REMOVE")
        if 0 <= settings.shot_index < len(settings.shots):
            shot = settings.shots[settings.shot_index]
            column = layout.column()
            column.use_property_split = True
            if shot.error:
                column.label(text=shot.error, icon="ERROR")
            elif shot.status:
                column.label(text=shot.status, icon="INFO")
            column.prop(shot, "character")
            if shot.strip:
                column.label(text=f"Strip: {shot.strip}", icon="SOUND")
            else:
                column.prop(shot, "audio")
                column.prop(shot, "start_frame")
            for name in ("engine", "seed", "emotion", "transcript", "take"):
                column.prop(shot, name)
        job = context.window_manager.lipkit
        if job.running:
            layout.prop(job, "progress", text=job.message or "Running")
        else:
            layout.operator("lipkit.batch", icon="RENDER_ANIMATION")


classes = (LIPKIT_UL_channels, LIPKIT_UL_meshes, LIPKIT_UL_takes, LIPKIT_UL_constraints, LIPKIT_UL_findings,
           LIPKIT_UL_shots, LIPKIT_PT_main, LIPKIT_PT_meshes, LIPKIT_PT_mapping, LIPKIT_PT_generate,
           LIPKIT_PT_emotion, LIPKIT_PT_takes, LIPKIT_PT_constraints, LIPKIT_PT_review, LIPKIT_PT_range,
           LIPKIT_PT_regions, LIPKIT_PT_batch)


def register():
    for cls in classes:
        bpy.utils.register_class(cls)


def unregister():
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
