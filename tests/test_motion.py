"""The Motion file contract: round trip, atomic save, validation on load, main-subject ordering."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from posebake_core.errors import PoseBakeError
from posebake_core.motion import SCHEMA, Motion
from posebake_core.skeleton import BLAZEPOSE_JOINTS, BONE_INDICES, BONES, JOINT_INDEX, standing_pose


def make_motion(P: int = 2, T: int = 12, seed: int = 0) -> Motion:
    rng = np.random.default_rng(seed)
    cam = np.repeat(standing_pose()[None, None], P, axis=0).repeat(T, axis=1) + np.array([0.0, 0.0, 4.0])
    cam = cam + rng.normal(0, 0.01, cam.shape)
    K = np.array([[1000.0, 0, 960], [0, 1000.0, 540], [0, 0, 1]])
    uv = cam @ K.T
    uv = uv[..., :2] / uv[..., 2:3]
    return Motion(joints_cam=cam, joints_2d=uv, visibility=np.ones(cam.shape[:3]), fps=30.0, K=K,
                  image_size=(1920, 1080), K_source="default", track_ids=np.arange(P) + 7,
                  source_video="clip.mp4", frame_start=5)


def test_skeleton_names_and_bones() -> None:
    assert len(BLAZEPOSE_JOINTS) == 33 == len(set(BLAZEPOSE_JOINTS))
    assert BLAZEPOSE_JOINTS[0] == "nose" and BLAZEPOSE_JOINTS[32] == "right_foot_index"
    assert JOINT_INDEX["left_hip"] == 23 and JOINT_INDEX["right_heel"] == 30
    assert all(a in JOINT_INDEX and b in JOINT_INDEX for a, b in BONES) and len(BONE_INDICES) == len(BONES)


def test_round_trip(tmp_path: Path) -> None:
    m = make_motion()
    m.subject_height = np.array([1.72, np.nan])
    out = m.save(tmp_path / "m.npz")
    assert out == tmp_path / "m.npz" and out.is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temp file left behind
    back = Motion.load(out)
    for name in ("joints_cam", "joints_2d", "visibility", "K", "track_ids"):
        np.testing.assert_array_equal(getattr(back, name), getattr(m, name))
    np.testing.assert_array_equal(back.subject_height, m.subject_height)
    assert back.joints_cam.dtype == np.float32 and back.visibility.dtype == np.float32
    assert (back.fps, back.K_source, back.image_size, back.smoothing, back.frame_start, back.source_video) == \
        (30.0, "default", (1920, 1080), "none", 5, "clip.mp4")
    assert back.joint_names == BLAZEPOSE_JOINTS and back.schema == SCHEMA
    assert (back.num_tracks, back.num_frames, back.num_joints) == (2, 12, 33)


def test_file_is_plain_numpy_without_pickles(tmp_path: Path) -> None:
    """The Blender add-on reads the file with numpy alone: no posebake import, no pickled objects."""
    path = make_motion().save(tmp_path / "m.npz")
    code = ("import numpy as np, sys; d = np.load(sys.argv[1], allow_pickle=False); "
            "print(str(d['schema']), d['joints_cam'].shape, str(d['joint_names'][0]))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [SCHEMA, "(2,", "12,", "33,", "3)", "nose"]
    # motion.py itself must stay importable without torch / cv2 (Blender's Python has neither)
    code = ("import sys; import posebake_core.motion; "
            "print(sorted(m for m in ('torch', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_save_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "m.npz"
    target.write_bytes(b"previous")
    bad = make_motion()
    bad.joints_2d = bad.joints_2d[:, :3]  # broken after construction: save must refuse, keep old file
    with pytest.raises(PoseBakeError):
        bad.save(target)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def _rewrite(src: Path, dst: Path, **changes: object) -> Path:
    with np.load(src, allow_pickle=False) as d:
        data = {k: d[k] for k in d.files}
    for k, v in changes.items():
        if v is None:
            data.pop(k)
        else:
            data[k] = np.asarray(v)
    with open(dst, "wb") as fh:
        np.savez_compressed(fh, **data)
    return dst


@pytest.mark.parametrize("changes,message", [
    ({"schema": "posebake.motion/4"}, "schema"),
    ({"schema": "something.else/1"}, "schema"),
    ({"schema": None}, "schema"),
    ({"visibility": None}, "missing keys: visibility"),
    ({"fps": None, "K": None}, "missing keys: K, fps"),
    ({"joints_2d": np.zeros((2, 12, 33, 3), np.float32)}, "joints_2d must have shape"),
    ({"joints_cam": np.zeros((2, 12, 3), np.float32)}, "joints_cam must be"),
    ({"K": np.eye(4)}, "K must have shape"),
    ({"track_ids": np.array([1, 2, 3])}, "track_ids must have shape"),
    ({"joints_cam": np.zeros((2, 0, 33, 3), np.float32), "joints_2d": np.zeros((2, 0, 33, 2), np.float32),
      "visibility": np.zeros((2, 0, 33), np.float32)}, "empty motion"),
    ({"joints_cam": np.zeros((0, 12, 33, 3), np.float32), "joints_2d": np.zeros((0, 12, 33, 2), np.float32),
      "visibility": np.zeros((0, 12, 33), np.float32), "track_ids": np.zeros(0, np.int64),
      "subject_height": np.zeros(0)}, "empty motion"),
    ({"visibility": np.full((2, 12, 33), 1.5, np.float32)}, "visibility"),
    ({"K_source": "guessed"}, "K_source"),
    ({"fps": 0.0}, "fps"),
])
def test_load_rejects_bad_files(tmp_path: Path, changes: dict, message: str) -> None:
    good = make_motion().save(tmp_path / "good.npz")
    bad = _rewrite(good, tmp_path / "bad.npz", **changes)
    with pytest.raises(PoseBakeError, match=message) as exc:
        Motion.load(bad)
    assert "bad.npz" in str(exc.value)


def test_contacts_round_trip_and_follow_track_order(tmp_path: Path) -> None:
    T = 6
    j = np.broadcast_to(standing_pose() + [0, 0, 3.0], (2, T, 33, 3)).astype(np.float32)
    c = np.zeros((2, T, 2), dtype=bool)
    c[1, 2:5, 0] = True
    K = np.array([[1000.0, 0, 640], [0, 1000, 360], [0, 0, 1]])
    m = Motion(j, np.zeros((2, T, 33, 2)), np.ones((2, T, 33)), 30.0, K, (1280, 720), contacts=c)
    back = Motion.load(m.save(tmp_path / "c.npz"))
    assert back.contacts.dtype == bool and (back.contacts == c).all()
    assert (back.select_tracks([1, 0]).contacts[0] == c[1]).all()
    plain = Motion(j, np.zeros((2, T, 33, 2)), np.ones((2, T, 33)), 30.0, K, (1280, 720))
    assert Motion.load(plain.save(tmp_path / "p.npz")).contacts is None  # older files: detected at bake


@pytest.mark.parametrize("content", [b"", b"not a zip at all", None])
def test_load_rejects_non_motion_files(tmp_path: Path, content: bytes | None) -> None:
    p = tmp_path / "x.npz"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(PoseBakeError, match="x.npz"):
        Motion.load(p)


def test_order_tracks_main_subject_first() -> None:
    m = make_motion(P=3, T=10)
    m.joints_cam[0, :6] = np.nan  # track 0: seen in 4 frames
    m.joints_2d[0, :6] = np.nan
    m.visibility[0, :6] = 0.0
    # tracks 1 and 2 both seen in all 10 frames; track 2 is twice as large in the image
    centre = np.array([960.0, 540.0])
    m.joints_2d[2] = centre + 2.0 * (m.joints_2d[2] - centre)
    m.joints_cam[1, 3, 5] = np.nan  # one missing joint does not make the frame absent
    ordered = m.order_tracks()
    assert ordered.track_ids.tolist() == [9, 8, 7]
    np.testing.assert_array_equal(ordered.joints_cam[2], m.joints_cam[0])
    assert ordered.present().sum(axis=1).tolist() == [10, 10, 4]
    assert m.track_ids.tolist() == [7, 8, 9]  # the original is untouched


def test_saved_files_get_the_usual_permissions(tmp_path):
    """Atomic writes go through mkstemp (mode 0600); the finished file must follow the umask instead."""
    import os

    from posebake_core.atomic import atomic_path

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "out.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o644
