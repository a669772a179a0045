"""The one error boundary: operators implement `run`, and problems become reports here.

Expected problems (`LipkitError`, bad files) are reported as errors and cancel the operator; so
is running out of memory (`MemoryError`), a failure of that one input, not of Blender.
Anything unexpected is logged with its traceback and reported too; with the environment variable
LIPKIT_RAISE set (the test suite sets it) it is re-raised so that tests see it.
"""

import logging
import os

from ..inference.errors import LipkitError

log = logging.getLogger(__name__)


class LipkitOperator:
    """Mixin for Lipkit operators: subclasses define `run(context) -> set`."""

    def execute(self, context):
        return self.guard(self.run, context)

    def guard(self, work, *args):
        """`work(*args)` with its problems reported: the boundary every Lipkit operator step goes through."""
        try:
            return work(*args)
        except LipkitError as exc:
            self.report({"ERROR"}, str(exc))
        except MemoryError:
            log.error("Lipkit: %s ran out of memory", self.bl_idname)
            self.report({"ERROR"}, f"Lipkit: {self.bl_label} ran out of memory; nothing was written "
                                   "(a sound file may claim more audio than it holds)")
        except Exception as exc:  # noqa: BLE001 - the boundary: report instead of a bare traceback
            log.exception("Lipkit: %s failed", self.bl_idname)
            self.report({"ERROR"}, f"Lipkit: unexpected error in {self.bl_label}: {exc} (details in the console)")
            if os.environ.get("LIPKIT_RAISE"):
                raise
        return {"CANCELLED"}


def active_head(context):
    """The active object as a character head, or a LipkitError saying why it cannot be one."""
    obj = context.active_object
    if obj is None:
        raise LipkitError("no active object: select the character's head mesh")
    if obj.library is not None:
        raise LipkitError(f"'{obj.name}' is linked from {obj.library.filepath}: "
                          "make it local or add a library override to lip-sync it")
    if obj.type != "MESH":
        raise LipkitError(f"'{obj.name}' is a {obj.type.lower()}, not a mesh: select the character's head mesh")
    if obj.data.shape_keys is None or len(obj.data.shape_keys.key_blocks) < 2:
        raise LipkitError(f"mesh '{obj.name}' has no shape keys: Lipkit drives ARKit shape keys "
                          "(jawOpen, eyeBlinkLeft, ...), add them first")
    return obj
