"""Lipkit: artist-driven lip sync for Blender (audio to ARKit-52 shape-key animation).

This file only registers and unregisters; it stays importable without bpy. The modules it loads:
`properties` (data), `operators` (actions), `panels` (the "Lip Sync" sidebar tab).
"""


def _modules():
    from . import operators, panels, properties
    return (properties, operators, panels)


def register():
    for module in _modules():
        module.register()


def unregister():
    for module in reversed(_modules()):
        module.unregister()
