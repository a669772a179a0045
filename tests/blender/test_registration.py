"""The extension enables and disables cleanly, twice in a row, and its manifest validates."""

import subprocess
import sys
from pathlib import Path

from bpy_helpers import ADDON_MODULE, REPO_ROOT, bpy, disable_addon, enable_addon

LIPKIT_OPERATORS = ("mapping_detect", "mapping_preset_save", "mapping_preset_load", "take_import",
                    "take_activate", "take_delete", "take_restore_original", "character_mesh_add",
                    "character_mesh_remove", "generate", "regenerate_around_keys", "resample_range",
                    "region_regenerate", "apply_emotion", "constraints_from_keys", "pin_pose", "constraint_remove",
                    "region_lock", "region_scale", "region_smooth", "region_clear", "take_compare", "take_rename",
                    "layer_mute", "jaw_bone_drive")


OWNERS = ("Object", "Scene", "WindowManager")  # the ID types carrying a `lipkit` PointerProperty


def _registered() -> bool:
    return all(hasattr(getattr(bpy.types, owner), "lipkit") for owner in OWNERS) and hasattr(bpy.types, "LIPKIT_PT_main")


def _nothing_registered() -> bool:
    return not any(hasattr(getattr(bpy.types, owner), "lipkit") for owner in OWNERS) and not hasattr(
        bpy.types, "LIPKIT_PT_main")


def test_enable_disable_twice_leaves_nothing_behind(lipkit):
    import addon_utils
    for _ in range(2):
        disable_addon()
        assert _nothing_registered()
        assert not hasattr(bpy.ops.lipkit, "mapping_detect") or not _operator_exists("mapping_detect")
        enable_addon()
        assert _registered()
        assert all(_operator_exists(name) for name in LIPKIT_OPERATORS)
    assert ADDON_MODULE in {mod.__name__ for mod in addon_utils.modules() if addon_utils.check(mod.__name__)[1]}


def _operator_exists(name: str) -> bool:
    try:
        getattr(bpy.ops.lipkit, name).get_rna_type()
        return True
    except (KeyError, AttributeError):
        return False


def test_add_on_is_loaded_from_the_extension_repository(lipkit):
    assert lipkit.__name__ == ADDON_MODULE
    assert Path(lipkit.__file__).resolve() == (REPO_ROOT / "__init__.py").resolve()
    prefs = bpy.context.preferences.addons[ADDON_MODULE].preferences
    assert prefs.execution_provider == "AUTO" and prefs.cpu_threads == 0


def test_manifest_passes_blenders_validator():
    validator = Path(bpy.utils.system_resource("SCRIPTS")) / "addons_core/bl_pkg/cli/blender_ext.py"
    result = subprocess.run([sys.executable, str(validator), "validate", str(REPO_ROOT)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
