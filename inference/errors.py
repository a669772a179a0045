"""Typed errors raised by `inference` (and `animation`); operators turn them into reports at one boundary.

Every message is written for the animator: what was wrong, with which input, and what to do.
"""


class LipkitError(Exception):
    """Base class: a problem with the user's input or data, reported without a traceback."""


class AudioError(LipkitError):
    """Audio that cannot be read, is empty, silent, or otherwise unusable."""


class MappingError(LipkitError):
    """A rig whose shape keys cannot be mapped to ARKit channels, or a malformed mapping preset."""


class TakeError(LipkitError):
    """A take that cannot be written, read or switched (linked data, no shape keys, bad curves)."""


class CancelledError(LipkitError):
    """The animator cancelled long work (`should_cancel()` returned True); nothing was written."""


class ModelError(LipkitError):
    """Model weights that are missing, damaged, or do not match their sidecar; or a model that fails to run."""


class GeometryError(LipkitError):
    """A character whose lips cannot be found from its shape keys (missing or motionless mouth shapes)."""
