"""BVH export: FK of the written file reproduces the input bone directions and root; Blender imports it."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from posebake.bvh_export import EULER_ORDER, export_bvh
from posebake.cli import main as cli_main
from posebake_core.errors import PoseBakeError
from posebake_core.motion import Motion
from posebake_core.skeleton import JOINT_INDEX as J
from posebake_core.skeleton import standing_pose

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


def make_motion(track: np.ndarray, second: np.ndarray | None = None) -> Motion:
    cam = track[None] if second is None else np.stack([track, second])
    K = np.array([[1000.0, 0, 960], [0, 1000.0, 540], [0, 0, 1]])
    return Motion(joints_cam=cam, joints_2d=np.zeros(cam.shape[:3] + (2,)),
                  visibility=np.where(np.isfinite(cam).all(axis=-1), 1.0, 0.0), fps=25.0, K=K,
                  image_size=(1920, 1080))


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


def expected_points(track: np.ndarray) -> dict[str, np.ndarray]:
    """Input landmarks in the BVH world (Y up), gaps filled the way the exporter promises."""
    t = np.arange(T)
    filled = np.full_like(track, np.nan)
    for j in range(33):
        ok = np.isfinite(track[:, j]).all(axis=-1)
        if ok.any():
            filled[:, j] = np.stack([np.interp(t, t[ok], track[ok, j, c]) for c in range(3)], axis=-1)
    w = filled * np.array([1.0, -1.0, -1.0])
    g = {name: w[:, i] for name, i in J.items()}
    pts = {"Hips": (g["left_hip"] + g["right_hip"]) / 2, "Neck": (g["left_shoulder"] + g["right_shoulder"]) / 2,
           "Head": (g["left_ear"] + g["right_ear"]) / 2, "Head_end": g["nose"]}
    pts["Spine"] = pts["Hips"]
    for s, side in (("Left", "left"), ("Right", "right")):
        pts.update({f"{s}UpLeg": g[f"{side}_hip"], f"{s}Leg": g[f"{side}_knee"], f"{s}Foot": g[f"{side}_ankle"],
                    f"{s}Foot_end": g[f"{side}_foot_index"], f"{s}Shoulder": pts["Neck"],
                    f"{s}Arm": g[f"{side}_shoulder"], f"{s}ForeArm": g[f"{side}_elbow"],
                    f"{s}Hand": g[f"{side}_wrist"],
                    f"{s}Hand_end": (g[f"{side}_index"] + g[f"{side}_pinky"]) / 2})
    return pts


BONES = [("Hips", "LeftUpLeg"), ("Hips", "RightUpLeg"), ("Spine", "Neck"), ("Neck", "Head"), ("Head", "Head_end")]
for _s in ("Left", "Right"):
    BONES += [(f"{_s}UpLeg", f"{_s}Leg"), (f"{_s}Leg", f"{_s}Foot"), (f"{_s}Foot", f"{_s}Foot_end"),
              (f"{_s}Shoulder", f"{_s}Arm"), (f"{_s}Arm", f"{_s}ForeArm"), (f"{_s}ForeArm", f"{_s}Hand"),
              (f"{_s}Hand", f"{_s}Hand_end")]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    track = synthetic_track()
    path = tmp_path_factory.mktemp("bvh") / "out.bvh"
    assert export_bvh(make_motion(track), path) == path
    return path, track


def test_fk_reproduces_directions_and_root(exported: tuple[Path, np.ndarray]) -> None:
    path, track = exported
    pos, frames, frame_time = read_bvh_fk(path)
    assert frames == T and abs(frame_time - 1 / 25) < 1e-7
    text = path.read_text()
    assert "nan" not in text.lower() and f"CHANNELS 3 {' '.join(a + 'rotation' for a in EULER_ORDER)}" in text
    exp = expected_points(track)
    np.testing.assert_allclose(pos["Hips"], exp["Hips"], atol=2e-6)  # root translation in metres
    for a, b in BONES:
        got, want = _unit(pos[b] - pos[a]), _unit(exp[b] - exp[a])
        angle = np.degrees(np.arccos(np.clip(np.sum(got * want, axis=-1), -1, 1)))
        assert angle.max() < 0.01, (a, b, angle.max())
        # constant length, equal to the median over the frames the person was seen in
        length = np.linalg.norm(pos[b] - pos[a], axis=-1)
        seen = np.setdiff1d(np.arange(T), ABSENT)
        median = np.median(np.linalg.norm(exp[b] - exp[a], axis=-1)[seen])
        np.testing.assert_allclose(length, median, rtol=1e-4, atol=1e-5)


def test_absent_frames_hold_then_interpolate(exported: tuple[Path, np.ndarray]) -> None:
    path, _ = exported
    pos, _, _ = read_bvh_fk(path)
    np.testing.assert_allclose(pos["Hips"][:3], np.repeat(pos["Hips"][3:4], 3, axis=0), atol=1e-6)
    np.testing.assert_allclose(pos["Hips"][16], (pos["Hips"][14] + pos["Hips"][18]) / 2, atol=1e-6)


def test_limb_twist_follows_the_limb_plane(exported: tuple[Path, np.ndarray]) -> None:
    """The elbow and knee are hinges: the forearm's local rotation is about the plane normal only."""
    path, _ = exported
    text = path.read_text().split("MOTION")[0]
    names = [line.split()[1] for line in text.splitlines() if line.strip().startswith(("ROOT", "JOINT"))]
    values = np.loadtxt(path, skiprows=len(path.read_text().split("MOTION")[0].splitlines()) + 3)
    col = 6 + 3 * (names.index("RightLeg") - 1)
    R = Rotation.from_euler(EULER_ORDER, values[:, col:col + 3], degrees=True)
    axes = R.as_rotvec()
    # knee rotation axis is the rest limb normal (+X): the Y and Z components are small (noise only)
    big = np.linalg.norm(axes, axis=1) > np.radians(10)
    assert big.sum() > 10
    assert np.all(np.abs(_unit(axes[big])[:, 0]) > 0.9999)


def test_cli_export_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    track = synthetic_track(1)
    absent = np.full_like(track, np.nan)
    mpath = make_motion(track, absent).save(tmp_path / "m.npz")
    out = tmp_path / "cli.bvh"
    assert cli_main(["export-bvh", str(mpath), "-o", str(out)]) == 0 and out.is_file()
    assert cli_main(["export-bvh", str(mpath), "-o", str(tmp_path / "x.bvh"), "--track", "5"]) == 2
    assert "out of range" in capsys.readouterr().err
    assert cli_main(["export-bvh", str(mpath), "-o", str(tmp_path / "y.bvh"), "--track", "1"]) == 2
    assert cli_main(["export-bvh", str(tmp_path / "missing.npz"), "-o", str(tmp_path / "z.bvh")]) == 2
    assert not (tmp_path / "x.bvh").exists() and not (tmp_path / "y.bvh").exists()
    with pytest.raises(PoseBakeError, match="no frame"):
        export_bvh(make_motion(absent), tmp_path / "w.bvh")


BLENDER_SCRIPT = textwrap.dedent("""
    import json, os, sys
    import bpy
    path, frames = sys.argv[-2], [int(f) for f in sys.argv[-1].split(",")]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_anim.bvh(filepath=path, update_scene_duration=True)
    obj = bpy.context.object
    action = obj.animation_data.action
    out = {"frame_range": list(action.frame_range), "scene": [bpy.context.scene.frame_start,
           bpy.context.scene.frame_end], "bones": {}, "finite": True}
    for f in frames:
        bpy.context.scene.frame_set(f)
        heads = {}
        for pb in obj.pose.bones:
            world = obj.matrix_world @ pb.head
            heads[pb.name] = list(world)
            out["finite"] &= all(v == v for v in list(world) + [x for row in pb.matrix for x in row])
        out["bones"][str(f)] = heads
    print("RESULT" + json.dumps(out), flush=True)
    os._exit(0)
""")


@pytest.mark.bpy
def test_blender_imports_the_bvh(exported: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    pytest.importorskip("bpy")
    path, track = exported
    script = tmp_path / "import_bvh.py"
    script.write_text(BLENDER_SCRIPT)
    frames = [1, 10, 17, 30]  # Blender frame 1 is BVH frame 0
    proc = subprocess.run(["timeout", "120", sys.executable, str(script), str(path), ",".join(map(str, frames))],
                          capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
    assert lines, proc.stdout[-2000:] + proc.stderr[-2000:]
    res = json.loads(lines[0][len("RESULT"):])
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
    path = export_bvh(make_motion(track), tmp_path / "partial.bvh")
    pos, frames, _ = read_bvh_fk(path)
    assert frames == T and all(np.isfinite(v).all() for v in pos.values())
    exp = expected_points(track)
    for a, b in [("LeftArm", "LeftForeArm"), ("RightForeArm", "RightHand"), ("Neck", "Head")]:
        cos = np.sum(_unit(pos[b] - pos[a]) * _unit(exp[b] - exp[a]), axis=-1)
        assert cos.min() > 1 - 1e-9
