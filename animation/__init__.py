"""The one place that creates Actions, slots, channelbags and F-curves on shape keys.

`takes` writes `Curves` as a take (a new Action) in bulk, reads takes back and switches between
them, across Blender 4.2-4.3 (legacy `action.fcurves`), 4.4+ (slots and channelbags) and 5.0+
(where `action.fcurves` no longer exists).
"""
