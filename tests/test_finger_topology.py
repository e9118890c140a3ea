"""Finger chains found by shape where the names say nothing (issue #19: auto-mapping by name and topology).

Hands are built from the same rest hand the finger maths tests use (tests/test_fingers.py), with bones named
"Bone.NNN" in shuffled order: plain three-bone fingers, fingers with metacarpals and end nubs, and a
four-finger cartoon hand."""
from __future__ import annotations

import numpy as np

from posebake_blender.rigs import auto_map
from posebake_core.retarget.finger_topology import fingers_by_shape
from tests.test_fingers import rest_hand

FINGERS = ("thumb", "index", "middle", "ring", "pinky")


def hand_rig(metacarpals: bool = False, nubs: bool = False, drop: tuple[str, ...] = (), seed: int = 0,
             yaw: float = 0.0) -> tuple[list[str], list[str | None], np.ndarray, dict[str, str]]:
    """(names, parents, heads, truth role -> bone) of a hand bone with unnamed finger chains."""
    j = rest_hand(yaw=yaw)
    bones: list[tuple[str, str | None, np.ndarray]] = [("hand", None, j["wrist_r"])]
    truth: dict[str, str] = {}
    n = 0

    def new(parent: str, head: np.ndarray) -> str:
        nonlocal n
        n += 1
        name = f"Bone.{n:03d}"
        bones.append((name, parent, head))
        return name

    for f in FINGERS:
        if f in drop:
            continue
        parent = "hand"
        if metacarpals and f != "thumb":
            parent = new(parent, j["wrist_r"] + 0.1 * (j[f"{f}0_r"] - j["wrist_r"]))
        for k in range(3):
            parent = new(parent, j[f"{f}{k}_r"])
            truth[f"{f}_{k + 1}.R"] = parent
        if nubs:
            new(parent, j[f"{f}3_r"])
    order = np.random.default_rng(seed).permutation(len(bones))
    bones = [bones[0]] + [bones[i] for i in order if i != 0]
    return [b[0] for b in bones], [b[1] for b in bones], np.array([b[2] for b in bones]), truth


def test_five_fingers_found_by_shape_whatever_the_names_and_order() -> None:
    for kw in ({}, {"metacarpals": True, "nubs": True, "seed": 3}, {"nubs": True, "seed": 5, "yaw": 2.0}):
        names, parents, heads, truth = hand_rig(**kw)
        got = fingers_by_shape("hand", "R", names, parents, heads)
        assert got == {r: [b] for r, b in truth.items()}, kw


def test_four_finger_hand_is_thumb_index_middle_pinky() -> None:
    names, parents, heads, truth = hand_rig(drop=("ring",), seed=1)
    got = fingers_by_shape("hand", "R", names, parents, heads)
    assert got == {r: [b] for r, b in truth.items()}
    # a hand with only two chains is not guessed at
    names, parents, heads, _ = hand_rig(drop=("ring", "middle", "pinky"))
    assert fingers_by_shape("hand", "R", names, parents, heads) == {}


def test_auto_map_uses_shape_for_unnamed_fingers() -> None:
    body = ["Hips", "Spine", "Chest", "Neck", "Head"] + [f"{s}{b}" for s in ("Left", "Right") for b in
                                                         ("Shoulder", "Arm", "ForeArm", "UpLeg", "Leg", "Foot")]
    body_parents: list[str | None] = [None, "Hips", "Spine", "Chest", "Neck"]
    for s in ("Left", "Right"):
        body_parents += ["Chest", f"{s}Shoulder", f"{s}Arm", "Hips", f"{s}UpLeg", f"{s}Leg"]
    names, parents, heads, truth = hand_rig(metacarpals=True, seed=7)
    names = ["RightHand" if n == "hand" else n for n in names]
    parents = ["RightForeArm" if p is None else ("RightHand" if p == "hand" else p) for p in parents]
    all_names, all_parents = body + names, body_parents + parents
    all_heads = np.concatenate([np.zeros((len(body), 3)), heads])
    rep = auto_map(all_names, all_parents, all_heads)
    for role, bone in truth.items():
        assert rep.mapping[role] == [bone], role
        assert rep.confidence[role] == 0.5  # shape: shown as a guess in the report and the mapping editor
    assert not any(r.endswith(".L") and r.split("_")[0] in FINGERS for r in rep.mapping)  # no left hand bones
