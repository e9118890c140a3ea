"""Motion file + user options -> the canonical pose the bake takes (pure numpy, shared by UI and CLI).

The panel, the headless `posebake bake` driver and the service round trip all go through
`motion_to_canonical`, so an option (track, frame range, smoothing, root motion) means exactly the same
thing everywhere. Every refusal is a `PrepareError` with a message for the user, raised before anything
in the scene is touched.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import PoseBakeError
from ..motion import Motion
from ..timeseries import fill_gaps, gaussian_smooth
from .canonical import CanonicalPose
from .world import WorldFrameError, canonical_from_camera

MIN_FRAMES = 2


class PrepareError(PoseBakeError, ValueError):
    """The options do not fit this motion (no such track, empty frame range, nobody in range)."""


@dataclass
class BakeOptions:
    """What the user chose. `frame_start`/`frame_end` are *video* frame indices (end exclusive); None
    means the whole motion. `smoothing` is a Gaussian sigma in frames added on top of the backend's.
    `contact_height` (leg lengths) re-detects the planted feet with that height threshold instead of
    taking the Motion's own contacts; None keeps them (`contacts.CONTACT_HEIGHT` found them)."""

    track: int = 0
    smoothing: float = 0.0
    root_motion: bool = True
    foot_lock: bool = True
    scale_to_rig: bool = True
    frame_start: int | None = None
    frame_end: int | None = None
    contact_height: float | None = None
    fingers: bool = True  # bake the fingers from the Motion's hands, where it has them and the rig finger bones

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def frame_slice(mf: Motion, opts: BakeOptions) -> slice:
    """Motion-frame slice for the requested video frame range (clipped to what the file holds)."""
    first, last = mf.frame_start, mf.frame_start + mf.num_frames
    a = first if opts.frame_start is None else max(first, int(opts.frame_start))
    b = last if opts.frame_end is None else min(last, int(opts.frame_end))
    if b - a < MIN_FRAMES:
        raise PrepareError(f"frame range {opts.frame_start}..{opts.frame_end} leaves {max(0, b - a)} frame(s) of "
                           f"{mf.path} (it holds video frames {first}..{last - 1}); need at least {MIN_FRAMES}")
    return slice(a - first, b - first)


def prepared_joints(mf: Motion, opts: BakeOptions) -> np.ndarray:
    """(T,33,3) pan-compensated camera-space joints of the chosen track, range and smoothing: exactly what
    `motion_to_canonical` maps to the world, so the camera module can recover the same mapping."""
    if not 0 <= opts.track < mf.num_tracks:
        raise PrepareError(f"person {opts.track} does not exist in {mf.path}: it has {mf.num_tracks} track(s) "
                           f"(0..{mf.num_tracks - 1})")
    if opts.smoothing < 0:
        raise PrepareError(f"smoothing must be >= 0 frames, got {opts.smoothing}")
    joints = _smoothed(mf.track_world(opts.track)[frame_slice(mf, opts)], opts)
    present = int(np.isfinite(joints).all(-1).any(-1).sum())
    if present < MIN_FRAMES:
        raise PrepareError(f"person {opts.track} appears in {present} frame(s) of the chosen range; "
                           f"pick another person or a wider frame range")
    return joints


def prepared_skeleton(mf: Motion, opts: BakeOptions) -> np.ndarray | None:
    """(T,S,3) the track's joint centres (Motion `skeleton_cam`) with the same pan removal, range and
    smoothing as `prepared_joints`; None when the Motion has none (no lifter ran, a version-1 file)."""
    if mf.skeleton_cam is None:
        return None
    world = np.einsum("tij,tkj->tki", mf.camera_rotation, mf.skeleton_cam[opts.track])
    return _smoothed(world[frame_slice(mf, opts)], opts)


def prepared_hands(mf: Motion, opts: BakeOptions) -> tuple[np.ndarray | None, np.ndarray | None]:
    """((T,2,21,3) hands with the same pan removal and range as `prepared_joints`, (T,2) their confidence),
    or (None, None) when the Motion has no hands or the options leave the fingers out. Not smoothed: quick finger motion is the point."""
    if mf.hands_cam is None or not opts.fingers:
        return None, None
    sl = frame_slice(mf, opts)
    world = np.einsum("tij,tskj->tski", mf.camera_rotation, mf.hands_cam[opts.track].astype(np.float64))
    return world[sl], mf.hands_conf[opts.track][sl].astype(np.float64)


def _smoothed(joints: np.ndarray, opts: BakeOptions) -> np.ndarray:
    """float64 copy, Gaussian-smoothed over present frames when `opts.smoothing` asks (NaN stays NaN)."""
    joints = np.asarray(joints, dtype=np.float64)
    if opts.smoothing > 0:
        present = np.isfinite(joints).all(-1).any(-1)
        filled = gaussian_smooth(fill_gaps(joints), opts.smoothing)
        joints = np.where(present[:, None, None], filled, np.nan)
    return joints


def motion_to_canonical(mf: Motion, opts: BakeOptions) -> CanonicalPose:
    """One track of `mf` in the floor-aligned world frame (camera pan removed), options applied; its joint
    centres drive the pose where the Motion has them (`canonical.from_centres`)."""
    joints = prepared_joints(mf, opts)
    try:
        canon = canonical_from_camera(joints, mf.fps, prepared_skeleton(mf, opts), mf.skeleton_names,
                                      *prepared_hands(mf, opts))
    except WorldFrameError as exc:
        raise PrepareError(f"{mf.path}: {exc}") from None
    if not opts.root_motion:
        canon = in_place(canon)
    return canon


def in_place(canon: CanonicalPose) -> CanonicalPose:
    """Remove horizontal travel (the mid-hip's XY drift from frame 0); jumps and crouches stay."""
    hips = canon.joints["hips"]
    drift = hips - hips[:1]
    drift[:, 2] = 0.0
    return CanonicalPose({k: v - drift for k, v in canon.joints.items()}, canon.fps,
                         {k: list(v) for k, v in canon.chains.items()}, dict(canon.weights))


def unscaled_root(root_location: np.ndarray, src_hips_arm: np.ndarray, scale: float,
                  rest_matrix: np.ndarray, up_arm: np.ndarray) -> np.ndarray:
    """Root bone locations whose *horizontal* travel is the video's metres rather than rig-scaled.

    The solve scales root travel by rig/source leg length, which keeps a child-sized rig's strides in
    proportion. With "scale to rig" off the user wants the distance actually covered; the vertical part
    stays scaled so the feet still meet the floor. `src_hips_arm` (T,3) is the unscaled source mid-hip in
    armature space, `up_arm` the world up axis in armature space, `rest_matrix` the root bone's rest
    orientation (locations are stored in the bone's own frame)."""
    d = src_hips_arm - src_hips_arm[:1]
    d = d - np.outer(d @ up_arm, up_arm)
    extra = (1.0 - scale) * d
    return root_location + extra @ rest_matrix
