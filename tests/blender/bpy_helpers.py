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



def _read_obj(path):
    """Vertices and faces of a Wavefront OBJ (positions only)."""
    vertices, faces = [], []
    for line in path.read_text().splitlines():
        if line.startswith("v "):
            vertices.append(tuple(float(x) for x in line.split()[1:4]))
        elif line.startswith("f "):
            faces.append(tuple(int(token.split("/")[0]) - 1 for token in line.split()[1:]))
    return vertices, faces


def build_reference_face(shared_data):
    """The ARKit reference face built from its OBJs (neutral + 51 shape keys), made active."""
    folder = shared_data / "faces/arkit_reference_face/obj"
    vertices, faces = _read_obj(folder / "Neutral.obj")
    mesh = bpy.data.meshes.new("ReferenceFace")
    mesh.from_pydata(vertices, [], faces)
    head = bpy.data.objects.new("ReferenceFace", mesh)
    bpy.context.scene.collection.objects.link(head)
    head.shape_key_add(name="Basis")
    for path in sorted(folder.glob("*.obj")):
        if path.stem == "Neutral":
            continue
        block = head.shape_key_add(name=path.stem)
        shape, _ = _read_obj(path)
        block.data.foreach_set("co", [c for vertex in shape for c in vertex])
    make_active(head)
    return head


def open_reference_face_blend(shared_data):
    """Open the reference face's .blend (skips where this Blender is too old to read it)."""
    import pytest
    path = shared_data / "faces/arkit_reference_face/arkit_face_51keys.blend"
    try:
        bpy.ops.wm.open_mainfile(filepath=str(path))
    except RuntimeError as exc:
        pytest.skip(f"Blender {bpy.app.version_string} cannot read {path.name} (saved by a newer Blender): {exc}")
    head = max((o for o in bpy.data.objects if o.type == "MESH" and o.data.shape_keys),
               key=lambda o: len(o.data.shape_keys.key_blocks))
    make_active(head)
    return head


def import_facecap_head(shared_data):
    """Import the Face Cap glTF head (52 `_L`/`_R` shape keys) and make it active."""
    import addon_utils
    addon_utils.enable("io_scene_gltf2", default_set=False)
    bpy.ops.import_scene.gltf(filepath=str(shared_data / "faces/facecap/facecap_decoded.glb"))
    head = max((o for o in bpy.data.objects if o.type == "MESH" and o.data.shape_keys),
               key=lambda o: len(o.data.shape_keys.key_blocks))
    make_active(head)
    return head


def link_mesh_from_library(folder, name: str, shape_keys=("jawOpen",)):
    """A fresh file whose active object is mesh `name` linked from a library .blend in `folder`."""
    make_mesh(name, shape_keys)
    library = folder / "library.blend"
    bpy.data.libraries.write(str(library), {bpy.data.objects[name]})
    bpy.ops.wm.read_homefile(use_empty=True)
    with bpy.data.libraries.load(str(library), link=True) as (_, data_to):
        data_to.objects = [name]
    linked = data_to.objects[0]
    bpy.context.scene.collection.objects.link(linked)
    make_active(linked)
    return linked
