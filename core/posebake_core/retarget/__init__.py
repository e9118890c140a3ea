"""Pure-numpy retargeting (no bpy, no scipy): world frame, canonical skeleton, per-bone solve, foot
contacts, bake options, the BVH rig.

Kept apart from the add-on's bpy glue (`posebake_blender.blender`) so every step can be unit-tested in a
plain interpreter, and shared by the add-on's bake and the backend's BVH export.
"""
