"""Pure-numpy retargeting (no bpy): world frame, canonical skeleton, per-bone solve, foot contacts.

Kept apart from the bpy glue (`..blender`) so every step can be unit-tested in a plain interpreter.
"""
