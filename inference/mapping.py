"""Rig mapping: which shape key drives which ARKit channel, across real-world naming.

Pure logic, no bpy. Shape-key names are compared in tiers, strictest first:

1. exact (`jawOpen`);
2. case only (`JawOpen`, `JAWOPEN`);
3. normalised: namespaces stripped (`blendShape1.jawOpen`, `Head|jawOpen`, `ns:jawOpen`),
   separators ignored (`jaw_open`, `Jaw Open`), sides unified (`eyeBlink_L`, `eyeBlink.L`,
   `eyeBlinkLeft`);
4. an unknown prefix before the channel's own words (`ARKit_jawOpen`, `Face_jawOpen`).

A channel takes the candidates of its best tier: one is a match, several are ambiguous (the
animator picks), none is missing. A shape key never serves two channels automatically. Manual
choices override detection and survive re-detection. Presets store a mapping as JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from . import arkit, files
from .errors import MappingError

MATCHED = "MATCHED"
MISSING = "MISSING"
AMBIGUOUS = "AMBIGUOUS"
MANUAL = "MANUAL"
STATUSES = (MATCHED, MISSING, AMBIGUOUS, MANUAL)

TIER_EXACT, TIER_CASE, TIER_NORMALISED, TIER_PREFIXED = 1, 2, 3, 4

PRESET_FORMAT = "lipkit-mapping"
PRESET_VERSION = 1

_NAMESPACE_SEPARATORS = re.compile(r"[.|:]")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_SIDE_WORDS = {"l": "left", "left": "left", "r": "right", "right": "right"}


@dataclass(frozen=True)
class ChannelMatch:
    """The detected mapping of one ARKit channel: its shape key ('' if none) and why."""

    channel: str
    shape_key: str
    status: str
    candidates: tuple[str, ...] = ()

    @property
    def is_mapped(self) -> bool:
        return self.status in (MATCHED, MANUAL) and bool(self.shape_key)


def name_words(name: str) -> tuple[str, ...]:
    """Lower-case words of a name, split at separators and camelCase, sides spelled out.

    `eyeBlink_L` -> ('eye', 'blink', 'left'); `JawOpen` -> ('jaw', 'open').
    """
    words = []
    for part in re.split(r"[^A-Za-z0-9]+", name):
        words.extend(word.lower() for word in _WORDS.findall(part))
    return tuple(_SIDE_WORDS.get(word, word) for word in words)


def _strip_namespace(name: str) -> str:
    """`blendShape1.jawOpen` -> `jawOpen`; a trailing side (`eyeBlink.L`) is not a namespace."""
    parts = _NAMESPACE_SEPARATORS.split(name)
    if len(parts) == 1:
        return name
    tail = parts[-1]
    if tail.lower() in _SIDE_WORDS and len(parts) >= 2:
        return parts[-2] + "_" + tail
    return tail


def match_tier(channel: str, shape_key: str) -> int | None:
    """How well `shape_key` names `channel`: a TIER_* constant, or None for no match."""
    if shape_key == channel:
        return TIER_EXACT
    if shape_key.lower() == channel.lower():
        return TIER_CASE
    channel_words = name_words(channel)
    key_words = name_words(_strip_namespace(shape_key))
    if "".join(key_words) == "".join(channel_words):
        return TIER_NORMALISED
    if len(key_words) > len(channel_words) and key_words[-len(channel_words):] == channel_words:
        return TIER_PREFIXED
    return None


def detect(shape_keys, manual: dict[str, str] | None = None, channels=arkit.NAMES) -> dict[str, ChannelMatch]:
    """Map each ARKit channel to one of `shape_keys` (names; the basis may be among them).

    `manual` pins channels to shape keys chosen by the animator; pinned keys are not offered to
    other channels. Returns a ChannelMatch for every channel, in `channels` order.
    """
    shape_keys = list(dict.fromkeys(shape_keys))
    manual = {c: k for c, k in (manual or {}).items() if k}
    pinned = set(manual.values())

    best: dict[str, tuple[int, list[str]]] = {}
    for channel in channels:
        if channel in manual:
            continue
        tiers = [(tier, key) for key in shape_keys if key not in pinned
                 and (tier := match_tier(channel, key)) is not None]
        if tiers:
            top = min(tier for tier, _ in tiers)
            best[channel] = (top, [key for tier, key in tiers if tier == top])

    # A shape key that is the unique best candidate of several channels serves none of them.
    claims: dict[str, list[str]] = {}
    for channel, (_, keys) in best.items():
        if len(keys) == 1:
            claims.setdefault(keys[0], []).append(channel)
    contested = {key for key, owners in claims.items() if len(owners) > 1}

    result = {}
    for channel in channels:
        if channel in manual:
            result[channel] = ChannelMatch(channel, manual[channel], MANUAL)
        elif channel not in best:
            result[channel] = ChannelMatch(channel, "", MISSING)
        else:
            _, keys = best[channel]
            if len(keys) == 1 and keys[0] not in contested:
                result[channel] = ChannelMatch(channel, keys[0], MATCHED)
            else:
                result[channel] = ChannelMatch(channel, "", AMBIGUOUS, tuple(keys))
    return result


def summary(matches: dict[str, ChannelMatch]) -> dict[str, int]:
    """Counts per status, e.g. {'MATCHED': 51, 'MISSING': 1, 'AMBIGUOUS': 0, 'MANUAL': 0}."""
    counts = dict.fromkeys(STATUSES, 0)
    for match in matches.values():
        counts[match.status] += 1
    return counts


def mapped_pairs(matches: dict[str, ChannelMatch]) -> dict[str, str]:
    """channel -> shape key, for the channels that drive a shape key."""
    return {c: m.shape_key for c, m in matches.items() if m.is_mapped}


def preset_to_json(pairs: dict[str, str], rig_name: str = "") -> str:
    """A mapping preset document (channel -> shape key) as JSON text."""
    unknown = sorted(set(pairs) - set(arkit.NAMES))
    if unknown:
        raise MappingError(f"not ARKit channels: {', '.join(unknown)}")
    ordered = {c: pairs[c] for c in arkit.NAMES if c in pairs}
    doc = {"format": PRESET_FORMAT, "version": PRESET_VERSION, "rig": rig_name, "channels": ordered}
    return json.dumps(doc, indent=2) + "\n"


def preset_from_json(text: str) -> dict[str, str]:
    """channel -> shape key from a preset document; MappingError says what is wrong with it."""
    try:
        doc = files.parse_json(text, "the mapping preset")
    except ValueError as exc:
        raise MappingError(str(exc)) from exc
    if not isinstance(doc, dict) or doc.get("format") != PRESET_FORMAT:
        raise MappingError("not a Lipkit mapping preset (missing \"format\": \"lipkit-mapping\")")
    if doc.get("version") != PRESET_VERSION:
        raise MappingError(f"mapping preset version {doc.get('version')!r} is not supported "
                           f"(this Lipkit reads version {PRESET_VERSION})")
    channels = doc.get("channels")
    if not isinstance(channels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in channels.items()):
        raise MappingError("the preset's \"channels\" must map ARKit names to shape-key names")
    unknown = sorted(set(channels) - set(arkit.NAMES))
    if unknown:
        raise MappingError(f"the preset names unknown ARKit channels: {', '.join(unknown)}")
    return dict(channels)
