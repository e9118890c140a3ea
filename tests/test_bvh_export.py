"""BVH export: the add-on's solve onto a BVH skeleton. FK of the written file, read back by an independent
reader, reproduces the bake's canonical bone directions and root (camera pan removed); Blender imports it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from posebake.bvh_export import EULER_ORDER, Z_UP_TO_Y_UP, export_bvh
from posebake.cli import main as cli_main
from posebake_core.errors import PoseBakeError
from posebake_core.motion import Motion
from posebake_core.retarget.prepare import BakeOptions, motion_to_canonical, prepared_joints
from posebake_core.retarget.world import to_world
from posebake_core.skeleton import JOINT_INDEX as J
from posebake_core.skeleton import standing_pose
from tests.bpychild import run_blender

T = 30
ABSENT = [0, 1, 2, 15, 16, 17]


def synthetic_track(seed: int = 0) -> np.ndarray:
    """(T,33,3) camera-space joints: turning, walking away, arms raised, knees bent, noisy; NaN frames."""
    rng = np.random.default_rng(seed)
    base = standing_pose()
    out = np.empty((T, 33, 3))
    for t in range(T):
        pose = base.copy()
        # raise the left arm about the shoulder, bend the right knee about the knee
        for side, joints, pivot, axis, deg in (
                ("l", ["left_elbow", "left_wrist", "left_pinky", "left_index", "left_thumb"], "left_shoulder",
                 "z", -4.0 * t),
                ("r", ["right_ankle", "right_heel", "right_foot_index"], "right_knee", "x", 3.0 * t)):
            R = Rotation.from_euler(axis, deg, degrees=True).as_matrix()
            idx = [J[n] for n in joints]
            pose[idx] = (pose[idx] - pose[J[pivot]]) @ R.T + pose[J[pivot]]
        yaw = Rotation.from_euler("y", 6.0 * t - 90.0, degrees=True).as_matrix()
        out[t] = pose @ yaw.T + rng.normal(0, 0.015, (33, 3)) + np.array([0.05 * t, 0.3, 3.0 + 0.1 * t])
    # a perfectly straight left arm in one frame: the limb plane is undefined there
    out[20, J["left_elbow"]] = (out[20, J["left_shoulder"]] + out[20, J["left_wrist"]]) / 2
    out[ABSENT] = np.nan
    return out


def make_motion(track: np.ndarray, second: np.ndarray | None = None,
                camera_rotation: np.ndarray | None = None) -> Motion:
    cam = track[None] if second is None else np.stack([track, second])
    K = np.array([[1000.0, 0, 960], [0, 1000.0, 540], [0, 0, 1]])
    return Motion(joints_cam=cam, joints_2d=np.zeros(cam.shape[:3] + (2,)),
                  visibility=np.where(np.isfinite(cam).all(axis=-1), 1.0, 0.0), fps=25.0, K=K,
                  image_size=(1920, 1080), camera_rotation=camera_rotation)


# ---- a minimal independent BVH reader + forward kinematics --------------------------------------------

def read_bvh_fk(path: Path) -> tuple[dict[str, np.ndarray], int, float]:
    """World positions (T,3) of every joint and end site ("<joint>_end"), frame count, frame time."""
    tokens = path.read_text().split()
    joints: list[dict] = []  # name, parent index, offset, channels
    stack: list[int] = []
    i = 0
    while tokens[i] != "MOTION":
        tok = tokens[i]
        if tok in ("ROOT", "JOINT"):
            joints.append({"name": tokens[i + 1], "parent": stack[-1] if stack else -1, "channels": []})
            i += 2
        elif tok == "End":
            joints.append({"name": joints[stack[-1]]["name"] + "_end", "parent": stack[-1], "channels": []})
            i += 2
        elif tok == "{":
            stack.append(len(joints) - 1)
            i += 1
        elif tok == "}":
            stack.pop()
            i += 1
        elif tok == "OFFSET":
            joints[stack[-1]]["offset"] = np.array([float(x) for x in tokens[i + 1:i + 4]])
            i += 4
        elif tok == "CHANNELS":
            n = int(tokens[i + 1])
            joints[stack[-1]]["channels"] = tokens[i + 2:i + 2 + n]
            i += 2 + n
        else:
            i += 1
    frames = int(tokens[i + 2])
    frame_time = float(tokens[i + 5])
    values = np.array([float(x) for x in tokens[i + 6:]]).reshape(frames, -1)
    col = 0
    pos: dict[str, np.ndarray] = {}
    rot: dict[int, np.ndarray] = {}
    for k, j in enumerate(joints):
        ch = j["channels"]
        data = values[:, col:col + len(ch)]
        col += len(ch)
        R = np.broadcast_to(np.eye(3), (frames, 3, 3)).copy()
        for c, name in enumerate(ch):
            if name.endswith("rotation"):
                R = R @ Rotation.from_euler(name[0].lower(), data[:, c:c + 1], degrees=True).as_matrix()
        translation = np.zeros((frames, 3))
        for c, name in enumerate(ch):
            if name.endswith("position"):
                translation[:, "XYZ".index(name[0])] = data[:, c]
        if j["parent"] < 0:
            rot[k] = R
            pos[j["name"]] = j["offset"] + translation
        else:
            prot = rot[j["parent"]]
            pos[j["name"]] = pos[joints[j["parent"]]["name"]] + np.einsum("tij,j->ti", prot, j["offset"])
            rot[k] = prot @ R
    assert col == values.shape[1]
    return pos, frames, frame_time


#: (head, tail) canonical joints of each BVH bone whose direction the solve matches exactly (swing)
BONE_JOINTS = {"Spine": ("spine_base", "neck"), "Neck": ("neck", "head_base"), "Head": ("head_base", "head_top")}
for _s, _side in (("l", "Left"), ("r", "Right")):
    BONE_JOINTS.update({
        f"{_side}Shoulder": ("neck", f"shoulder_{_s}"), f"{_side}Arm": (f"shoulder_{_s}", f"elbow_{_s}"),
        f"{_side}ForeArm": (f"elbow_{_s}", f"wrist_{_s}"), f"{_side}Hand": (f"wrist_{_s}", f"hand_tip_{_s}"),
        f"{_side}UpLeg": (f"hip_{_s}", f"knee_{_s}"), f"{_side}Leg": (f"knee_{_s}", f"ankle_{_s}"),
        f"{_side}Foot": (f"ankle_{_s}", f"toe_{_s}"), f"{_side}Toe": (f"toe_{_s}", f"toe_tip_{_s}")})
#: bone -> the joint (or end site) at its tail in the BVH
CHILD = {"Spine": "Neck", "Neck": "Head", "Head": "Head_end"}
for _side in ("Left", "Right"):
    CHILD.update({f"{_side}{a}": f"{_side}{b}" for a, b in (
        ("Shoulder", "Arm"), ("Arm", "ForeArm"), ("ForeArm", "Hand"), ("Hand", "Hand_end"), ("UpLeg", "Leg"),
        ("Leg", "Foot"), ("Foot", "Toe"), ("Toe", "Toe_end"))})


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.degrees(np.arccos(np.clip(np.sum(_unit(a) * _unit(b), axis=-1), -1, 1)))


def zup(pos: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """BVH (Y-up) positions back in the solve's Z-up world."""
    return {k: v @ Z_UP_TO_Y_UP for k, v in pos.items()}


def bone_directions_deg(motion: Motion, path: Path, track: int = 0) -> dict[str, np.ndarray]:
    """Per bone (T,) angle between the BVH's bone and the add-on's canonical bone (its bake input)."""
    pos = zup(read_bvh_fk(path)[0])
    canon = motion_to_canonical(motion, BakeOptions(track=track)).joints
    return {b: _angle_deg(pos[CHILD[b]] - pos[b], canon[t] - canon[h]) for b, (h, t) in BONE_JOINTS.items()}


def world_limb_angles_deg(motion: Motion, path: Path, track: int = 0) -> dict[str, np.ndarray]:
    """Per limb (T,) angle between the BVH's limb and the Motion's own `joints_world` limb (camera pan
    removed), brought into the BVH's axes by the floor-aligned rotation the bake uses."""
    pos = read_bvh_fk(path)[0]
    world = motion.joints_world()[track].astype(np.float64)
    R = to_world(prepared_joints(motion, BakeOptions(track=track))).rotation  # first-frame camera -> Z-up world
    out = {}
    for side, s in (("Left", "left"), ("Right", "right")):
        for bone, (a, b) in {"UpLeg": ("hip", "knee"), "Leg": ("knee", "ankle"), "Arm": ("shoulder", "elbow"),
                             "ForeArm": ("elbow", "wrist")}.items():
            v_world = (world[:, J[f"{s}_{b}"]] - world[:, J[f"{s}_{a}"]]) @ R.T @ Z_UP_TO_Y_UP.T
            v_bvh = pos[CHILD[side + bone]] - pos[side + bone]
            out[side + bone] = _angle_deg(v_bvh, v_world)
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Motion]:
    motion = make_motion(synthetic_track())
    path = tmp_path_factory.mktemp("bvh") / "out.bvh"
    assert export_bvh(motion, path) == path
    return path, motion


def test_fk_reproduces_the_bake_solve(exported: tuple[Path, Motion]) -> None:
    path, motion = exported
    pos, frames, frame_time = read_bvh_fk(path)
    assert frames == T and abs(frame_time - 1 / 25) < 1e-7
    text = path.read_text()
    assert "nan" not in text.lower() and f"CHANNELS 3 {' '.join(a + 'rotation' for a in EULER_ORDER)}" in text
    canon = motion_to_canonical(motion, BakeOptions()).joints
    np.testing.assert_allclose(zup(pos)["Hips"], canon["hips"], atol=2e-6)  # root in metres, the bake's world
    for bone, angle in bone_directions_deg(motion, path).items():
        assert angle.max() < 0.01, (bone, angle.max())
    for bone, angle in world_limb_angles_deg(motion, path).items():
        seen = np.setdiff1d(np.arange(T), ABSENT)
        assert angle[seen].max() < 0.01, (bone, angle.max())
    # constant bone lengths (a rigid skeleton), about the track's medians
    for bone, (h, t) in BONE_JOINTS.items():
        length = np.linalg.norm(pos[CHILD[bone]] - pos[bone], axis=-1)
        assert np.ptp(length) < 1e-5, bone
        median = np.nanmedian(np.linalg.norm(canon[t] - canon[h], axis=-1))
        assert abs(length[0] - median) < 0.01 * median + 1e-4, (bone, length[0], median)


def test_camera_pan_is_root_motion(tmp_path: Path) -> None:
    """A walker the panning camera keeps centred: `joints_cam` barely moves, the BVH root walks 2 m."""
    base = standing_pose() + np.array([0.0, 0.0, 4.0])
    n = 40
    x = np.linspace(0.0, 2.0, n)  # metres walked to the camera's right, in the first frame's axes
    yaw = np.arctan2(x, 4.0)  # the camera turns to follow
    pan = Rotation.from_euler("y", yaw[:, None]).as_matrix()  # camera t -> first camera axes
    world = np.stack([base + [xi, 0.0, 0.0] for xi in x])
    cam = np.einsum("tji,tkj->tki", pan, world)  # = pan[t].T @ world
    motion = make_motion(cam, camera_rotation=pan)
    assert np.ptp(cam[:, J["left_hip"], 0]) < 0.2
    pos = zup(read_bvh_fk(export_bvh(motion, tmp_path / "pan.bvh"))[0])
    travel = pos["Hips"][-1] - pos["Hips"][0]
    assert abs(np.linalg.norm(travel[:2]) - 2.0) < 0.02 and abs(travel[2]) < 0.02, travel


def test_absent_frames_hold_then_interpolate(exported: tuple[Path, Motion]) -> None:
    path, _ = exported
    pos, _, _ = read_bvh_fk(path)
    np.testing.assert_allclose(pos["Hips"][:3], np.repeat(pos["Hips"][3:4], 3, axis=0), atol=1e-6)
    np.testing.assert_allclose(pos["Hips"][16], (pos["Hips"][14] + pos["Hips"][18]) / 2, atol=1e-6)


def test_knee_is_a_hinge(exported: tuple[Path, Motion]) -> None:
    """Thigh and shin share their twist reference (the leg's bend plane), so the knee's local rotation is
    about one axis: the rest leg's bend normal."""
    path, _ = exported
    text = path.read_text().split("MOTION")[0]
    names = [line.split()[1] for line in text.splitlines() if line.strip().startswith(("ROOT", "JOINT"))]
    values = np.loadtxt(path, skiprows=len(text.splitlines()) + 3)
    col = 6 + 3 * (names.index("RightLeg") - 1)
    axes = Rotation.from_euler(EULER_ORDER, values[:, col:col + 3], degrees=True).as_rotvec()
    big = np.linalg.norm(axes, axis=1) > np.radians(10)
    assert big.sum() > 10
    assert np.all(np.abs(_unit(axes[big]) @ _unit(np.median(axes[big], axis=0))) > 0.999)


def test_cli_export_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    track = synthetic_track(1)
    brief = np.full_like(track, np.nan)
    brief[5] = track[5]  # the second person is seen in one frame only: too little to export
    mpath = make_motion(track, brief).save(tmp_path / "m.npz")
    out = tmp_path / "cli.bvh"
    assert cli_main(["export-bvh", str(mpath), "-o", str(out)]) == 0 and out.is_file()
    assert cli_main(["export-bvh", str(mpath), "-o", str(tmp_path / "x.bvh"), "--track", "5"]) == 2
    assert "out of range" in capsys.readouterr().err
    assert cli_main(["export-bvh", str(mpath), "-o", str(tmp_path / "y.bvh"), "--track", "1"]) == 2
    assert "appears in 1 frame" in capsys.readouterr().err
    assert cli_main(["export-bvh", str(tmp_path / "missing.npz"), "-o", str(tmp_path / "z.bvh")]) == 2
    assert not (tmp_path / "x.bvh").exists() and not (tmp_path / "y.bvh").exists()
    assert cli_main(["export-bvh", str(mpath), "-o", str(tmp_path / "lock.bvh"), "--foot-lock"]) == 0
    with pytest.raises(PoseBakeError, match="out of range"):
        export_bvh(make_motion(track), tmp_path / "w.bvh", track=1)


@pytest.mark.bpy
def test_blender_imports_the_bvh(exported: tuple[Path, Motion], tmp_path: Path) -> None:
    pytest.importorskip("bpy")
    path, _ = exported
    frames = [1, 10, 17, 30]  # Blender frame 1 is BVH frame 0
    res = run_blender(tmp_path, "bvh_import", "import_bvh", str(path), ",".join(map(str, frames)))
    assert res["frame_range"] == [1.0, float(T)]
    assert res["finite"]
    pos, _, _ = read_bvh_fk(path)
    for f in frames:
        for name in ("Hips", "LeftFoot", "RightHand", "Head"):
            x, y, z = pos[name][f - 1]
            np.testing.assert_allclose(res["bones"][str(f)][name], [x, -z, y], atol=1e-4)  # Y-up -> Z-up


def test_landmarks_never_seen_still_export(tmp_path: Path) -> None:
    """A landmark missing from every frame (face turned away, hand out of frame) must not break the file:
    its bone keeps the parent's orientation, and everything else is still exact."""
    track = synthetic_track(2)
    track[:, [J["nose"], J["left_wrist"], J["left_index"], J["left_pinky"]]] = np.nan
    motion = make_motion(track)
    path = export_bvh(motion, tmp_path / "partial.bvh")
    pos, frames, _ = read_bvh_fk(path)
    assert frames == T and all(np.isfinite(v).all() for v in pos.values())
    angles = bone_directions_deg(motion, path)
    for bone in ("LeftArm", "RightForeArm", "RightHand", "LeftUpLeg", "Spine"):
        assert angles[bone].max() < 0.01, (bone, angles[bone].max())
