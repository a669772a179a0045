"""A procedural demo head with all 52 ARKit shape keys, made here in project code (no outside asset).

The head object is the skin: a scaled sphere with a nose, a mouth slit (its back faces are the dark
inside of the mouth) and all 52 shape keys. Parented under it, each with the shape keys that move
it (Lipkit drives meshes under the head whose shape keys share its names):

- lips: an upper and a lower lip, tubes that touch along the mouth line at rest. jawOpen parts
  them; mouthClose moves them back together by exactly what jawOpen moved them apart (ARKit's
  mouthClose cancels jawOpen on the lips), so jawOpen = mouthClose means lips that meet;
  mouthPress flattens them against each other and closes a little more; mouthRoll thins a lip
  towards the contact line and draws it in.
- teeth: an upper row, fixed, and a lower row that follows the jaw.
- tongue: on the floor of the mouth, riding on the jaw; tongueOut pushes it out between the lips.
- eyes: eyeballs with iris and pupil that turn with eyeLook.
- lids: an upper and a lower lid per eye, shells around the eyeball. eyeBlink brings the upper lid
  down past the lower one (the eye is covered from eyeBlink ~0.85 up); the lids follow
  eyeLookUp/Down, eyeWide and eyeSquint.
- brows: dark strips on the skin that follow the brow (and every other) skin shape.

Skin shapes move a soft region of the face (a Gaussian falloff around a landmark, on the upper or
lower side of the mouth slit where that matters) by a fixed offset; the lips, brows and the skin
follow the same field, so they move together. The head faces -Y (Blender's front view); the
character's left is +X; units are head radii. Vertex groups name the parts a test measures: "upper
lip" / "lower lip" (lips), "upper lid edge L|R" / "lower lid edge L|R" (lids, in matching columns).
The geometry is numpy until `add_head` turns it into Blender data.
"""

import bmesh
import bpy
import numpy as np

HEAD_SCALE = (0.82, 0.9, 1.05)
SPHERE_SEGMENTS, SPHERE_RINGS = 64, 40
MOUTH_Z, MOUTH_HALF_WIDTH = -0.45, 0.27
JAW_WIDTH = 0.22  # the jaw opens the middle of the slit most: a lens, corners nearly closed
JAW_WIDENING = 0.6  # below the mouth the jaw widens by this per unit of height: a round chin
JAW_OPEN = (0.0, 0.04, -0.6)  # the jaw's travel at jawOpen 1, at the middle of the mouth
EYE_X, EYE_Z, EYE_RADIUS = 0.28, 0.18, 0.12
EYE_SINK = 0.45  # eye centre behind the skin, in eye radii
# The nose: an elongated bump along the surface normal (x, z, sigma x, sigma z, height).
NOSE = (0.0, -0.06, 0.075, 0.12, 0.2)
SKIN, MOUTH_INSIDE = (0.8, 0.55, 0.45, 1), (0.25, 0.03, 0.04, 1)
LIP, TEETH, TONGUE, BROW = (0.6, 0.22, 0.22, 1), (0.93, 0.91, 0.85, 1), (0.72, 0.28, 0.3, 1), (0.18, 0.11, 0.07, 1)
SCLERA, IRIS, PUPIL = (0.92, 0.92, 0.9, 1), (0.22, 0.42, 0.55, 1), (0.02, 0.02, 0.03, 1)
# Little light reaches into the mouth: the inside, teeth and tongue glow faintly so they read.
MOUTH_GLOW = 0.12

# --- skin ---------------------------------------------------------------------------------------
# name: (landmark x, landmark z, falloff radius, part, offset). "{side}" names exist for Left (+X)
# and Right (-X, x mirrored). Parts: any, upper / lower (side of the mouth slit), jaw (the lower
# face, rigidly), close (see `close_offsets`). Offsets: (dx, dy, dz), or "normal" (out along the
# surface) or "pucker" (lips to the centre and forward).
REGIONS = {
    "eyeBlink{side}": (EYE_X, EYE_Z + 0.14, 0.12, "any", (0.0, 0.0, -0.03)),
    "eyeLookDown{side}": (EYE_X, EYE_Z + 0.14, 0.12, "any", (0.0, 0.0, -0.02)),
    "eyeLookIn{side}": (EYE_X, EYE_Z + 0.1, 0.12, "any", (-0.01, 0.0, 0.0)),
    "eyeLookOut{side}": (EYE_X, EYE_Z + 0.1, 0.12, "any", (0.01, 0.0, 0.0)),
    "eyeLookUp{side}": (EYE_X, EYE_Z + 0.14, 0.12, "any", (0.0, 0.0, 0.02)),
    "eyeSquint{side}": (EYE_X, EYE_Z - 0.14, 0.12, "any", (0.0, -0.01, 0.05)),
    "eyeWide{side}": (EYE_X, EYE_Z + 0.16, 0.13, "any", (0.0, 0.0, 0.04)),
    "jawForward": (0.0, MOUTH_Z, 1.0, "jaw", (0.0, -0.08, 0.0)),
    "jawLeft": (0.0, MOUTH_Z, 1.0, "jaw", (0.08, 0.0, 0.0)),
    "jawRight": (0.0, MOUTH_Z, 1.0, "jaw", (-0.08, 0.0, 0.0)),
    "jawOpen": (0.0, MOUTH_Z, 1.0, "jaw", JAW_OPEN),
    "mouthClose": (0.0, MOUTH_Z, 0.14, "close", None),
    "mouthFunnel": (0.0, MOUTH_Z, 0.25, "any", "pucker"),
    "mouthPucker": (0.0, MOUTH_Z, 0.22, "any", "pucker"),
    "mouthLeft": (0.0, MOUTH_Z, 0.3, "any", (0.1, 0.0, 0.0)),
    "mouthRight": (0.0, MOUTH_Z, 0.3, "any", (-0.1, 0.0, 0.0)),
    "mouthSmile{side}": (MOUTH_HALF_WIDTH, MOUTH_Z, 0.15, "any", (0.05, 0.02, 0.1)),
    "mouthFrown{side}": (MOUTH_HALF_WIDTH, MOUTH_Z, 0.15, "any", (0.0, 0.0, -0.08)),
    "mouthDimple{side}": (MOUTH_HALF_WIDTH, MOUTH_Z, 0.12, "any", (0.03, 0.04, 0.0)),
    "mouthStretch{side}": (MOUTH_HALF_WIDTH, MOUTH_Z, 0.15, "any", (0.08, 0.0, -0.03)),
    "mouthRollLower": (0.0, MOUTH_Z, 0.18, "lower", (0.0, 0.03, 0.02)),
    "mouthRollUpper": (0.0, MOUTH_Z, 0.18, "upper", (0.0, 0.03, -0.02)),
    "mouthShrugLower": (0.0, MOUTH_Z - 0.1, 0.2, "lower", (0.0, -0.02, 0.06)),
    "mouthShrugUpper": (0.0, MOUTH_Z + 0.05, 0.2, "upper", (0.0, -0.02, 0.04)),
    "mouthPress{side}": (0.14, MOUTH_Z, 0.12, "upper", (0.0, 0.0, -0.01)),
    "mouthLowerDown{side}": (0.12, MOUTH_Z - 0.04, 0.14, "lower", (0.0, 0.0, -0.1)),
    "mouthUpperUp{side}": (0.12, MOUTH_Z + 0.04, 0.14, "upper", (0.0, 0.0, 0.1)),
    "browDown{side}": (0.3, 0.45, 0.16, "any", (0.0, 0.0, -0.07)),
    "browInnerUp": (0.0, 0.45, 0.2, "any", (0.0, 0.0, 0.08)),
    "browOuterUp{side}": (0.4, 0.43, 0.14, "any", (0.0, 0.0, 0.08)),
    "cheekPuff": (0.4, -0.3, 0.2, "any", "normal"),
    "cheekSquint{side}": (0.35, 0.0, 0.14, "any", (0.0, 0.0, 0.06)),
    "noseSneer{side}": (0.1, -0.08, 0.1, "any", (0.0, 0.0, 0.06)),
    "tongueOut": (0.0, MOUTH_Z - 0.06, 0.12, "lower", (0.0, -0.02, -0.03)),
}
SIDES = {"Left": 1.0, "Right": -1.0}
BOTH_SIDES = ("cheekPuff",)  # symmetric keys whose landmark has a twin across the face
PUCKER_PULL, PUCKER_PUSH, NORMAL_PUSH = 0.45, 0.12, 0.09

# --- lips ---------------------------------------------------------------------------------------
LIP_HALF_WIDTH = 0.3
LIP_UPPER_HEIGHT, LIP_LOWER_HEIGHT, LIP_DEPTH = 0.05, 0.06, 0.05  # half-heights and half-depth, middle
LIP_END_PROFILE = 0.25  # the lips thin to this share of their middle size at the corners
LIP_OVERLAP = 0.004  # at rest the lips press into each other by this much
LIP_SINK = 0.2  # lip centre behind the skin surface, in lip depths
LIP_SECTIONS, LIP_AROUND = 41, 16
# mouthClose lowers the upper lip by this share of the jaw's travel and raises the lower by the rest.
CLOSE_UPPER_SHARE = 0.3
# mouthPress (both sides at 1): closes like mouthClose at this weight, and flattens the lips by this.
PRESS_CLOSE, PRESS_FLATTEN = 0.25, 0.3
ROLL_FLATTEN, ROLL_BACK = 0.6, 0.04  # mouthRoll: the lip thins towards the contact line, moves in
FUNNEL_OPEN = (0.05, 0.06)  # mouthFunnel parts the lips: upper lip up, lower lip down
PUCKER_THICKEN = 0.25  # mouthPucker: the lips grow away from the contact line

# --- teeth and tongue ---------------------------------------------------------------------------
TEETH_PER_ROW, TEETH_ARCH, TEETH_SPAN_DEGREES = 10, (0.19, 0.2), 130.0
TOOTH_DEPTH = 0.035
UPPER_TEETH_Z, LOWER_TEETH_Z = (-0.05, 0.06), (-0.11, -0.035)  # bottom and top, about the mouth line
LOWER_TEETH_BACK = TOOTH_DEPTH  # the lower row sits behind the upper (an overbite), so they overlap
TONGUE_SIZE = (0.13, 0.2, 0.045)  # half-width, half-length, half-height
TONGUE_DROP = 0.065  # tongue centre below the mouth line
TONGUE_JAW_SHARE = 0.8  # the tongue rides on the jaw, a little less far
TONGUE_OUT = (0.0, -0.32, -0.03)  # the tip's travel at tongueOut 1

# --- eyes and lids ------------------------------------------------------------------------------
EYE_TURN = {"In": (-0.45, 0.0), "Out": (0.45, 0.0), "Up": (0.0, 0.35), "Down": (0.0, -0.35)}  # yaw, pitch (rad)
IRIS_DEGREES, PUPIL_DEGREES = 32.0, 14.0
LID_UPPER_RADIUS, LID_LOWER_RADIUS = 1.18, 1.12  # in eye radii: the upper lid slides over the lower
LID_AZIMUTH_DEGREES = 80.0  # lids wrap this far round each side of the front
LID_COLUMNS, LID_RINGS = 25, 8
LID_UPPER_TOP, LID_LOWER_BOTTOM = 70.0, -65.0  # fixed edges (latitude, degrees)
LID_UPPER_OPEN, LID_LOWER_OPEN, LID_CORNER = 24.0, -26.0, 3.0  # open edges at the front; corners overlap
BLINK_OVERLAP_DEGREES = 10.0  # a full blink takes the upper edge this far below the lower edge
BLINK_LOWER_RISE = 3.0
# Other lid shapes: (upper edge, lower edge) change in degrees at weight 1.
LID_SHAPES = {"eyeLookUp": (10.0, 5.0), "eyeLookDown": (-15.0, -5.0), "eyeWide": (14.0, 0.0),
              "eyeSquint": (-4.0, 12.0)}

# --- measuring (the demo's test) ---------------------------------------------------------------
MEASURE_LIP_HALF_WIDTH = 0.12  # lips meet when they touch all across the middle of the mouth
MEASURE_LID_AZIMUTH = 45.0  # an eye is covered when the lids overlap all across its middle

# --- brows --------------------------------------------------------------------------------------
BROW_INNER_X, BROW_OUTER_X, BROW_Z, BROW_ARCH = 0.12, 0.44, 0.4, 0.05
BROW_HALF_HEIGHT, BROW_HALF_DEPTH, BROW_LIFT = 0.022, 0.012, 0.008


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


def jaw_weight(points: np.ndarray, lower: np.ndarray, mouth_z: float = MOUTH_Z) -> np.ndarray:
    """How much of the jaw's motion each point follows: the lower front face, fading to the sides,
    a lens at the mouth line (corners nearly closed) widening to the chin."""
    front = np.clip((-points[:, 1] - 0.1) / 0.5, 0.0, 1.0)
    width = JAW_WIDTH + JAW_WIDENING * np.clip(mouth_z - points[:, 2], 0.0, None)
    return lower * front * np.exp(-points[:, 0] ** 2 / width ** 2)


def close_offsets(points: np.ndarray, lower: np.ndarray, mouth_z: float, radius: float | None) -> np.ndarray:
    """mouthClose: the upper side down by `CLOSE_UPPER_SHARE` of the jaw's travel at that point and
    the lower side up by the rest, so that jawOpen = mouthClose brings both sides to the same place.
    With `radius`, only near the mouth line (skin); without, everywhere (the lips)."""
    travel = jaw_weight(points, np.ones(len(points)), mouth_z)[:, None] * np.asarray(JAW_OPEN)
    offset = (CLOSE_UPPER_SHARE - lower)[:, None] * travel
    if radius is not None:
        offset *= np.exp(-(points[:, 2] - mouth_z) ** 2 / radius ** 2)[:, None]
    return offset


def offsets(points: np.ndarray, lower: np.ndarray, entry, mouth_z: float = MOUTH_Z) -> np.ndarray:
    """The displacement [N, 3] of one skin shape key at `points` (lower: 1 below the mouth slit)."""
    x, z, radius, part, offset = entry
    if part == "close":
        return close_offsets(points, lower, mouth_z, radius)
    if part == "jaw":
        weight = jaw_weight(points, lower, mouth_z)
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


def surface_y(x, z):
    """Where the front of the (scaled) head sphere is at (x, z), before the nose."""
    sx, sy, sz = HEAD_SCALE
    return -sy * np.sqrt(np.maximum(0.0, 1.0 - (np.asarray(x) / sx) ** 2 - (np.asarray(z) / sz) ** 2))


def nose_offsets(points: np.ndarray) -> np.ndarray:
    """The nose: an elongated bump out along the surface normal."""
    x, z, sigma_x, sigma_z, height = NOSE
    weight = np.exp(-((points[:, 0] - x) / sigma_x) ** 2 - ((points[:, 2] - z) / sigma_z) ** 2)
    weight *= np.clip(-points[:, 1] / 0.4, 0.0, 1.0)
    normals = points / np.linalg.norm(points, axis=1, keepdims=True)
    return weight[:, None] * normals * height


def skin_mesh() -> tuple[np.ndarray, list, np.ndarray, float]:
    """The skin: (points, faces, lower-side mask, the mouth line's z): a scaled sphere with a nose and
    a mouth slit that is closed at rest (both edges on the mouth line)."""
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
    points = np.array([v.co for v in bm.verts])
    faces = [[v.index for v in f.verts] for f in bm.faces]
    bm.free()
    return points + nose_offsets(points), faces, lower, float(ring_z)


# --- lips ---------------------------------------------------------------------------------------

def lip_mesh(mouth_z: float) -> tuple[np.ndarray, list, np.ndarray, np.ndarray]:
    """Two lip tubes along the mouth line: (points, faces, lower mask, contact z of each point's
    lip section). Each is an elliptic tube that thins to the corners, capped at both ends; the
    upper lip's bottom and the lower lip's top press together by `LIP_OVERLAP` at rest."""
    xs = np.linspace(-LIP_HALF_WIDTH, LIP_HALF_WIDTH, LIP_SECTIONS)
    profile = LIP_END_PROFILE + (1.0 - LIP_END_PROFILE) * np.sqrt(np.clip(1.0 - (xs / LIP_HALF_WIDTH) ** 2, 0, 1))
    angles = 2 * np.pi * np.arange(LIP_AROUND) / LIP_AROUND
    points, faces, lower = [], [], []
    for is_lower, height in ((0.0, LIP_UPPER_HEIGHT), (1.0, LIP_LOWER_HEIGHT)):
        base = len(points)
        sign = -1.0 if is_lower else 1.0
        rz, ry = height * profile, LIP_DEPTH * profile
        centre_z = mouth_z + sign * (rz - LIP_OVERLAP)
        centre_y = surface_y(xs, mouth_z) + LIP_SINK * ry
        for i, x in enumerate(xs):
            for angle in angles:  # angle 0: the front of the lip
                points.append((x, centre_y[i] - ry[i] * np.cos(angle), centre_z[i] + rz[i] * np.sin(angle)))
        for i in range(LIP_SECTIONS - 1):
            for j in range(LIP_AROUND):
                a, b = base + i * LIP_AROUND + j, base + i * LIP_AROUND + (j + 1) % LIP_AROUND
                faces.append([a, b, b + LIP_AROUND, a + LIP_AROUND])
        for end, ring in ((0, 0), (LIP_SECTIONS - 1, LIP_SECTIONS - 1)):
            cap = len(points)
            points.append((xs[end], centre_y[end], centre_z[end]))
            ring_ids = [base + ring * LIP_AROUND + j for j in range(LIP_AROUND)]
            for j in range(LIP_AROUND):
                pair = (ring_ids[j], ring_ids[(j + 1) % LIP_AROUND])
                faces.append([cap, pair[1], pair[0]] if end == 0 else [cap, pair[0], pair[1]])
        lower.extend([is_lower] * (len(points) - base))
    return np.array(points), faces, np.array(lower), np.full(len(points), mouth_z)


def side_weight(points: np.ndarray, sign: float) -> np.ndarray:
    """0..1, how much a point belongs to the character's left (sign 1) or right (-1) side; 0.5 at x=0."""
    return np.clip(0.5 + sign * points[:, 0] / (2 * LIP_HALF_WIDTH), 0.0, 1.0)


def lip_offsets(name: str, points: np.ndarray, lower: np.ndarray, contact: np.ndarray, entry) -> np.ndarray:
    """The displacement [N, 3] of the lips for one shape key: their own shapes for closing, pressing,
    rolling, funnel and pucker; for every other key the skin's field at the lips."""
    to_contact = (contact - points[:, 2])[:, None] * np.array([0.0, 0.0, 1.0])  # flattening direction
    upper = 1.0 - lower
    if name == "mouthClose":
        return close_offsets(points, lower, contact[0], None)
    if name.startswith("mouthPress"):
        side = side_weight(points, SIDES[name[len("mouthPress"):]])[:, None]
        return side * (PRESS_CLOSE * close_offsets(points, lower, contact[0], None) + PRESS_FLATTEN * to_contact)
    if name in ("mouthRollUpper", "mouthRollLower"):
        rolled = (upper if name == "mouthRollUpper" else lower)[:, None]
        return rolled * (ROLL_FLATTEN * to_contact + np.array([0.0, ROLL_BACK, 0.0]))
    skin = offsets(points, lower, entry, contact[0])
    if name == "mouthFunnel":
        middle = np.exp(-points[:, 0] ** 2 / (0.6 * LIP_HALF_WIDTH) ** 2)
        opening = (upper * FUNNEL_OPEN[0] - lower * FUNNEL_OPEN[1]) * middle
        return skin + opening[:, None] * np.array([0.0, 0.0, 1.0])
    if name == "mouthPucker":
        return skin - PUCKER_THICKEN * to_contact
    return skin


# --- teeth and tongue ---------------------------------------------------------------------------

def teeth_mesh(mouth_z: float, lips_back_y: float) -> tuple[np.ndarray, list, np.ndarray]:
    """Two rows of box teeth on an arch behind the lips: (points, faces, lower-row mask)."""
    half_span = np.radians(TEETH_SPAN_DEGREES) / 2
    angles = np.linspace(-half_span, half_span, TEETH_PER_ROW)
    width = 0.9 * TEETH_ARCH[0] * (angles[1] - angles[0])
    cube = np.array([(sx, sy, sz) for sx in (-0.5, 0.5) for sy in (0.0, 1.0) for sz in (0.0, 1.0)])
    cube_faces = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]
    points, faces, lower = [], [], []
    for is_lower, (bottom, top) in ((0.0, UPPER_TEETH_Z), (1.0, LOWER_TEETH_Z)):
        for angle in angles:
            back = lips_back_y + is_lower * LOWER_TEETH_BACK
            centre = np.array([TEETH_ARCH[0] * np.sin(angle), back + TEETH_ARCH[1] * (1 - np.cos(angle)), 0.0])
            across, inward = np.array([np.cos(angle), np.sin(angle), 0.0]), np.array([-np.sin(angle), np.cos(angle), 0.0])
            base = len(points)
            for sx, sy, sz in cube:
                z = mouth_z + bottom + sz * (top - bottom)
                points.append(centre + sx * width * across + sy * TOOTH_DEPTH * inward + np.array([0.0, 0.0, z]))
            faces.extend([[base + k for k in face] for face in cube_faces])
            lower.extend([is_lower] * len(cube))
    return np.array(points), faces, np.array(lower)


def rigid_jaw(name: str, count: int, share: float = 1.0) -> np.ndarray | None:
    """The jaw's rigid travel [count, 3] for a jaw shape key, or None for other keys."""
    entry = shape_key_table()[name]
    if entry[3] != "jaw":
        return None
    return np.broadcast_to(share * np.asarray(entry[4], dtype=float), (count, 3))


def tongue_mesh(mouth_z: float, teeth_back_y: float) -> tuple[np.ndarray, list]:
    """A flattened ellipsoid on the floor of the mouth, its tip just behind the lower teeth."""
    bm = bmesh.new()
    bmesh.ops.create_uvsphere(bm, u_segments=20, v_segments=12, radius=1.0)
    unit = np.array([v.co for v in bm.verts])
    faces = [[v.index for v in f.verts] for f in bm.faces]
    bm.free()
    centre = np.array([0.0, teeth_back_y + TONGUE_SIZE[1] + 0.01, mouth_z - TONGUE_DROP])
    return centre + unit * np.asarray(TONGUE_SIZE), faces


def tongue_out(points: np.ndarray) -> np.ndarray:
    """tongueOut: the front of the tongue slides out and narrows; the back follows less."""
    front_y, length = points[:, 1].min(), 2 * TONGUE_SIZE[1]
    frontness = np.clip(1.0 - (points[:, 1] - front_y) / length, 0.0, 1.0)
    slide = frontness[:, None] * np.asarray(TONGUE_OUT)
    narrow = np.stack([-0.3 * frontness * points[:, 0], np.zeros(len(points)), np.zeros(len(points))], axis=1)
    return slide + narrow


# --- eyes, lids, brows --------------------------------------------------------------------------

def eye_centre(sign: float) -> np.ndarray:
    return np.array([sign * EYE_X, float(surface_y(EYE_X, EYE_Z)) + EYE_SINK * EYE_RADIUS, EYE_Z])


def eye_mesh() -> tuple[np.ndarray, list, np.ndarray, np.ndarray]:
    """Both eyeballs, front pole looking along -Y: (points, faces, side of each point (+1 left,
    -1 right), material of each face (0 sclera, 1 iris, 2 pupil))."""
    bm = bmesh.new()
    bmesh.ops.create_uvsphere(bm, u_segments=32, v_segments=20, radius=EYE_RADIUS)
    unit = np.array([v.co for v in bm.verts])
    unit = np.stack([unit[:, 0], -unit[:, 2], unit[:, 1]], axis=1)  # the +Z pole to the front (-Y)
    faces = [[v.index for v in f.verts] for f in bm.faces]
    bm.free()
    points, all_faces, side = [], [], []
    for sign in SIDES.values():
        base = len(points)
        points.extend(unit + eye_centre(sign))
        all_faces.extend([[base + i for i in face] for face in faces])
        side.extend([sign] * len(unit))
    centres = np.array([unit[face].mean(axis=0) for face in faces])
    cosine = -centres[:, 1] / np.linalg.norm(centres, axis=1)
    material = np.where(cosine > np.cos(np.radians(PUPIL_DEGREES)), 2,
                        np.where(cosine > np.cos(np.radians(IRIS_DEGREES)), 1, 0))
    return np.array(points), all_faces, np.array(side), np.tile(material, 2)


def turn(points: np.ndarray, centre: np.ndarray, yaw: float, pitch: float) -> np.ndarray:
    """Points turned about `centre`: yaw > 0 turns the front (-Y) towards +X, pitch > 0 up (+Z)."""
    local = points - centre
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    x, y, z = local[:, 0], local[:, 1] * cp - local[:, 2] * sp, local[:, 1] * sp + local[:, 2] * cp
    return centre + np.stack([x * cy - y * sy, x * sy + y * cy, z], axis=1)


def eye_look(name: str, points: np.ndarray, side: np.ndarray) -> np.ndarray | None:
    """eyeLook{In,Out,Up,Down}{Left,Right}: that eyeball turned; None for other keys."""
    for direction, (yaw, pitch) in EYE_TURN.items():
        for side_name, sign in SIDES.items():
            if name == f"eyeLook{direction}{side_name}":
                mine = side == sign
                moved = np.zeros_like(points)
                # In/Out are towards the nose/ear: mirror the yaw on the right eye.
                moved[mine] = turn(points[mine], eye_centre(sign), sign * yaw, pitch) - points[mine]
                return moved
    return None


def lid_edges(azimuth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Open upper and lower edge latitudes (degrees) along the lids: an almond, overlapping at corners."""
    corner = (azimuth / LID_AZIMUTH_DEGREES) ** 2
    return (LID_UPPER_OPEN * (1 - corner) - LID_CORNER * corner,
            LID_LOWER_OPEN * (1 - corner) + LID_CORNER * corner)


def lid_point(centre, radius, azimuth, latitude) -> np.ndarray:
    """A point on a sphere round the eye: azimuth 0 at the front (-Y), > 0 towards +X; latitude up."""
    a, t = np.radians(azimuth), np.radians(latitude)
    return centre + radius * np.stack([np.sin(a) * np.cos(t), -np.cos(a) * np.cos(t), np.sin(t)], axis=-1)


def lid_mesh() -> tuple[np.ndarray, list, dict, dict]:
    """Upper and lower lids of both eyes: (points, faces, groups {name: vertex ids},
    params {"side", "upper", "ring" (0 at the fixed edge, 1 at the moving edge), "azimuth"} per point)."""
    azimuth = np.linspace(-LID_AZIMUTH_DEGREES, LID_AZIMUTH_DEGREES, LID_COLUMNS)
    upper_open, lower_open = lid_edges(azimuth)
    rings = np.linspace(0.0, 1.0, LID_RINGS)
    points, faces, groups = [], [], {}
    params = {"side": [], "upper": [], "ring": [], "azimuth": []}
    for side_name, sign in SIDES.items():
        centre = eye_centre(sign)
        for is_upper, fixed, edge, radius in ((1.0, LID_UPPER_TOP, upper_open, LID_UPPER_RADIUS),
                                              (0.0, LID_LOWER_BOTTOM, lower_open, LID_LOWER_RADIUS)):
            base = len(points)
            for ring in rings:
                latitude = fixed + ring * (edge - fixed)
                points.extend(lid_point(centre, radius * EYE_RADIUS, azimuth, latitude))
                params["side"].extend([sign] * LID_COLUMNS)
                params["upper"].extend([is_upper] * LID_COLUMNS)
                params["ring"].extend([ring] * LID_COLUMNS)
                params["azimuth"].extend(azimuth)
            for r in range(LID_RINGS - 1):
                for c in range(LID_COLUMNS - 1):
                    a = base + r * LID_COLUMNS + c
                    faces.append([a, a + 1, a + 1 + LID_COLUMNS, a + LID_COLUMNS])
            edge_ids = list(range(base + (LID_RINGS - 1) * LID_COLUMNS, base + LID_RINGS * LID_COLUMNS))
            groups[f"{'upper' if is_upper else 'lower'} lid edge {side_name[0]}"] = edge_ids
    return np.array(points), faces, groups, {key: np.array(value) for key, value in params.items()}


def lid_offsets(name: str, points: np.ndarray, params: dict) -> np.ndarray | None:
    """The lids' displacement for eyeBlink, eyeLookUp/Down, eyeWide, eyeSquint; None for other keys.

    A shape moves each lid's edge by some degrees and spreads the move over its rings (the fixed
    edge stays), so the lid stays a shell round the eyeball."""
    for side_name, sign in SIDES.items():
        if not name.endswith(side_name):
            continue
        shape = name[: -len(side_name)]
        upper_open, lower_open = lid_edges(params["azimuth"])
        if shape == "eyeBlink":
            upper_move = lower_open - BLINK_OVERLAP_DEGREES - upper_open
            lower_move = np.full(len(points), BLINK_LOWER_RISE)
        elif shape in LID_SHAPES:
            upper_move, lower_move = (np.full(len(points), move) for move in LID_SHAPES[shape])
        else:
            return None
        upper = params["upper"] == 1.0
        fixed = np.where(upper, LID_UPPER_TOP, LID_LOWER_BOTTOM)
        edge = np.where(upper, upper_open, lower_open)
        latitude = fixed + params["ring"] * (edge - fixed)
        moved = latitude + params["ring"] * np.where(upper, upper_move, lower_move)
        radius = np.where(upper, LID_UPPER_RADIUS, LID_LOWER_RADIUS)[:, None] * EYE_RADIUS
        centre = eye_centre(sign)
        offset = (lid_point(centre, radius, params["azimuth"][:, None], moved[:, None])
                  - lid_point(centre, radius, params["azimuth"][:, None], latitude[:, None]))[:, 0]
        return np.where((params["side"] == sign)[:, None], offset, 0.0)
    return None


def brow_mesh() -> tuple[np.ndarray, list]:
    """Two flat strips lying on the brow ridge, arched, thinner at the tail."""
    xs = np.linspace(BROW_INNER_X, BROW_OUTER_X, 16)
    share = (xs - BROW_INNER_X) / (BROW_OUTER_X - BROW_INNER_X)
    zs = BROW_Z + BROW_ARCH * np.sin(np.pi * np.clip(share * 1.2, 0, 1))
    thickness = 1.0 - 0.5 * share
    around = 2 * np.pi * np.arange(8) / 8
    points, faces = [], []
    for sign in SIDES.values():
        base = len(points)
        for x, z, scale in zip(xs, zs, thickness):
            y = float(surface_y(x, z)) - BROW_LIFT
            for angle in around:
                points.append((sign * x, y - BROW_HALF_DEPTH * scale * np.cos(angle),
                               z + BROW_HALF_HEIGHT * scale * np.sin(angle)))
        for i in range(len(xs) - 1):
            for j in range(8):
                a, b = base + i * 8 + j, base + i * 8 + (j + 1) % 8
                faces.append([a, b, b + 8, a + 8])
    return np.array(points), faces


# --- measuring ----------------------------------------------------------------------------------

def lip_gap(rest: np.ndarray, posed: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> float:
    """The widest opening between the lips across the middle of the mouth (|x| <= `MEASURE_LIP_HALF_WIDTH`
    at rest), in head radii: per lip section (the vertices of one rest x), the upper lip's lowest
    posed z minus the lower lip's highest; <= 0 where the lips touch or press into each other.
    `rest`, `posed`: the lip mesh's vertices [N, 3]; `upper`, `lower`: the two lips' vertex ids."""
    gaps = []
    for x in np.unique(np.round(rest[upper, 0], 5)):
        if abs(x) > MEASURE_LIP_HALF_WIDTH:
            continue
        top = upper[np.round(rest[upper, 0], 5) == x]
        bottom = lower[np.round(rest[lower, 0], 5) == x]
        gaps.append(posed[top, 2].min() - posed[bottom, 2].max())
    return float(max(gaps))


def lid_gap(posed: np.ndarray, upper_edge: np.ndarray, lower_edge: np.ndarray) -> float:
    """The widest opening between one eye's lids across its middle (|azimuth| <= `MEASURE_LID_AZIMUTH`),
    in head radii: per column, the upper lid edge's z minus the lower lid edge's; <= 0 where the
    upper lid has come down over the lower one. The edges' vertex ids are in matching column order."""
    azimuth = np.linspace(-LID_AZIMUTH_DEGREES, LID_AZIMUTH_DEGREES, LID_COLUMNS)
    middle = np.abs(azimuth) <= MEASURE_LID_AZIMUTH
    return float(np.max(posed[upper_edge[middle], 2] - posed[lower_edge[middle], 2]))


def group_ids(obj, name: str) -> np.ndarray:
    """The vertex ids of `obj`'s vertex group `name`, ascending."""
    index = obj.vertex_groups[name].index
    return np.array([v.index for v in obj.data.vertices if any(g.group == index for g in v.groups)])


def posed_points(obj, depsgraph) -> np.ndarray:
    """`obj`'s vertices [N, 3] in its own space as shown now (shape keys applied)."""
    mesh = obj.evaluated_get(depsgraph).data
    points = np.zeros(len(mesh.vertices) * 3, np.float32)
    mesh.vertices.foreach_get("co", points)
    return points.reshape(-1, 3).astype(np.float64)


def rest_points(obj) -> np.ndarray:
    """`obj`'s vertices [N, 3] at rest (its basis)."""
    points = np.zeros(len(obj.data.vertices) * 3, np.float32)
    obj.data.vertices.foreach_get("co", points)
    return points.reshape(-1, 3).astype(np.float64)


def part(head, suffix: str):
    """The object parented under `head` named `<head name> <suffix>` (lips, lids, teeth, ...)."""
    return next(child for child in head.children if child.name == f"{head.name} {suffix}")


def mouth_and_eyes(head, depsgraph) -> tuple[float, float, float]:
    """(lip gap, left lid gap, right lid gap) of `head` as shown now (see `lip_gap`, `lid_gap`)."""
    lips, lids = part(head, "lips"), part(head, "lids")
    mouth = lip_gap(rest_points(lips), posed_points(lips, depsgraph),
                    group_ids(lips, "upper lip"), group_ids(lips, "lower lip"))
    posed = posed_points(lids, depsgraph)
    left, right = (lid_gap(posed, group_ids(lids, f"upper lid edge {side}"), group_ids(lids, f"lower lid edge {side}"))
                   for side in ("L", "R"))
    return mouth, left, right


# --- Blender ------------------------------------------------------------------------------------

def material(name: str, color, inside=None, glow: float = 0.0) -> bpy.types.Material:
    """A Principled material of `color`; with `inside`, back faces (seen through the open mouth) get
    that colour, glowing by `MOUTH_GLOW`; `glow` makes the whole surface glow that much."""
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    if mat.get("lipkit_demo"):
        return mat
    mat["lipkit_demo"] = True
    mat.diffuse_color = color
    if bpy.app.version < (5, 0, 0):  # node trees are always on from 5.0
        mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    principled = nodes["Principled BSDF"]
    principled.inputs["Roughness"].default_value = 0.55
    base = principled.inputs["Base Color"]
    base.default_value = color
    principled.inputs["Emission Color"].default_value = color
    principled.inputs["Emission Strength"].default_value = glow
    if inside is not None:
        backfacing = nodes.new("ShaderNodeNewGeometry").outputs["Backfacing"]
        mix = nodes.new("ShaderNodeMix")
        mix.data_type = "RGBA"
        mix.inputs["A"].default_value, mix.inputs["B"].default_value = color, inside
        links.new(backfacing, mix.inputs["Factor"])
        links.new(mix.outputs["Result"], base)
        links.new(mix.outputs["Result"], principled.inputs["Emission Color"])
        strength = nodes.new("ShaderNodeMath")
        strength.operation = "MULTIPLY"
        strength.inputs[1].default_value = MOUTH_GLOW
        links.new(backfacing, strength.inputs[0])
        links.new(strength.outputs[0], principled.inputs["Emission Strength"])
    return mat


def mesh_object(name: str, points: np.ndarray, faces: list, materials, parent=None, location=(0, 0, 0),
                face_materials=None, groups=None) -> bpy.types.Object:
    """A smooth-shaded mesh object linked to the scene, optionally parented, with vertex groups."""
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([tuple(p) for p in points], [], faces)
    mesh.shade_smooth()
    for mat in materials:
        mesh.materials.append(mat)
    if face_materials is not None:
        mesh.polygons.foreach_set("material_index", np.asarray(face_materials, np.int32))
    obj = bpy.data.objects.new(name, mesh)
    obj.location = location
    obj.parent = parent
    bpy.context.scene.collection.objects.link(obj)
    for group_name, ids in (groups or {}).items():
        obj.vertex_groups.new(name=group_name).add(list(map(int, ids)), 1.0, "REPLACE")
    return obj


def add_shape_keys(obj, points: np.ndarray, keys: dict[str, np.ndarray]):
    """A Basis and one shape key per entry of `keys` (name -> displacement [N, 3])."""
    obj.shape_key_add(name="Basis")
    for key_name, displacement in keys.items():
        block = obj.shape_key_add(name=key_name, from_mix=False)
        block.data.foreach_set("co", (points + displacement).astype(np.float32).ravel())
        block.value = 0.0


def moving(keys: dict) -> dict:
    """Only the keys that move something (a mesh keeps just the shapes that reach it)."""
    return {name: value for name, value in keys.items() if value is not None and np.abs(value).max() > 1e-6}


def add_head(name: str, location) -> bpy.types.Object:
    """A head object at `location` (the skin, with all 52 ARKit shape keys) and its parts under it."""
    from inference.arkit import NAMES
    table = shape_key_table()
    skin, skin_faces, skin_lower, mouth_z = skin_mesh()
    head = mesh_object(name, skin, skin_faces, [material("Skin", SKIN, inside=MOUTH_INSIDE)], location=location)
    add_shape_keys(head, skin, {key: offsets(skin, skin_lower, table[key], mouth_z) for key in NAMES})

    lips, lip_faces, lip_lower, contact = lip_mesh(mouth_z)
    groups = {"upper lip": np.flatnonzero(lip_lower == 0), "lower lip": np.flatnonzero(lip_lower == 1)}
    lip_object = mesh_object(f"{name} lips", lips, lip_faces, [material("Lips", LIP)], head, groups=groups)
    add_shape_keys(lip_object, lips, moving({key: lip_offsets(key, lips, lip_lower, contact, table[key])
                                             for key in NAMES}))

    lips_back_y = float(lips[:, 1].max())
    teeth, teeth_faces, teeth_lower = teeth_mesh(mouth_z, lips_back_y)
    teeth_object = mesh_object(f"{name} teeth", teeth, teeth_faces, [material("Teeth", TEETH, glow=MOUTH_GLOW)], head)
    add_shape_keys(teeth_object, teeth, moving({key: None if (travel := rigid_jaw(key, len(teeth))) is None
                                                else travel * teeth_lower[:, None] for key in NAMES}))

    tongue, tongue_faces = tongue_mesh(mouth_z, float(teeth[teeth_lower == 1][:, 1].max()))
    tongue_keys = {key: rigid_jaw(key, len(tongue), TONGUE_JAW_SHARE) for key in NAMES}
    tongue_keys["tongueOut"] = tongue_out(tongue)
    tongue_object = mesh_object(f"{name} tongue", tongue, tongue_faces, [material("Tongue", TONGUE, glow=MOUTH_GLOW)], head)
    add_shape_keys(tongue_object, tongue, moving(tongue_keys))

    eyes, eye_faces, eye_side, eye_materials = eye_mesh()
    eye_object = mesh_object(f"{name} eyes", eyes, eye_faces,
                             [material("Sclera", SCLERA), material("Iris", IRIS), material("Pupil", PUPIL)],
                             head, face_materials=eye_materials)
    add_shape_keys(eye_object, eyes, moving({key: eye_look(key, eyes, eye_side) for key in NAMES}))

    lids, lid_faces, lid_groups, lid_params = lid_mesh()
    lid_object = mesh_object(f"{name} lids", lids, lid_faces, [material("Lid", SKIN)],
                             head, groups=lid_groups)
    add_shape_keys(lid_object, lids, moving({key: lid_offsets(key, lids, lid_params) for key in NAMES}))

    brows, brow_faces = brow_mesh()
    brow_lower = np.zeros(len(brows))
    brow_object = mesh_object(f"{name} brows", brows, brow_faces, [material("Brow", BROW)], head)
    add_shape_keys(brow_object, brows, moving({key: offsets(brows, brow_lower, table[key], mouth_z)
                                               for key in NAMES if table[key][3] != "close"}))
    return head
