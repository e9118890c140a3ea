"""The bake inside pip bpy: CMU round trip on the shared CMU-skeleton character and on the BVH's own
skeleton, bone directions on every preset's test rig, foot lock, atomic failure, bad-input errors.

Moved out of a string literal in tests/test_bake.py; `main(REPO, BVH, CHARACTER)` returns the measurements.
"""
# ruff: noqa: E402, E731
from __future__ import annotations

import numpy as np


def main(*args: str) -> dict:
    argv = ["child", "result.json", *args]  # the layout the body was written for: script RESULT REPO BVH CHAR
    out: dict = {}
    import bpy
    from posebake_dev.mocap import read_bvh, forward_kinematics, Y_UP_TO_Z_UP as P
    from posebake_core.retarget.canonical import CanonicalPose, from_cmu, ROLE_JOINTS
    from posebake_blender.blender import bake as bake_mod
    from posebake_blender.blender.bake import BakeError, bake
    import rigbuilder

    m = read_bvh(argv[3])
    pos, glob = forward_kinematics(m)
    pos, glob = pos @ P.T, P @ glob @ P.T
    canon = from_cmu(m.names, pos, glob, m.fps)

    def sub(c, step):
        return CanonicalPose({k: v[::step] for k, v in c.joints.items()}, c.fps / step, c.chains)

    def fresh():
        bpy.ops.wm.read_factory_settings(use_empty=True)
        sc = bpy.context.scene
        sc.render.fps, sc.frame_start, sc.frame_end = 120, 1, 10
        canon.fps = 120.0  # the BVH says 120.00048 fps; exact 120 keeps keys on whole frames
        return sc

    def heads_over(obj, frames, names):
        sc = bpy.context.scene
        res = np.zeros((len(frames), len(names), 3))
        for a, f in enumerate(frames):
            sc.frame_set(int(f))
            for b, n in enumerate(names):
                res[a, b] = obj.matrix_world @ obj.pose.bones[n].head
        return res

    def angle_errors(obj, r, c, frames):
        """Max angle (deg) per role between posed joint-to-joint direction and the source's."""
        mp = r.report.mapping
        roles = [x for x in mp if x not in ("pelvis", "spine", "neck") and x in ROLE_JOINTS]
        errs = {}
        names = sorted({b for x in roles for b in mp[x]})
        sc = bpy.context.scene
        step = sc.render.fps / sc.render.fps_base / c.fps  # scene frames per motion frame
        at = [int(round(r.frame_range[0] + f * step)) for f in frames]
        H = heads_over(obj, at, names)
        for ro in roles:
            first, last = mp[ro][0], mp[ro][-1]
            hj, tj = ROLE_JOINTS[ro]
            tails = np.zeros((len(frames), 3))
            for a, f in enumerate(at):
                sc.frame_set(f)
                tails[a] = obj.matrix_world @ obj.pose.bones[last].tail
            got = tails - H[:, names.index(first)]
            want = c.joints[tj][frames] - c.joints[hj][frames]
            cosang = np.sum(got * want, -1) / np.linalg.norm(got, axis=-1) / np.linalg.norm(want, axis=-1)
            errs[ro] = float(np.degrees(np.arccos(np.clip(cosang, -1, 1))).max())
        return errs

    # A. shared character, CMU preset auto-detected, no foot lock
    sc = fresh()
    bpy.ops.import_scene.gltf(filepath=argv[4])
    arm = [o for o in bpy.data.objects if o.type == "ARMATURE"][0]
    r = bake(arm, canon, None, foot_lock=False)
    frames = list(range(0, m.num_frames, 7))
    out["char_preset"] = r.report.preset
    out["char_scale"] = r.solution.scale
    names = list(r.solution.world)
    H = heads_over(arm, [r.frame_range[0] + i for i in frames], names)
    out["char_vs_numpy_fk_units"] = float(np.abs(H - r.solution.heads[frames]).max())
    hips = (H[:, names.index("LeftUpLeg")] + H[:, names.index("RightUpLeg")]) / 2
    out["char_midhip_err_m"] = float(np.linalg.norm(hips / r.solution.scale - canon.joints["hips"][frames], axis=-1).max())
    # joint-to-joint directions: the CMU bones whose head joints are BVH joints
    pairs = [("LeftUpLeg", "LeftLeg"), ("LeftLeg", "LeftFoot"), ("LeftFoot", "LeftToeBase"), ("RightUpLeg", "RightLeg"),
             ("RightLeg", "RightFoot"), ("LeftArm", "LeftForeArm"), ("LeftForeArm", "LeftHand"), ("RightArm", "RightForeArm"),
             ("RightForeArm", "RightHand"), ("LowerBack", "Spine"), ("Spine", "Spine1"), ("Neck", "Neck1"), ("Neck1", "Head"),
             ("LeftShoulder", "LeftArm"), ("RightShoulder", "RightArm")]
    worst = 0.0
    for a, b in pairs:
        got = H[:, names.index(b)] - H[:, names.index(a)]
        want = pos[frames, m.names.index(b)] - pos[frames, m.names.index(a)]
        c_ = np.sum(got * want, -1) / np.linalg.norm(got, axis=-1) / np.linalg.norm(want, axis=-1)
        worst = max(worst, float(np.degrees(np.arccos(np.clip(c_, -1, 1))).max()))
    out["char_dir_err_deg"] = worst
    out["char_fcurve_api"] = "layers" if hasattr(r.action, "layers") else "legacy"
    out["char_rotation_modes"] = sorted({arm.pose.bones[n].rotation_mode for n in r.solution.quats})
    out["char_frame_end"] = sc.frame_end

    # D. foot lock on the same character: skate of the planted point during contacts, metres per frame. The
    # lock holds the whole foot (the ankle moves as the foot rolls over its heel or toe), so the skate is
    # that of the stillest of heel, ball and toe tip: Blender's evaluated ankle plus the foot's posed offsets.
    from posebake_core.retarget.contacts import foot_offsets
    from posebake_blender.blender.bake import rest_from_armature

    r2 = bake(arm, canon, "cmu_bvh", foot_lock=True, action_name="locked")
    rest = rest_from_armature(arm)
    sol = r2.solution
    full = np.stack([sol.world[n] for n in rest.names], axis=1)
    mw = np.array(arm.matrix_world)[:3, :3]
    up_arm = np.linalg.inv(mw) @ np.array([0.0, 0.0, 1.0])
    for side, foot in (("L", "LeftFoot"), ("R", "RightFoot")):
        c = sol.contacts[side]
        A = heads_over(arm, [r2.frame_range[0] + i for i in range(m.num_frames)], [foot])[:, 0]
        offsets = foot_offsets(rest, r2.report.mapping, full, side.lower(), up_arm / np.linalg.norm(up_arm))
        pts = (A[:, None] + offsets @ mw.T) / sol.scale
        step = np.linalg.norm(np.diff(pts, axis=0), axis=-1).min(axis=1)
        inside = c[1:] & c[:-1]
        out[f"skate_{side}_max_m"] = float(step[inside].max())
        out[f"skate_{side}_median_m"] = float(np.median(step[inside]))

        src_step = np.linalg.norm(np.diff(canon.joints[f"ankle_{side.lower()}"][:, :2], axis=0), axis=1)
        out[f"skate_{side}_source_max_m"] = float(src_step[inside].max())
        out[f"contact_frames_{side}"] = int(c.sum())

    # E. a failing bake leaves the previous action and adds none
    before = arm.animation_data.action.name
    n_actions = len(bpy.data.actions)
    real = bake_mod.write_action
    def boom(*a, **k):
        real(*a, **k)
        raise RuntimeError("simulated failure while writing")
    bake_mod.write_action = boom
    try:
        bake(arm, canon, "cmu_bvh", foot_lock=False, action_name="doomed")
        out["fail_raised"] = False
    except RuntimeError:
        out["fail_raised"] = True
    bake_mod.write_action = real
    out["fail_action_kept"] = arm.animation_data.action.name == before
    out["fail_no_new_action"] = len(bpy.data.actions) == n_actions

    # F. bad inputs
    mesh = [o for o in bpy.data.objects if o.type == "MESH"][0]
    def err(fn):
        try:
            fn()
        except BakeError as e:
            return str(e)
        return ""
    out["err_mesh"] = err(lambda: bake(mesh, canon, None))
    out["err_preset"] = err(lambda: bake(arm, canon, "no_such_rig"))
    stub = rigbuilder.build_rig("mixamo", name="stub")
    bpy.context.view_layer.objects.active = stub
    bpy.ops.object.mode_set(mode="EDIT")
    for b in list(stub.data.edit_bones):
        if "Leg" in b.name or "Foot" in b.name or "Toe" in b.name:
            stub.data.edit_bones.remove(b)
    bpy.ops.object.mode_set(mode="OBJECT")
    out["err_few"] = err(lambda: bake(stub, canon, "mixamo"))

    # B. the BVH's own skeleton (A-pose arms, random rolls): positions within 1 cm
    fresh()
    J = len(m.names)
    restpos = np.zeros((J, 3))
    for j, p in enumerate(m.parents):
        restpos[j] = (restpos[p] if p >= 0 else 0) + P @ m.offsets[j]
    rig = rigbuilder.build_bvh_rig(m.names, list(m.parents), restpos, seed=3)
    r = bake(rig, canon, "cmu_bvh", foot_lock=False)
    check = [n for n in m.names if not n.endswith("_End") and "Finger" not in n and "Index" not in n and "Thumb" not in n]
    H = heads_over(rig, [r.frame_range[0] + i for i in frames], check)
    ref = pos[frames][:, [m.names.index(n) for n in check]]
    out["same_skeleton_max_err_m"] = float(np.linalg.norm(H - ref, axis=-1).max())
    out["same_skeleton_scale"] = r.solution.scale

    # C. every other preset's test rig, T and A poses alternating
    small = sub(canon, 6)
    fr = list(range(0, small.num_frames, 3))
    out["presets"] = {}
    for k, name in enumerate(["mixamo", "ue5_manny", "rigify", "blender_metarig", "smpl", "makehuman", "cmu_bvh_3dsmax"]):
        fresh()
        rig = rigbuilder.build_rig(name, pose="TA"[k % 2], seed=k)
        r = bake(rig, small, name, foot_lock=False)
        ae = angle_errors(rig, r, small, fr)
        out["presets"][name] = {"pose": "TA"[k % 2], "max_dir_err_deg": max(ae.values()), "worst": max(ae, key=ae.get),
                                "bones": len(r.solution.quats)}

    # G. auto-mapping on an unknown prefix
    fresh()
    rig = rigbuilder.build_rig("mixamo", pose="A", seed=9, name="renamed")
    for b in rig.data.bones:
        b.name = b.name.replace("mixamorig:", "mixamorig7:")
    r = bake(rig, small, None, foot_lock=False)
    out["auto"] = {"preset": r.report.preset, "missing": r.report.missing, "guessed": len(r.report.guessed),
                   "max_dir_err_deg": max(angle_errors(rig, r, small, fr).values())}
    return out
