"""Stream video frames in batches, upright and RGB, without ever holding the whole video in memory.

OpenCV's FFmpeg backend (opencv-python-headless wheels ship FFmpeg with H.264 and VP9 decoders) is enough:
it reports the rotation metadata (`CAP_PROP_ORIENTATION_META`), so PyAV is not needed. We switch OpenCV's
own auto-rotation off and rotate ourselves, so the behaviour does not depend on the OpenCV build's default
and the rotation we report is the one we applied.

A container's frame count is a header value and can lie (truncated downloads, broken muxers). The decoder
counts the frames it really decodes; `VideoDecoder.decoded_count` holds that number once a pass ends, a
warning is emitted when the stream ends early, and `count_frames` gives the true count up front at the
cost of one decoding pass.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from posebake_core.errors import PoseBakeError

# rotation in degrees clockwise (as FFmpeg reports it) -> cv2.rotate code that makes the frame upright
_ROTATE_CODES = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


@dataclass(frozen=True)
class VideoInfo:
    """What a video says about itself, probed before decoding.

    `width`/`height` are the upright size (after `rotation` is applied), i.e. the size of the frames the
    decoder yields; `frame_count` is the container's claim, see `VideoDecoder.decoded_count` for the truth.
    """

    path: Path
    width: int
    height: int
    fps: float
    frame_count: int
    rotation: int  # degrees clockwise needed to display upright: 0, 90, 180 or 270
    fourcc: str  # codec tag, e.g. "h264", "VP90"


def _fourcc_str(value: float) -> str:
    code = int(value) & 0xFFFFFFFF
    text = code.to_bytes(4, "little").decode("ascii", errors="replace")
    return text.strip("\x00 ") or "?"


def _check_path(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise PoseBakeError(f"video not found: {p}")
    if p.is_dir():
        raise PoseBakeError(f"expected a video file, got a directory: {p}")
    if p.stat().st_size == 0:
        raise PoseBakeError(f"video file is empty (0 bytes): {p}")
    return p


def _open(p: Path) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise PoseBakeError(f"cannot open {p} as a video: not a video file, truncated, or an unsupported "
                            "container or codec")
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
    return cap


def probe(path: str | Path) -> VideoInfo:
    """Open `path`, read its header and decode its first frame; raise `PoseBakeError` if any step fails.

    Decoding one frame is what tells a playable file from one whose header parses but whose codec cannot be
    decoded or whose data is missing; a header alone would let those fail later, mid-pipeline.
    """
    p = _check_path(path)
    cap = _open(p)
    try:
        w = int(round(cap.get(cv2.CAP_PROP_FRAME_WIDTH)))
        h = int(round(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        count = int(round(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        fourcc = _fourcc_str(cap.get(cv2.CAP_PROP_FOURCC))
        rotation = int(round(cap.get(cv2.CAP_PROP_ORIENTATION_META))) % 360
        ok, frame = cap.read()
    finally:
        cap.release()
    if w <= 0 or h <= 0:
        raise PoseBakeError(f"{p} has no video stream")
    if not ok or frame is None:
        raise PoseBakeError(f"no frame of {p} could be decoded (codec {fourcc!r} unsupported, or the file is "
                            "truncated or has zero frames)")
    if rotation not in _ROTATE_CODES:
        rotation = 0  # odd angles (e.g. 45) are not something phones write; decode as stored
    if rotation in (90, 270):
        w, h = h, w
    if not np.isfinite(fps) or fps <= 0:
        raise PoseBakeError(f"{p} reports no usable frame rate ({fps})")
    return VideoInfo(path=p, width=w, height=h, fps=fps, frame_count=max(count, 0), rotation=rotation,
                     fourcc=fourcc)


class VideoDecoder:
    """Batched, upright RGB frames of one video. Every call to `batches` is a fresh sequential pass."""

    def __init__(self, path: str | Path) -> None:
        self.info = probe(path)
        self.decoded_count: int | None = None  # true frame count, known once a pass reached the end

    def _upright_rgb(self, bgr: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Rotate to upright and convert to RGB, writing into `out` (a slot of the batch) when given."""
        code = _ROTATE_CODES.get(self.info.rotation)
        if code is not None:
            bgr = cv2.rotate(bgr, code)
        if out is not None and out.shape == bgr.shape:
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=out)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        if out is not None:
            raise PoseBakeError(f"{self.info.path}: frame size changed mid-video ({rgb.shape[1]}x{rgb.shape[0]} "
                                f"after {self.info.width}x{self.info.height})")
        return rgb

    def batches(self, batch_size: int = 16, start: int = 0,
                end: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield `(start_index, frames)` with `frames` uint8 RGB of shape (N, H, W, 3), N <= batch_size.

        Frames `start <= i < end` are covered exactly once, in order. We skip to `start` by decoding
        (`grab`) rather than seeking: FFmpeg seeks land on keyframes and OpenCV's frame position after a
        seek is not reliable for every codec, and an off-by-some frame index would silently shift every
        keyframe of the baked motion.
        """
        info = self.info
        if batch_size < 1:
            raise PoseBakeError(f"batch size must be >= 1, got {batch_size}")
        if start < 0:
            raise PoseBakeError(f"--start must be >= 0, got {start}")
        if info.frame_count and start >= info.frame_count:
            raise PoseBakeError(f"--start {start} is beyond the end of {info.path} "
                                f"({info.frame_count} frames, last index {info.frame_count - 1})")
        if end is not None and end <= start:
            raise PoseBakeError(f"--end {end} must be greater than --start {start}")
        cap = _open(info.path)
        index = 0
        try:
            while index < start:
                if not cap.grab():
                    self.decoded_count = index
                    raise PoseBakeError(f"--start {start} is beyond the end of {info.path}: only {index} "
                                        f"frames decode (the container claims {info.frame_count})")
                index += 1
            # Frames are converted straight into a preallocated batch: stacking a list of decoded 1080p
            # frames would copy every frame once more.
            shape = (batch_size, info.height, info.width, 3)
            buf, n = np.empty(shape, np.uint8), 0
            batch_start = index
            while end is None or index < end:
                ok, bgr = cap.read()
                if not ok or bgr is None:
                    self.decoded_count = index
                    self._warn_if_short(index, end)
                    break
                self._upright_rgb(bgr, out=buf[n])
                n += 1
                index += 1
                if n == batch_size:
                    yield batch_start, buf
                    buf, n = np.empty(shape, np.uint8), 0
                    batch_start = index
            if n:
                yield batch_start, buf[:n]
            if index == start:
                raise PoseBakeError(f"no frame of {info.path} decodes from --start {start} on")
        finally:
            cap.release()

    def _warn_if_short(self, decoded: int, end: int | None) -> None:
        claimed = self.info.frame_count
        if decoded < claimed and (end is None or decoded < end):
            warnings.warn(f"{self.info.path}: the container claims {claimed} frames but only {decoded} decode; "
                          f"using {decoded}", RuntimeWarning, stacklevel=3)


def iter_batches(path: str | Path, batch_size: int = 16, start: int = 0,
                 end: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Convenience wrapper: `VideoDecoder(path).batches(...)`."""
    return VideoDecoder(path).batches(batch_size=batch_size, start=start, end=end)


def count_frames(path: str | Path) -> int:
    """Decode-count the frames of `path` (the truth when the container's count lies); costs one pass."""
    info = probe(path)
    cap = _open(info.path)
    n = 0
    try:
        while cap.grab():
            n += 1
    finally:
        cap.release()
    return n
