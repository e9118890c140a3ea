"""Camera rotation from background optical flow, so panning shots still give root motion.

A camera that pans to follow a runner keeps her centred: in camera space her root barely moves, although
she covers metres. For a rotating camera (pan, tilt, roll about the lens; hand-held drift) every static
background point obeys ray_prev = R · ray_cur with one rotation R per frame pair, whatever its depth. We
track corners with pyramidal Lucas-Kanade on a downscaled grey frame, mask out the tracked people (they
move on their own), fit R to the rays with RANSAC + Kabsch, and chain the rotations to the first frame.

Camera translation (dolly, crane) is not modelled: it cannot be told from subject motion without a
scene scale, and a rotation-only model is what keeps static shots exactly static (sub-pixel flow is
treated as no motion, so a tripod shot does not accumulate drift).
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

WORK_WIDTH = 640
MIN_POINTS = 25
#: Corners are detected anew when fewer than REDETECT_BELOW survive, or, in a scene whose last detection
#: found few, fewer than REDETECT_SHARE of them: with the count alone a scene of ~150 corners was re-detected
#: on every frame, 1.8 ms a frame for the same corners (the lab's tripod view); a share alone (37.5 %) let
#: the rendered pan run on too few (0.44 -> 0.69 deg error; bench/results/camera_motion.md).
REDETECT_BELOW = 150
REDETECT_SHARE = 0.75
STATIC_FLOW_PX = 0.25  # median background flow (work-resolution pixels) below which the camera is still
MAX_CORNERS = 400
#: Lucas-Kanade window (work-resolution pixels) and pyramid levels: a 15 px window tracks as well as 21 px on
#: the rendered pan (0.44 deg mean error both) at a quarter less cost (bench/results/camera_motion.md); three
#: levels follow pans of ~60 px a frame at 640 px wide.
LK_WINDOW = 15
LK_LEVELS = 3
RANSAC_ITERATIONS = 64
#: One frame pair's tracking: matched corners (p0, p1) in work-resolution pixels, or a point count when there
#: is no rotation to fit (camera still, or too few corners).
Tracked = tuple[np.ndarray, np.ndarray] | int


def kabsch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation R minimising sum |a_i - R b_i|² for unit rays a, b (N,3) (scipy's Kabsch)."""
    return Rotation.align_vectors(a, b)[0].as_matrix()


def _kabsch_batch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`kabsch` for many small ray sets at once: a, b (H,k,3) -> (H,3,3). Hand-written because scipy's
    `align_vectors` takes one set per call, and RANSAC scores all its hypotheses in one vectorised pass."""
    u, _, vt = np.linalg.svd(np.einsum("hki,hkj->hij", b, a))
    d = np.sign(np.linalg.det(np.einsum("hji,hkj->hik", vt, u)))
    fix = np.ones((len(a), 3))
    fix[:, 2] = d
    return np.einsum("hji,hj,hkj->hik", vt, fix, u)


def fit_rotation(a: np.ndarray, b: np.ndarray, threshold: float, iterations: int = 64,
                 rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """RANSAC over 2-ray samples (all hypotheses scored at once); returns (R, inlier mask).
    `threshold` is an angle in radians."""
    rng = rng or np.random.default_rng(0)
    first = rng.integers(0, len(a), iterations)
    idx = np.stack([first, (first + rng.integers(1, len(a), iterations)) % len(a)], axis=1)  # distinct pairs
    Rs = _kabsch_batch(a[idx], b[idx])  # (H,3,3)
    # |a - R b|^2 = |a|^2 + |b|^2 - 2 a.(R b): one (H,N) dot product instead of an (H,N,3) residual array and
    # its norm (5x faster at 400 rays, bench/results/camera_motion.md)
    dots = np.einsum("ni,hni->hn", a, b @ Rs.transpose(0, 2, 1))
    sq = (a * a).sum(1) + (b * b).sum(1) - 2.0 * dots
    inliers = sq < threshold ** 2
    best = inliers[np.argmax(inliers.sum(1))]
    if best.sum() < 3:
        return np.eye(3), best
    return kabsch(a[best], b[best]), best


class CameraRotationTracker:
    """Feed frames in order with the people's boxes; `rotations` holds world<-camera per frame."""

    def __init__(self, K: np.ndarray | None, width: int, height: int) -> None:
        """`K` may be None while the focal is still being estimated (from frames this same decode passes):
        the tracked point pairs are then kept, and turned into rotations by `set_K`."""
        # An integer shrink factor: OpenCV's area resampling has a fast path for exact integer ratios, and
        # cropping the last few rows/columns to a multiple of it moves no pixel coordinate.
        self.factor = max(1, round(max(width, height) / WORK_WIDTH))
        self.scale = 1.0 / self.factor
        self.size = (width // self.factor, height // self.factor)
        self.crop = (self.size[1] * self.factor, self.size[0] * self.factor)
        self.K_inv: np.ndarray | None = None
        self.focal = 0.0
        self.pending: list[Tracked] = []  # frame pairs tracked before K was known
        self.prev: np.ndarray | None = None
        self.prev_mask: np.ndarray | None = None
        self.rotations: list[np.ndarray] = []
        self.inlier_counts: list[int] = []
        self.points: np.ndarray | None = None  # corners in the previous frame, tracked forward
        self.detected = 0  # corners the last detection found
        if K is not None:
            self.set_K(K)

    def set_K(self, K: np.ndarray) -> None:
        """Fix the intrinsics; point pairs tracked before are turned into rotations now, in order."""
        Ks = np.asarray(K, dtype=np.float64).copy()
        Ks[:2] *= self.scale
        self.K_inv = np.linalg.inv(Ks)
        self.focal = float(Ks[0, 0])
        pending, self.pending = self.pending, []
        for pair in pending:
            self.rotations.append(self.rotations[-1] @ self._rotation(pair))

    def _mask(self, boxes: list[np.ndarray]) -> np.ndarray:
        mask = np.full(self.size[::-1], 255, np.uint8)
        for x0, y0, x1, y1 in boxes:
            mx, my = 0.15 * (x1 - x0), 0.15 * (y1 - y0)  # hair, clothes and shadows beyond the landmarks
            cv2.rectangle(mask, (int((x0 - mx) * self.scale), int((y0 - my) * self.scale)),
                          (int((x1 + mx) * self.scale), int((y1 + my) * self.scale)), 0, -1)
        return mask

    def _rays(self, pts: np.ndarray) -> np.ndarray:
        h = np.concatenate([pts, np.ones((len(pts), 1))], axis=1) @ self.K_inv.T
        return h / np.linalg.norm(h, axis=1, keepdims=True)

    def update(self, frame_rgb: np.ndarray, boxes: list[np.ndarray]) -> None:
        # Grey first, then shrink: a third of the pixels to resample.
        gray = cv2.cvtColor(frame_rgb[: self.crop[0], : self.crop[1]], cv2.COLOR_RGB2GRAY)
        if self.factor > 1:
            gray = cv2.resize(gray, self.size, interpolation=cv2.INTER_AREA)
        mask = self._mask(boxes)
        if self.prev is None:
            self.rotations.append(np.eye(3))
            self.inlier_counts.append(0)
        else:
            pair = self._track(self.prev, gray, self.prev_mask, mask)
            if self.K_inv is None:
                self.pending.append(pair)
            else:
                self.rotations.append(self.rotations[-1] @ self._rotation(pair))
        self.prev, self.prev_mask = gray, mask

    def _rotation(self, pair: Tracked) -> np.ndarray:
        """Rotation taking the current camera's rays into the previous camera's axes (identity: no motion)."""
        if isinstance(pair, int):
            self.inlier_counts.append(pair)
            return np.eye(3)
        p0, p1 = pair
        R, inliers = fit_rotation(self._rays(p0), self._rays(p1), threshold=1.5 / self.focal,
                                  iterations=RANSAC_ITERATIONS)
        self.inlier_counts.append(int(inliers.sum()))
        return R if inliers.sum() >= MIN_POINTS else np.eye(3)

    def _track(self, prev: np.ndarray, cur: np.ndarray, prev_mask: np.ndarray,
               mask: np.ndarray) -> Tracked:
        """Background corners tracked from `prev` to `cur` (work-resolution pixels), or, when the camera did
        not move or too few could be tracked, the number of points that says so."""
        # Corners are carried forward from frame to frame and only detected anew when too few survive:
        # detection costs more than tracking.
        p0 = self.points
        if p0 is None or len(p0) < max(MIN_POINTS, min(REDETECT_BELOW, REDETECT_SHARE * self.detected)):
            p0 = cv2.goodFeaturesToTrack(prev, maxCorners=MAX_CORNERS, qualityLevel=0.01, minDistance=8, mask=prev_mask)
            self.detected = 0 if p0 is None else len(p0)
        self.points = None
        if p0 is None or len(p0) < MIN_POINTS:
            return 0
        p1, status, _ = cv2.calcOpticalFlowPyrLK(prev, cur, p0, None, winSize=(LK_WINDOW, LK_WINDOW),
                                                 maxLevel=LK_LEVELS)
        p0, p1 = p0.reshape(-1, 2), p1.reshape(-1, 2)
        ok = status.reshape(-1).astype(bool)
        inside = (p1[:, 0] >= 0) & (p1[:, 1] >= 0) & (p1[:, 0] < self.size[0]) & (p1[:, 1] < self.size[1])
        ok &= inside
        ok[ok] &= mask[p1[ok, 1].astype(int), p1[ok, 0].astype(int)] > 0
        if ok.sum() < MIN_POINTS:
            return 0
        p0, p1 = p0[ok], p1[ok]
        self.points = p1.reshape(-1, 1, 2).astype(np.float32)
        if np.median(np.linalg.norm(p1 - p0, axis=1)) < STATIC_FLOW_PX:
            return int(ok.sum())
        return p0, p1
