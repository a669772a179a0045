"""Helpers for tests in real Blender: enable/disable the add-on, build meshes, set the fps.

The add-on is loaded by its manifest id from a temporary extensions repository (a symlink to this
checkout), as `bl_ext.lipkit_tests.lipkit`: no imports from the source tree by path.
"""

import importlib
import os
from pathlib import Path

import bpy

REPO_ROOT = Path(__file__).resolve().parents[2]
REPO_MODULE = "lipkit_tests"
ADDON_MODULE = f"bl_ext.{REPO_MODULE}.lipkit"

os.environ.setdefault("LIPKIT_RAISE", "1")


def enable_addon():
    import addon_utils
    module = addon_utils.enable(ADDON_MODULE, default_set=True, handle_error=_raise)
    assert module is not None, f"could not enable {ADDON_MODULE}"
    return module


def disable_addon():
    import addon_utils
    addon_utils.disable(ADDON_MODULE, default_set=True, handle_error=_raise)


def _raise(exc):
    raise exc


def submodule(name: str):
    """A module of the enabled add-on, e.g. submodule('animation.takes')."""
    return importlib.import_module(f"{ADDON_MODULE}.{name}")


def make_mesh(name: str, shape_keys=(), parent=None):
    """A triangle mesh object linked to the scene, with a basis and these shape keys."""
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    if shape_keys:
        obj.shape_key_add(name="Basis")
        for index, key_name in enumerate(shape_keys):
            block = obj.shape_key_add(name=key_name)
            block.data[0].co = (0.0, 0.0, 0.01 * (index + 1))
    obj.parent = parent
    return obj


def make_active(obj):
    for other in bpy.context.view_layer.objects:
        other.select_set(False)
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)


def set_fps(scene, fps: int, fps_base: float = 1.0):
    scene.render.fps = fps
    scene.render.fps_base = fps_base

