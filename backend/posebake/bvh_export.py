"""Export one track of a Motion as a BVH animation: the add-on's solve onto a BVH rest skeleton.

BVH is the lowest common denominator of animation tools (Blender, MotionBuilder, Maya, game engines). The
track goes through exactly what the Blender bake runs (`posebake_core.retarget.prepare.motion_to_canonical`:
camera pan/tilt removed with `camera_rotation`, floor-aligned world; then `solve` onto a 20-bone rig whose
lengths are the track's medians, `posebake_core.retarget.bvh_rig`), so the BVH and a baked rig share root
motion and rotations. This module only turns that solution into the file: world rotations -> local Euler
angles (scipy), metres, Y up.

Axes: the solve's world is Z up with the subject's first-frame facing along -Y (Blender's front); the BVH
is Y up, (x, y, z) -> (x, z, -y), so that person faces +Z with their left at +X (the usual BVH rest) and
Blender's BVH importer (forward -Z, up Y) brings it back to the bake's axes.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from posebake_core.atomic import atomic_path
from posebake_core.errors import PoseBakeError
from posebake_core.motion import Motion
from posebake_core.retarget.bvh_rig import BONES, BvhSolve, solve_track
from posebake_core.retarget.contacts import contacts_for_motion
from posebake_core.retarget.prepare import BakeOptions, motion_to_canonical

EULER_ORDER = "ZXY"  # channel order written to the file; R_local = Rz @ Rx @ Ry (intrinsic)
Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # (x, y, z) -> (x, z, -y)


def solve_motion(motion: Motion, track: int = 0, foot_lock: bool = False) -> BvhSolve:
    """Track position `track` of `motion` solved onto its BVH skeleton (Z-up world, metres)."""
    if not 0 <= track < motion.num_tracks:
        raise PoseBakeError(f"--track {track} is out of range: the motion has {motion.num_tracks} track(s)")
    canon = motion_to_canonical(motion, BakeOptions(track=track, foot_lock=foot_lock))
    # the feet the estimate found planted, as the Blender bake locks them (detected the same way for a Motion
    # written before contacts were)
    c = motion.contacts[track] if motion.contacts is not None else contacts_for_motion(motion, track=track)[track]
    return solve_track(canon, foot_lock=foot_lock, contacts={"L": c[:, 0], "R": c[:, 1]})


def local_eulers(bvh: BvhSolve) -> dict[str, np.ndarray]:
    """Per bone (T,3) local Euler angles in degrees (Y-up axes, `EULER_ORDER`), continuous over time."""
    A = Z_UP_TO_Y_UP
    out = {}
    for name, (parent, _h, _t, _r) in BONES.items():
        g = A @ bvh.world[name] @ A.T
        if parent is not None:
            g = np.swapaxes(A @ bvh.world[parent] @ A.T, -1, -2) @ g
        out[name] = continuous_euler(Rotation.from_matrix(g).as_euler(EULER_ORDER, degrees=True))
    return out


def continuous_euler(angles: np.ndarray) -> np.ndarray:
    """Pick, frame by frame, the Tait-Bryan triple (a, b, c) or (a+180, 180-b, c+180), each wrapped by
    multiples of 360, closest to the previous frame, so Blender's F-curves do not jump by 360 degrees."""
    out = np.array(angles, dtype=np.float64)
    for t in range(1, len(out)):
        prev = out[t - 1]
        a, b, c = out[t]
        best = None
        for cand in (np.array([a, b, c]), np.array([a + 180.0, 180.0 - b, c + 180.0])):
            cand = cand + 360.0 * np.round((prev - cand) / 360.0)
            cost = np.abs(cand - prev).sum()
            if best is None or cost < best[0]:
                best = (cost, cand)
        out[t] = best[1]
    return out


def hierarchy_order() -> list[str]:
    """Bone names in the depth-first order of the HIERARCHY block, which is the MOTION column order."""
    order: list[str] = []

    def visit(name: str) -> None:
        order.append(name)
        for child, (parent, *_rest) in BONES.items():
            if parent == name:
                visit(child)

    visit(next(b for b, (p, *_r) in BONES.items() if p is None))
    return order


def _hierarchy_lines(bvh: BvhSolve) -> list[str]:
    rest, A = bvh.rest, Z_UP_TO_Y_UP
    head = {n: rest.heads[rest.index(n)] for n in BONES}
    has_child = {p for p, *_r in BONES.values() if p}
    rot = " ".join(f"{a}rotation" for a in EULER_ORDER)
    lines = ["HIERARCHY"]

    def emit(name: str, depth: int) -> None:
        pad = "  " * depth
        parent = BONES[name][0]
        # the root's OFFSET is zero and its channels hold its absolute position (the CMU files' convention;
        # readers that add the two and readers that do not then agree)
        offset = A @ (head[name] - head[parent]) if parent else np.zeros(3)
        lines.append(f"{pad}{'ROOT' if parent is None else 'JOINT'} {name}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {_fmt(offset)}")
        lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition {rot}" if parent is None
                     else f"{pad}  CHANNELS 3 {rot}")
        for child, (p, *_r) in BONES.items():
            if p == name:
                emit(child, depth + 1)
        if name not in has_child:
            tail = rest.tails[rest.index(name)]
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {_fmt(A @ (tail - head[name]))}",
                          f"{pad}  }}"])
        lines.append(f"{pad}}}")

    emit(hierarchy_order()[0], 0)
    return lines


def _fmt(v: np.ndarray) -> str:
    return " ".join(f"{x:.6f}" for x in v)


def export_bvh(motion: Motion, path: str | os.PathLike, track: int = 0, foot_lock: bool = False) -> Path:
    """Write track position `track` (0 = main subject) of `motion` to `path` atomically; return the path."""
    bvh = solve_motion(motion, track, foot_lock)
    eulers = local_eulers(bvh)
    channels = [bvh.root @ Z_UP_TO_Y_UP.T] + [eulers[name] for name in hierarchy_order()]
    data = np.concatenate(channels, axis=1)
    if not np.isfinite(data).all():
        raise PoseBakeError(f"track {track}: could not solve a finite pose for every frame")
    lines = _hierarchy_lines(bvh)
    lines += ["MOTION", f"Frames: {len(data)}", f"Frame Time: {1.0 / motion.fps:.8f}"]
    lines += [" ".join(f"{x:.6f}" for x in row) for row in data]
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="ascii")
    return target
