"""`posebake bake` and `posebake batch` end to end: real videos, real rigs, pip bpy in child processes.

Each baked .blend is reopened in a separate bpy child that reports what a user would check: the Action
keys every frame, nothing is NaN, the root travels (root motion from the camera-compensated joints), the
FBX exists. Videos are cut short (--end) to keep the CPU time small on the shared two-core machine.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.bpychild import build_rig_blend, posebake, run_blender

CHAR = "cmu_skeleton_basemesh_female.glb"
RUNNER = "phalp_running_woman.mp4"
CLIPS = ("mmhuman3d_single_person_basketball.mp4", "mmhuman3d_two_people_handshake.mp4")

pytest.importorskip("bpy")
pytestmark = pytest.mark.bpy

@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, model_files: Path) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bakecli")
    build_rig_blend(d, "mixamo", d / "mixamo.blend", seed=2)
    build_rig_blend(d, "mixamo", d / "legless.blend", seed=2, legless=True)
    return {"dir": d, "mixamo": d / "mixamo.blend", "legless": d / "legless.blend", "char": data_dir / "characters" / CHAR}


@pytest.fixture(scope="module")
def runner_bake(work: dict[str, Path], videos: Path) -> dict:
    """The running woman (first 45 frames, the camera pans after her) onto the shared CMU character."""
    d = work["dir"]
    proc = posebake("bake", videos / RUNNER, "--rig", work["char"], "--end", "45", "-o", d / "runner.blend",
                    "--fbx", d / "runner.fbx")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"proc": proc, "info": run_blender(d, "saved_scene", "bake_info", str(d / "runner.blend"))}


def test_bake_runner_video_every_frame_root_motion_fbx(runner_bake: dict, work: dict[str, Path]) -> None:
    info, out = runner_bake["info"], runner_bake["proc"].stdout
    assert "preset cmu_bvh" in out and "baked 45 frames" in out
    assert info["key_frames"] == [float(f) for f in range(1, 46)]  # one key per scene frame, all 45
    assert info["scene"] == [1, 45]
    assert info["finite"]
    # root motion is baked, not pinned: the hips travel. How far is not known for this clip (a tracking shot,
    # no focal, no height: the Motion's camera-compensated root moves 0.28 m in these 45 frames), so the bound
    # only rules out a root held in place.
    assert info["travel"] > 0.15 * info["rest_height"], info
    fbx = work["dir"] / "runner.fbx"
    assert fbx.is_file() and fbx.stat().st_size > 50_000
    assert (work["dir"] / "runner.npz").is_file()  # the estimated Motion is kept beside the .blend


def test_bake_motion_file_in_place_onto_test_rig(runner_bake: dict, work: dict[str, Path]) -> None:
    d = work["dir"]
    proc = posebake("bake", d / "runner.npz", "--rig", work["mixamo"], "--no-root-motion", "--no-foot-lock",
                    "--smoothing", "1.5", "-o", d / "inplace.blend")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    info = run_blender(d, "saved_scene", "bake_info", str(d / "inplace.blend"))
    assert info["finite"] and len(info["key_frames"]) == 45
    assert info["travel"] < 0.05 * info["rest_height"], info  # in place


def test_usd_export_reimports_the_same_animation(runner_bake: dict, work: dict[str, Path]) -> None:
    """`--usd` writes UsdSkel that Blender's own importer reads back: same frames, same keys, every bone's
    world rotation within 1e-4 on every frame."""
    d = work["dir"]
    proc = posebake("bake", d / "runner.npz", "--rig", work["char"], "-o", d / "usd.blend", "--usd", d / "usd.usdc")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "usd.usdc" in proc.stdout
    got = run_blender(d, "saved_scene", "usd_round_trip", str(d / "usd.blend"), str(d / "usd.usdc"))
    assert got["frames"][0] == got["frames"][1] == 45 and got["keyed_frames"][0] == got["keyed_frames"][1], got
    assert got["bones"][2] == got["bones"][0] > 20, got
    assert got["rot_err"] < 1e-4 and got["pos_err"] < 1e-3, got


def _motion(path: Path, schema: str = "posebake.motion/1", empty: bool = False) -> Path:
    P, T, J = 1, 0 if empty else 5, 33
    np.savez(path, schema=np.array(schema), joint_names=np.array([f"j{i}" for i in range(J)]), K=np.eye(3),
             image_size=np.array([640, 480]), track_ids=np.arange(P), joints_cam=np.zeros((P, T, J, 3), np.float32),
             joints_2d=np.zeros((P, T, J, 2), np.float32), visibility=np.zeros((P, T, J), np.float32),
             subject_height=np.ones(P), fps=np.array(30.0), K_source=np.array("fov"), smoothing=np.array("none"),
             frame_start=np.array(0), source_video=np.array("x.mp4"))
    return path


@pytest.mark.parametrize("case", ["unknown_preset", "not_armature", "too_few_bones", "other_schema", "empty_motion",
                                  "read_only_output", "missing_video", "bad_rig_suffix"])
def test_bake_bad_input_is_refused_clearly(case: str, work: dict[str, Path], runner_bake: dict) -> None:
    d = work["dir"]
    motion = d / "runner.npz"
    out = d / f"{case}.blend"
    args, want = {
        "unknown_preset": ([motion, "--rig", work["mixamo"], "--preset", "no_such_rig"], "unknown rig preset 'no_such_rig'"),
        "not_armature": ([motion, "--rig", work["char"], "--armature", "Cube"], "no object named 'Cube'"),
        "too_few_bones": ([motion, "--rig", work["legless"]], "too few mappable bones"),
        "other_schema": ([_motion(d / "other.npz", "someone.else/3"), "--rig", work["mixamo"]], "has schema 'someone.else/3'"),
        "empty_motion": ([_motion(d / "empty.npz", empty=True), "--rig", work["mixamo"]], "empty motion"),
        "read_only_output": ([motion, "--rig", work["mixamo"]], "/proc"),
        "missing_video": ([d / "nowhere.mp4", "--rig", work["mixamo"]], "input not found"),
        "bad_rig_suffix": ([motion, "--rig", motion], "unsupported rig file"),
    }[case]
    if case == "read_only_output":
        out = Path("/proc/posebake_out.blend")
    proc = posebake("bake", *args, "-o", out)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert want in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    if case == "too_few_bones":
        assert "thigh.L" in proc.stderr  # says which roles have no bone


def test_bake_onto_a_mesh_says_it_is_not_an_armature(work: dict[str, Path], runner_bake: dict) -> None:
    d = work["dir"]
    out = d / "mesh.blend"
    proc = posebake("bake", d / "runner.npz", "--rig", work["char"], "--armature", "lowman_shoes", "-o", out)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "'lowman_shoes' is not an armature (it is MESH)" in proc.stderr
    assert not out.exists()


def test_batch_continues_past_a_corrupt_file(work: dict[str, Path], videos: Path) -> None:
    src = work["dir"] / "batch_in"
    src.mkdir()
    for name in CLIPS:
        (src / name).symlink_to(videos / name)
    (src / "corrupt.mp4").write_bytes(os.urandom(20_000))
    out = work["dir"] / "batch_out"
    proc = posebake("batch", src, "--rig", work["mixamo"], "-o", out, "--end", "16", "--fbx", "--usd")
    text = proc.stdout + proc.stderr
    assert proc.returncode == 1, text  # one file failed
    table = proc.stdout.split("status  frames")[1]
    assert "corrupt.mp4" in table and "FAILED" in table
    for name in CLIPS:
        stem = Path(name).stem
        assert f"{name}" in table
        assert (out / f"{stem}.blend").is_file() and (out / f"{stem}.fbx").is_file(), text
        assert (out / f"{stem}.usdc").stat().st_size > 10_000, text
    assert table.count(" ok ") == 2
    assert "2 baked, 1 failed" in proc.stdout
    assert not (out / "corrupt.blend").exists()


def test_cli_never_imports_bpy_and_batch_refuses_bad_folders(tmp_path: Path, work: dict[str, Path]) -> None:
    code = ("import sys; from posebake.cli import build_parser; build_parser(); "
            "import posebake.commands.bake, posebake.commands.batch; print('bpy' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "False", proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = posebake("batch", empty, "--rig", work["mixamo"], "-o", tmp_path / "out")
    assert proc.returncode == 2 and "no videos" in proc.stderr
    (empty / "clip.mp4").write_bytes(b"x")
    proc = posebake("batch", empty, "--rig", work["mixamo"], "-o", "/proc/posebake_out")
    assert proc.returncode == 2 and "/proc/posebake_out" in proc.stderr


def test_no_scale_to_rig_keeps_the_videos_metres(work: dict[str, Path], runner_bake: dict) -> None:
    """Root travel of an unscaled bake matches the camera-compensated mid-hip travel of the video."""
    import re

    from posebake_core.motion import Motion

    d = work["dir"]
    m = Motion.load(d / "runner.npz")
    w = m.joints_world()[0]
    hips = (w[:, 23] + w[:, 24]) / 2
    want = float(np.linalg.norm(hips[-1] - hips[0]))
    travel = {}
    for flag in ("", "--no-scale-to-rig"):
        proc = posebake("bake", d / "runner.npz", "--rig", work["mixamo"], *([flag] if flag else []),
                        "-o", d / f"scale{flag}.blend")
        assert proc.returncode == 0, proc.stderr
        travel[flag] = float(re.search(r"root travel ([\d.]+)", proc.stdout).group(1))
    assert abs(travel["--no-scale-to-rig"] - want) < 0.1 * want + 0.02, (travel, want)
    assert abs(travel[""] - travel["--no-scale-to-rig"]) > 0.01  # the default scales to the rig's legs


def test_a_vrm_rig_is_mapped_from_its_own_humanoid_table(work: dict[str, Path], runner_bake: dict,
                                                          data_dir: Path) -> None:
    """Godette's names (pelvis_Armature, Finger.001.l_Armature, f3a.l_Armature...) are mapped by the file's VRM
    humanoid table: every body role and her four fingers a side, 3 phalanges each, nothing guessed."""
    d = work["dir"]
    proc = posebake("bake", d / "runner.npz", "--rig", data_dir / "characters" / "godette_vrm_v4.vrm", "--end", "10",
                    "-o", d / "godette.blend")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "preset vrm-humanoid" in proc.stdout and "24 finger bones" in proc.stdout, proc.stdout
    assert "guessed from" not in proc.stdout
    info = run_blender(d, "saved_scene", "bake_info", str(d / "godette.blend"))
    assert info["finite"] and len(info["key_frames"]) == 10
