"""Tracks -> Motion: the root solve of every kept track and the Motion the estimate writes (estimate.py)."""
from __future__ import annotations

import numpy as np

from posebake_core.errors import PoseBakeError
from posebake_core.motion import Motion
from .bonedepth import refine_root_depth
from .decode import VideoInfo
from .hands import assemble_hands
from .rootsolve import consistent_scale, solve_root_translation
from .scale import height_scale
from .sides import untangle_sides
from .track import Track


def assemble_motion(tracks: list[Track], n_frames: int, info: VideoInfo, K: np.ndarray, K_source: str, *,
                    start: int, min_track_frames: int, subject_height: float | None, bone_depth: bool,
                    hands: bool) -> Motion:
    """The tracks of a run (its first frame `start`) as a Motion: each track's left/right swaps undone
    (sides.py), its world landmarks made root-relative and consistent in scale (rescaled to `subject_height`
    when given), placed in the camera by the root solve (rootsolve.py, then, with `bone_depth`, the
    bone-length depth of bonedepth.py); tracks shorter than `min_track_frames` or never placed dropped;
    `hands`: the tracks' finger landmarks too."""
    # a still photo (or a clip shorter than the minimum) keeps whoever was seen in every frame of it
    kept = [t for t in tracks if len(t.frames) >= min(min_track_frames, n_frames)]
    if not kept:
        raise PoseBakeError(f"no person found in {info.path} (frames {start}–{start + n_frames - 1}); "
                            "nothing was written")
    P, J = len(kept), 33
    joints = np.full((P, n_frames, J, 3), np.nan, np.float32)
    j2d = np.full((P, n_frames, J, 2), np.nan, np.float32)
    vis = np.zeros((P, n_frames, J), np.float32)
    for p, t in enumerate(kept):
        f = np.asarray(t.frames)
        u, X, w, swapped = untangle_sides(f, np.stack(t.image)[:, :J].astype(np.float64),
                                          np.stack(t.world)[:, :J].astype(np.float64),
                                          np.stack(t.visibility)[:, :J].astype(np.float64))
        swap_hand_sides(t, f[swapped["body"]])
        X -= 0.5 * (X[:, 23:24] + X[:, 24:25])  # root-relative to the mid-hip
        X = consistent_scale(X)
        if subject_height is not None:
            X *= height_scale(X, subject_height)
        size = (info.width, info.height)
        t_root = solve_root_translation(X, u, w, K, size)
        if bone_depth:
            t_root = refine_root_depth(X, u, w, K, size, t_root)
        joints[p, f] = X + t_root[:, None]
        j2d[p, f] = u
        vis[p, f] = w
    solved = np.isfinite(joints).all(axis=-1).any(axis=(1, 2))  # a track the root solve could place
    if not solved.any():
        raise PoseBakeError(f"no person could be placed in 3D in {info.path} (the root solve gave no finite "
                            f"joint for any of {P} track(s)); check --focal/--fov (f = {K[0, 0]:.4g} px from "
                            f"{K_source}); nothing was written")
    if not solved.all():
        kept = [t for t, ok in zip(kept, solved) if ok]
        joints, j2d, vis, P = joints[solved], j2d[solved], vis[solved], int(solved.sum())
    if hands:
        hands_cam, hands_2d, hands_conf = assemble_hands(kept, n_frames, joints)
    else:
        hands_cam = hands_2d = hands_conf = None
    motion = Motion(joints_cam=joints, joints_2d=j2d, visibility=vis, fps=info.fps, K=K,
                    hands_cam=hands_cam, hands_2d=hands_2d, hands_conf=hands_conf,
                    image_size=(info.width, info.height), K_source=K_source,
                    track_ids=np.array([t.track_id for t in kept]), frame_start=start,
                    subject_height=np.full(P, np.nan if subject_height is None else subject_height),
                    source_video=str(info.path))
    return motion.order_tracks()


def swap_hand_sides(track: Track, frames: np.ndarray) -> None:
    """Exchange the two hand slots (left, right) of `track`'s hand stage on `frames`, where the side stage
    mirrored the body back: each slot was read around the wrist the body then called its own, so it holds the
    other hand (and the hand model's handedness says so), and now belongs to the other side."""
    for f in frames.tolist():
        if f in track.hands:
            track.hands[f] = tuple(np.asarray(a)[::-1].copy() for a in track.hands[f])
