"""Lipkit's pure core: everything from audio to `Curves`, with no bpy.

It runs inside Blender (as part of the extension) and outside it (tests, training, the headless
command `python -m inference`). Modules import each other relatively only.
"""
