"""Pure-numpy tests of the core's retargeting (no bpy): world frame, canonical joints,
solve (CMU onto its own skeleton), foot contacts/IK, rig presets and auto-mapping."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "addon"))

from posebake_dev.mocap import Y_UP_TO_Z_UP as P, forward_kinematics, read_bvh  # noqa: E402
from posebake_core.motion import Motion  # noqa: E402
from posebake_core.skeleton import standing_pose  # noqa: E402
from posebake_blender import rigs  # noqa: E402
from posebake_core.retarget.armature import RestPose  # noqa: E402
from posebake_core.retarget.canonical import from_blazepose, from_cmu  # noqa: E402
from posebake_core.retarget.contacts import foot_offsets, detect_foot_contacts, two_bone_ik  # noqa: E402
from posebake_core.rot import axis_angle, frame  # noqa: E402
from posebake_core.retarget.solve import solve  # noqa: E402
from posebake_core.retarget.world import to_world  # noqa: E402

BVH = Path("/work/shared/data/mocap_bvh/cmu_walk_delfem2.bvh")


def _motion(T: int = 5) -> Motion:
    j = np.broadcast_to(standing_pose() + [0, 0, 3.0], (1, T, 33, 3)).astype(np.float32)
    K = np.array([[1000.0, 0, 640], [0, 1000, 360], [0, 0, 1]])
    return Motion(j, np.zeros((1, T, 33, 2)), np.ones((1, T, 33)), 30.0, K, (1280, 720))


def test_world_frame_recovers_gravity_from_a_tilted_camera():
    """A subject walking on a floor seen by a camera pitched 20 degrees down: up, floor and facing."""
    T = 60
    base = standing_pose()  # camera axes, y down, facing the camera
    walk = np.stack([base + [0.02 * t, 0, 0.01 * t] for t in range(T)])  # across and away, on the floor
    walk[:, :, 1] += 0.93  # floor at y = 0.93 below the hips... shift so hips are at y=0
    pitch = np.radians(20)
    R = axis_angle(np.array([1.0, 0, 0]), np.array(pitch))
    cam = walk @ R.T + [0, 0.2, 4.0]
    w = to_world(cam)
    true_up = R @ np.array([0, -1.0, 0])
    assert np.degrees(np.arccos(w.up_cam @ true_up)) < 1.0
    feet = w.joints[:, [27, 28, 29, 30, 31, 32], 2]
    assert abs(feet.min()) < 0.01  # the floor is z = 0
    hips = w.joints[:, [23, 24]].mean(1)
    assert np.allclose(hips[0, :2], 0, atol=1e-6) and 0.8 < hips[0, 2] < 1.0
    nose_fwd = w.joints[0, 0] - hips[0]
    assert nose_fwd[1] < 0  # facing the camera = facing -Y


def test_world_frame_of_a_jump_in_place_stays_upright():
    """Jumps in place leave the lowest foot points in a vertical line (one spot, take-offs and landings
    stacked): a plane through them alone stands the floor on its side (the rendered jump clips came out
    74-77 degrees off gravity). The body's own up must decide, and the floor stay under the feet."""
    T = 90
    rng = np.random.default_rng(3)
    base = standing_pose()
    base[:, 1] += 0.93 - base[[29, 30, 31, 32], 1].max()  # soles on the floor y = 0.93 (camera axes, y down)
    lift = np.clip(0.4 * np.sin(np.linspace(0, 6 * np.pi, T)), 0.0, None)  # three jumps, a third of it aloft
    jump = np.stack([base + [0.0, -h, 0.0] for h in lift]) + rng.normal(0, 0.01, (T, 1, 3))
    R = axis_angle(np.array([1.0, 0, 0]), np.array(np.radians(20))) @ axis_angle(np.array([0, 0, 1.0]),
                                                                                 np.array(np.radians(5)))
    w = to_world(jump @ R.T + [0, 0.2, 4.0])
    true_up = R @ np.array([0, -1.0, 0])
    assert np.degrees(np.arccos(w.up_cam @ true_up)) < 3.0
    soles = w.joints[lift == 0][:, [29, 30, 31, 32], 2]
    assert abs(np.median(soles.min(axis=1))) < 0.02  # standing frames: the soles on z = 0


def test_blazepose_canonical_has_every_role_joint():
    cam_to_zup = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])  # x, y down, z forward -> x, y fwd, z up
    c = from_blazepose(standing_pose()[None] @ cam_to_zup.T, 30.0)
    for k in ("hips", "spine_base", "neck", "head_base", "head_top", "toe_l", "thumb_r", "ear_l", "clavicle_r"):
        assert np.isfinite(c.joints[k]).all(), k
    assert c.joints["head_top"][0, 2] > c.joints["head_base"][0, 2] > c.joints["neck"][0, 2]


def _cmu():
    m = read_bvh(BVH)
    pos, glob = forward_kinematics(m)
    return m, pos @ P.T, P @ glob @ P.T


def _bvh_rest(m, seed=0):
    keep = [i for i in range(len(m.names)) if not m.end_site[i]]
    restpos = np.zeros((len(m.names), 3))
    for j, p in enumerate(m.parents):
        restpos[j] = (restpos[p] if p >= 0 else 0) + P @ m.offsets[j]
    rng = np.random.default_rng(seed)
    tails, mats = [], []
    for i in keep:
        kids = [k for k, p in enumerate(m.parents) if p == i and np.linalg.norm(m.offsets[k]) > 1e-6]
        t = restpos[kids].mean(0) if kids else restpos[i] + [0, 0, 0.05]
        tails.append(t)
        mats.append(frame(t - restpos[i], rng.normal(size=3)))  # random roll
    return RestPose.from_parent_names([m.names[i] for i in keep],
                                      [m.names[m.parents[i]] if m.parents[i] >= 0 else None for i in keep],
                                      restpos[keep], np.array(tails), np.array(mats))


@pytest.mark.skipif(not BVH.is_file(), reason="shared data not available")
def test_cmu_onto_its_own_skeleton_is_exact():
    m, pos, glob = _cmu()
    canon = from_cmu(m.names, pos, glob, m.fps)
    rest = _bvh_rest(m)
    rep = rigs.resolve(None, rest.names, [rest.names[p] if p >= 0 else None for p in rest.parents])
    assert rep.preset == "cmu_bvh" and not rep.missing
    sol = solve(canon, rest, rep.mapping, foot_lock=False)
    body = [n for n in rest.names if "Finger" not in n and "Index" not in n and "Thumb" not in n]
    err = max(np.abs(sol.heads[:, rest.index(n)] - pos[:, m.names.index(n)]).max() for n in body)
    assert err < 1e-6  # metres
    assert abs(sol.scale - 1) < 1e-9
    q = np.stack(list(sol.quats.values()))
    assert np.allclose(np.linalg.norm(q, axis=-1), 1) and (np.sum(q[:, 1:] * q[:, :-1], -1) >= 0).all()


def _cmu_mapping(rest) -> dict[str, list[str]]:
    return rigs.resolve("cmu_bvh", rest.names, [None] * len(rest.names)).mapping


def _cmu_walk(seed: int):
    """The CMU walk as a canonical pose, a jittered copy of its skeleton and that skeleton's mapping."""
    m, pos, glob = _cmu()
    rest = _bvh_rest(m, seed=seed)
    return from_cmu(m.names, pos, glob, m.fps), rest, _cmu_mapping(rest)


def _stillest_foot_point(sol, rest, mapping, side: str) -> np.ndarray:
    """(T-1,) how far the stillest of the foot's heel, ball and toe tip moves from each frame to the next."""
    full = np.stack([sol.world[n] for n in rest.names], axis=1)
    ankle = sol.heads[:, rest.index(mapping[f"foot.{side}"][0])]
    pts = ankle[:, None] + foot_offsets(rest, mapping, full, side.lower(), np.array([0.0, 0.0, 1.0]))
    return np.linalg.norm(np.diff(pts, axis=0), axis=-1).min(axis=1)


@pytest.mark.skipif(not BVH.is_file(), reason="shared data not available")
def test_foot_lock_holds_the_whole_foot_during_contact():
    canon, rest, mapping = _cmu_walk(seed=1)
    sol = solve(canon, rest, mapping, foot_lock=True)
    for side, foot in (("L", "LeftFoot"), ("R", "RightFoot")):
        c = sol.contacts[side]
        assert c.sum() > 20
        # the whole foot is held: a point of the sole (the planted one) does not move; the ankle moves only as
        # the foot rolls over it. Exact where the leg reaches; a leg at full stretch falls short by a mm or two.
        still = _stillest_foot_point(sol, rest, mapping, side)[c[1:] & c[:-1]]
        assert np.median(still) < 1e-9 and (still < 1e-6).mean() > 0.9 and still.max() < 0.002, still.max()
        ankle = np.linalg.norm(np.diff(sol.heads[:, rest.index(foot)], axis=0), axis=1)[c[1:] & c[:-1]]
        assert np.median(ankle) <= 0.005 and ankle.max() <= 0.03


def test_detect_contacts_and_two_bone_ik():
    T = 40
    heel = np.zeros((T, 3))
    heel[20:, 0] = np.linspace(0, 1, T - 20)  # planted, then swinging forward
    heel[20:, 2] = 0.2
    toe = heel + [0.0, -0.2, 0.0]
    c = detect_foot_contacts(heel, toe, 30.0, 0.85)
    assert c[:20].all() and not c[21:].any()
    # a foot standing on a floor seen from a tilted armature: heights are along the given up axis
    tilt = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])  # Z up -> armature -Y... any rotation
    assert (detect_foot_contacts(heel @ tilt.T, toe @ tilt.T, 30.0, 0.85, up=tilt @ [0, 0, 1.0]) == c).all()
    hip = np.zeros((3, 3)) + [0, 0, 0.9]
    knee = hip + [0, -0.1, -0.44]
    goal = np.array([[0, 0, 0.1], [0, 0.3, 0.2], [0, 0, -2.0]])
    k = two_bone_ik(hip, knee, goal, 0.45, 0.42)
    assert np.allclose(np.linalg.norm(k - hip, axis=1), 0.45)
    assert np.allclose(np.linalg.norm(goal[:2] - k[:2], axis=1), 0.42)
    assert (k[:2, 1] < hip[:2, 1] + 1e-9).all()  # the knee keeps bending forwards (-Y)


def test_presets_load_and_detect():
    names = rigs.list_presets()
    assert {"rigify", "blender_metarig", "mixamo", "ue5_manny", "cmu_bvh", "cmu_bvh_3dsmax", "smpl",
            "makehuman"} <= set(names)
    for n in names:
        p = rigs.load_preset(n)
        assert all(p.bones.get(r) for r in ("pelvis", "spine", "thigh.L", "forearm.R")), n
        bones = [b for v in p.bones.values() for b in v]
        assert rigs.detect_preset(bones) == n
    with pytest.raises(rigs.RigError, match="unknown rig preset"):
        rigs.load_preset("nope")


def test_normalize_and_auto_map():
    assert rigs.normalize_name("mixamorig:LeftUpLeg") == ("upleg", "L")
    assert rigs.normalize_name("DEF-upper_arm.R") == ("upperarm", "R")
    assert rigs.normalize_name("thigh_fk.L") == ("thigh", "L")
    names = ["Hips", "Spine", "Chest", "Neck", "Head"] + [f"{s}{b}" for s in ("Left", "Right") for b in
                                                          ("Shoulder", "Arm", "ForeArm", "Hand", "UpLeg", "Leg", "Foot")]
    parents = [None, "Hips", "Spine", "Chest", "Neck"]
    for s in ("Left", "Right"):
        parents += ["Chest", f"{s}Shoulder", f"{s}Arm", f"{s}ForeArm", "Hips", f"{s}UpLeg", f"{s}Leg"]
    rep = rigs.auto_map(names, parents)
    assert rep.missing == [] and rep.mapping["spine"] == ["Spine", "Chest"]
    assert rep.mapping["clavicle.L"] == ["LeftShoulder"] and rep.mapping["upper_arm.L"] == ["LeftArm"]
    assert rep.mapping["shin.R"] == ["RightLeg"] and "guessed" in rep.summary()
    # unknown limb names below a known thigh are found by walking the hierarchy
    names2 = [n.replace("RightLeg", "xx_7").replace("RightFoot", "yy_8") for n in names]
    parents2 = [p.replace("RightLeg", "xx_7") if p else p for p in parents]
    rep2 = rigs.auto_map(names2, parents2)
    assert rep2.mapping["shin.R"] == ["xx_7"] and rep2.mapping["foot.R"] == ["yy_8"]


@pytest.mark.skipif(not BVH.is_file(), reason="shared data not available")
def test_video_motion_solves_onto_a_rig_without_nans():
    """Motion file -> world -> canonical -> solve onto the CMU skeleton: finite, feet near the floor."""
    from posebake_core.retarget.world import canonical_from_camera
    m, _, _ = _cmu()
    T = 30
    base = standing_pose()
    cam = np.stack([base + [0.01 * t, 0, 3.0 + 0.02 * t] for t in range(T)])
    canon = canonical_from_camera(cam, 30.0)
    rest = _bvh_rest(m)
    mapping = _cmu_mapping(rest)
    sol = solve(canon, rest, mapping, foot_lock=True)
    assert all(np.isfinite(q).all() for q in sol.quats.values()) and np.isfinite(sol.root_location).all()
    feet = sol.heads[:, [rest.index("LeftFoot"), rest.index("RightFoot")], 2]
    assert 0.0 < feet.min() and feet.max() < 0.15  # ankles just above the world floor (z = 0)


@pytest.mark.skipif(not BVH.is_file(), reason="shared data not available")
def test_the_motions_own_contacts_are_the_ones_locked():
    """Contacts handed to the solve (the Motion's, found at estimate time) replace its own detection."""
    canon, rest, mapping = _cmu_walk(seed=1)
    T = canon.num_frames
    none = {"L": np.zeros(T, bool), "R": np.zeros(T, bool)}
    free = solve(canon, rest, mapping, foot_lock=False)
    held = solve(canon, rest, mapping, foot_lock=True, contacts=none)
    assert not any(c.any() for c in held.contacts.values())
    np.testing.assert_allclose(held.heads, free.heads, atol=1e-12)  # nothing to lock: the free solve
    found = solve(canon, rest, mapping, foot_lock=True).contacts
    some = {"L": found["L"], "R": np.zeros(T, bool)}  # the left foot's contacts only
    held = solve(canon, rest, mapping, foot_lock=True, contacts=some)
    assert (held.contacts["L"] == found["L"]).all() and not held.contacts["R"].any()
    right = rest.index("RightFoot")
    np.testing.assert_allclose(held.heads[:, right], free.heads[:, right], atol=1e-12)  # not locked
    inside = found["L"][1:] & found["L"][:-1]
    assert np.median(_stillest_foot_point(held, rest, mapping, "L")[inside]) < 1e-9  # held


def test_foot_lock_never_bends_a_knee_backwards_or_stretches_a_leg():
    """On noisy motion (the CMU walk with video-like wobble on every joint: 1.5 cm, correlated over about
    0.1 s as a smoothed estimate's is), the lock moves the legs but keeps each knee bending the way the
    unlocked solve bends it, and every leg bone its rest length."""
    from posebake_core.timeseries import gaussian_smooth

    m, pos, glob = _cmu()
    canon = from_cmu(m.names, pos, glob, m.fps)
    rng = np.random.default_rng(3)
    sigma = 0.1 * canon.fps / 2.0
    noisy = {}
    for k, v in canon.joints.items():
        wobble = gaussian_smooth(rng.normal(0, 1.0, v.shape), sigma)
        noisy[k] = v + 0.015 * wobble / wobble.std()
    canon = type(canon)(noisy, canon.fps, canon.chains)
    rest = _bvh_rest(m, seed=2)
    mapping = _cmu_mapping(rest)
    free, held = solve(canon, rest, mapping, foot_lock=False), solve(canon, rest, mapping, foot_lock=True)
    assert sum(c.sum() for c in held.contacts.values()) > 40
    knees = [rest.index("LeftLeg"), rest.index("RightLeg")]
    assert np.abs(held.heads[:, knees] - free.heads[:, knees]).max() > 0.005  # the lock did move the legs
    for S in ("Left", "Right"):
        hip, knee, ankle = (rest.index(f"{S}{b}") for b in ("UpLeg", "Leg", "Foot"))
        for a, b in ((hip, knee), (knee, ankle)):
            length = np.linalg.norm(held.heads[:, b] - held.heads[:, a], axis=-1)
            assert np.abs(length - np.linalg.norm(rest.heads[b] - rest.heads[a])).max() < 1e-6
        bend = [np.cross(s.heads[:, knee] - s.heads[:, hip], s.heads[:, ankle] - s.heads[:, knee]) for s in
                (free, held)]
        side = np.einsum("ti,ti->t", bend[0], bend[1])
        bent = np.linalg.norm(bend[0], axis=-1) > 1e-3  # a straight knee has no direction to keep
        assert (side[bent] > 0).all()


def test_detached_bones_follow_their_chain_whatever_the_bone_order():
    """An IK-style foot under the root, anchored to a shin whose thigh hangs beside the pelvis (RobotExpressive's
    layout), listed before its chain: FK puts it where the chain ends, as if it were attached."""
    from posebake_core.retarget.armature import fk_heads
    # root, foot (IK-style, under the root, listed early), body, pelvis, thigh (beside the pelvis), shin
    names = ["root", "foot", "body", "pelvis", "thigh", "shin"]
    parents = [None, "root", "root", "body", "body", "thigh"]
    heads = np.array([[0, 0, 0], [0.1, 0, 0.1], [0, 0, 0.9], [0, 0, 1.0], [0.1, 0, 0.9], [0.1, 0, 0.5]], float)
    tails = heads + [0, 0, 0.05]
    rest = RestPose.from_parent_names(names, parents, heads, tails, np.tile(np.eye(3), (6, 1, 1)))
    ix = rest.index
    anchors = {ix("thigh"): ix("pelvis"), ix("foot"): ix("shin")}
    full = np.tile(np.eye(3), (1, 6, 1, 1))
    turn = axis_angle(np.array([0.0, 1.0, 0.0]), np.array(0.5))  # the pelvis swings the hip sideways
    full[0, ix("pelvis")] = turn
    for b in ("thigh", "shin"):
        full[0, ix(b)] = turn  # the leg turns with it
    got = fk_heads(rest, full, ix("body"), np.zeros((1, 3)), anchors)[0]
    hip = heads[3] + turn @ (heads[4] - heads[3])
    ankle = hip + turn @ (heads[5] - heads[4]) + turn @ (heads[1] - heads[5])
    np.testing.assert_allclose(got[ix("thigh")], hip, atol=1e-12)
    np.testing.assert_allclose(got[ix("foot")], ankle, atol=1e-12)


def test_two_bone_ik_keeps_a_nearly_straight_legs_bend_plane():
    """A leg almost straight (knee 2 mm off the hip-ankle line, bent forward) asked to reach a goal off its
    line bends forward, not backwards: the bend plane, not the knee's tiny offset, decides."""
    hip = np.array([[0.0, 0.0, 0.9]])
    ankle = np.array([[0.0, 0.0, 0.03]])
    knee = np.array([[0.0, 0.002, 0.465]])  # +Y: forward
    goal = np.array([[0.0, 0.15, 0.1]])  # ahead and higher: the leg must bend (the knee's offset alone says back)
    l1 = float(np.linalg.norm(knee - hip))
    l2 = float(np.linalg.norm(ankle - knee))
    n0 = np.cross(knee - hip, ankle - knee)[0]
    new = two_bone_ik(hip, knee, goal, l1, l2, ankle=ankle)
    n1 = np.cross(new - hip, goal - new)[0]
    assert n0 @ n1 > 0 and abs(np.linalg.norm(new - hip) - l1) < 1e-9 and abs(np.linalg.norm(goal - new) - l2) < 1e-9
    assert (new - hip - ((new - hip) @ normalize_vec(goal - hip)[0]) * normalize_vec(goal - hip)[0])[0, 1] > 0


def normalize_vec(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_contacts_read_the_image_where_the_depth_wanders():
    """A planted foot whose estimated depth swings by metres per second (the rendered running clip's stance
    feet) is still in the image: with the image evidence it is a contact, with the 3D speed alone it is not.
    `image_speed` measures that stillness after removing the camera's turning (a pan following the person)."""
    from posebake_core.retarget.contacts import SOLE_LANDMARKS, image_speed
    from scipy.spatial.transform import Rotation

    T, fps = 30, 30.0
    heel = np.zeros((T, 3))
    heel[:, 1] = 0.3 * np.sin(np.arange(T))  # 0.3 m depth noise, ~9 m/s: no 3D stillness at all
    toe = heel + [0.0, -0.2, 0.0]
    assert not detect_foot_contacts(heel, toe, fps, 0.85).any()
    still = (np.zeros(T), np.zeros(T))
    assert detect_foot_contacts(heel, toe, fps, 0.85, image_speeds=still).all()
    moving = (np.full(T, 2.0), np.full(T, 2.0))  # 2 m/s across the image: a swinging foot
    assert not detect_foot_contacts(heel, toe, fps, 0.85, image_speeds=moving).any()

    # a camera panning 2 degrees a frame after a foot that stays where it is in the world
    K = np.array([[1000.0, 0, 640], [0, 1000.0, 360], [0, 0, 1]])
    pan = Rotation.from_euler("y", np.radians(2.0) * np.arange(T)[:, None]).as_matrix()  # camera t -> first camera
    world = np.array([0.5, 1.0, 5.0])  # the heel in the first camera's axes, 5 m away
    cam = np.einsum("tji,j->ti", pan, world)  # the same point in each frame's camera
    j = np.zeros((1, T, 33, 3)) + [0.0, 0.0, 5.0]
    j[0, :, SOLE_LANDMARKS["l"][0]] = cam
    uv = j[..., :2] / j[..., 2:] * 1000.0 + [640, 360]
    m = Motion(joints_cam=j, joints_2d=uv, visibility=np.ones((1, T, 33)), fps=fps, K=K, image_size=(1280, 720))
    heel_px = np.linalg.norm(np.diff(uv[0, :, SOLE_LANDMARKS["l"][0]], axis=0), axis=1)
    assert heel_px.min() > 30  # it crosses the image...
    m.camera_rotation = None
    assert image_speed(m, 0, SOLE_LANDMARKS["l"][0])[1:].min() > 3.0  # ...fast, with the pan left in
    m.camera_rotation = pan
    assert image_speed(m, 0, SOLE_LANDMARKS["l"][0]).max() < 1e-3  # still (float32 pixels), once the pan is removed


def test_a_one_frame_landmark_jump_does_not_break_a_contact():
    """BlazePose throws a foot landmark away for a frame where the legs cross (the rendered run: 19 px at frame
    26): the image speed passes its rays through a median of three frames first, so a planted foot stays
    planted through it, while a foot that keeps moving is as fast as before."""
    from posebake_core.retarget.contacts import SOLE_LANDMARKS, image_speed, median3

    T, fps, heel = 20, 30.0, SOLE_LANDMARKS["l"][0]
    K = np.array([[1000.0, 0, 640], [0, 1000.0, 360], [0, 0, 1]])
    j = np.zeros((1, T, 33, 3)) + [0.0, 0.0, 5.0]
    j[0, :, heel] = [0.3, 0.9, 5.0]
    j[0, 10, heel, 0] += 0.15  # one frame 15 cm (30 px) off: 4.5 m/s in and out
    uv = j[..., :2] / j[..., 2:] * 1000.0 + [640, 360]
    m = Motion(joints_cam=j, joints_2d=uv, visibility=np.ones((1, T, 33)), fps=fps, K=K, image_size=(1280, 720))
    assert image_speed(m, 0, heel).max() < 1e-3
    still = np.zeros((T, 3)) + [0.3, 0.0, 0.0]
    assert detect_foot_contacts(still, still + [0.2, 0, 0], fps, 0.85,
                                image_speeds=(image_speed(m, 0, heel),) * 2).all()
    j[0, :, heel, 0] = 0.3 + 0.05 * np.arange(T)  # 1.5 m/s steadily: no median changes that
    m.joints_2d = j[..., :2] / j[..., 2:] * 1000.0 + [640, 360]
    assert np.allclose(image_speed(m, 0, heel), 1.5, rtol=0.06)  # (less as it leaves the optical axis)
    glitch = np.array([[0.0], [0.0], [9.0], [0.0], [1.0], [2.0], [3.0]])
    assert median3(glitch)[:, 0].tolist() == [0, 0, 0, 1, 1, 2, 3]


def test_feet_planted_toes_down_are_levelled_about_the_ankle():
    """BlazePose's heel landmark sits up the back of the heel: planted feet come out toes-down (13-78 degrees
    on the rendered clips, flat in truth). For the bake the world frame levels each foot by its median pitch
    over its lowest frames, turning heel and toe tip about the ankle (lengths kept), and puts the floor under
    the levelled soles; otherwise the landmarks are left as they are."""
    from posebake_core.retarget.sole import sole_pitch
    from posebake_core.skeleton import JOINT_INDEX as J

    T = 40
    base = standing_pose()
    for s in ("left", "right"):
        base[[J[f"{s}_heel"], J[f"{s}_foot_index"]], 1] = 0.93  # flat soles on the floor y = 0.93
    down = axis_angle(np.array([1.0, 0, 0]), np.array(np.radians(20)))  # toes (towards -z) down (+y)
    for s in ("left", "right"):
        a = base[J[f"{s}_ankle"]].copy()
        for k in ("heel", "foot_index"):
            base[J[f"{s}_{k}"]] = a + down @ (base[J[f"{s}_{k}"]] - a)
    rng = np.random.default_rng(5)
    cam = base[None] + rng.normal(0, 0.003, (T, 33, 3)) + [0, 0.2, 4.0]
    up = np.array([0.0, 0.0, 1.0])
    raw, levelled = to_world(cam).joints, to_world(cam, level_feet=True).joints
    for s in ("left", "right"):
        heel, tip, ankle = (J[f"{s}_{k}"] for k in ("heel", "foot_index", "ankle"))
        assert np.degrees(np.median(sole_pitch(raw[:, heel], raw[:, tip], up))) < -15
        assert abs(np.degrees(np.median(sole_pitch(levelled[:, heel], levelled[:, tip], up)))) < 2
        for k in (heel, tip):
            np.testing.assert_allclose(np.linalg.norm(levelled[:, k] - levelled[:, ankle], axis=-1),
                                       np.linalg.norm(raw[:, k] - raw[:, ankle], axis=-1), atol=1e-9)
    soles = levelled[:, [J[f"{s}_{k}"] for s in ("left", "right") for k in ("heel", "foot_index")], 2]
    assert abs(np.median(soles)) < 0.01  # the floor under the levelled soles


@pytest.mark.skipif(not BVH.is_file(), reason="shared data not available")
def test_rest_sole_height_is_the_rigs_own_floor_only_when_its_origin_is_at_its_feet():
    """A locked foot is planted so the rig's mesh rests on the floor: its sole joints stand as high above
    the floor as they stand above the armature's origin at rest. A BVH rig has its origin at the hips: no
    floor of its own, the joints go on the floor."""
    from posebake_core.retarget.armature import rest_joints
    from posebake_core.retarget.contacts import rest_sole_height

    m, _, _ = _cmu()
    rest = _bvh_rest(m)
    mapping = _cmu_mapping(rest)
    up = np.array([0.0, 0.0, 1.0])
    assert rest_sole_height(rest, mapping, up) == 0.0  # sole joints ~0.9 m below the origin
    rj = rest_joints(rest, mapping)
    sole = min(float(rj[f"{p}_{s}"][2]) for p in ("toe", "toe_tip") for s in ("l", "r"))
    shift = np.array([0.0, 0.0, 0.015 - sole])  # modelled standing on its origin, sole joints 1.5 cm up
    parents = [rest.names[p] if p >= 0 else None for p in rest.parents]
    standing = RestPose.from_parent_names(list(rest.names), parents, rest.heads + shift, rest.tails + shift,
                                          rest.matrices)
    assert rest_sole_height(standing, mapping, up) == pytest.approx(0.015, abs=1e-9)


def test_a_planted_foot_under_the_floor_is_lifted_onto_it_one_above_keeps_its_height():
    """The lock puts a stance on the floor when it floats a little above it (FLOOR_SNAP) or has sunk into it
    (FLOOR_SINK, a deeper band: the floor is the foot points' lower envelope, so a sunk stance is the
    estimate's error); a stance well above the floor (a step) keeps its height."""
    from posebake_core.retarget.contacts import FLOOR_SINK, FLOOR_SNAP, pivot_targets

    up = np.array([0.0, 0.0, 1.0])
    leg = 0.9
    T = 12
    offsets = np.tile(np.array([[-0.05, 0.0, -0.08], [0.1, 0.0, -0.08], [0.15, 0.0, -0.08]]), (T, 1, 1))
    contact = np.zeros(T, bool)
    contact[3:9] = True

    def planted_height(ankle_z: float) -> float:
        ankle = np.tile([0.0, 0.0, ankle_z], (T, 1))
        target, w = pivot_targets(ankle, offsets, contact, up, 0.0, 0.005 * leg, snap=FLOOR_SNAP * leg,
                                  sink=FLOOR_SINK * leg)
        assert (w[3:9] == 1).all()
        return float((target[5] + offsets[5, 0]) @ up)  # the sole under the held ankle

    assert planted_height(0.08 - 0.10) == pytest.approx(0.0)  # 10 cm under the floor: lifted
    assert planted_height(0.08 + 0.03) == pytest.approx(0.0)  # 3 cm above: put down (within 4.5 cm)
    assert planted_height(0.08 + 0.15) == pytest.approx(0.15)  # 15 cm above, on a step: kept
    assert planted_height(0.08 - 0.30) == pytest.approx(-0.30)  # 30 cm under: the floor is wrong there
