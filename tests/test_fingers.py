"""Finger retarget maths (`posebake_core.retarget.fingers`), pure numpy: angles in, angles read back.

A source hand is posed by forward kinematics from chosen joint angles (flexion at every joint, spread at
the knuckles, thumb opposition) at another size than the rig's; the solved rotations applied to the rig's
rest hand must give the same angles back, whatever the rig's rest direction; unseen frames leave the fingers
at rest on the hand; no joint ends up bent backwards past its limit.
"""
from __future__ import annotations

import numpy as np
import pytest

from posebake_core.retarget import fingers as F
from posebake_core.rot import axis_angle, normalize

SIDE = "r"


def rest_hand(scale: float = 1.0, yaw: float = 0.0) -> dict[str, np.ndarray]:
    """A right hand in a T-pose rest, palm down, fingers along -X (the rig's arm direction), turned by
    `yaw` about Z: wrist, knuckles and phalanx joints in metres."""
    R = axis_angle(np.array([0.0, 0.0, 1.0]), np.array(yaw))
    j = {"wrist_r": np.zeros(3)}
    lengths = {"thumb": (0.045, 0.035, 0.03), "index": (0.045, 0.025, 0.022), "middle": (0.05, 0.03, 0.024),
               "ring": (0.047, 0.028, 0.023), "pinky": (0.038, 0.02, 0.019)}
    bases = {"thumb": (-0.02, -0.025, -0.01), "index": (-0.09, -0.03, 0.0), "middle": (-0.095, -0.008, 0.0),
             "ring": (-0.09, 0.012, 0.0), "pinky": (-0.08, 0.03, 0.0)}
    dirs = {"thumb": normalize(np.array([-0.7, -0.7, -0.1])), **{f: np.array([-1.0, 0, 0]) for f in F.FINGER_NAMES[1:]}}
    for f in F.FINGER_NAMES:
        p = np.array(bases[f])
        j[f"{f}0_r"] = p
        for k, L in enumerate(lengths[f], 1):
            p = p + L * dirs[f]
            j[f"{f}{k}_r"] = p
    return {k: scale * (R @ v) for k, v in j.items()}


def pose_hand(rest: dict[str, np.ndarray], flex: dict[str, np.ndarray], spread: dict[str, np.ndarray]) -> dict:
    """FK: each finger turned at its knuckle by `spread` about the palm normal, then each joint k flexed
    by flex[f][:, k] degrees towards the palm (T frames)."""
    T = len(next(iter(flex.values())))
    n = F.palm_normal({k: np.broadcast_to(v, (T, 3)) for k, v in rest.items()}, SIDE)
    out = {k: np.broadcast_to(v, (T, 3)).copy() for k, v in rest.items()}
    for f in F.FINGER_NAMES[1:]:
        pts = [out["wrist_r"]] + [out[f"{f}{k}_r"] for k in range(4)]
        base = pts[1]
        turn = axis_angle(normalize(n), np.radians(spread[f]))
        for m in range(2, 5):
            pts[m] = base + np.einsum("tij,tj->ti", turn, pts[m] - base)
        for k in range(3):
            a = pts[k + 1] - pts[k]
            axis = normalize(np.cross(n, a))
            rot = axis_angle(axis, np.radians(flex[f][:, k]))
            for m in range(k + 2, 5):
                pts[m] = pts[k + 1] + np.einsum("tij,tj->ti", rot, pts[m] - pts[k + 1])
        for k in range(4):
            out[f"{f}{k}_r"] = pts[k + 1]
    return out


def read_angles(j: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """(flexion (T,3) per finger in degrees, spread (T,) per finger) measured the way `pose_hand` applies
    them (against the palm's own axes, so any rig orientation reads the same)."""
    n = normalize(F.palm_normal(j, SIDE))
    flex, spread = {}, {}
    for f in F.FINGER_NAMES[1:]:
        pts = [j["wrist_r"]] + [j[f"{f}{k}_r"] for k in range(4)]
        ang = []
        for k in range(3):
            a, b = pts[k + 1] - pts[k], pts[k + 2] - pts[k + 1]
            axis = normalize(np.cross(n, a))
            b_in = b - np.sum(b * n, -1, keepdims=True) * n if k == 0 else b
            ang.append(np.degrees(np.arctan2(np.sum(np.cross(a, b_in if k else b) * axis, -1), np.sum(a * b, -1))))
        flex[f] = np.stack(ang, -1)
        a = pts[1] - pts[0]
        b = pts[2] - pts[1]
        b_flat = b - np.sum(b * n, -1, keepdims=True) * n
        spread[f] = np.degrees(np.arctan2(np.sum(np.cross(a, b_flat) * n, -1), np.sum(a * b_flat, -1)))
    return flex, spread


def posed_rig(rig: dict[str, np.ndarray], D: dict[str, np.ndarray], mapping: dict[str, list[str]]) -> dict:
    """The rig's finger joints after its bones turn by D (world rotations, chained head to tail)."""
    T = len(next(iter(D.values())))
    out = {k: np.broadcast_to(v, (T, 3)).copy() for k, v in rig.items()}
    for f in F.FINGER_NAMES:
        for k in (1, 2, 3):
            bone = mapping[f"{f}_{k}.R"][0]
            h, t = f"{f}{k - 1}_r", f"{f}{k}_r"
            out[t] = out[h] + np.einsum("tij,j->ti", D[bone], rig[t] - rig[h])
    return out


def mapping_and_parents() -> tuple[dict[str, list[str]], dict[str, str | None]]:
    mapping = {"hand.R": ["hand"]}
    parent = {"hand": None}
    for f in F.FINGER_NAMES:
        for k in (1, 2, 3):
            mapping[f"{f}_{k}.R"] = [f"{f}{k}"]
            parent[f"{f}{k}"] = "hand" if k == 1 else f"{f}{k - 1}"
    return mapping, parent


@pytest.mark.parametrize("yaw", [0.0, 0.7])
def test_angles_survive_the_solve_onto_another_hand(yaw: float) -> None:
    rng = np.random.default_rng(3)
    T = 12
    flex = {f: rng.uniform([-20, 0, 0], [80, 95, 70], size=(T, 3)) for f in F.FINGER_NAMES[1:]}
    spread = {f: rng.uniform(-15, 15, size=T) for f in F.FINGER_NAMES[1:]}
    src = pose_hand(rest_hand(1.25), flex, spread)  # a bigger hand than the rig's, rig turned by yaw
    rig = rest_hand(1.0, yaw)
    R = axis_angle(np.array([0.0, 0.0, 1.0]), np.array(yaw))
    src_world = {k: v @ R.T for k, v in src.items()}  # the source in the rig's orientation
    mapping, parent = mapping_and_parents()
    D = {"hand": np.tile(np.eye(3), (T, 1, 1))}
    src_world["thumb_r"] = src_world["wrist_r"] + (src_world["index0_r"] - src_world["pinky0_r"])
    rigj = dict(rig, thumb_r=rig["wrist_r"] + (rig["index0_r"] - rig["pinky0_r"]))
    F.solve_fingers(D, parent, src_world, rigj, mapping, {"r": np.ones(T)})
    got_flex, got_spread = read_angles(posed_rig(rig, D, mapping))
    want_flex, want_spread = read_angles({k: v @ R.T for k, v in src.items()})
    for f in F.FINGER_NAMES[1:]:
        assert np.abs(got_flex[f] - want_flex[f]).max() < 3.0, (f, got_flex[f] - want_flex[f])
        assert np.abs(got_spread[f] - want_spread[f]).max() < 3.0, (f, got_spread[f] - want_spread[f])
        assert np.ptp(want_flex[f]) > 30  # the poses really differ from frame to frame


def test_unseen_frames_keep_the_rest_pose_and_ease_in() -> None:
    T = 20
    flex = {f: np.full((T, 3), 60.0) for f in F.FINGER_NAMES[1:]}
    spread = {f: np.zeros(T) for f in F.FINGER_NAMES[1:]}
    src = pose_hand(rest_hand(), flex, spread)
    rig = rest_hand()
    conf = np.r_[np.zeros(8), np.ones(12)]
    w = F.confidence_weights(conf)
    assert (w[:8] == 0).all() and w[-1] > 0.999 and 0 < w[9] < 1  # eases in, no pop
    mapping, parent = mapping_and_parents()
    D = {"hand": np.tile(np.eye(3), (T, 1, 1))}
    for k in src:
        src[k][:8] = np.nan  # unseen: no landmarks at all
    F.solve_fingers(D, parent, src, rig, mapping, {"r": w})
    assert np.allclose(D["index2"][:8], np.eye(3)) and np.isfinite(D["index2"]).all()
    steps = [np.degrees(np.arccos(np.clip((np.trace(D["index2"][t].T @ D["index2"][t + 1]) - 1) / 2, -1, 1)))
             for t in range(T - 1)]
    assert max(steps) < 45.0  # 60 deg per joint reached over the blend, not in one frame


def test_no_finger_is_left_bent_backwards() -> None:
    T = 5
    flex = {f: np.tile([-70.0, -40.0, -50.0], (T, 1)) for f in F.FINGER_NAMES[1:]}  # impossible hyperextension
    spread = {f: np.zeros(T) for f in F.FINGER_NAMES[1:]}
    j = pose_hand(rest_hand(), flex, spread)
    lengths = {k: np.linalg.norm(j[f"{f}{k}_r"] - j[f"{f}{k - 1}_r"], axis=-1) for f in ["index"] for k in (1, 2, 3)}
    F.limit_hyperextension(j, SIDE)
    got, _ = read_angles(j)
    for f in F.FINGER_NAMES[1:]:
        assert (got[f] >= np.array(F.HYPEREXTENSION[f]) - 0.5).all(), (f, got[f])
    over = {f: np.tile([130.0, 150.0, 120.0], (T, 1)) for f in F.FINGER_NAMES[1:]}  # curled past anatomy
    j3 = pose_hand(rest_hand(), over, spread)
    F.limit_hyperextension(j3, SIDE)
    got3, _ = read_angles(j3)
    for f in F.FINGER_NAMES[1:]:
        assert (got3[f] <= np.array(F.FLEXION[f]) + 0.5).all(), (f, got3[f])
    for k in (1, 2, 3):  # bones keep their lengths
        assert np.allclose(np.linalg.norm(j[f"index{k}_r"] - j[f"index{k - 1}_r"], axis=-1), lengths[k])
    normal = {f: np.tile([10.0, 30.0, 20.0], (T, 1)) for f in F.FINGER_NAMES[1:]}
    j2 = pose_hand(rest_hand(), normal, spread)
    before = {k: v.copy() for k, v in j2.items()}
    F.limit_hyperextension(j2, SIDE)
    assert all(np.allclose(j2[k], before[k]) for k in before)  # a normal curl is left alone


def _thumb_bends(j: dict[str, np.ndarray]) -> np.ndarray:
    """(T,2) thumb MCP and IP bends in degrees, positive across the palm (towards palm and little finger)."""
    across = normalize(-normalize(F.palm_normal(j, SIDE)) - normalize(F.palm_lateral(j, SIDE)))
    out = []
    for k in (1, 2):
        a, b = j[f"thumb{k}_r"] - j[f"thumb{k - 1}_r"], j[f"thumb{k + 1}_r"] - j[f"thumb{k}_r"]
        ahat = normalize(a)
        up = normalize(across - np.sum(across * ahat, -1, keepdims=True) * ahat)
        out.append(np.degrees(np.arctan2(np.sum(b * up, -1), np.sum(b * ahat, -1))))
    return np.stack(out, -1)


def _bend_thumb(j: dict[str, np.ndarray], degrees: tuple[float, float]) -> dict[str, np.ndarray]:
    """Turn the thumb at MCP then IP by `degrees` in its bend plane (negative: backwards)."""
    j = {k: v.copy() for k, v in j.items()}
    across = normalize(-normalize(F.palm_normal(j, SIDE)) - normalize(F.palm_lateral(j, SIDE)))
    for k, deg in zip((1, 2), degrees):
        ahat = normalize(j[f"thumb{k}_r"] - j[f"thumb{k - 1}_r"])
        up = normalize(across - np.sum(across * ahat, -1, keepdims=True) * ahat)
        rot = axis_angle(normalize(np.cross(ahat, up)), np.radians(np.full(len(ahat), deg)))
        for m in range(k + 1, 4):
            j[f"thumb{m}_r"] = j[f"thumb{k}_r"] + np.einsum("tij,tj->ti", rot, j[f"thumb{m}_r"] - j[f"thumb{k}_r"])
    return j


def test_the_thumb_does_not_bend_backwards_either() -> None:
    T = 4
    rest = {k: np.broadcast_to(v, (T, 3)).copy() for k, v in rest_hand(yaw=0.4).items()}
    assert np.allclose(_thumb_bends(rest), 0, atol=1e-6)
    back = _bend_thumb(rest, (-50.0, -70.0))  # a thumb bent back past what joints allow
    assert np.allclose(_thumb_bends(back), [-50.0, -70.0], atol=0.5)  # the measure reads the bend applied
    lengths = [np.linalg.norm(back[f"thumb{k}_r"] - back[f"thumb{k - 1}_r"], axis=-1) for k in (1, 2, 3)]
    F.limit_hyperextension(back, SIDE)
    assert np.allclose(_thumb_bends(back), F.HYPEREXTENSION["thumb"], atol=0.5)
    assert all(np.allclose(np.linalg.norm(back[f"thumb{k}_r"] - back[f"thumb{k - 1}_r"], axis=-1), lengths[k - 1])
               for k in (1, 2, 3))
    curled = _bend_thumb(rest, (120.0, 130.0))  # folded past anatomy
    F.limit_hyperextension(curled, SIDE)
    assert np.allclose(_thumb_bends(curled), F.FLEXION["thumb"], atol=0.5)
    fine = _bend_thumb(rest, (30.0, 45.0))  # an ordinary grip: left alone
    before = {k: v.copy() for k, v in fine.items()}
    F.limit_hyperextension(fine, SIDE)
    assert all(np.allclose(fine[k], before[k]) for k in before)
