"""bpy tests of the bake: CMU round trip on the shared CMU-skeleton character and on the BVH's own
skeleton, bone directions on every preset's test rig, foot lock, atomic failure, bad-input errors.

All Blender work runs in ONE child process (tests/blender_side/bake_rigs.py, through the one child runner),
which returns its measurements; the tests below only read them, to keep the suite light.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bpychild import run_blender

REPO = Path(__file__).resolve().parents[1]
DATA = Path("/work/shared/data")
CHAR = DATA / "characters" / "cmu_skeleton_basemesh_female.glb"
BVH = DATA / "mocap_bvh" / "cmu_walk_delfem2.bvh"

pytest.importorskip("bpy")
pytestmark = pytest.mark.bpy


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    if not CHAR.is_file() or not BVH.is_file():
        pytest.skip("shared data not available")
    d = tmp_path_factory.mktemp("bake")
    res = run_blender(d, "bake_rigs", "main", str(REPO), str(BVH), str(CHAR), timeout=170)
    (d / "summary.txt").write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    return res


def test_cmu_character_round_trip(results):
    assert results["char_preset"] == "cmu_bvh"  # detected from bone names
    assert results["char_vs_numpy_fk_units"] < 1e-3  # Blender's evaluated pose == our FK
    assert results["char_midhip_err_m"] < 0.01
    assert results["char_dir_err_deg"] < 2.0
    assert results["char_rotation_modes"] == ["QUATERNION"]
    assert results["char_frame_end"] >= 344  # scene range extended to the motion


def test_same_skeleton_positions_within_1cm(results):
    assert abs(results["same_skeleton_scale"] - 1.0) < 1e-6
    assert results["same_skeleton_max_err_m"] < 0.01


@pytest.mark.parametrize("preset", ["mixamo", "ue5_manny", "rigify", "blender_metarig", "smpl", "makehuman",
                                    "cmu_bvh_3dsmax"])
def test_bone_directions_every_preset(results, preset):
    assert results["presets"][preset]["max_dir_err_deg"] < 2.0, results["presets"][preset]


def test_auto_mapping_unknown_prefix(results):
    auto = results["auto"]
    assert auto["preset"] is None and auto["missing"] == [] and auto["guessed"] > 0
    assert auto["max_dir_err_deg"] < 2.0


def test_foot_lock_skate(results):
    for side in "LR":
        assert results[f"contact_frames_{side}"] > 20
        assert results[f"skate_{side}_max_m"] <= 0.005 and results[f"skate_{side}_median_m"] < 1e-5


def test_failed_bake_leaves_previous_action(results):
    assert results["fail_raised"] and results["fail_action_kept"] and results["fail_no_new_action"]


def test_bad_input_errors(results):
    assert "is not an armature" in results["err_mesh"]
    assert "unknown rig preset 'no_such_rig'" in results["err_preset"]
    assert "too few mappable bones" in results["err_few"] and "thigh.L" in results["err_few"]
