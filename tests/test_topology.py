"""Auto-mapping by shape (`posebake_core.retarget.topology`): a real skeleton with its names taken away maps
onto the same bones its preset names, whatever way the armature's axes point."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from posebake_core.retarget.topology import map_by_topology
from posebake_dev.mocap import Y_UP_TO_Z_UP, forward_kinematics, read_bvh

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cmu(data_dir: Path) -> tuple[list[str], list[str | None], np.ndarray, np.ndarray]:
    """The CMU walk's skeleton at rest (Z up), end sites dropped, tails at the children's mean."""
    m = read_bvh(data_dir / "mocap_bvh" / "cmu_walk_delfem2.bvh")
    m.rotations[:] = np.eye(3)
    pos = forward_kinematics(m)[0][0] @ Y_UP_TO_Z_UP.T
    keep = [i for i, n in enumerate(m.names) if not n.endswith("_End")]
    names = [m.names[i] for i in keep]
    parents = [m.names[m.parents[i]] if m.parents[i] >= 0 else None for i in keep]
    tails = []
    for i in keep:
        kids = [k for k, p in enumerate(m.parents) if p == i]
        tails.append(pos[kids].mean(0) if kids else pos[i] + 0.05 * (pos[i] - pos[m.parents[i]]))
    return names, parents, pos[keep], np.array(tails)


def expected() -> dict[str, list[str]]:
    bones = json.loads((REPO / "core" / "posebake_core" / "rigs" / "cmu_bvh.json").read_text())["bones"]
    return {r: [b] if isinstance(b, str) else b for r, b in bones.items()}


@pytest.mark.parametrize("turn", [None, "glTF Y-up armature", "any orientation"])
def test_unnamed_cmu_skeleton_maps_like_its_preset(cmu, turn: str | None) -> None:
    names, parents, heads, tails = cmu
    anon = [f"Node_{i}" for i in range(len(names))]  # the names tell nothing
    to_anon = dict(zip(names, anon))
    R = {None: np.eye(3), "glTF Y-up armature": Rotation.from_euler("x", 90, degrees=True).as_matrix(),
         "any orientation": Rotation.from_euler("zyx", [37, -20, 65], degrees=True).as_matrix()}[turn]
    up = R @ np.array([0.0, 0.0, 1.0])
    got = map_by_topology(anon, [to_anon.get(p) if p else None for p in parents], heads @ R.T, tails @ R.T, up)
    want = {role: [to_anon[b] for b in bones] for role, bones in expected().items()}
    assert got == want


def test_no_humanoid_branch_maps_nothing() -> None:
    """A chain (a tail, a rope) has no pelvis: nothing is guessed rather than something wrong."""
    heads = np.array([[0, 0, z] for z in np.linspace(0, 1, 6)], dtype=float)
    names = [f"b{i}" for i in range(6)]
    parents = [None] + names[:-1]
    assert map_by_topology(names, parents, heads, heads + [0, 0, 0.2], np.array([0, 0, 1.0])) == {}
