"""The baked character over the video: composite the headless render's RGBA frames onto the footage.

`posebake bake --preview OUT.mp4` has the add-on's bpy driver render the character through the matched
camera with a transparent film (`posebake_blender.blender.preview`); this lays each render over its video
frame (decoded in order, never by seeking), with the track's 2D landmarks as small dots so a misfit shows
at a glance and each ankle ringed in red while the foot lock holds that foot ("show contacts"), and writes
the .mp4 atomically.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from posebake_core.errors import PoseBakeError
from posebake_core.motion import Motion

from .decode import VideoDecoder
from .videowrite import mp4_writer

#: how opaque the character is drawn: enough to read its shape, light enough to see the person under it
CHARACTER_OPACITY = 0.65
#: landmarks drawn as dots (shoulders to wrists, hips to ankles: the joints the rig check measures)
DOT_LANDMARKS = (11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
#: the ankle landmark ringed while the bake holds that foot planted ("show contacts")
CONTACT_LANDMARK = {"L": 27, "R": 28}


def composite(video_bgr: np.ndarray, render_rgba: np.ndarray, opacity: float = CHARACTER_OPACITY) -> np.ndarray:
    """`render_rgba` (BGRA, as OpenCV reads a PNG) over `video_bgr` resized to the render's size."""
    h, w = render_rgba.shape[:2]
    base = cv2.resize(video_bgr, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    a = render_rgba[..., 3:4].astype(np.float32) / 255.0 * opacity
    return (base * (1.0 - a) + render_rgba[..., :3].astype(np.float32) * a).astype(np.uint8)


def write_overlay(motion: Motion, track: int, frames: list[tuple[int, str]], output: Path,
                  contacts: dict[str, list[bool]] | None = None) -> Path:
    """`frames`: (video frame index, RGBA PNG) in increasing order, one per baked frame; `contacts`: per foot
    ("L"/"R") and baked frame, whether the foot lock held it (ringed in red on the ankle)."""
    if not frames:
        raise PoseBakeError("the preview has no rendered frame")
    video = Path(motion.source_video)
    if not video.is_file():
        raise PoseBakeError(f"the preview needs the source video, which is gone: {video}")
    first = cv2.imread(frames[0][1], cv2.IMREAD_UNCHANGED)
    if first is None or first.ndim != 3 or first.shape[2] != 4:
        raise PoseBakeError(f"the preview render {frames[0][1]} is not an RGBA image")
    h, w = first.shape[:2]
    by_index = dict(frames)
    baked = {index: k for k, (index, _png) in enumerate(frames)}
    scale = h / float(motion.image_size[1])
    lo, hi = frames[0][0], frames[-1][0] + 1
    with mp4_writer(output, motion.fps, (w, h)) as writer:
        for start, batch in VideoDecoder(video).batches(8, lo, hi):
            for k, rgb in enumerate(batch):
                index = start + k
                if index not in by_index:
                    continue
                render = cv2.imread(by_index[index], cv2.IMREAD_UNCHANGED)
                out = composite(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), render)
                t = index - motion.frame_start
                if 0 <= t < motion.num_frames:
                    for j in DOT_LANDMARKS:
                        u, v = motion.joints_2d[track, t, j] * scale
                        if np.isfinite(u) and np.isfinite(v):
                            cv2.circle(out, (int(u), int(v)), max(2, h // 180), (60, 220, 60), -1)
                    for side, held in (contacts or {}).items():
                        u, v = motion.joints_2d[track, t, CONTACT_LANDMARK[side]] * scale
                        if baked[index] < len(held) and held[baked[index]] and np.isfinite(u) and np.isfinite(v):
                            cv2.circle(out, (int(u), int(v)), max(6, h // 60), (40, 40, 230), max(2, h // 270))
                writer.write(out)
    return output
