"""Draw landmarks on frames, for previews and for people checking results by eye."""
from __future__ import annotations

import cv2
import numpy as np

from posebake_core.skeleton import BONE_INDICES

_COLORS = [(0, 255, 0), (255, 128, 0), (0, 128, 255), (255, 0, 255), (0, 255, 255)]


def draw_pose(frame_bgr: np.ndarray, points: np.ndarray, visibility: np.ndarray | None = None,
              color_index: int = 0, label: str | None = None) -> np.ndarray:
    """Draw the 33 body landmarks (J,2) and their bones onto a copy of `frame_bgr`."""
    out = frame_bgr.copy()
    color = _COLORS[color_index % len(_COLORS)]
    radius = max(2, int(round(max(out.shape[:2]) / 300)))
    ok = np.isfinite(points).all(-1)
    if visibility is not None:
        ok &= visibility > 0.3
    for a, b in BONE_INDICES:
        if ok[a] and ok[b]:
            cv2.line(out, tuple(int(v) for v in points[a]), tuple(int(v) for v in points[b]), color, radius // 2 + 1)
    for j in np.flatnonzero(ok[:33]):
        cv2.circle(out, tuple(int(v) for v in points[j]), radius, color, -1)
    if label and ok.any():
        top = points[ok].min(0)
        cv2.putText(out, label, (int(top[0]), max(20, int(top[1]) - 10)), cv2.FONT_HERSHEY_SIMPLEX,
                    radius / 3, color, max(1, radius // 2))
    return out
