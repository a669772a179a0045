"""A small procedural head for the demo: a sphere face with a mouth slit, eyes and a dark mouth
inside (back faces), and all 52 ARKit shape keys (made here, in project code; no outside asset).

Each shape key moves a soft region of the face (a Gaussian falloff around a landmark, on the
front of the head, on the upper or lower side of the mouth slit where that matters) by a fixed
offset. The head faces -Y (Blender's front view); the character's left is +X; units are head radii.
The geometry is numpy until `add_head` turns it into Blender data.
"""

import bmesh
import bpy
import numpy as np

HEAD_SCALE = (0.82, 0.9, 1.05)
SPHERE_SEGMENTS, SPHERE_RINGS = 64, 40
MOUTH_Z, MOUTH_HALF_WIDTH = -0.45, 0.27
JAW_WIDTH = 0.3  # the jaw opens the middle of the slit most: a lens, corners nearly closed
EYE_X, EYE_Z, EYE_RADIUS, PUPIL_RADIUS = 0.28, 0.18, 0.12, 0.055
NOSE = (0.0, -0.08, 0.13, 0.12)  # x, z, falloff radius, height along the normal
SKIN, MOUTH_INSIDE, EYE_WHITE, PUPIL = (0.8, 0.55, 0.45, 1), (0.3, 0.03, 0.04, 1), (0.9, 0.9, 0.9, 1), (0.02, 0.02, 0.03, 1)

# name: (landmark x, landmark z, falloff radius, part, offset). "{side}" names exist for Left (+X)
# and Right (-X, x mirrored). Parts: any, upper / lower (side of the mouth slit), jaw (the lower
# face, rigidly). Offsets: (dx, dy, dz), or "normal" (out along the surface) or "pucker" (lips to
# the centre and forward).
REGIONS = {
    "eyeBlink{side}": (EYE_X, EYE_Z + 0.1, 0.13, "any", (0.0, -0.05, -0.15)),
    "eyeLookDown{side}": (EYE_X, EYE_Z + 0.1, 0.12, "any", (0.0, 0.0, -0.04)),
    "eyeLookIn{side}": (EYE_X, EYE_Z + 0.1, 0.12, "any", (-0.03, 0.0, 0.0)),
    "eyeLookOut{side}": (EYE_X, EYE_Z + 0.1, 0.12, "any", (0.03, 0.0, 0.0)),
    "eyeLookUp{side}": (EYE_X, EYE_Z + 0.1, 0.12, "any", (0.0, 0.0, 0.04)),
    "eyeSquint{side}": (EYE_X, EYE_Z - 0.1, 0.12, "any", (0.0, -0.01, 0.06)),
    "eyeWide{side}": (EYE_X, EYE_Z + 0.12, 0.13, "any", (0.0, 0.0, 0.06)),
    "jawForward": (0.0, MOUTH_Z, 1.0, "jaw", (0.0, -0.08, 0.0)),
    "jawLeft": (0.0, MOUTH_Z, 1.0, "jaw", (0.08, 0.0, 0.0)),
    "jawRight": (0.0, MOUTH_Z, 1.0, "jaw", (-0.08, 0.0, 0.0)),
    "jawOpen": (0.0, MOUTH_Z, 1.0, "jaw", (0.0, 0.04, -0.6)),
    "mouthClose": (0.0, MOUTH_Z, 0.3, "lower", (0.0, 0.0, 0.3)),
    "mouthFunnel": (0.0, MOUTH_Z, 0.25, "any", "pucker"),
    "mouthPucker": (0.0, MOUTH_Z, 0.22, "any", "pucker"),
    "mouthLeft": (0.0, MOUTH_Z, 0.3, "any", (0.1, 0.0, 0.0)),
    "mouthRight": (0.0, MOUTH_Z, 0.3, "any", (-0.1, 0.0, 0.0)),
    "mouthSmile{side}": (MOUTH_HALF_WIDTH, MOUTH_Z, 0.15, "any", (0.05, 0.02, 0.1)),
    "mouthFrown{side}": (MOUTH_HALF_WIDTH, MOUTH_Z, 0.15, "any", (0.0, 0.0, -0.08)),
    "mouthDimple{side}": (MOUTH_HALF_WIDTH, MOUTH_Z, 0.12, "any", (0.03, 0.04, 0.0)),
    "mouthStretch{side}": (MOUTH_HALF_WIDTH, MOUTH_Z, 0.15, "any", (0.08, 0.0, -0.03)),
    "mouthRollLower": (0.0, MOUTH_Z, 0.18, "lower", (0.0, 0.05, 0.03)),
    "mouthRollUpper": (0.0, MOUTH_Z, 0.18, "upper", (0.0, 0.05, -0.03)),
    "mouthShrugLower": (0.0, MOUTH_Z - 0.1, 0.2, "lower", (0.0, -0.02, 0.06)),
    "mouthShrugUpper": (0.0, MOUTH_Z + 0.05, 0.2, "upper", (0.0, -0.02, 0.04)),
    "mouthPress{side}": (0.14, MOUTH_Z, 0.12, "upper", (0.0, 0.0, -0.03)),
    "mouthLowerDown{side}": (0.12, MOUTH_Z - 0.04, 0.14, "lower", (0.0, 0.0, -0.1)),
    "mouthUpperUp{side}": (0.12, MOUTH_Z + 0.04, 0.14, "upper", (0.0, 0.0, 0.1)),
    "browDown{side}": (0.3, 0.45, 0.16, "any", (0.0, 0.0, -0.07)),
    "browInnerUp": (0.0, 0.45, 0.2, "any", (0.0, 0.0, 0.08)),
    "browOuterUp{side}": (0.4, 0.43, 0.14, "any", (0.0, 0.0, 0.08)),
    "cheekPuff": (0.4, -0.3, 0.2, "any", "normal"),
    "cheekSquint{side}": (0.35, 0.0, 0.14, "any", (0.0, 0.0, 0.06)),
    "noseSneer{side}": (0.1, -0.08, 0.1, "any", (0.0, 0.0, 0.06)),
    "tongueOut": (0.0, MOUTH_Z, 0.15, "lower", (0.0, -0.06, -0.05)),
}
SIDES = {"Left": 1.0, "Right": -1.0}
BOTH_SIDES = ("cheekPuff",)  # symmetric keys whose landmark has a twin across the face
PUCKER_PULL, PUCKER_PUSH, NORMAL_PUSH = 0.45, 0.12, 0.09


def shape_key_table() -> dict:
    """Every ARKit name -> (x, z, radius, part, offset), the Right side mirrored from the Left."""
    table = {}
    for name, (x, z, radius, part, offset) in REGIONS.items():
        if "{side}" not in name:
            table[name] = (x, z, radius, part, offset)
            continue
        for side, sign in SIDES.items():
            mirrored = offset if isinstance(offset, str) else (sign * offset[0], offset[1], offset[2])
            table[name.format(side=side)] = (sign * x, z, radius, part, mirrored)
    return table


def falloff(points: np.ndarray, x: float, z: float, radius: float, both_sides: bool) -> np.ndarray:
    """Gaussian weight of each point around the landmark (x, z) on the front of the head."""
    dx = np.abs(points[:, 0]) - abs(x) if both_sides else points[:, 0] - x
    weight = np.exp(-(dx ** 2 + (points[:, 2] - z) ** 2) / radius ** 2)
    return weight * np.clip(-points[:, 1] / 0.4, 0.0, 1.0)


def jaw_weight(points: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """How much of the jaw's motion each point follows: the lower front face, fading to the sides."""
    front = np.clip((-points[:, 1] - 0.1) / 0.5, 0.0, 1.0)
    return lower * front * np.exp(-points[:, 0] ** 2 / JAW_WIDTH ** 2)


def offsets(points: np.ndarray, lower: np.ndarray, entry) -> np.ndarray:
    """The displacement [N, 3] of one shape key."""
    x, z, radius, part, offset = entry
    if part == "jaw":
        weight = jaw_weight(points, lower)
    else:
        weight = falloff(points, x, z, radius, both_sides=offset == "normal")
        weight = weight * {"any": 1.0, "upper": 1.0 - lower, "lower": lower}[part]
    if offset == "normal":
        direction = points / np.linalg.norm(points, axis=1, keepdims=True) * NORMAL_PUSH
    elif offset == "pucker":
        direction = np.stack([-points[:, 0] * PUCKER_PULL, np.full(len(points), -PUCKER_PUSH),
                              np.zeros(len(points))], axis=1)
    else:
        direction = np.broadcast_to(np.asarray(offset, dtype=float), points.shape)
    return weight[:, None] * direction


def sphere_with_mouth(name: str) -> tuple[bpy.types.Mesh, np.ndarray]:
    """The head mesh (a scaled sphere with a nose and a closed mouth slit) and its lower-lip mask."""
    bm = bmesh.new()
    bmesh.ops.create_uvsphere(bm, u_segments=SPHERE_SEGMENTS, v_segments=SPHERE_RINGS, radius=1.0)
    for vert in bm.verts:
        vert.co = [c * s for c, s in zip(vert.co, HEAD_SCALE)]
    bm.faces.ensure_lookup_table()
    front = [f for f in bm.faces if f.calc_center_median().y < 0]
    ring_z = min((f.calc_center_median().z for f in front), key=lambda cz: abs(cz - MOUTH_Z))
    slit = [f for f in front if abs(f.calc_center_median().z - ring_z) < 1e-5
            and abs(f.calc_center_median().x) < MOUTH_HALF_WIDTH]
    seam = {v for f in slit for v in f.verts}
    bmesh.ops.delete(bm, geom=slit, context="FACES_ONLY")
    bm.verts.index_update()
    lower = np.array([v.co.z < ring_z for v in bm.verts], dtype=float)
    for vert in seam:
        vert.co.z = ring_z
    mesh = bpy.data.meshes.new(name)
    bm.to_mesh(mesh)
    bm.free()
    points = np.array([v.co for v in mesh.vertices])
    nose_x, nose_z, nose_radius, nose_height = NOSE
    normals = points / np.linalg.norm(points, axis=1, keepdims=True)
    points += falloff(points, nose_x, nose_z, nose_radius, both_sides=False)[:, None] * normals * nose_height
    mesh.vertices.foreach_set("co", points.ravel())
    mesh.shade_smooth()
    return mesh, lower


def material(name: str, color, inside=None) -> bpy.types.Material:
    """A Principled material of `color`; with `inside`, back faces (seen through the open mouth) get that."""
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    mat.diffuse_color = color
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    base = nodes["Principled BSDF"].inputs["Base Color"]
    base.default_value = color
    if inside is not None:
        mix = nodes.new("ShaderNodeMix")
        mix.data_type = "RGBA"
        mix.inputs["A"].default_value, mix.inputs["B"].default_value = color, inside
        links.new(nodes.new("ShaderNodeNewGeometry").outputs["Backfacing"], mix.inputs["Factor"])
        links.new(mix.outputs["Result"], base)
    return mat


def ball(name: str, location, radius: float, color_name: str, color, parent) -> bpy.types.Object:
    """A smooth sphere object parented to `parent` (eyes, pupils)."""
    bm = bmesh.new()
    bmesh.ops.create_uvsphere(bm, u_segments=24, v_segments=16, radius=radius)
    mesh = bpy.data.meshes.new(name)
    bm.to_mesh(mesh)
    bm.free()
    mesh.shade_smooth()
    mesh.materials.append(material(color_name, color))
    obj = bpy.data.objects.new(name, mesh)
    obj.location = location
    obj.parent = parent
    bpy.context.scene.collection.objects.link(obj)
    return obj


def surface_y(x: float, z: float) -> float:
    """Where the front of the (scaled) head sphere is at (x, z)."""
    sx, sy, sz = HEAD_SCALE
    return -sy * float(np.sqrt(max(0.0, 1.0 - (x / sx) ** 2 - (z / sz) ** 2)))


def add_head(name: str, location) -> bpy.types.Object:
    """A head object at `location` with 52 ARKit shape keys, and eyes."""
    from inference.arkit import NAMES
    mesh, lower = sphere_with_mouth(name)
    mesh.materials.append(material("Skin", SKIN, inside=MOUTH_INSIDE))
    head = bpy.data.objects.new(name, mesh)
    head.location = location
    bpy.context.scene.collection.objects.link(head)
    head.shape_key_add(name="Basis")
    points = np.array([v.co for v in mesh.vertices])
    table = shape_key_table()
    for key_name in NAMES:
        block = head.shape_key_add(name=key_name, from_mix=False)
        block.data.foreach_set("co", (points + offsets(points, lower, table[key_name])).ravel())
    for sign in SIDES.values():
        y = surface_y(sign * EYE_X, EYE_Z) + EYE_RADIUS * 0.45
        ball(f"{name} eye", (sign * EYE_X, y, EYE_Z), EYE_RADIUS, "Eye", EYE_WHITE, head)
        ball(f"{name} pupil", (sign * EYE_X, y - EYE_RADIUS * 0.8, EYE_Z), PUPIL_RADIUS, "Pupil", PUPIL, head)
    return head
