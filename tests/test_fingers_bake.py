"""Fingers baked onto rigs (issue #19's round trip): a real estimated Motion whose hands are posed with known,
changing finger angles is baked onto every preset that maps fingers (test rigs with finger bones, random
rolls, A-pose) and onto the finger-bearing characters in ../shared/data/characters; the directions and the
joint bends read back from the baked bones match the Motion's hands within 3 degrees."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from posebake_core.motion import Motion
from posebake_core.rot import normalize
from tests.bpychild import run_blender
from tests.test_fingers import pose_hand, rest_hand

pytestmark = [pytest.mark.bpy, pytest.mark.slow]
PRESETS = ["mixamo", "ue5_manny", "blender_metarig", "rigify", "makehuman", "smpl", "vroid"]
CHARACTERS = ["quaternius_ubc_superhero_male/Superhero_Male_FullBody.gltf", "RobotExpressive.glb",
              "godette_vrm_v4.vrm", "quaternius_Female_Casual.fbx"]


def posed_hands(m: Motion) -> Motion:
    """`m` with both hands of track 0 posed by FK: every finger curling and spreading over time (up to 85
    deg per joint), the palm along the forearm, the wrist on the body's wrist."""
    T = m.num_frames
    t = np.linspace(0, 2 * np.pi, T)
    flex = {f: np.stack([40 + 40 * np.sin(t + i), 45 + 40 * np.sin(1.3 * t + i), 30 + 30 * np.cos(t + i)], -1)
            for i, f in enumerate(("index", "middle", "ring", "pinky"))}
    spread = {f: 12 * np.sin(0.7 * t + i) for i, f in enumerate(("index", "middle", "ring", "pinky"))}
    local = pose_hand(rest_hand(), flex, spread)  # a right hand: fingers along -X, thumb side -Y, back +Z
    order = ["wrist_r"] + [f"{f}{k}_r" for f in ("thumb", "index", "middle", "ring", "pinky") for k in range(4)]
    pts = np.stack([local[n] for n in order], 1)  # (T,21,3), MediaPipe order
    cam = np.full((m.num_tracks, T, 2, 21, 3), np.nan, np.float32)
    for s, (elbow, wrist) in enumerate(((13, 15), (14, 16))):
        w = m.joints_cam[0, :, wrist].astype(float)
        f = normalize(w - m.joints_cam[0, :, elbow])
        lat = normalize(np.cross(f, [0.0, 0.0, 1.0]))
        mirror = np.array([1.0, -1.0 if s == 0 else 1.0, 1.0])  # the left hand is the right one mirrored
        p = pts * mirror
        e3 = np.cross(f, lat) * (-1 if s == 0 else 1)
        R = np.stack([-f, -lat * mirror[1], e3], -1)  # columns: images of local X, Y, Z
        cam[0, :, s] = w[:, None] + np.einsum("tij,tkj->tki", R, p)
    uv = cam[..., :2] / cam[..., 2:3] * m.K[0, 0] + m.K[:2, 2]
    conf = np.where(np.isfinite(cam).all(axis=(-1, -2)), 1.0, 0.0).astype(np.float32)
    return replace(m, hands_cam=cam, hands_2d=uv, hands_conf=conf)


@pytest.fixture(scope="module")
def motion(tmp_path_factory: pytest.TempPathFactory, videos: Path, model_files: Path) -> Path:
    d = tmp_path_factory.mktemp("fingers")
    raw = d / "raw.npz"
    proc = subprocess.run([sys.executable, "-m", "posebake.cli", "estimate", str(videos / "hybrik_taiji.mp4"),
                           "--end", "48", "-o", str(raw), "--quiet"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = d / "hands.npz"
    posed_hands(Motion.load(raw)).save(out)
    return out


def check(res: dict, roles_at_least: int) -> None:
    assert len(res["roles"]) >= roles_at_least, res["roles"]
    assert res["finite"] and res["moved"] > 20.0, res  # the fingers move, no NaN
    assert res["dir_err"] is not None and res["dir_err"] < 3.0, res
    if res["bend_err"] is not None:
        assert res["bend_err"] < 3.0, res


@pytest.mark.parametrize("preset", PRESETS)
def test_round_trip_onto_each_preset(preset: str, motion: Path, tmp_path: Path) -> None:
    res = run_blender(tmp_path, "fingers_bake", "roundtrip", str(motion), f"preset:{preset}", timeout=300)
    assert res["preset"] == preset
    check(res, 30)


@pytest.mark.parametrize("character", CHARACTERS)
def test_round_trip_onto_the_characters(character: str, motion: Path, tmp_path: Path, data_dir: Path) -> None:
    res = run_blender(tmp_path, "fingers_bake", "roundtrip", str(motion),
                      f"file:{data_dir / 'characters' / character}", timeout=300)
    check(res, {"Superhero_Male_FullBody.gltf": 30, "RobotExpressive.glb": 12, "godette_vrm_v4.vrm": 24,
                "quaternius_Female_Casual.fbx": 6}[Path(character).name])
