"""Thin operators: gather inputs from Blender, call `inference`, write through `animation`.

Every operator reports problems through `boundary.LipkitOperator`, the one place errors become
`self.report` messages.
"""

import bpy

from . import batch_ops, edit_ops, generate_ops, mapping_ops, review_ops, take_ops

classes = (mapping_ops.classes + take_ops.classes + generate_ops.classes + edit_ops.classes
           + batch_ops.classes + review_ops.classes)


def register():
    for cls in classes:
        bpy.utils.register_class(cls)
    batch_ops.register()


def unregister():
    batch_ops.unregister()
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
