"""Operators for a character's rig mapping: detect, presets, and the meshes it drives."""

from pathlib import Path

import bpy
from bpy.props import BoolProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..animation import character
from ..inference import mapping
from ..inference.errors import MappingError
from .boundary import LipkitOperator, active_head

_LISTED_NAMES = 6


def _names(items) -> str:
    items = list(items)
    shown = ", ".join(items[:_LISTED_NAMES])
    return shown + (f" and {len(items) - _LISTED_NAMES} more" if len(items) > _LISTED_NAMES else "")


def detect_and_store(head, manual: dict[str, str]) -> dict[str, mapping.ChannelMatch]:
    """Detect the mapping over all the character's meshes and store it on the head."""
    names = character.shape_key_names(character.character_objects(head))
    matches = mapping.detect(names, manual={c: k for c, k in manual.items() if k in names})
    character.store_matches(head, matches)
    return matches


def mapping_report(matches) -> tuple[str, str]:
    """(level, message) summarising a mapping for the status bar."""
    counts = mapping.summary(matches)
    mapped = counts[mapping.MATCHED] + counts[mapping.MANUAL]
    parts = [f"{mapped} of {len(matches)} ARKit channels mapped"]
    ambiguous = [m for m in matches.values() if m.status == mapping.AMBIGUOUS]
    missing = [c for c, m in matches.items() if m.status == mapping.MISSING]
    if ambiguous:
        parts.append("ambiguous (pick one in the list): " + "; ".join(
            f"{m.channel} ({' / '.join(m.candidates)})" for m in ambiguous[:_LISTED_NAMES]))
    if missing:
        parts.append("missing: " + _names(missing))
    level = "INFO" if mapped else "WARNING"
    return level, "; ".join(parts)


class LIPKIT_OT_mapping_detect(LipkitOperator, bpy.types.Operator):
    """Match the character's shape keys to the 52 ARKit channels by name"""

    bl_idname = "lipkit.mapping_detect"
    bl_label = "Detect Mapping"
    bl_options = {"REGISTER", "UNDO"}

    keep_manual: BoolProperty(name="Keep Manual Choices", default=True,
                              description="Keep channels you mapped by hand")
    add_child_meshes: BoolProperty(name="Add Child Meshes", default=True,
                                   description="Add meshes parented under the head whose shape keys share its names")

    def run(self, context):
        head = active_head(context)
        manual = character.manual_choices(head) if self.keep_manual else {}
        matches = detect_and_store(head, manual)
        added = []
        if self.add_child_meshes:
            known = set(character.character_objects(head))
            for child in character.child_meshes_sharing_keys(head, mapping.mapped_pairs(matches).values()):
                if child not in known and child.library is None:
                    head.lipkit.meshes.add().object = child
                    added.append(child.name)
        level, message = mapping_report(matches)
        if added:
            message += f"; also driving {_names(added)}"
        self.report({level}, message)
        return {"FINISHED"}


class LIPKIT_OT_mapping_preset_save(LipkitOperator, bpy.types.Operator, ExportHelper):
    """Save the character's mapping as a JSON preset, to reuse on rigs named the same way"""

    bl_idname = "lipkit.mapping_preset_save"
    bl_label = "Save Mapping Preset"
    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def run(self, context):
        head = active_head(context)
        pairs = character.stored_pairs(head)
        if not pairs:
            raise MappingError("nothing to save: the mapping is empty (run Detect Mapping first)")
        text = mapping.preset_to_json(pairs, rig_name=head.name)
        try:
            Path(self.filepath).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise MappingError(f"cannot write the preset {self.filepath}: {exc.strerror}") from exc
        self.report({"INFO"}, f"Saved {len(pairs)} channels to {self.filepath}")
        return {"FINISHED"}


class LIPKIT_OT_mapping_preset_load(LipkitOperator, bpy.types.Operator, ImportHelper):
    """Load a mapping preset: its channels become manual choices, the rest are detected"""

    bl_idname = "lipkit.mapping_preset_load"
    bl_label = "Load Mapping Preset"
    bl_options = {"REGISTER", "UNDO"}
    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def run(self, context):
        head = active_head(context)
        try:
            text = Path(self.filepath).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MappingError(f"cannot read the preset {self.filepath}: {exc}") from exc
        pairs = mapping.preset_from_json(text)
        names = set(character.shape_key_names(character.character_objects(head)))
        absent = sorted(k for k in pairs.values() if k not in names)
        matches = detect_and_store(head, {c: k for c, k in pairs.items() if k in names})
        level, message = mapping_report(matches)
        if absent:
            level = "WARNING"
            message += f"; the preset names shape keys this rig lacks: {_names(absent)}"
        self.report({level}, message)
        return {"FINISHED"}


class LIPKIT_OT_character_mesh_add(LipkitOperator, bpy.types.Operator):
    """Let the selected meshes (teeth, tongue, lashes) follow the active head's mapping and takes"""

    bl_idname = "lipkit.character_mesh_add"
    bl_label = "Add Selected Meshes"
    bl_options = {"REGISTER", "UNDO"}

    def run(self, context):
        head = active_head(context)
        known = set(character.character_objects(head))
        added = []
        for obj in context.selected_objects:
            if obj in known or obj.type != "MESH" or obj.data.shape_keys is None:
                continue
            head.lipkit.meshes.add().object = obj
            added.append(obj.name)
        if not added:
            raise MappingError("select further meshes with shape keys (besides the active head) to add")
        self.report({"INFO"}, f"Added {_names(added)}")
        return {"FINISHED"}


class LIPKIT_OT_character_mesh_remove(LipkitOperator, bpy.types.Operator):
    """Stop driving the highlighted mesh from this character"""

    bl_idname = "lipkit.character_mesh_remove"
    bl_label = "Remove Mesh"
    bl_options = {"REGISTER", "UNDO"}

    def run(self, context):
        head = active_head(context)
        meshes = head.lipkit.meshes
        if not 0 <= head.lipkit.mesh_index < len(meshes):
            raise MappingError("no mesh highlighted in the list")
        meshes.remove(head.lipkit.mesh_index)
        head.lipkit.mesh_index = max(0, min(head.lipkit.mesh_index, len(meshes) - 1))
        return {"FINISHED"}


classes = (LIPKIT_OT_mapping_detect, LIPKIT_OT_mapping_preset_save, LIPKIT_OT_mapping_preset_load,
           LIPKIT_OT_character_mesh_add, LIPKIT_OT_character_mesh_remove)
