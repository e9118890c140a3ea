"""An .mp4 of the source video with every track's landmarks drawn, for checking results by eye."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .decode import VideoDecoder
from .videowrite import mp4_writer
from .draw import draw_pose
from posebake_core.motion import Motion


def write_preview(motion: Motion, output: Path, scale: float = 0.5) -> Path:
    decoder = VideoDecoder(motion.source_video)
    w, h = (int(motion.image_size[0] * scale) // 2 * 2, int(motion.image_size[1] * scale) // 2 * 2)
    with mp4_writer(output, motion.fps, (w, h)) as writer:
        end = motion.frame_start + motion.num_frames
        for first, frames in decoder.batches(8, motion.frame_start, end):
            for k, rgb in enumerate(frames):
                t = first - motion.frame_start + k
                bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
                for p in range(motion.num_tracks):
                    if np.isfinite(motion.joints_2d[p, t]).all():
                        bgr = draw_pose(bgr, motion.joints_2d[p, t], motion.visibility[p, t], p,
                                        f"id {motion.track_ids[p]}")
                writer.write(cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA))
    return output
