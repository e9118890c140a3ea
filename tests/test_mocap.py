"""Mocap readers on the real shared CMU data, resampling, and malformed-file errors."""
from __future__ import annotations

import numpy as np
import pytest

from posebake_core.errors import PoseBakeError
from posebake_dev.mocap import CMU_UNIT_M, forward_kinematics, read_amc, read_asf, read_bvh, resample
from posebake_dev.mocap.motion import euler_to_matrix, matrix_to_quat, quat_to_matrix, slerp
from posebake_dev.mocap.retarget import CMU_BONES, character_names
from posebake.paths import shared_data

DATA = shared_data()
BVH_FRAMES = {"cmu_walk_delfem2.bvh": 344, "cmu_01_01.bvh": 2752, "cmu_131_01.bvh": 994,
              "cmu_131_02.bvh": 1247, "cmu_131_03.bvh": 1102}
# frame counts of the AMC files (counted frame-number lines); 31 joints = root + 30 bones
AMC_FRAMES = {"01_01.amc": 2751, "02_01.amc": 343, "03_01.amc": 432}

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared data not available")


def _check_rigid_and_plausible(m, pos: np.ndarray) -> None:
    # bone lengths are constant over time: FK must not stretch anything
    for j, p in enumerate(m.parents):
        if p >= 0:
            length = np.linalg.norm(pos[:, j] - pos[:, p], axis=-1)
            assert np.ptp(length) < 1e-9, m.names[j]
            assert np.allclose(length, np.linalg.norm(m.offsets[j]))
    # root height above the lowest joint for a standing/walking adult, in metres (Y up); measured
    # from the feet because subject 03 walks over raised terrain
    root_h = np.median(pos[:, 0, 1] - pos[:, :, 1].min(1))
    assert 0.75 < root_h < 1.15, root_h
    height = np.median(pos[:, :, 1].max(1) - pos[:, :, 1].min(1))
    assert 1.2 < height < 2.0, height


@pytest.mark.parametrize("name", sorted(BVH_FRAMES))
def test_bvh_files(name: str) -> None:
    m = read_bvh(DATA / "mocap_bvh" / name)
    assert m.num_frames == BVH_FRAMES[name]
    assert (~m.end_site).sum() == 31
    assert m.fps == pytest.approx(120.0, rel=1e-3)
    assert set(character_names(m.names).values()) >= set(CMU_BONES) - {"LThumb", "RThumb"}
    pos, rot = forward_kinematics(m)
    assert np.allclose(rot @ np.swapaxes(rot, -1, -2), np.eye(3), atol=1e-9)
    _check_rigid_and_plausible(m, pos)


@pytest.mark.parametrize("name", sorted(AMC_FRAMES))
def test_amc_files(name: str) -> None:
    skel = read_asf(DATA / "mocap_amc" / f"{name[:2]}.asf")
    assert len(skel.bones) == 30
    assert skel.metres_per_unit == pytest.approx(CMU_UNIT_M)
    m = read_amc(DATA / "mocap_amc" / name, skel)
    assert m.num_frames == AMC_FRAMES[name]
    assert (~m.end_site).sum() == 31
    assert set(character_names(m.names).values()) == set(CMU_BONES)
    _check_rigid_and_plausible(m, forward_kinematics(m)[0])


def test_amc_matches_its_bvh_conversion() -> None:
    """CMU 02_01 as ASF/AMC and as the cgspeed BVH must give the same legs and spine (to float noise):
    a strong check of both readers' unit, axis and rotation-order conventions. The BVH has one extra
    leading frame."""
    bvh = read_bvh(DATA / "mocap_bvh" / "cmu_walk_delfem2.bvh")
    amc = read_amc(DATA / "mocap_amc" / "02_01.amc", DATA / "mocap_amc" / "02.asf")
    pb, pa = forward_kinematics(bvh)[0][1:], forward_kinematics(amc)[0]
    pairs = {"Hips": "root", "LeftUpLeg": "lfemur", "LeftLeg": "ltibia", "LeftFoot": "lfoot",
             "RightToeBase": "rtoes", "Spine1": "thorax"}
    for b, a in pairs.items():
        err = np.abs(pb[:, bvh.index(b)] - pa[:, amc.index(a)]).max()
        assert err < 5e-4, (b, err)


def test_resample_keeps_duration_and_samples() -> None:
    m = read_bvh(DATA / "mocap_bvh" / "cmu_walk_delfem2.bvh").slice(0, 241)  # exactly 2 s at 120 fps
    r = resample(m, 30)
    assert r.fps == 30 and r.num_frames == 61
    assert r.duration == pytest.approx(m.duration, abs=1e-3)
    # 120 fps is (almost exactly) 4x 30 fps: every 4th source frame is reproduced
    src = np.arange(61) * (m.fps / 30)
    near = np.abs(src - np.round(src)) < 1e-3
    assert near.sum() > 50
    idx = np.round(src[near]).astype(int)
    assert np.allclose(r.rotations[near], m.rotations[idx], atol=1e-3)
    assert np.allclose(r.root_translation[near], m.root_translation[idx], atol=1e-3)


def test_slerp_and_quaternions() -> None:
    R = euler_to_matrix(np.array([[10.0, -170.0, 95.0], [0.0, 0.0, 0.0]]), "zyx")
    assert np.allclose(quat_to_matrix(matrix_to_quat(R)), R, atol=1e-12)
    q0 = matrix_to_quat(np.eye(3))
    q1 = matrix_to_quat(euler_to_matrix(np.array([0.0, 0.0, 90.0]), "zyx"))
    half = quat_to_matrix(slerp(q0, q1, np.array(0.5)))
    assert np.allclose(half, euler_to_matrix(np.array([0.0, 0.0, 45.0]), "zyx"), atol=1e-12)


def test_channel_order_is_respected(tmp_path) -> None:
    text = ("HIERARCHY\nROOT A\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition "
            "Xrotation Yrotation Zrotation\n JOINT B\n {\n  OFFSET 0 10 0\n  CHANNELS 3 Yrotation Xrotation Zrotation\n"
            "  End Site\n  {\n   OFFSET 0 5 0\n  }\n }\n}\nMOTION\nFrames: 1\nFrame Time: 0.5\n"
            "1 2 3 30 40 50 60 70 80\n")
    p = tmp_path / "t.bvh"
    p.write_text(text)
    m = read_bvh(p, scale=1.0)
    assert m.names == ["A", "B", "B_End"] and m.fps == 2.0
    ra = euler_to_matrix(np.array([30.0, 40.0, 50.0]), "xyz")
    rb = euler_to_matrix(np.array([60.0, 70.0, 80.0]), "yxz")
    pos = forward_kinematics(m)[0][0]
    assert np.allclose(pos[1], [1, 2, 3] + ra @ [0, 10, 0])
    assert np.allclose(pos[2], pos[1] + ra @ rb @ [0, 5, 0])
    # CRLF and mixed line endings read the same
    p2 = tmp_path / "crlf.bvh"
    p2.write_bytes(text.replace("\n", "\r\n", 7).encode())
    assert np.allclose(forward_kinematics(read_bvh(p2, scale=1.0))[0], forward_kinematics(m)[0])


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.replace("Frames: 344", "Frames: 400"), "unexpected end of file"),
    (lambda t: t.replace("OFFSET 1.65674 -1.80282 0.62477", "OFFSET 1.65674 x 0.62477"), "expected numbers"),
    (lambda t: t.replace("HIERARCHY", "HIERARCHX", 1), "must start with HIERARCHY"),
    (lambda t: t.replace("CHANNELS 3 Zrotation", "CHANNELS 3 Wrotation", 1), "unknown channel"),
])
def test_bad_bvh_names_file_and_line(tmp_path, mutate, message) -> None:
    text = (DATA / "mocap_bvh" / "cmu_walk_delfem2.bvh").read_text()
    p = tmp_path / "bad.bvh"
    p.write_text(mutate(text))
    with pytest.raises(PoseBakeError, match=message) as err:
        read_bvh(p)
    assert "bad.bvh: line " in str(err.value)


def test_bad_amc_and_asf(tmp_path) -> None:
    skel = read_asf(DATA / "mocap_amc" / "02.asf")
    p = tmp_path / "bad.amc"
    p.write_text(":FULLY-SPECIFIED\n:DEGREES\n1\nroot 0 0 0 0 0 0\nlfemur 1 2\n")
    with pytest.raises(PoseBakeError, match=r"bad.amc: line 5: bone 'lfemur' needs 3 values"):
        read_amc(p, skel)
    p.write_text("1\nroot 0 0 0 0 0 0\ntail 1\n")
    with pytest.raises(PoseBakeError, match="not in the skeleton"):
        read_amc(p, skel)
    a = tmp_path / "bad.asf"
    a.write_text((DATA / "mocap_amc" / "02.asf").read_text().replace("lowerback upperback", "lowerback tail"))
    with pytest.raises(PoseBakeError, match="unknown bone 'tail'"):
        read_asf(a)
    with pytest.raises(PoseBakeError, match="cannot read BVH"):
        read_bvh(tmp_path / "missing.bvh")


def test_pose_basis_realises_the_deltas() -> None:
    """Chaining Blender's pose rule with the computed basis gives back D_j @ rest_j for every bone."""
    from posebake_dev.mocap.retarget import cmu_parents, pose_basis
    rng = np.random.default_rng(3)
    J = len(CMU_BONES)
    D = euler_to_matrix(rng.uniform(-180, 180, (4, J, 3)), "zyx")
    rest = euler_to_matrix(rng.uniform(-180, 180, (J, 3)), "xyz")
    basis = quat_to_matrix(pose_basis(D, rest, cmu_parents()))
    pose = np.zeros_like(D)
    for j, p in enumerate(cmu_parents()):
        local = rest[j] if p < 0 else rest[p].T @ rest[j]
        pose[:, j] = (local if p < 0 else pose[:, p] @ local) @ basis[:, j]
    assert np.allclose(pose, D @ rest, atol=1e-9)


def test_delta_rotations_of_a_matching_rest_pose_are_identity() -> None:
    """A source at rest (zero rotations) on a character whose rest bones point the same way: D = I."""
    from posebake_dev.mocap import Y_UP_TO_Z_UP
    from posebake_dev.mocap.retarget import delta_rotations
    m = read_bvh(DATA / "mocap_bvh" / "cmu_walk_delfem2.bvh").slice(0, 2)
    m.rotations[:] = np.eye(3)
    pos = forward_kinematics(m)[0][0] @ Y_UP_TO_Z_UP.T
    heads = np.array([pos[m.index(b)] for b in CMU_BONES])
    assert np.allclose(delta_rotations(m, heads), np.eye(3), atol=1e-9)
    m.rotations[:, m.index("LeftUpLeg")] = euler_to_matrix(np.array([0.0, 0.0, 30.0]), "zyx")
    D = delta_rotations(m, heads)
    assert np.allclose(D[:, CMU_BONES.index("LeftLeg")], Y_UP_TO_Z_UP @ m.rotations[0, m.index("LeftUpLeg")] @ Y_UP_TO_Z_UP.T)
