"""Takes: `Curves` written as new Actions on the shape keys of a character's meshes.

A take is one Action (with one slot on Blender 4.4+) shared by the shape-key datablocks (`Key`)
of all the character's meshes, so one mapping drives head, teeth and tongue alike. It holds one
F-curve per mapped channel, grouped by face region, with a key on every frame, written in bulk
(`keyframe_points.add` + `foreach_set` + `update`).

Takes are stacked on the NLA: each take is a strip on its own track of each `Key`, and the take
showing is the one track of them that is not muted. The animator's own active action (and any
NLA track of theirs) is never replaced or edited: it stays on top, so keys set by hand layer over
the take, and they are what `animator_keys` reads back as constraints.

Takes carry their settings in the Action's custom property `lipkit` (source, take number, fps,
first frame, frame count), which is what marks an Action as a Lipkit take.
"""

from __future__ import annotations

import math

import bpy
import numpy as np

from ..inference import arkit
from ..inference.curves import Curves
from ..inference.errors import TakeError

TAKE_PROPERTY = "lipkit"
SLOT_NAME = "Lipkit"
LAYER_NAME = "Lipkit"
KEY_ID_TYPE = "KEY"
MAX_NAME_LENGTH = 63  # Blender 4.2's ID name limit (5.0 allows more)
_SAME_FPS_TOLERANCE = 1e-6


def scene_fps(scene) -> float:
    """Frames per second of the scene, fps_base included (30000/1001 for 29.97)."""
    return scene.render.fps / scene.render.fps_base


def shape_key_data_path(shape_key_name: str) -> str:
    return f'key_blocks["{bpy.utils.escape_identifier(shape_key_name)}"].value'


def is_take(action) -> bool:
    return action is not None and TAKE_PROPERTY in action.keys()


def take_info(action) -> dict:
    """The settings a take was written with (source, take, fps, frame_start, frame_count)."""
    return dict(action[TAKE_PROPERTY].to_dict()) if is_take(action) else {}


def _uses_slots(action) -> bool:
    return hasattr(action, "slots")


def _is_linked(id_data) -> bool:
    return id_data is not None and id_data.library is not None


def check_writable(objects) -> list:
    """The shape-key datablocks of `objects`; TakeError says why a take cannot go on them."""
    if not objects:
        raise TakeError("no character meshes: select a mesh with shape keys")
    keys = []
    for obj in objects:
        if obj.type != "MESH":
            raise TakeError(f"'{obj.name}' is a {obj.type.lower()}, not a mesh: lip sync drives mesh shape keys")
        key = obj.data.shape_keys
        if key is None or len(key.key_blocks) < 2:
            raise TakeError(f"mesh '{obj.name}' has no shape keys to animate (add the ARKit shape keys first)")
        for id_data, what in ((obj, "object"), (obj.data, "mesh"), (key, "shape keys")):
            if _is_linked(id_data):
                raise TakeError(f"the {what} of '{obj.name}' is linked from {id_data.library.filepath}: "
                                "make it local or add a library override before generating")
        if key not in keys:
            keys.append(key)
    return keys


def frames_for(curves: Curves, fps: float, frame_start: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer scene frames covering `curves` at `fps`, and the values on them [F, C].

    The audio's time 0 lands on `frame_start`; a curves' frame at time t lands on
    frame_start + t * fps, resampled (exactly at shared times) when the rates differ.
    """
    if curves.num_frames == 0:
        raise TakeError("the curves are empty: nothing to write")
    if not np.isfinite(curves.values).all():
        raise TakeError("the curves contain NaN or infinite values: nothing written")
    first = math.ceil(curves.start * fps - 1e-6)
    last = math.floor((curves.start + (curves.num_frames - 1) / curves.fps) * fps + 1e-6)
    offsets = np.arange(first, last + 1)
    values = curves.sample(offsets / fps)
    return (frame_start + offsets).astype(np.float64), values


def new_channel_container(action, id_type: str = KEY_ID_TYPE):
    """(slot, channelbag-like) for a new action: the slot's channelbag on 4.4+, else the action."""
    if not _uses_slots(action):
        action.id_root = id_type  # 4.2-4.3: the action's ID type; slots carry it from 4.4 on
        return None, action
    slot = action.slots.new(id_type=id_type, name=SLOT_NAME)
    layer = action.layers.new(LAYER_NAME)
    strip = layer.strips.new(type="KEYFRAME")
    return slot, strip.channelbag(slot, ensure=True)


def _take_channelbag(action):
    """The F-curve container of an existing take (None when it has none)."""
    if not _uses_slots(action):
        return action
    for layer in action.layers:
        for strip in layer.strips:
            for slot in action.slots:
                channelbag = strip.channelbag(slot)
                if channelbag is not None:
                    return channelbag
    return None


def write_fcurve(container, data_path: str, group, frames: np.ndarray, values: np.ndarray, index: int = 0):
    fcurve = container.fcurves.new(data_path, index=index)
    fcurve.group = group
    points = fcurve.keyframe_points
    points.add(len(frames))
    co = np.empty(2 * len(frames), dtype=np.float32)
    co[0::2] = frames
    co[1::2] = values
    points.foreach_set("co", co)
    fcurve.update()
    return fcurve


def next_take_number(source: str) -> int:
    numbers = [take_info(a).get("take", 0) for a in bpy.data.actions if take_info(a).get("source") == source]
    return max(numbers, default=0) + 1


def take_name(source: str, number: int) -> str:
    suffix = f" take {number}"
    return source[: MAX_NAME_LENGTH - len(suffix)] + suffix


def write_take(objects, curves: Curves, pairs: dict[str, str], scene, frame_start: int,
               source: str, extra_info: dict | None = None):
    """Write `curves` as a new take on `objects`, stacked on their NLA and showing.

    `pairs` maps ARKit channel -> shape-key name (only these channels are written). Returns the
    new Action. Everything is checked before anything is created, and a failure half-way removes
    what was made: nothing is left half-written.
    """
    keys = check_writable(objects)
    pairs = {c: k for c, k in pairs.items() if k}
    if not pairs:
        raise TakeError("the character has no mapped channels: run Detect mapping first")
    unknown = sorted(c for c in pairs if c not in arkit.INDEX)
    if unknown:
        raise TakeError(f"not ARKit channels: {', '.join(unknown)}")
    fps = scene_fps(scene)
    frames, values = frames_for(curves.select(arkit.NAMES), fps, frame_start)

    number = next_take_number(source)
    action = bpy.data.actions.new(take_name(source, number))
    try:
        _, container = new_channel_container(action)
        groups = {region: container.groups.new(region.title()) for region in arkit.REGIONS}
        for channel in arkit.NAMES:
            if channel in pairs:
                write_fcurve(container, shape_key_data_path(pairs[channel]),
                              groups[arkit.REGION_OF[channel]], frames, values[:, arkit.INDEX[channel]])
        action[TAKE_PROPERTY] = {
            "source": source, "take": number, "fps": fps, "frame_start": int(frames[0]),
            "frame_count": len(frames), **(extra_info or {}),
        }
        for key in keys:
            assign(key, action)
    except Exception:
        bpy.data.actions.remove(action)
        raise
    return action


def take_tracks(key) -> list:
    """(track, take) for every NLA track of `key` whose strip plays a take, bottom to top."""
    anim = key.animation_data
    if anim is None:
        return []
    found = []
    for track in anim.nla_tracks:
        for strip in track.strips:
            if is_take(strip.action):
                found.append((track, strip.action))
                break
    return found


def _play(track, action):
    """An NLA strip on `track` playing `action` from its first frame and holding its first and last
    frames outside it. (Playing nothing outside it would leave each key at its property's default
    there, and Blender 5.0's default shape-key value is 1.0: eyes shut and jaw open before and
    after every take.)"""
    strip = track.strips.new(action.name, int(take_info(action)["frame_start"]), action)
    strip.extrapolation = "HOLD"
    if _uses_slots(action) and action.slots:
        strip.action_slot = action.slots[0]


def stack(key, action):
    """A new NLA track on `key` playing `action` from its first frame (its edges held outside it)."""
    anim = key.animation_data or key.animation_data_create()
    track = anim.nla_tracks.new()
    track.name = action.name[:MAX_NAME_LENGTH]
    _play(track, action)
    return track


def shift_take(action, keys, frames: int):
    """Move the take `action` by `frames` (later when positive): its keys, first frame and NLA strips."""
    container = _take_channelbag(action)
    if container is None:
        raise TakeError(f"action '{action.name}' holds no F-curves")
    for fcurve in container.fcurves:
        co = np.empty(2 * len(fcurve.keyframe_points), dtype=np.float32)
        fcurve.keyframe_points.foreach_get("co", co)
        co[0::2] += frames
        fcurve.keyframe_points.foreach_set("co", co)
        fcurve.update()
    action[TAKE_PROPERTY]["frame_start"] = int(take_info(action)["frame_start"]) + int(frames)
    for key in keys:
        for track, take in take_tracks(key):
            if take == action:
                for strip in list(track.strips):
                    track.strips.remove(strip)
                _play(track, action)


def assign(key, action):
    """Show the take `action` on `key`: its track plays, every other take's track is muted.

    The animator's active action and their own tracks are left as they are.
    """
    tracks = take_tracks(key)
    if action not in [take for _, take in tracks]:
        tracks.append((stack(key, action), action))
    for track, take in tracks:
        track.mute = take != action
        track.is_solo = False


def mute_takes(key) -> bool:
    """Mute every take on `key`, leaving the animator's own animation. False if they have none."""
    for track, _ in take_tracks(key):
        track.mute = True
        track.is_solo = False
    anim = key.animation_data
    return anim is not None and anim.action is not None and not is_take(anim.action)


def active_take(key):
    """The take showing on `key` (a soloed one first, else the unmuted one), or None."""
    tracks = take_tracks(key)
    for track, take in tracks:
        if track.is_solo:
            return take
    return next((take for track, take in tracks if not track.mute), None)


def solo(key, action, on: bool = True):
    """Solo the take `action` on `key` (compare it alone), or end the solo."""
    for track, take in take_tracks(key):
        if take == action:
            track.is_solo = on


def set_muted(key, action, muted: bool):
    for track, take in take_tracks(key):
        if take == action:
            track.mute = muted


def is_muted(key, action) -> bool:
    return all(track.mute for track, take in take_tracks(key) if take == action)


def fps_mismatch(action, scene) -> str:
    """A warning when the scene's fps differs from the take's, else ''."""
    written = take_info(action).get("fps")
    now = scene_fps(scene)
    if written is None or abs(written - now) < _SAME_FPS_TOLERANCE:
        return ""
    return (f"take '{action.name}' was written at {written:.3f} fps but the scene is now at "
            f"{now:.3f} fps: its keys no longer line up with the audio; generate a new take")


def delete_take(action, keys):
    """Remove a take and its NLA tracks; the animator's own animation is untouched."""
    for key in keys:
        for track, take in take_tracks(key):
            if take == action:
                key.animation_data.nla_tracks.remove(track)
    bpy.data.actions.remove(action)


def _fcurves_by_path(action) -> dict:
    container = _take_channelbag(action)
    if container is None:
        raise TakeError(f"action '{action.name}' holds no F-curves")
    return {fcurve.data_path: fcurve for fcurve in container.fcurves}


def _take_points(action, pairs: dict[str, str]):
    """(channel, fcurve, co [2F] float32) for each mapped channel the take has an F-curve for."""
    by_path = _fcurves_by_path(action)
    for channel, shape_key in pairs.items():
        fcurve = by_path.get(shape_key_data_path(shape_key))
        if fcurve is not None:
            co = np.empty(2 * len(fcurve.keyframe_points), dtype=np.float32)
            fcurve.keyframe_points.foreach_get("co", co)
            yield channel, fcurve, co


def select_channels(action, pairs: dict[str, str], channels) -> int:
    """Select a take's F-curves of these ARKit channels (and deselect the others); returns how many."""
    wanted = {shape_key_data_path(pairs[name]) for name in channels if name in pairs}
    selected = 0
    for path, fcurve in _fcurves_by_path(action).items():
        fcurve.select = path in wanted
        selected += fcurve.select
    return selected


def overwrite_take(action, pairs: dict[str, str], values: np.ndarray):
    """Write values [F, 52] onto a take's existing keys (same frames as `read_take` gives), in bulk."""
    for channel, fcurve, co in _take_points(action, pairs):
        co[1::2] = values[:, arkit.INDEX[channel]]
        fcurve.keyframe_points.foreach_set("co", co)
        fcurve.update()


def mute_channels(action, pairs: dict[str, str], channels, mute: bool) -> int:
    """Mute (or unmute) a take's F-curves of these ARKit channels; returns how many."""
    by_path = _fcurves_by_path(action)
    count = 0
    for channel in channels:
        fcurve = by_path.get(shape_key_data_path(pairs[channel])) if channel in pairs else None
        if fcurve is not None:
            fcurve.mute = mute
            count += 1
    return count


def _active_channelbag(anim):
    """The F-curve container the animator's active action uses for this ID (None without one)."""
    action = anim.action if anim is not None else None
    if action is None or is_take(action):
        return None
    if not _uses_slots(action):
        return action
    slot = anim.action_slot
    for layer in action.layers:
        for strip in layer.strips:
            channelbag = strip.channelbag(slot) if slot is not None else None
            if channelbag is not None:
                return channelbag
    return None


def animated_values(id_data, data_path: str, frames: np.ndarray, static: float) -> np.ndarray:
    """The value of an animatable property of `id_data` at `frames` (its own F-curve, else `static`)."""
    container = _active_channelbag(id_data.animation_data)
    fcurve = None if container is None else container.fcurves.find(data_path)
    if fcurve is None or fcurve.mute:
        return np.full(len(frames), static, np.float32)
    return np.array([fcurve.evaluate(float(frame)) for frame in frames], np.float32)


def animator_keys(key, pairs: dict[str, str], first: int, last: int) -> list[tuple[int, str, float]]:
    """(frame, channel, value) for each key the animator set by hand on a mapped shape key.

    Hand keys live in the Key's own active action (never a take); only keys on whole frames from
    `first` to `last` count.
    """
    container = _active_channelbag(key.animation_data)
    if container is None:
        return []
    by_path = {fcurve.data_path: fcurve for fcurve in container.fcurves}
    found = []
    for channel, shape_key in pairs.items():
        fcurve = by_path.get(shape_key_data_path(shape_key))
        if fcurve is None:
            continue
        for point in fcurve.keyframe_points:
            frame, value = point.co
            if first <= frame <= last and abs(frame - round(frame)) < _SAME_FPS_TOLERANCE:
                found.append((int(round(frame)), channel, float(value)))
    return found


def read_take(action, pairs: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """(frames [F], values [F, 52]) stored in a take; unmapped channels come back as 0."""
    frames = None
    values = None
    for channel, _, co in _take_points(action, pairs):
        if frames is None:
            frames = co[0::2].astype(np.float64)
            values = np.zeros((len(frames), arkit.NUM_CHANNELS), np.float32)
        values[:, arkit.INDEX[channel]] = co[1::2]
    if frames is None:
        raise TakeError(f"take '{action.name}' has no F-curves for the mapped shape keys")
    return frames, values
