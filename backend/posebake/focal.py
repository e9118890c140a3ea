"""Focal length from the scene: the vanishing points of two orthogonal families of lines.

Why not from the person: the 1-D search the issue first asked for (the focal that makes the metric skeleton
re-project best onto the 2D landmarks) is flat for this network - its cost changes by less than 1 % between
0.8x and 1.25x the true focal (bench/results/scale_camera.md, section 4), because a body's depth extent is
small beside its distance. A floor of tiles, a court, bricks or a street gives what the body cannot: the
images of two perpendicular horizontal directions meet at vanishing points v1 and v2, and for a pinhole
camera with square pixels and principal point c, (v1 - c) . (v2 - c) = -f^2 (Caprile & Torre, "Using
vanishing points for camera calibration", IJCV 1990).

Steps per sampled frame: line segments (OpenCV's LSD), short ones dropped (far, blurred texture
bends their directions and biases the fit); RANSAC over segment pairs for up to three vanishing points,
each refined by robust least squares on the endpoints' distances to the line through the segment's
midpoint and the point; the focal and its standard deviation from each pair (the refinement's covariance
propagated). A frame gives a focal only when a pair is well conditioned (relative std <= MAX_REL_STD:
e.g. a camera looking straight along the tiles has one point at infinity and none); the clip gives one
only when at least two sampled frames give one and most of those agree. Otherwise `None`, and the caller
keeps the default field of view.
"""
from __future__ import annotations

import math
import os
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import least_squares

MIN_SEGMENT_FRAC = 0.04  # of the image diagonal
#: Longest side LSD sees. On the lab's four calibrated 1080p views the focal at half size is as close to the
#: calibration as at full size (errors -3.5/-4.2/-1.3/-0.6 % vs -3.8/-4.0/-0.7/-1.1 %, and cam01/cam02 give 3/5
#: usable frames instead of 2/2); a far checkered floor at 1280 px loses its fine lines when halved (walk_far:
#: -5 % -> -13 %), so frames up to 1280 px keep their size (bench/results/focal_size.md). Without truth, the
#: basketball clip's focal moves from 2002 to 2186 px.
LSD_MAX_SIDE = 1280
INLIER_PX = 1.0  # endpoint distance from the line through the midpoint and the vanishing point
RANSAC_ITERS = 500
MAX_REL_STD = 0.03
MIN_INLIERS = 8
FOV_RANGE_DEG = (10.0, 150.0)  # accepted horizontal field of view of the longer side
FRAME_AGREEMENT = 0.05  # frames whose focal lies within this fraction of the median count as agreeing
MIN_FRAMES = 2  # frames that must give a focal; a single frame never decides
SAMPLE_FRAMES = 5
#: Frames closer than this show the same background with the person barely moved: more cost, little new
#: evidence. Three frames instead of five gave the same focal on every clip with a known one (rendered clips
#: within 0.3 points, the lab's views -2.9/-4.7/-1.6/-0.7 % vs -3.5/-4.2/-1.3/-0.6 %), so a 40-frame clip
#: samples three (line detection is 30-40 ms a 1080p frame, bench/results/focal_size.md).
SAMPLE_GAP = 15
MIN_SAMPLES = 3
SAMPLE_SPAN = 300  # frames sampled from the first SAMPLE_SPAN of the clip (the camera may move later)


@dataclass
class VanishingPoint:
    direction: np.ndarray  # (3,) unit vector: homogeneous point in centred, scaled image coordinates
    cov: np.ndarray  # (2,2) covariance of its two sphere angles (theta, phi)
    inliers: np.ndarray  # segment indices


@dataclass
class FocalEstimate:
    """A clip's focal in pixels, or None with the reason; per-frame values for reports."""

    focal_px: float | None
    reason: str
    per_frame: list[float | None]


def line_segments(gray: np.ndarray) -> np.ndarray:
    """(N,4) segments x1,y1,x2,y2 in pixels, at least MIN_SEGMENT_FRAC of the diagonal long.

    Frames longer than LSD_MAX_SIDE are shrunk by an integer factor first (LSD's cost grows with the pixels:
    0.13 s a 1080p frame, 0.03 s at half size), and the segments scaled back."""
    factor = max(1, math.ceil(max(gray.shape[:2]) / LSD_MAX_SIDE))
    small = gray
    if factor > 1:
        h, w = (gray.shape[0] // factor, gray.shape[1] // factor)
        small = cv2.resize(gray[: h * factor, : w * factor], (w, h), interpolation=cv2.INTER_AREA)
    found = cv2.createLineSegmentDetector(cv2.LSD_REFINE_STD).detect(small)[0]
    if found is None:
        return np.zeros((0, 4))
    # pixel centres at integer coordinates: small pixel i is the mean of full pixels factor*i .. factor*i+factor-1
    segs = found.reshape(-1, 4).astype(np.float64) * factor + 0.5 * (factor - 1)
    length = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    return segs[length >= MIN_SEGMENT_FRAC * math.hypot(*gray.shape[:2])]


def _sphere(x: np.ndarray) -> np.ndarray:
    return np.array([math.sin(x[0]) * math.cos(x[1]), math.sin(x[0]) * math.sin(x[1]), math.cos(x[0])])


def _residuals(v: np.ndarray, mid: np.ndarray, dirs: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Signed distance of each segment's endpoints from the line joining its midpoint and v."""
    d = np.stack([v[0] - mid[:, 0] * v[2], v[1] - mid[:, 1] * v[2]], axis=1)
    n = np.maximum(np.linalg.norm(d, axis=1), 1e-12)
    return half * (d[:, 0] * dirs[:, 1] - d[:, 1] * dirs[:, 0]) / n


def _refine(v0: np.ndarray, mid: np.ndarray, dirs: np.ndarray, half: np.ndarray,
            scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Robust least squares for the vanishing point on the unit sphere; returns (v, cov of the angles)."""
    v0 = v0 / np.linalg.norm(v0) * (1.0 if v0[2] >= 0 else -1.0)
    x0 = np.array([math.acos(float(np.clip(v0[2], -1.0, 1.0))), math.atan2(v0[1], v0[0])])
    f_scale = INLIER_PX / scale
    fit = least_squares(lambda x: _residuals(_sphere(x), mid, dirs, half), x0, loss="soft_l1", f_scale=f_scale)
    r = fit.fun
    dof = max(len(r) - 2, 1)
    sigma2 = max(float(np.sum(r ** 2)) / dof, (0.1 / scale) ** 2)  # floor: LSD is not better than 0.1 px
    try:
        cov = sigma2 * np.linalg.inv(fit.jac.T @ fit.jac)
    except np.linalg.LinAlgError:
        cov = np.full((2, 2), np.inf)
    return _sphere(fit.x), cov


def vanishing_points(segs: np.ndarray, center: np.ndarray, scale: float, count: int = 3,
                     rng: np.random.Generator | None = None) -> list[VanishingPoint]:
    """Up to `count` vanishing points, strongest first, each from the segments the earlier ones left."""
    rng = rng or np.random.default_rng(0)
    p1, p2 = (segs[:, :2] - center) / scale, (segs[:, 2:] - center) / scale
    lines = np.cross(np.c_[p1, np.ones(len(segs))], np.c_[p2, np.ones(len(segs))])
    mid, dirs = 0.5 * (p1 + p2), p2 - p1
    length = np.linalg.norm(dirs, axis=1)
    dirs = dirs / np.maximum(length, 1e-12)[:, None]
    half = 0.5 * length
    tol = INLIER_PX / scale
    free = np.ones(len(segs), dtype=bool)
    found: list[VanishingPoint] = []
    for _ in range(count):
        idx = np.flatnonzero(free)
        if len(idx) < MIN_INLIERS:
            break
        pairs = rng.choice(idx, size=(RANSAC_ITERS, 2), p=length[idx] / length[idx].sum())
        hyp = np.cross(lines[pairs[:, 0]], lines[pairs[:, 1]])  # (H,3): every hypothesis scored at once
        usable = (pairs[:, 0] != pairs[:, 1]) & (np.linalg.norm(hyp, axis=1) >= 1e-12)
        if not usable.any():
            break
        hyp = hyp[usable]
        d = np.stack([hyp[:, None, 0] - mid[idx, 0] * hyp[:, None, 2],
                      hyp[:, None, 1] - mid[idx, 1] * hyp[:, None, 2]], axis=-1)  # (H,N,2), as in _residuals
        resid = half[idx] * (d[..., 0] * dirs[idx, 1] - d[..., 1] * dirs[idx, 0]) / np.maximum(
            np.linalg.norm(d, axis=-1), 1e-12)
        score = ((np.abs(resid) <= tol) * length[idx]).sum(axis=1)
        if score.max() <= 0:
            break
        best = hyp[int(np.argmax(score))]
        inl = idx[np.abs(_residuals(best, mid[idx], dirs[idx], half[idx])) <= tol]
        v, cov = _refine(best, mid[inl], dirs[inl], half[inl], scale)
        inl = idx[np.abs(_residuals(v, mid[idx], dirs[idx], half[idx])) <= tol]
        if len(inl) < MIN_INLIERS:
            break
        v, cov = _refine(v, mid[inl], dirs[inl], half[inl], scale)
        found.append(VanishingPoint(v, cov, inl))
        free[inl] = False
    return found


def focal_from_pair(a: VanishingPoint, b: VanishingPoint, scale: float) -> tuple[float, float] | None:
    """(focal px, its std) from two orthogonal directions' vanishing points, or None if they imply none."""
    def focal(va: np.ndarray, vb: np.ndarray) -> float:
        if abs(va[2]) < 1e-12 or abs(vb[2]) < 1e-12:
            return math.nan
        f2 = -float(va[:2] @ vb[:2]) / (va[2] * vb[2])
        return math.sqrt(f2) * scale if f2 > 0 else math.nan

    f = focal(a.direction, b.direction)
    if not math.isfinite(f):
        return None
    angles = [np.array([math.acos(float(np.clip(v.direction[2], -1, 1))), math.atan2(v.direction[1], v.direction[0])])
              for v in (a, b)]
    var = 0.0
    for k, vp in enumerate((a, b)):
        grad = np.zeros(2)
        for i in range(2):
            step = np.zeros(2)
            step[i] = 1e-6
            moved = [angles[0], angles[1]]
            moved[k] = angles[k] + step
            fi = focal(_sphere(moved[0]), _sphere(moved[1]))
            grad[i] = (fi - f) / 1e-6 if math.isfinite(fi) else math.inf
        var += float(grad @ vp.cov @ grad) if np.isfinite(grad).all() else math.inf
    return f, math.sqrt(var) if math.isfinite(var) and var >= 0 else math.inf


def frame_focal(gray: np.ndarray, rng: np.random.Generator | None = None,
                segments: np.ndarray | None = None) -> float | None:
    """The focal (px) one frame's strongest well-conditioned pair of vanishing points gives, or None.
    `segments`: the frame's `line_segments`, when already found."""
    h, w = gray.shape[:2]
    scale = float(max(w, h))
    segs = line_segments(gray) if segments is None else segments
    vps = vanishing_points(segs, np.array([w / 2.0, h / 2.0]), scale, rng=rng)
    lo, hi = (0.5 * scale / math.tan(math.radians(fov) / 2.0) for fov in FOV_RANGE_DEG[::-1])
    pairs = sorted(((i, j) for i in range(len(vps)) for j in range(i + 1, len(vps))),
                   key=lambda ij: -min(len(vps[ij[0]].inliers), len(vps[ij[1]].inliers)))
    for i, j in pairs:
        got = focal_from_pair(vps[i], vps[j], scale)
        if got is not None and lo <= got[0] <= hi and got[1] <= MAX_REL_STD * got[0]:
            return got[0]
    return None


def estimate_focal(frames: list[np.ndarray]) -> FocalEstimate:
    """One focal for a clip from a few grey or RGB frames of it, or None; every frame is searched.

    A frame without a well-conditioned pair (the person hides the lines, motion blur) says nothing about the
    focal, so it is not counted against the others; a frame that gives a different focal is. At least
    MIN_FRAMES frames must give one, and more than half of those must agree within FRAME_AGREEMENT."""
    grays = [_gray(frame) for frame in frames]
    # Line detection is most of the cost (30-40 ms a 1080p frame, bench/results/focal_size.md) and OpenCV lets
    # go of the GIL while it runs: one frame per core.
    with ThreadPoolExecutor(max_workers=max(1, min(len(grays), os.cpu_count() or 1))) as pool:
        found_segments = list(pool.map(line_segments, grays))
    return focal_from_frames([frame_focal(g, _frame_rng(k), segs)
                              for k, (g, segs) in enumerate(zip(grays, found_segments))])


def _frame_rng(k: int) -> np.random.Generator:
    """The k-th sampled frame's own random draws, so its focal does not depend on which frames were searched
    before it or on how the searches were scheduled."""
    return np.random.default_rng(k)


def _gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame


def _agreeing(found: np.ndarray) -> np.ndarray:
    return np.abs(found / float(np.median(found)) - 1.0) <= FRAME_AGREEMENT


def focal_from_frames(per_frame: list[float | None], skipped: int = 0) -> FocalEstimate:
    """The clip's focal from the searched frames' own (`frame_focal`; None: no usable pair); `skipped`:
    sampled frames left unsearched because the others had settled it (`FocalSampler`)."""
    found = np.array([f for f in per_frame if f is not None])
    if len(found) < MIN_FRAMES:
        return FocalEstimate(None, f"no well-conditioned pair of vanishing points in {len(per_frame) - len(found)} "
                                   f"of {len(per_frame)} frames", per_frame)
    agree = _agreeing(found)
    if agree.sum() * 2 <= len(found):
        return FocalEstimate(None, f"frames disagree (focal {found.min():.0f}-{found.max():.0f} px)", per_frame)
    unusable = len(per_frame) - len(found)
    return FocalEstimate(float(np.median(found[agree])), f"{int(agree.sum())} of {len(per_frame)} frames agree"
                         + (f", {unusable} without a usable pair" if unusable else "")
                         + (f", {skipped} more not needed" if skipped else ""), per_frame)


def sample_frames(start: int, end: int | None, frame_count: int | None, count: int | None = None) -> list[int]:
    """The frame indices, spread over the first SAMPLE_SPAN frames of [start, end), that the estimate looks
    at: `count`, or by default SAMPLE_FRAMES, fewer where they would come closer than SAMPLE_GAP frames
    (never fewer than MIN_SAMPLES, and fewer only when the clip is shorter)."""
    total = frame_count or SAMPLE_SPAN
    stop = min(end if end is not None else total, total, start + SAMPLE_SPAN)
    if count is None:
        count = min(SAMPLE_FRAMES, max(MIN_SAMPLES, 1 + (stop - 1 - start) // SAMPLE_GAP))
    return sorted(set(np.linspace(start, max(start, stop - 1), count).round().astype(int).tolist()))


class FocalSampler:
    """Collects the sampled frames while the estimator decodes the clip anyway, so the focal costs no second
    decode: `offer` every batch, in order; once it returns True (or the clip ended), call `estimate`.

    Frames are searched in order, and a frame is not searched once the frames before it settle the focal:
    more than half of all the sampled frames already agree, which no later frame can overturn. On a 40-frame
    clip whose first two of three frames agree that saves a third of the focal's cost (a line search and its
    vanishing points: ~90 ms of CPU a 1080p frame on the 2-core box, bench/results/estimate.md). With a
    one-worker `pool`, each sampled frame's search starts as soon as the frame is offered and runs beside
    the rest of the estimate; without one, `estimate` searches them."""

    def __init__(self, wanted: list[int], pool: Executor | None = None) -> None:
        self.wanted = set(wanted)
        self.last = max(wanted)
        self.pool = pool
        self.grays: list[np.ndarray] = []
        self.jobs: list[Future[bool]] = []
        self.per_frame: list[float | None] = []  # searched frames' focals, in order (written by the search)

    def offer(self, first: int, batch: np.ndarray) -> bool:
        """Keep the batch's wanted frames (absolute indices from `first`); True once the last one is kept."""
        for i in range(len(batch)):
            if first + i in self.wanted and not self._settled():
                self.grays.append(_gray(batch[i]))  # a new array: the batch's buffer may be reused
                if self.pool is not None:
                    self.jobs.append(self.pool.submit(self._search, len(self.grays) - 1))
        return first + len(batch) > self.last

    def _settled(self) -> bool:
        found = np.array([f for f in self.per_frame if f is not None])
        return len(found) >= MIN_FRAMES and int(_agreeing(found).sum()) * 2 > len(self.wanted)

    def _search(self, k: int) -> bool:
        """Search the k-th kept frame unless the frames before it (searched in order) settled the focal."""
        if self._settled():
            return False
        self.per_frame.append(frame_focal(self.grays[k], _frame_rng(k)))
        return True

    def estimate(self) -> FocalEstimate:
        if self.pool is None:
            for k in range(len(self.grays)):
                self._search(k)
        else:
            for job in self.jobs:
                job.result()
        return focal_from_frames(self.per_frame, skipped=len(self.wanted) - len(self.per_frame))


def estimate_focal_from_video(path: str | Path, start: int = 0, end: int | None = None,
                              count: int | None = None) -> FocalEstimate:
    """Sample `count` frames from the first SAMPLE_SPAN frames of [start, end) and estimate the focal."""
    from .decode import VideoDecoder

    decoder = VideoDecoder(path)
    sampler = FocalSampler(sample_frames(start, end, decoder.info.frame_count, count))
    for first, batch in decoder.batches(8, start, sampler.last + 1):
        if sampler.offer(first, batch):
            break
    return sampler.estimate()
