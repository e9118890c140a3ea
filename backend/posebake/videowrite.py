"""Writing an .mp4 atomically and checking it landed whole.

OpenCV's `VideoWriter` reports nothing when a write fails (a full disk, a quota): it returns, and the
container is left without its index. So the file is written under a temporary name, read back once
released (it must open and hold every frame written), and only then renamed onto the target.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from posebake_core.atomic import atomic_path
from posebake_core.errors import PoseBakeError


class CountingWriter:
    """`cv2.VideoWriter` that counts its frames (BGR uint8, all of one size)."""

    def __init__(self, writer: cv2.VideoWriter) -> None:
        self._writer, self.frames = writer, 0

    def write(self, bgr: np.ndarray) -> None:
        self._writer.write(bgr)
        self.frames += 1


def _check_written(path: Path, frames: int, output: Path) -> None:
    cap = cv2.VideoCapture(str(path))
    try:
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else -1
    finally:
        cap.release()
    if count != frames:
        size = path.stat().st_size if path.exists() else 0
        raise PoseBakeError(f"cannot write {output}: the video came out unreadable ({size} bytes, {max(count, 0)} of "
                            f"{frames} frames); is the disk full?")


@contextlib.contextmanager
def mp4_writer(output: Path, fps: float, size: tuple[int, int]) -> Iterator[CountingWriter]:
    """Yield a frame writer for `output` (.mp4, mp4v); the file appears only complete and readable."""
    with atomic_path(output) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), size)
        if not writer.isOpened():
            raise PoseBakeError(f"cannot open a video writer for {output}")
        counting = CountingWriter(writer)
        try:
            yield counting
        finally:
            writer.release()
        if counting.frames == 0:
            raise PoseBakeError(f"no frame to write to {output}")
        _check_written(tmp, counting.frames, Path(output))
