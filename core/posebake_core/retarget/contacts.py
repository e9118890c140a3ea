"""Foot contacts and foot locking with an analytic two-bone IK (thigh/shin), pure numpy.

Video-derived motion (and retargeting onto other proportions) makes planted feet slide. We detect
contact on the source (the heel or the toe low and slow, in the world or across the image,
`detect_foot_contacts`), and during each contact
hold the whole foot: its lowest point (heel, ball or toe tip) stays planted (on the ground, when near it)
while the foot rolls over it, a flat stance is held level, and thigh and shin bend analytically to put the
ankle where that requires, the knee staying in its own bend plane. The pin is blended in before and out
after each contact over a few frames, so the leg never pops. Thresholds are in leg lengths so units do not
matter; heights are along the world's up axis, given in the armature's space.
"""
from __future__ import annotations

import numpy as np

from ..motion import Motion
from ..rot import frame, matrix_to_quat, normalize, quat_to_matrix, swing
from ..skeleton import JOINT_INDEX
from ..timeseries import segments
from .armature import RestPose, fk_heads, is_under, rest_joints
from .canonical import CanonicalPose, leg_length


#: Contact thresholds on estimated motion, in leg lengths: a heel or toe point within 0.12 of its own low
#: level (10th percentile over the clip) and slower than 0.9 leg lengths a second (0.03 a frame at 30 fps),
#: for at least 3 frames. An earlier session chose them by a grid search on the committed ground-truth
#: clips, whose motions are reserved for evaluation, so their F1 there (0.88 pooled) is not an independent
#: test. On four rendered clips of unreserved motions (bench/contacts_tune.py, results/contacts_tune.md) they
#: score 0.57 pooled, as the grid's best there does (re-run 2026-12-02 with the left/right swaps undone and
#: the median image speed; before those, 0.47 against the grid's 0.53). Estimated feet jitter by
#: centimetres, so the ground truth's 3 cm / 1 cm-a-frame would find almost none.
CONTACT_HEIGHT, CONTACT_SPEED, CONTACT_LOW_PCT, CONTACT_MIN_FRAMES = 0.12, 0.9, 10.0, 3


def detect_foot_contacts(heel: np.ndarray, toe: np.ndarray, fps: float, leg: float,
                         up: np.ndarray | None = None, height: float = CONTACT_HEIGHT,
                         speed: float = CONTACT_SPEED, low_pct: float = CONTACT_LOW_PCT,
                         min_frames: int = CONTACT_MIN_FRAMES,
                         image_speeds: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(T,) bool: the foot is planted where its heel or its toe (T,3) is within `height` leg lengths of
    that point's own low level and moves slower than `speed` leg lengths per second; runs shorter than
    `min_frames` dropped. `up`: the world's up axis in the points' space (default +Z). The speed is the 3D
    one or, where given (`image_speeds`: heel, toe, metres per second, `image_speed`), the speed across the
    image if that is lower: a planted foot stays still in the image once the camera's turning is removed,
    while its estimated depth can wander by metres per second (the rendered running clip's stance feet)."""
    up = np.array([0.0, 0.0, 1.0]) if up is None else normalize(np.asarray(up, float))
    c = np.zeros(len(heel), dtype=bool)
    seen = (None, None) if image_speeds is None else image_speeds
    for p, v_image in zip((np.asarray(heel, float), np.asarray(toe, float)), seen):
        z = p @ up
        low = z - np.nanpercentile(z, low_pct) < height * leg
        v = np.zeros(len(p))
        if len(p) > 1:
            v[1:] = np.linalg.norm(np.diff(p, axis=0), axis=1) * fps
            v[0] = v[1]
        if v_image is not None:
            v = np.fmin(v, np.asarray(v_image, float))  # NaN (no 2D there) leaves the 3D speed
        c |= low & (v < speed * leg)
    return _drop_short(c, min_frames)


#: BlazePose landmarks of the sole points the contacts read, per side: heel and foot index (the toe tip)
SOLE_LANDMARKS = {"l": (JOINT_INDEX["left_heel"], JOINT_INDEX["left_foot_index"]),
                  "r": (JOINT_INDEX["right_heel"], JOINT_INDEX["right_foot_index"])}


def image_speed(motion: Motion, track: int, joint: int) -> np.ndarray:
    """(T,) how fast a landmark crosses the image, in metres per second at its distance: the angle between
    its viewing rays on consecutive frames, in the first frame's camera axes (the camera's pan and tilt
    removed; each ray the median of its frame's and its neighbours', `median3`), times its distance from the
    camera and the frame rate. The estimate's depth, its noisiest
    part, enters only through that distance. NaN where the landmark is missing."""
    uv = motion.joints_2d[track, :, joint].astype(np.float64)
    rays = np.concatenate([uv, np.ones((len(uv), 1))], axis=1) @ np.linalg.inv(motion.K).T
    if motion.camera_rotation is not None:
        rays = np.einsum("tij,tj->ti", motion.camera_rotation, rays)
    d = median3(rays / np.linalg.norm(rays, axis=1, keepdims=True))  # one-frame jumps out (`median3`)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    out = np.full(len(d), np.nan)
    if len(d) > 1:
        out[1:] = np.arctan2(np.linalg.norm(np.cross(d[1:], d[:-1]), axis=1), np.sum(d[1:] * d[:-1], axis=1))
        out[0] = out[1]
    return out * motion.fps * np.linalg.norm(motion.joints_cam[track, :, joint].astype(np.float64), axis=-1)


def contacts_for_motion(motion: Motion, track: int | None = None, image: bool = True,
                        **thresholds: float) -> np.ndarray:
    """(P,T,2) bool: each track's feet (left, right) planted per frame, detected on the canonical world
    pose the bake takes (`prepare.motion_to_canonical`) with the image evidence beside it, so the estimate
    can write them into the Motion and every consumer agrees; a bake with the user's own threshold
    (`height=`, leg lengths; any of `detect_foot_contacts`'s thresholds) detects them here too. `track`:
    that track only (the others stay False); `image=False`: the 3D speed alone (benchmarks compare). A
    track too short to place on a floor has none."""
    from ..errors import PoseBakeError
    from .prepare import BakeOptions, motion_to_canonical

    out = np.zeros((motion.num_tracks, motion.num_frames, 2), dtype=bool)
    present = motion.present()
    for p in range(motion.num_tracks) if track is None else (track,):
        try:
            canon = motion_to_canonical(motion, BakeOptions(track=p))
        except PoseBakeError:
            continue
        leg = float(np.nanmedian(leg_length(canon.joints)))
        if not np.isfinite(leg) or leg <= 0:
            continue
        for k, s in enumerate(("l", "r")):
            heel, toe = canon.joints[f"heel_{s}"], canon.joints[f"toe_tip_{s}"]
            seen = tuple(image_speed(motion, p, j)[:len(heel)] for j in SOLE_LANDMARKS[s]) if image else None
            c = detect_foot_contacts(heel, toe, canon.fps, leg, image_speeds=seen, **thresholds)
            out[p, :len(c), k] = c & present[p, :len(c)]
    return out


def median3(x: np.ndarray) -> np.ndarray:
    """(T, ...) the median of each frame and its two neighbours (the ends kept): a landmark that jumps away
    for one frame (BlazePose at a leg crossing) is dropped, while motion that keeps its direction over three
    frames (a swinging foot) passes unchanged. NaN frames stay NaN and leave their neighbours' as they were."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 3:
        return x.copy()
    out = x.copy()
    mid = np.median(np.stack([x[:-2], x[1:-1], x[2:]]), axis=0)
    out[1:-1] = np.where(np.isfinite(mid), mid, x[1:-1])
    return out


def _drop_short(c: np.ndarray, n: int) -> np.ndarray:
    out = c.copy()
    for a, b in segments(c):
        if b - a < n:
            out[a:b] = False
    return out


#: A foot point must be this much lower (leg lengths) than the planted one to take over as the pivot during
#: a contact (heel strike -> toe-off): about 4 mm on a 0.9 m leg, so a roll hands over to the toe as it
#: reaches the ground, not after it has sunk through it. Flat stances, where noise would make heel and ball
#: trade places, are frozen level instead (`level_flat_feet`).
PIVOT_SWITCH = 0.005


def foot_offsets(rest: RestPose, mapping: dict[str, list[str]], full: np.ndarray, side: str,
                 up: np.ndarray) -> np.ndarray:
    """(T,3,3): the heel, the ball and the toe tip of one foot relative to its ankle, posed by the world
    rotations `full` (T,B,3,3). The rig's rest points come from its bones (`rest_joints`); the heel is put on
    the sole, the level of the lower of ball and toe tip at rest, so a flat foot has all three on the floor."""
    S = side.upper()
    rj = rest_joints(rest, mapping)
    ankle, ball, tip = rj[f"ankle_{side}"], rj[f"toe_{side}"], rj[f"toe_tip_{side}"]
    sole = min(float(ball @ up), float(tip @ up))
    heel = rj[f"heel_{side}"] + (sole - float(rj[f"heel_{side}"] @ up)) * up
    ia = rest.index(mapping[f"foot.{S}"][0])
    toe = mapping.get(f"toe.{S}") or []
    it = rest.index(toe[0]) if toe else ia
    R_foot, R_toe = full[:, ia], full[:, it]
    off_heel = R_foot @ (heel - ankle)
    off_ball = R_foot @ (ball - ankle)
    off_tip = off_ball + R_toe @ (tip - ball)
    return np.stack([off_heel, off_ball, off_tip], axis=1)


#: A planted foot whose sole pitch (toe tip over heel, by the foot's own posed rotation) is within this many
#: leg lengths of its rest pitch is flat: its rotation is frozen level for the run (heel, ball and toe tip
#: then all stay still). About 3.5 cm on a 0.9 m leg, 8 degrees over a 25 cm foot, so a flat stance's
#: jitter is not read as a roll; the slides in bench/results/foot_lock.md barely moved with 0.07 instead.
FLAT_PITCH = 0.04


def level_flat_feet(rest: RestPose, mapping: dict[str, list[str]], full: np.ndarray, side: str,
                    contact: np.ndarray, up: np.ndarray, leg: float, blend: int = 2) -> np.ndarray:
    """`full` with the foot (and toes) of `side` held level and still through each flat run of a contact.

    An estimated foot wobbles by degrees from frame to frame; pinned at one point, the rest of the sole
    would swing with it. Where the sole is flat on the ground, its rotation is set to the rig's rest foot
    (flat) turned to the run's mean heading, blended in and out over `blend` frames (nlerp)."""
    S = side.upper()
    ia = rest.index(mapping[f"foot.{S}"][0])
    rj = rest_joints(rest, mapping)
    heel, tip = rj[f"heel_{side}"], rj[f"toe_tip_{side}"]
    sole = tip - heel
    rest_pitch = float(sole @ up)
    fwd_rest = normalize(sole - rest_pitch * up)
    posed = full[:, ia] @ sole
    flat = contact & (np.abs(posed @ up - rest_pitch) < FLAT_PITCH * leg)
    flat = _drop_short(flat, 2)
    if not flat.any():
        return full
    out = full.copy()
    bones = [i for i in range(len(rest.names)) if is_under(rest, i, ia)]
    T = len(full)
    for a, b in segments(flat):
        heading = posed[a:b] - (posed[a:b] @ up)[:, None] * up
        fwd = normalize(heading.mean(axis=0))
        level = frame(fwd, up) @ frame(fwd_rest, up).T  # rest foot (flat) -> this heading, still flat
        q_level = matrix_to_quat(level)
        for t in range(max(0, a - blend), min(T, b + blend)):
            dist = a - t if t < a else (t - (b - 1) if t >= b else 0)
            w = 1.0 - dist / (blend + 1)
            q_src = matrix_to_quat(full[t, ia])
            q = w * q_level + (1 - w) * (q_src if q_src @ q_level >= 0 else -q_src)
            fix = quat_to_matrix(q) @ full[t, ia].T
            for i in bones:
                out[t, i] = fix @ full[t, i] if i != ia else quat_to_matrix(q)
        for t in range(a, b):  # toes lie flat with the foot, as at rest
            for i in bones:
                out[t, i] = level
    return out


#: A planted point within this many leg lengths of the ground is put on it; one further off keeps its own
#: height. The ground is fitted to the clip's lowest foot points, so a stance far from it means the fit or
#: the foot is wrong, and moving the foot there pulls the leg off the person in the video (the CesiumMan
#: check in tests/test_rigs.py: 4.4 % joint error with every stance planted, under its 4 % bar with this).
FLOOR_SNAP = 0.05
#: A planted point up to this many leg lengths *below* the ground is lifted onto it: the ground is the lower
#: envelope of the clip's foot points, so a stance under it is the estimate's error (a foot's height drifts by
#: 5-15 cm on elevated and close cameras), and a foot sunk into the floor is never right. Bakes of the rendered
#: jumps held such stances 4-7 cm under the floor (bench/results/foot_lock.md, 2026-12-02); deeper than this,
#: the floor itself is likely wrong there (ground that falls away), and the point keeps its height.
FLOOR_SINK = 0.25


#: A rig's rest sole joints count as standing on its own floor (the armature's origin level) when within this
#: many leg lengths of it: characters are modelled standing on their origin, their ball and toe-tip joints a
#: centimetre or two up inside the foot. A rig whose origin is elsewhere (at its hips) has no floor of its own.
REST_FLOOR = 0.15


def rest_sole_height(rest: RestPose, mapping: dict[str, list[str]], up: np.ndarray) -> float:
    """How far above the armature's origin, along `up`, the rig's sole level stands at rest (the lower of
    ball and toe tip, lower foot; `foot_offsets` puts the heel there too): a foot planted flat stands that
    high above the floor, so that its mesh rests on it. Zero where that is not within `REST_FLOOR` legs."""
    rj = rest_joints(rest, mapping)
    h = min(float(rj[f"{p}_{s}"] @ up) for p in ("toe", "toe_tip") for s in ("l", "r") if f"{p}_{s}" in rj)
    return h if abs(h) <= REST_FLOOR * float(leg_length(rj)) else 0.0


def _on_floor(point: np.ndarray, up: np.ndarray, floor: float | None, snap: float, sink: float) -> np.ndarray:
    """`point` put on the floor when up to `snap` above it or up to `sink` below it."""
    if floor is None:
        return point
    gap = floor - float(point @ up)  # > 0: the point is under the floor
    return point + gap * up if -snap <= gap <= sink else point


def pivot_targets(ankle: np.ndarray, offsets: np.ndarray, contact: np.ndarray, up: np.ndarray, floor: float | None,
                  switch: float, blend: int = 4, snap: float = np.inf,
                  sink: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Ankle goals (T,3) and weights (T,) that hold the whole foot during each contact.

    In a contact the foot's lowest point (heel, ball or toe tip, by its own posed rotation) is the pivot: it
    stays where it was planted while the foot rolls over it (heel strike, flat, toe-off), so the ankle moves
    exactly as the roll requires and no point on the sole slides. The first pivot is planted at its mean
    position over the contact, put on the `floor` (the ground's height along `up`) when within `snap` above it
    or `sink` below it (default `snap`),
    else left at its own height (always, with floor None); a later pivot takes over exactly where it stands
    at the switch (at most `switch` below the first), so the foot never jumps. `switch`: how much lower
    (scene units) a point must be to take over. Each contact blends in over `blend` frames before it and out
    over `blend` after it (smoothstep weights), so the leg never pops."""
    T = len(ankle)
    target, weight = ankle.copy(), np.zeros(T)
    for a, b in segments(contact):
        pts = ankle[a:b, None] + offsets[a:b]  # (n,3,3) the foot's points, free
        h = pts @ up
        k = int(np.argmin(h[0]))
        pivot = _on_floor(pts[:, k].mean(axis=0), up, floor, snap, snap if sink is None else sink)
        goal = np.empty((b - a, 3))
        for i in range(b - a):
            low = int(np.argmin(h[i]))
            if low != k and h[i, low] < h[i, k] - switch:
                prev = goal[i - 1] if i else ankle[a]
                pivot = prev + offsets[a + i - 1 if i else a, low]  # where it stands: no jump
                k = low
            goal[i] = pivot - offsets[a + i, k]
        target[a:b], weight[a:b] = goal, 1.0
        for t in list(range(max(0, a - blend), a)) + list(range(b, min(T, b + blend))):
            dist = a - t if t < a else t - (b - 1)
            u = 1.0 - dist / (blend + 1)
            w = u * u * (3 - 2 * u)
            if w > weight[t]:
                weight[t] = w
                target[t] = goal[0] if t < a else goal[-1]
    return target, weight


def two_bone_ik(hip: np.ndarray, knee: np.ndarray, goal: np.ndarray, l1: float, l2: float,
                ankle: np.ndarray | None = None) -> np.ndarray:
    """New knee positions (T,3) putting the ankle on `goal`, keeping the current knee's bend direction;
    an unreachable goal straightens the leg towards it. With the current `ankle`, the bend is kept as the
    leg's bend plane (its normal), which stays right when a nearly straight leg must bend to reach a goal off
    its line; from the knee's offset alone, such a leg could fold the wrong way."""
    axis = goal - hip
    d = np.clip(np.linalg.norm(axis, axis=-1), abs(l1 - l2) + 1e-6, (l1 + l2) * (1 - 1e-6))
    u = normalize(axis)
    pole = knee - hip
    pole = normalize(pole - np.sum(pole * u, -1, keepdims=True) * u)
    if ankle is not None:
        n = np.cross(knee - hip, ankle - knee)
        by_plane = normalize(np.cross(u, n))  # the new bend normal is then n itself
        ok = (np.linalg.norm(n, axis=-1) > 1e-9) & (np.linalg.norm(np.cross(n, u), axis=-1) > 1e-9)
        pole = np.where(ok[:, None], by_plane, pole)
    a = (l1 * l1 - l2 * l2 + d * d) / (2 * d)
    h = np.sqrt(np.maximum(l1 * l1 - a * a, 0.0))
    return hip + a[:, None] * u + h[:, None] * pole


def lock_feet(src: CanonicalPose, rest: RestPose, mapping: dict[str, list[str]], full: np.ndarray, heads: np.ndarray,
              tb: int, delta: np.ndarray, blend: int = 4, height: float = CONTACT_HEIGHT,
              speed: float = CONTACT_SPEED, anchors: dict[int, int] | None = None, up: np.ndarray | None = None,
              given: dict[str, np.ndarray] | None = None, floor: float | None = None):
    """Pin each foot during its contacts. `full` (T,B,3,3) world rotations and `heads` (T,B,3) come from
    the solve; `tb`/`delta` are its translated bone and offset; `given` (per side, (T,) bool) are contacts
    found before (the Motion's own), used instead of detecting them here; `floor`: the ground's height along
    `up` (None: each planted foot keeps its own height), where the rig's mesh is to rest (`rest_sole_height`).
    The whole foot is held (`pivot_targets`): its lowest point stays put on the floor while the foot rolls.
    Returns (full, heads, contacts)."""
    up = np.array([0.0, 0.0, 1.0]) if up is None else normalize(np.asarray(up, float))
    leg = float(np.nanmedian(leg_length(src.joints)))
    if floor is not None:  # the sole joints stand above the floor as they stand above the origin at rest
        floor = floor + rest_sole_height(rest, mapping, up)
    contacts: dict[str, np.ndarray] = {}
    idx = rest.index
    legs: dict[str, tuple[int, int, int, float, float]] = {}
    for S in ("L", "R"):
        if not all(mapping.get(f"{k}.{S}") for k in ("thigh", "shin", "foot")):
            continue
        s = S.lower()
        if given is not None and S in given:
            c = np.asarray(given[S], dtype=bool)
        else:
            c = detect_foot_contacts(src.joints[f"heel_{s}"], src.joints[f"toe_tip_{s}"], src.fps, leg, up,
                                     height, speed)
        contacts[S] = c
        if not c.any():
            continue
        ih, ik, ia = (idx(mapping[f"{k}.{S}"][0]) for k in ("thigh", "shin", "foot"))
        legs[S] = (ih, ik, ia, float(np.linalg.norm(rest.heads[ik] - rest.heads[ih])),
                   float(np.linalg.norm(rest.heads[ia] - rest.heads[ik])))
        full = level_flat_feet(rest, mapping, full, s, c, up, leg)
    if not legs:
        return full, heads, contacts
    heads = fk_heads(rest, full, tb, delta, anchors)  # one leg's IK leaves the other leg's joints where they are
    for S, (ih, ik, ia, l1, l2) in legs.items():
        target, w = pivot_targets(heads[:, ia], foot_offsets(rest, mapping, full, S.lower(), up), contacts[S], up,
                                  floor, PIVOT_SWITCH * leg, blend, FLOOR_SNAP * leg, FLOOR_SINK * leg)
        goal = heads[:, ia] + w[:, None] * (target - heads[:, ia])
        sel = w > 0
        knee = two_bone_ik(heads[sel, ih], heads[sel, ik], goal[sel], l1, l2, ankle=heads[sel, ia])
        r_th = swing(heads[sel, ik] - heads[sel, ih], knee - heads[sel, ih])
        shin_now = (r_th @ (heads[sel, ia] - heads[sel, ik])[..., None])[..., 0]
        r_sh = swing(shin_now, goal[sel] - knee)
        foot_world = {b: full[sel, idx(b)].copy() for b in mapping[f"foot.{S}"] + mapping.get(f"toe.{S}", [])}
        new = full.copy()
        # rotate the thigh subtree, then the shin subtree on top; the foot keeps its world rotation
        for i in range(len(rest.names)):
            if is_under(rest, i, ih):
                new[sel, i] = r_th @ new[sel, i]
        for i in range(len(rest.names)):
            if is_under(rest, i, ik):
                new[sel, i] = r_sh @ new[sel, i]
        for b, m in foot_world.items():
            fix = m @ np.swapaxes(new[sel, idx(b)], -1, -2)
            for i in range(len(rest.names)):
                if is_under(rest, i, idx(b)):
                    new[sel, i] = fix @ new[sel, i]
        full = new
    return full, fk_heads(rest, full, tb, delta, anchors), contacts
