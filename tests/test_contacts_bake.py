"""The bake locks the feet the Motion says are planted, unless the user sets a contact threshold."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posebake_core.motion import Motion
from posebake_core.skeleton import standing_pose
from tests.bpychild import run_blender

pytest.importorskip("bpy")
pytestmark = pytest.mark.bpy


def test_motion_contacts_or_the_users_threshold(tmp_path: Path) -> None:
    T = 20  # someone standing still: by any threshold both feet are planted...
    still = np.broadcast_to(standing_pose() + [0, 0, 3.0], (1, T, 33, 3)).astype(np.float32)
    K = np.array([[1000.0, 0, 640], [0, 1000, 360], [0, 0, 1]])
    contacts = np.zeros((1, T, 2), dtype=bool)
    contacts[0, 5:15, 0] = True  # ...but the Motion says: the left foot, frames 5-14, only
    path = Motion(still, np.zeros((1, T, 33, 2)), np.ones((1, T, 33)), 30.0, K, (1280, 720),
                  contacts=contacts).save(tmp_path / "still.npz")
    assert run_blender(tmp_path, "contacts_bake", "locked", str(path), "none") == {"L": 10, "R": 0}
    assert run_blender(tmp_path, "contacts_bake", "locked", str(path), "0.12") == {"L": T, "R": T}
