"""Fingers baked in pip bpy and read back from the baked bones (issue #19's round trip).

`roundtrip(motion, rig)`: bake the Motion (its hands posed with known angles) onto a rig (a preset's test
rig with finger bones, or a character file) through the add-on's one bake path, then, frame by frame, read
each mapped finger bone's direction in the world (its rest direction turned by the baked pose) and compare it with the hand in the Motion, mapped to the
world exactly as the bake maps it (`motion_to_canonical`), and the bend at each finger joint likewise."""
from __future__ import annotations

import numpy as np


def _rig(spec: str):
    import bpy

    kind, arg = spec.split(":", 1)
    if kind == "preset":
        import rigbuilder
        return rigbuilder.build_rig(arg, pose="A", seed=11, fingers=True)
    if arg.endswith((".glb", ".gltf", ".vrm")):
        bpy.ops.import_scene.gltf(filepath=arg)
    else:
        bpy.ops.import_scene.fbx(filepath=arg)
    return next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")


def _bend(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unsigned angle (degrees) between consecutive bone directions."""
    cos = np.sum(a * b, -1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def roundtrip(motion: str, rig: str) -> dict:
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    from posebake_blender.blender.apply import bake_motion
    from posebake_core.motion import Motion
    from posebake_core.retarget.fingers import FINGER_ROLES
    from posebake_core.retarget.prepare import BakeOptions, motion_to_canonical

    obj = _rig(rig)
    mf = Motion.load(motion)
    opts = BakeOptions(foot_lock=False)
    canon = motion_to_canonical(mf, opts)
    preset = None
    if rig.endswith(".vrm"):  # as `posebake bake --rig X.vrm` does (headless.run): the file's humanoid table
        from posebake_blender.vrm import humanoid_preset
        preset = humanoid_preset(rig.split(":", 1)[1])
    res = bake_motion(obj, mf, opts, preset, set_scene_fps=True)
    mapping = {r: b for r, b in res.report.mapping.items() if r in FINGER_ROLES}
    # each phalanx's rest direction (head to the next joint), as the solver reads the rig: bone tails are not
    # trusted (glTF importers guess them)
    from posebake_blender.blender.bake import rest_from_armature
    from posebake_core.retarget.armature import rest_finger_joints
    rj = rest_finger_joints(rest_from_armature(obj), mapping)
    rest_dir = {r: rj[FINGER_ROLES[r][1]] - rj[FINGER_ROLES[r][0]] for r in mapping}
    sc = bpy.context.scene
    start = int(round(res.frame_range[0]))
    M = np.array(obj.matrix_world)
    dir_err, bend_err, moved = [], [], []
    for i in range(0, canon.num_frames, 3):
        sc.frame_set(start + i)
        got: dict[str, np.ndarray] = {}
        for role, bones in mapping.items():
            pb = obj.pose.bones[bones[0]]
            turn = np.array(pb.matrix.to_3x3()) @ np.array(pb.bone.matrix_local.to_3x3()).T  # rest -> posed
            got[role] = M[:3, :3] @ turn @ rest_dir[role]
            q = pb.rotation_quaternion
            moved.append(2 * np.degrees(np.arccos(min(1.0, abs(q.w)))))
        for role, d in got.items():
            side = role[-1].lower()
            if canon.weights[side][i] < 0.999:
                continue
            h, t = FINGER_ROLES[role]
            want = canon.joints[t][i] - canon.joints[h][i]
            dir_err.append(float(_bend(d, want)))
            finger, k = role.split("_")[0], int(role.split("_")[1][0])
            nxt = f"{finger}_{k + 1}.{role[-1]}"
            if nxt in got:
                h2, t2 = FINGER_ROLES[nxt]
                want2 = canon.joints[t2][i] - canon.joints[h2][i]
                bend_err.append(float(abs(_bend(d, got[nxt]) - _bend(want, want2))))
    finite = all(np.isfinite(np.array(pb.rotation_quaternion)).all() for pb in obj.pose.bones)
    return {"roles": sorted(mapping), "frames": len(range(0, canon.num_frames, 3)),
            "dir_err": max(dir_err) if dir_err else None, "bend_err": max(bend_err) if bend_err else None,
            "moved": max(moved) if moved else 0.0, "finite": finite, "preset": res.report.preset}
