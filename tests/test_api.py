"""The Python API for bpy scripts (`posebake_blender.api`), exercised as pipeline scripts use it: in
background pip bpy, in a .blend with a real character next to other objects, through functions and through
`bpy.ops.posebake.bake_file`, and the README's example run exactly as written."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bpychild import REPO, posebake, run_blender

pytest.importorskip("bpy")
pytestmark = pytest.mark.bpy

CHAR = "cmu_skeleton_basemesh_female.glb"
CLIP = "phalp_running_woman.mp4"

#: The API's functions and parameters at API_VERSION 3.0 (as at 1.0 and 2.0: the major number followed the
#: Motion schema to versions 2 and 3). Changing one without bumping the version (major for a removal or a changed meaning,
#: minor for an addition) fails here: scripts depend on these.
SIGNATURES_3_0 = {
    "bake": "(armature: 'Any', source: 'str | os.PathLike | Motion', *, preset: 'str | None' = None, "
            "track: 'int' = 0, foot_lock: 'bool' = True, root_motion: 'bool' = True, scale_to_rig: 'bool' = True, "
            "smoothing: 'float' = 0.0, frame_start: 'int | None' = None, frame_end: 'int | None' = None, "
            "contact_height: 'float | None' = None, camera: 'bool' = False, action_name: 'str | None' = None, "
            "set_scene_fps: 'bool' = False, subject_height: 'float | None' = None, focal: 'float | None' = None, "
            "backend: 'Backend | None' = None, motion_out: 'str | os.PathLike | None' = None, "
            "progress: 'Progress | None' = None, timeout: 'float | None' = None) -> 'BakeOutcome'",
    "check": "(armature: 'Any', preset: 'str | None' = None) -> 'RigReport'",
    "estimate": "(video: 'str | os.PathLike', *, frame_start: 'int | None' = None, frame_end: 'int | None' = None, "
                "subject_height: 'float | None' = None, focal: 'float | None' = None, "
                "backend: 'Backend | None' = None, dest: 'str | os.PathLike | None' = None, "
                "progress: 'Progress | None' = None, timeout: 'float | None' = None, poll: 'float' = 0.25) -> 'str'",
    "list_presets": "() -> 'list[str]'",
    "load_preset": "(name_or_path: 'str | os.PathLike') -> 'rigs.Preset'",
    "save_preset": "(name: 'str', mapping: 'dict[str, list[str]]', label: 'str' = '', "
                   "root_motion: 'str | None' = None) -> 'Path'",
}


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, videos: Path, model_files: Path) -> dict[str, Path]:
    """A shot .blend (character, keyed prop, light) and a Motion of the runner's first 30 frames."""
    d = tmp_path_factory.mktemp("api")
    made = run_blender(d, "api_script", "make_shot", str(data_dir / "characters" / CHAR), str(d / "shot.blend"))
    assert len(made["armatures"]) == 1, made
    proc = posebake("estimate", videos / CLIP, "-o", d / "motion.npz", "--end", "30", "--quiet")
    assert proc.returncode == 0, proc.stderr
    return {"dir": d, "blend": d / "shot.blend", "motion": d / "motion.npz"}


def test_user_script_bakes_and_refuses_cleanly(shot: dict[str, Path]) -> None:
    got = run_blender(shot["dir"], "api_script", "user_script", str(shot["blend"]), str(shot["motion"]), timeout=300)
    assert got["check"]["ok"] and got["check"]["preset"] == "cmu_bvh" and not got["check"]["missing"], got["check"]
    assert "cmu_bvh" in got["presets"] and got["api_version"] == "3.0"
    e = got["errors"]
    assert "unknown rig preset 'no_such_rig'" in e["bad_preset"]
    assert "not found" in e["missing_file"] or "no such file" in e["missing_file"], e
    assert e["bad_range"] and "frame" in e["bad_range"], e
    assert e["bad_track"] and "track" in e["bad_track"].lower(), e
    assert "not an armature" in e["not_an_armature"], e
    assert all(e[k] for k in e if k.endswith("_unchanged")), e  # every refusal left the scene as it was
    b = got["bake"]
    assert b["assigned"] and b["finite"] and b["fcurves"] > 20 and b["camera"], b
    assert b["frame_range"][0] == 1.0 and b["key_frames"] == pytest.approx(b["frame_range"], abs=1e-4), b
    assert b["motion_path"] == str(shot["motion"])
    assert got["prop_untouched"] and got["light_untouched"] and got["hips_moved"], got


def test_a_late_failure_is_undone(shot: dict[str, Path]) -> None:
    got = run_blender(shot["dir"], "api_script", "guard_undoes_a_late_failure", str(shot["blend"]),
                      str(shot["motion"]), timeout=300)
    assert got["raised"] == "disk full while linking the clip"
    assert got["unchanged"], {k: (got["before"][k], got["after"][k]) for k in got["before"]
                              if got["before"][k] != got["after"][k]}


def test_operator_for_scripts(shot: dict[str, Path]) -> None:
    got = run_blender(shot["dir"], "api_script", "operator_script", str(shot["blend"]), str(shot["motion"]),
                      timeout=300)
    assert got["bad"] and "unknown rig preset 'no_such_rig'" in got["bad"] and got["unchanged"], got
    assert got["result"] == ["FINISHED"] and got["action"], got


def test_api_signatures_follow_the_version(shot: dict[str, Path]) -> None:
    got = run_blender(shot["dir"], "api_script", "signatures")
    assert got["version"] == "3.0"
    assert got["functions"] == SIGNATURES_3_0


def readme_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- api-example -->\n```python\n(.*?)```", text, re.S)
    assert match, "the README lost its API example"
    return match.group(1)


def test_readme_example_runs_as_written(shot: dict[str, Path], tmp_path: Path) -> None:
    shutil.copy(shot["blend"], tmp_path / "shot.blend")
    (tmp_path / "out").mkdir()
    shutil.copy(shot["motion"], tmp_path / "out" / "demo.npz")
    (tmp_path / "bake_shot.py").write_text(readme_example(), encoding="utf-8")
    # PWD as a shell would set it for `cd DIR && python bake_shot.py`: Blender 4.5 resolves relative paths
    # against $PWD before the process's working directory
    env = {**os.environ, "PWD": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(REPO / "addon"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(["timeout", "300", sys.executable, "bake_shot.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "preset: cmu_bvh | missing: none" in out and "refused: unknown rig preset 'no_such_rig'" in out, out
    assert "baking 100%" in out and re.search(r"baked \S+ frames \(1\.0, \d+\.\d+\) camera ", out), out
    assert (tmp_path / "shot_baked.blend").stat().st_size > 100_000


def test_bake_a_video_blocks_through_the_backend(shot: dict[str, Path], videos: Path) -> None:
    dest = shot["dir"] / "runner_api.npz"
    got = run_blender(shot["dir"], "api_script", "video_script", str(shot["blend"]), str(videos / CLIP),
                      sys.executable, str(dest), timeout=400)
    assert got["motion_path"] == str(dest) and dest.is_file(), got
    assert "landmarks" in got["stages"] and "baking" in got["stages"] and got["last"] == ["baking", 1.0], got
    assert got["frame_range"][0] == 1.0 and got["action"], got
    assert "backend Python" in got["missing_python"] and got["unchanged"], got
