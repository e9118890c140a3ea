"""Which feet a bake locks: the Motion's own contacts, or the user's threshold when one is set."""
from __future__ import annotations


def locked(motion: str, contact_height: str) -> dict:
    """Bake `motion` onto a test rig; per side, how many frames the lock held."""
    import bpy
    from posebake_core.retarget.prepare import BakeOptions

    import rigbuilder
    from posebake_blender.blender.apply import bake_motion

    bpy.ops.wm.read_factory_settings(use_empty=True)
    rig = rigbuilder.build_rig("mixamo", pose="A", seed=8)
    height = float(contact_height) if contact_height != "none" else None
    res = bake_motion(rig, motion, BakeOptions(contact_height=height))
    return {side: int(c.sum()) for side, c in res.solution.contacts.items()}
