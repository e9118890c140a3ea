"""Mapping editor round trip: change a role in the panel, save it as a preset, bake with it headless."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from posebake_core.motion import Motion
from posebake_core.skeleton import standing_pose
from tests.bpychild import build_rig_blend, posebake, run_blender

pytest.importorskip("bpy")
pytestmark = pytest.mark.bpy


def test_edit_a_role_save_as_preset_and_bake_with_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    presets = tmp_path / "presets"
    monkeypatch.setenv("POSEBAKE_PRESETS", str(presets))  # the children inherit it
    rig = build_rig_blend(tmp_path, "mixamo", tmp_path / "rig.blend", seed=7)
    got = run_blender(tmp_path, "mapping_editor", "edit_and_save", str(rig), "hand.L", "finger_extra.L",
                      "my_mixamo", env={**os.environ})
    assert got["load"] == ["FINISHED"] and "hand.L=mixamorig:LeftHand" in got["loaded"]
    assert got["was"] == "mixamorig:LeftHand" and got["save"] == ["FINISHED"] and got["menu_has_it"]
    saved = json.loads((presets / "my_mixamo.json").read_text())
    assert saved["bones"]["hand.L"] == "finger_extra.L" and saved["bones"]["thigh.R"] == "mixamorig:RightUpLeg"

    T = 12  # a wave of the left hand: the wrist turns, so the hand role's bone must turn too
    frames = []
    for t in range(T):
        pose = standing_pose() + [0.0, 0.0, 3.0]
        pose[[17, 19, 21]] += [0.0, -0.03 * np.sin(t / 2.0), -0.04 * np.cos(t / 2.0)]
        frames.append(pose)
    K = np.array([[1000.0, 0, 640], [0, 1000, 360], [0, 0, 1]])
    motion = Motion(np.array(frames)[None].astype(np.float32), np.zeros((1, T, 33, 2)), np.ones((1, T, 33)),
                    30.0, K, (1280, 720)).save(tmp_path / "wave.npz")
    proc = posebake("bake", motion, "--rig", rig, "--preset", "my_mixamo", "-o", tmp_path / "baked.blend")
    assert proc.returncode == 0, proc.stderr
    keys = run_blender(tmp_path, "mapping_editor", "rotation_keys", str(tmp_path / "baked.blend"),
                       "finger_extra.L", "mixamorig:LeftHand")
    assert keys["finger_extra.L"]["keys"] == 4 * T and keys["finger_extra.L"]["spread"] > 0.01
    assert keys["mixamorig:LeftHand"]["keys"] == 4 * 2  # left at rest: keyed at the ends only
