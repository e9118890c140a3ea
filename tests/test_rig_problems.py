"""Rigs the bake cannot honour are refused with a message that says what and what to do, before anything
in the scene changes; a rig without a mesh bakes, with a warning."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posebake_core.motion import Motion
from posebake_core.skeleton import standing_pose
from tests.bpychild import run_blender

pytest.importorskip("bpy")
pytestmark = pytest.mark.bpy


@pytest.fixture(scope="module")
def res(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("rigproblems")
    T = 6
    walk = np.stack([standing_pose() + [0.02 * t, 0, 3.0] for t in range(T)])[None].astype(np.float32)
    K = np.array([[1000.0, 0, 640], [0, 1000, 360], [0, 0, 1]])
    motion = Motion(walk, np.zeros((1, T, 33, 2)), np.ones((1, T, 33)), 30.0, K, (1280, 720)).save(d / "m.npz")
    return run_blender(d, "rig_problems", "run", str(d), str(motion), timeout=240)


@pytest.mark.parametrize("case, words", [
    ("constraint", ["constraints on mapped bones", "mixamorig:LeftForeArm", "follow: COPY_ROTATION"]),
    ("driver", ["drivers on mapped bones", "mixamorig:RightLeg"]),
    ("non_uniform_scale", ["non-uniform scale", "(1, 1, 1.3)", "apply the scale"]),
    ("bone_twice", ["'mixamorig:LeftForeArm' is mapped to 2 roles", "forearm.L", "hand.L"]),
    ("linked", ["is linked from", "library.blend", "make it local"]),
])
def test_refused_with_what_and_why_and_scene_untouched(res: dict, case: str, words: list[str]) -> None:
    r = res[case]
    assert r["error"] and all(w in r["error"] for w in words), (case, r)
    assert r["unchanged"], case


def test_a_muted_constraint_does_not_stop_the_bake(res: dict) -> None:
    assert res["muted_constraint"]["error"] == ""


def test_a_rig_without_a_mesh_bakes_with_a_warning(res: dict) -> None:
    assert res["no_mesh"]["error"] == "" and any("no mesh" in w for w in res["no_mesh"]["warnings"])
