"""What makes a rig unbakeable, said before the scene is touched (bpy glue; the mapping itself is pure).

Each check names what it found and what to do: a constraint or driver on a mapped bone would override the
baked keys (the bake would look right in the solver and wrong in the viewport); a linked armature cannot
take an Action; a non-uniform object scale shears bone rotations, which keys cannot express; a bone given
two roles would get two answers. A rig without a mesh bakes fine, and only gets a warning.
"""
from __future__ import annotations

import re

#: object scale axes may differ by this fraction before the scale counts as non-uniform (float noise of
#: imported transforms is far below it; a deliberately squashed rig far above)
SCALE_TOLERANCE = 1e-3
_BONE_PATH = re.compile(r'^pose\.bones\["((?:[^"\\]|\\.)*)"\]')


def problems(obj, mapping: dict[str, list[str]]) -> list[str]:
    """Reasons the bake must be refused (empty when it may go ahead)."""
    out: list[str] = []
    if obj.library is not None or obj.data.library is not None:
        lib = (obj.library or obj.data.library).filepath
        out.append(f"{obj.name!r} is linked from {lib}, so it cannot take a new Action: make it local or a "
                   "library override first")
    scale = obj.matrix_world.to_scale()
    if max(scale) - min(scale) > SCALE_TOLERANCE * max(abs(max(scale)), 1e-12):
        out.append(f"{obj.name!r} has a non-uniform scale ({scale.x:.4g}, {scale.y:.4g}, {scale.z:.4g}) in the "
                   "scene, which bone rotations cannot follow: apply the scale (Object > Apply > Scale) or "
                   "make it uniform")
    roles_of: dict[str, list[str]] = {}
    for role, bones in mapping.items():
        for b in bones:
            roles_of.setdefault(b, []).append(role)
    for bone, roles in sorted(roles_of.items()):
        if len(roles) > 1:
            out.append(f"bone {bone!r} is mapped to {len(roles)} roles ({', '.join(roles)}): give each role "
                       "its own bone")
    constrained = []
    for bone in sorted(roles_of):
        pb = obj.pose.bones.get(bone)
        active = [c for c in (pb.constraints if pb else []) if c.enabled and c.influence > 0]
        if active:
            constrained.append(f"{bone} ({', '.join(f'{c.name}: {c.type}' for c in active)})")
    if constrained:
        out.append("constraints on mapped bones would override the baked keys: " + "; ".join(constrained)
                   + " (mute them, or map the bones they copy)")
    ad = obj.animation_data
    driven = sorted({m.group(1) for d in (ad.drivers if ad else []) if (m := _BONE_PATH.match(d.data_path))
                     and m.group(1) in roles_of and not d.mute})
    if driven:
        out.append(f"drivers on mapped bones would override the baked keys: {', '.join(driven)} (mute or "
                   "remove them)")
    return out


def warnings(obj) -> list[str]:
    """Things worth saying that do not stop the bake."""
    import bpy

    meshes = [o for o in bpy.data.objects if o.type == "MESH" and (
        o.parent is obj or any(m.type == "ARMATURE" and m.object is obj for m in o.modifiers))]
    return [] if meshes else [f"{obj.name!r} has no mesh bound to it: the Action is baked, but nothing is "
                              "deformed by it"]
