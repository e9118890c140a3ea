"""Fingers: the 21 hand landmarks as canonical joints, joint limits, and the phalanx rotations of a rig.

Each finger is three bones (roles `index_1.L` .. `index_3.L`; for the thumb its metacarpal, proximal and
distal) between four canonical joints `index0_l` .. `index3_l` (knuckle to tip; the thumb from its CMC
joint), MediaPipe's hand landmarks in the same order. A phalanx's rotation is solved like every other
bone's (`solve.py`: its direction matched exactly, the twist from a reference), with the palm as the
reference: across the knuckles (index to pinky) for the four fingers, the palm's normal for the thumb,
whose own axis runs across the palm. So flexion and spread at the knuckle come out of the directions, and
a rig whose fingers are rolled any way gets the same pose.

Where a hand was not seen confidently its fingers ride on the hand bone in their rest pose, with the
confidence (smoothed over `BLEND_FRAMES`) blending between the two, so a hand coming into view eases in
instead of popping. No finger, thumb included, bends backwards past `HYPEREXTENSION` or curls past
`FLEXION` (applied to the joints, before the solve).
"""
from __future__ import annotations

import numpy as np

from ..rot import continuous, frame, matrix_to_quat, normalize, quat_to_matrix, swing

FINGER_NAMES = ("thumb", "index", "middle", "ring", "pinky")
#: MediaPipe hand landmark indices of each finger's four joints (base to tip); 0 is the wrist.
HAND_CHAINS = {"thumb": (1, 2, 3, 4), "index": (5, 6, 7, 8), "middle": (9, 10, 11, 12), "ring": (13, 14, 15, 16),
               "pinky": (17, 18, 19, 20)}
#: role -> (head joint, tail joint), both sides
FINGER_ROLES: dict[str, tuple[str, str]] = {
    f"{f}_{k}.{s.upper()}": (f"{f}{k - 1}_{s}", f"{f}{k}_{s}") for s in ("l", "r") for f in FINGER_NAMES
    for k in (1, 2, 3)}
#: Most backward bend allowed at each joint of a finger (degrees; negative = towards the back of the hand),
#: from the usual active ranges (knuckle hyperextension up to ~30-45 deg, the middle joint none, the end
#: joint ~10 deg) with a few degrees for landmark noise. Index k bounds the bend between bone k-1 and bone k
#: (k = 0: between the palm, wrist to knuckle, and the first bone).
HYPEREXTENSION = {f: (-35.0, -5.0, -15.0) for f in ("index", "middle", "ring", "pinky")}
#: The thumb's two hinges, MCP and IP: many thumbs hyperextend at the IP joint (~20-30 deg), little at MCP.
HYPEREXTENSION["thumb"] = (-15.0, -30.0)
#: Most forward bend (curl) at each joint, the usual active flexion ranges (knuckle ~90, middle joint
#: ~110, end joint ~90 deg; AAOS range-of-motion tables), plus a little: a landmark set beyond them is a
#: misread hand, not a pose to bake.
FLEXION = {f: (95.0, 115.0, 95.0) for f in ("index", "middle", "ring", "pinky")}
FLEXION["thumb"] = (65.0, 95.0)  # thumb MCP ~50-60, IP ~80-90 deg (same tables), plus a little
#: Sideways spread at the knuckle, either way (abduction ~20-30 deg), plus a little.
SPREAD = 35.0
#: frames over which a hand's confidence is smoothed (a hand coming into view eases in over about this many
#: frames: ~0.2 s at 30 fps)
BLEND_FRAMES = 7


def hand_joints(hand: np.ndarray, side: str) -> dict[str, np.ndarray]:
    """Canonical finger joints of one side from (T,21,3) landmarks in the pose's world frame."""
    return {f"{f}{k}_{side}": hand[:, HAND_CHAINS[f][k]] for f in FINGER_NAMES for k in range(4)}


def palm_lateral(j: dict[str, np.ndarray], side: str) -> np.ndarray | None:
    """Across the knuckles, towards the thumb side (index knuckle minus pinky knuckle)."""
    a, b = j.get(f"index0_{side}"), j.get(f"pinky0_{side}")
    return None if a is None or b is None else a - b


def palm_normal(j: dict[str, np.ndarray], side: str) -> np.ndarray | None:
    """Out of the back of the hand: a right hand's (wrist -> knuckles) x (pinky -> index), mirrored for
    the left, so it means the same on both sides."""
    lat = palm_lateral(j, side)
    mid = j.get(f"middle0_{side}")
    if lat is None or mid is None or f"wrist_{side}" not in j:
        return None
    n = np.cross(mid - j[f"wrist_{side}"], lat)
    return -n if side == "l" else n


def limit_hyperextension(j: dict[str, np.ndarray], side: str) -> None:
    """Keep each finger joint within its range, in place: the middle and end joints are hinges (their
    sideways bend removed), the knuckle spreads at most `SPREAD` degrees, and no joint bends further
    backwards than `HYPEREXTENSION` or further forwards than `FLEXION`. A joint out of range turns the bone
    and the ones after it about the joint (bone lengths kept). The four fingers bend towards the palm (the
    back-of-hand normal, negated); the thumb's two hinges (MCP, IP) bend across the palm, towards the palm
    and the little finger, and keep their sideways component as seen (the thumb's hinge axes vary more
    from hand to hand than a limit should assume); its base (CMC) moves freely."""
    n = palm_normal(j, side)
    lat = palm_lateral(j, side)
    if n is None or lat is None:
        return
    n, across = normalize(n), normalize(-normalize(n) - normalize(lat))  # thumb: towards palm and pinky
    for f in FINGER_NAMES:
        names = [f"{f}{k}_{side}" for k in range(4)]
        if any(name not in j for name in names):
            continue
        if f == "thumb":
            pts = [j[name].copy() for name in names]
            _limit_chain(pts, {0: 0, 1: 1}, lambda a: across, f, spread=None)
            start = 0
        else:
            pts = [j[f"wrist_{side}"]] + [j[name].copy() for name in names]
            _limit_chain(pts, {0: 0, 1: 1, 2: 2}, lambda a: -n, f, spread=SPREAD)
            start = 1
        for k, name in enumerate(names):
            j[name] = pts[k + start]


def _limit_chain(pts: list[np.ndarray], joints: dict[int, int], palmward, finger: str,
                 spread: float | None) -> None:
    """Limit, in place, the bends of a chain of (T,3) points: for each `k: i` in `joints`, the bend at
    pts[k+1] between bone pts[k]->pts[k+1] and the next, against range i of the finger's limits, positive
    towards `palmward(bone)` (made perpendicular to the bone). Sideways: within ±`spread` at range 0, a
    hinge elsewhere; `spread` None leaves it as seen."""
    for k, i in joints.items():
        a, b = pts[k + 1] - pts[k], pts[k + 2] - pts[k + 1]
        ahat = normalize(a)
        towards = palmward(a)
        up = normalize(towards - np.sum(towards * ahat, -1, keepdims=True) * ahat)  # in the bend plane
        side_dir = np.cross(ahat, up)
        x, y, z = np.sum(b * ahat, -1), np.sum(b * up, -1), np.sum(b * side_dir, -1)
        bend = np.degrees(np.arctan2(y, x))  # flexion, positive towards the palm
        lat = np.degrees(np.arctan2(z, np.hypot(x, y)))  # sideways
        bend_ok = np.clip(bend, HYPEREXTENSION[finger][i], FLEXION[finger][i])
        if spread is None:
            lat_ok = lat
        else:
            lat_ok = np.clip(lat, -spread, spread) if i == 0 else np.zeros_like(lat)
        fix = np.isfinite(bend) & ((np.abs(bend_ok - bend) > 1e-6) | (np.abs(lat_ok - lat) > 1e-6))
        if not fix.any():
            continue
        br, lr = np.radians(bend_ok)[..., None], np.radians(lat_ok)[..., None]
        target = np.cos(lr) * (np.cos(br) * ahat + np.sin(br) * up) + np.sin(lr) * side_dir
        turn = np.where(fix[..., None, None], swing(b, target), np.eye(3))
        for m in range(k + 2, len(pts)):
            pts[m] = pts[k + 1] + np.einsum("tij,tj->ti", turn, pts[m] - pts[k + 1])


def palm_hand_references(sj: dict[str, np.ndarray], rj: dict[str, np.ndarray], weights: dict[str, np.ndarray]) -> None:
    """Turn the hand bone by the palm where the hand was seen, in place: its direction becomes wrist ->
    middle knuckle and its twist reference the knuckle line (pinky -> index), on the rig (from its finger
    bones) and on the source alike, the source's blended in by the hands' weights. Without this the hand
    would follow the body model's coarse hand points and the fingers would bend to make up the difference.
    Sides where the rig lacks those knuckles or the source has no hands are left alone."""
    for side, w in weights.items():
        keys = (f"index0_{side}", f"pinky0_{side}", f"middle0_{side}", f"wrist_{side}")
        if any(k not in rj or k not in sj for k in keys):
            continue
        size = np.linalg.norm(rj[f"middle0_{side}"] - rj[f"wrist_{side}"])
        rj[f"hand_tip_{side}"] = rj[f"middle0_{side}"].copy()
        rj[f"thumb_{side}"] = rj[f"wrist_{side}"] + size * normalize(rj[f"index0_{side}"] - rj[f"pinky0_{side}"])
        ww = np.asarray(w, np.float64)[:, None]
        seen = (ww > 0) & np.isfinite(sj[f"middle0_{side}"]).all(-1, keepdims=True) \
            & np.isfinite(sj[f"index0_{side}"] - sj[f"pinky0_{side}"]).all(-1, keepdims=True)
        wrist = sj[f"wrist_{side}"]
        reach = np.linalg.norm(sj[f"hand_tip_{side}"] - wrist, axis=-1, keepdims=True)
        tip = wrist + reach * normalize(np.nan_to_num(sj[f"middle0_{side}"] - sj[f"wrist_{side}"]))
        thumb = wrist + reach * normalize(np.nan_to_num(sj[f"index0_{side}"] - sj[f"pinky0_{side}"]))
        for key, palm in ((f"hand_tip_{side}", tip), (f"thumb_{side}", thumb)):
            old = sj[key]
            blended = wrist + normalize((1 - ww) * normalize(old - wrist) + ww * normalize(palm - wrist)) * reach
            sj[key] = np.where(seen, blended, old)


def confidence_weights(conf: np.ndarray, frames: int = BLEND_FRAMES) -> np.ndarray:
    """(T,) blend weight in [0,1] from the per-frame confidence: zero where unseen, one where seen; a hand that comes
    into view (or leaves it) ramps over `frames` frames inside the seen stretch: the confidence is first
    eroded (each frame takes its neighbourhood's minimum), then averaged, so the ramp starts at the first
    seen frame instead of jumping there. Stretches shorter than the ramp stay low: a one-frame glimpse
    barely moves the fingers."""
    # seen or not: the hand stage already dropped unsure hands (hands_conf 0); the model's presence score
    # above that is no measure of how far to trust the pose, so a seen hand gets the data in full
    c = (np.nan_to_num(np.asarray(conf, np.float64)) > 0).astype(np.float64)
    r = frames // 2
    if r < 1 or len(c) < 2:
        return c
    padded = np.pad(c, r, mode="edge")
    eroded = np.min(np.lib.stride_tricks.sliding_window_view(padded, 2 * r + 1), axis=-1)
    smooth = np.convolve(np.pad(eroded, r, mode="edge"), np.ones(2 * r + 1) / (2 * r + 1), mode="valid")
    return np.clip(smooth, 0.0, 1.0) * (c > 0)


def _reference(role: str, j: dict[str, np.ndarray], use_palm: bool) -> np.ndarray:
    f, side = role.split("_")[0], role[-1].lower()
    if use_palm:
        ref = palm_normal(j, side) if f == "thumb" else palm_lateral(j, side)
        if ref is not None:
            return ref
    return j[f"thumb_{side}"] - j[f"wrist_{side}"]  # the hand bone's own twist reference


def solve_fingers(D: dict[str, np.ndarray], parent_of: dict[str, str | None], sj: dict[str, np.ndarray],
                  rj: dict[str, np.ndarray], mapping: dict[str, list[str]], weights: dict[str, np.ndarray]) -> None:
    """World rotations (T,3,3) of the mapped finger bones into `D` (bone -> D), in place.

    `sj`/`rj` are the source's and the rig's canonical joints; `weights` ("l"/"r" -> (T,)) the hands'
    blend weights (`confidence_weights`). Unseen, a finger follows the nearest solved bone above it (the
    hand, through any unmapped metacarpal), which is its rest pose relative to the hand."""
    roles = sorted((r for r in mapping if r in FINGER_ROLES and mapping[r]), key=lambda r: r.split(".")[0][-1])
    for role in roles:
        bones = mapping[role]
        side = role[-1].lower()
        h, t = FINGER_ROLES[role]
        follow = _solved_ancestor(bones[0], parent_of, D)
        if follow is None:
            continue  # no solved bone above it (the hand unmapped): it keeps its rest pose
        w = weights.get(side)
        if h in sj and t in sj and h in rj and t in rj and w is not None and np.any(w > 0):
            use_palm = palm_lateral(rj, side) is not None and palm_normal(rj, side) is not None
            data = frame(sj[t] - sj[h], _reference(role, sj, use_palm)) @ \
                frame(rj[t] - rj[h], _reference(role, rj, use_palm)).T
            follow = _blend(follow, data, w)
        for b in bones:
            D[b] = follow


def _solved_ancestor(bone: str, parent_of: dict[str, str | None], D: dict[str, np.ndarray]) -> np.ndarray | None:
    p = parent_of.get(bone)
    while p is not None and p not in D:
        p = parent_of.get(p)
    return None if p is None else D[p]


def _blend(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per frame, rotation a where w = 0, b where w = 1, normalised quaternion interpolation between
    (short arc); frames without data (NaN) keep a."""
    bad = ~np.isfinite(b).all(axis=(-1, -2))
    qa, qb = matrix_to_quat(a), matrix_to_quat(np.where(bad[..., None, None], a, b))
    qb = np.where((np.sum(qa * qb, -1) < 0)[..., None], -qb, qb)
    ww = np.where(bad, 0.0, w)[..., None]
    return quat_to_matrix(continuous(normalize((1 - ww) * qa + ww * qb)))
