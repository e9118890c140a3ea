"""Multi-person tracking between detections (top-down, as in RMPE/BlazePose tracking).

Each track carries the region of interest (ROI) for its next frame, derived from its own landmarks. The
detector is consulted only at the start, periodically and after a loss; its detections are matched to live
tracks with the Hungarian algorithm on ROI-centre distance, and a detection that matches no track starts a
new one unless it duplicates a tracked person (pose NMS). Everything here is small numpy on the host:
a handful of people per frame.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass
class Track:
    track_id: int
    roi: np.ndarray  # (5,) ROI for the next frame: cx, cy, w, h, angle (pixels, radians)
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(5))  # ROI change per frame
    frames: list[int] = field(default_factory=list)
    image: list[np.ndarray] = field(default_factory=list)  # (39,2) per frame
    world: list[np.ndarray] = field(default_factory=list)  # (39,3)
    visibility: list[np.ndarray] = field(default_factory=list)  # (39,)
    # hand stage (hands.py), per frame when it ran: {frame: (image (2,21,2), world (2,21,3), presence (2,),
    # right score (2,))}, sides [left, right]
    hands: dict[int, tuple[np.ndarray, ...]] = field(default_factory=dict)
    alive: bool = True

    def predict(self, steps: int) -> np.ndarray:
        """ROIs for the next `steps` frames by constant velocity (size and angle change slowly)."""
        out = self.roi[None, :] + np.arange(steps)[:, None] * self.velocity[None, :]
        out[:, 2:4] = np.maximum(out[:, 2:4], 16.0)
        return out

    def append(self, frame: int, image: np.ndarray, world: np.ndarray, visibility: np.ndarray) -> None:
        self.frames.append(frame)
        self.image.append(image)
        self.world.append(world)
        self.visibility.append(visibility)

    def update_roi(self, new_roi: np.ndarray, frame_gap: int = 1) -> None:
        delta = new_roi - self.roi
        delta[4] = (delta[4] + np.pi) % (2 * np.pi) - np.pi
        # Smooth the velocity: one noisy ROI must not throw the prediction for a whole batch.
        self.velocity = 0.5 * self.velocity + 0.5 * delta / max(frame_gap, 1)
        self.roi = new_roi


def roi_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise centre distance between ROI sets (A,5) and (B,5), in units of the smaller ROI size."""
    d = np.linalg.norm(a[:, None, :2] - b[None, :, :2], axis=-1)
    size = np.minimum(a[:, None, 2], b[None, :, 2])
    return d / np.maximum(size, 1.0)


def match(track_rois: np.ndarray, det_rois: np.ndarray, max_distance: float = 0.5) -> tuple[list[tuple[int, int]],
                                                                                         list[int], list[int]]:
    """Hungarian assignment of detections to tracks. Returns (pairs, unmatched tracks, unmatched dets)."""
    if len(track_rois) == 0 or len(det_rois) == 0:
        return [], list(range(len(track_rois))), list(range(len(det_rois)))
    cost = roi_distance(track_rois, det_rois)
    rows, cols = linear_sum_assignment(cost)
    pairs = [(int(r), int(c)) for r, c in zip(rows, cols) if cost[r, c] <= max_distance]
    mt = {r for r, _ in pairs}
    md = {c for _, c in pairs}
    return pairs, [i for i in range(len(track_rois)) if i not in mt], [j for j in range(len(det_rois)) if j not in md]


def pose_similarity(a: np.ndarray, b: np.ndarray, scale: float) -> float:
    """Fraction of body landmarks (J,2) of two poses closer than 10 % of `scale` — the RMPE idea that two
    detections whose poses coincide are the same person, even when their boxes differ."""
    d = np.linalg.norm(a[:33] - b[:33], axis=-1)
    return float(np.mean(d < 0.1 * scale))


def suppress_duplicates(tracks: list[Track], threshold: float = 0.5) -> list[Track]:
    """Drop the younger of any two live tracks whose latest poses coincide (pose NMS)."""
    live = [t for t in tracks if t.alive and t.image]
    for i, a in enumerate(live):
        for b in live[i + 1:]:
            if not (a.alive and b.alive) or a.frames[-1] != b.frames[-1]:
                continue
            if pose_similarity(a.image[-1], b.image[-1], min(a.roi[2], b.roi[2])) >= threshold:
                younger = a if len(a.frames) < len(b.frames) else b
                younger.alive = False
    return tracks
