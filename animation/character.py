"""A character in Blender: its head mesh (which stores `Object.lipkit`), further meshes, and mapping.

The mapping lives on the head object as a list of ARKit channels and their shape keys; the further
meshes (teeth, tongue, lashes) share its shape-key names, so one mapping drives them all.
"""

from __future__ import annotations

import numpy as np

from ..inference import arkit, mapping


def character_objects(head) -> list:
    """The head and its further meshes, each once, in that order."""
    objects = [head]
    for item in head.lipkit.meshes:
        if item.object is not None and item.object not in objects:
            objects.append(item.object)
    return objects


def shape_key_names(objects) -> list[str]:
    """Names of the non-basis shape keys across `objects`, each once, in first-seen order."""
    names = []
    for obj in objects:
        key = obj.data.shape_keys if obj.type == "MESH" else None
        if key is None:
            continue
        for block in key.key_blocks:
            if block != key.reference_key and block.name not in names:
                names.append(block.name)
    return names


def manual_choices(head) -> dict[str, str]:
    return {item.channel: item.shape_key for item in head.lipkit.channels
            if item.status == mapping.MANUAL and item.shape_key}


def store_matches(head, matches: dict[str, mapping.ChannelMatch]):
    """Write detected matches into the head's mapping list (in ARKit order)."""
    channels = head.lipkit.channels
    channels.clear()
    for name in arkit.NAMES:
        match = matches[name]
        item = channels.add()
        item.channel = name
        item.shape_key = match.shape_key
        item.status = match.status
        item.candidates = ", ".join(match.candidates)


def stored_pairs(head) -> dict[str, str]:
    """channel -> shape key for the channels the head's mapping drives."""
    return {item.channel: item.shape_key for item in head.lipkit.channels
            if item.shape_key and item.status in (mapping.MATCHED, mapping.MANUAL)}


def shape_key_deltas(head, pairs: dict[str, str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(basis [V, 3], channel -> vertex deltas [V, 3]) of the head's mapped shape keys, mesh units."""
    key = head.data.shape_keys
    count = len(head.data.vertices)

    def positions(block) -> np.ndarray:
        co = np.empty(3 * count, np.float32)
        block.data.foreach_get("co", co)
        return co.reshape(count, 3).astype(np.float64)

    basis = positions(key.reference_key)
    blocks = key.key_blocks
    deltas = {channel: positions(blocks[name]) - basis for channel, name in pairs.items()
              if name in blocks and blocks[name] != key.reference_key}
    return basis, deltas


def mapping_counts(head) -> dict[str, int]:
    counts = dict.fromkeys(mapping.STATUSES, 0)
    for item in head.lipkit.channels:
        counts[item.status] += 1
    return counts


def child_meshes_sharing_keys(head, names) -> list:
    """Meshes parented (at any depth) under `head` with shape keys named like the mapped ones."""
    wanted = set(names)
    return [child for child in head.children_recursive
            if child.type == "MESH" and wanted & set(shape_key_names([child]))]


def prune_takes(head):
    """Drop list entries whose take was deleted elsewhere (e.g. in the Outliner)."""
    takes = head.lipkit.takes
    for index in reversed(range(len(takes))):
        if takes[index].action is None:
            takes.remove(index)
    head.lipkit.take_index = max(0, min(head.lipkit.take_index, len(takes) - 1))


def add_take(head, action):
    """List a new take on the head and make it the highlighted one."""
    prune_takes(head)
    head.lipkit.takes.add().action = action
    head.lipkit.take_index = len(head.lipkit.takes) - 1
