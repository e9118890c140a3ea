"""Camera intrinsics K for the root solve: from the user, from the file's metadata, or a default.

The absolute depth of the subject scales with the focal length (a person h metres tall spanning p pixels
stands at z = f*h/p), so K is recorded with its provenance (`K_source`) in the Motion file: a "default"
K means the metric depth is a guess up to that factor.

Metadata: OpenCV exposes no focal-length metadata for videos, so we read it ourselves from the MP4/QuickTime
`moov` box. The only key commonly written is Apple's `com.apple.quicktime.camera.focal_length.35mm_equivalent`
(iPhones); Android camera apps and most encoders write none, in which case the default applies. The hook
(`metadata_focal_px`) is where other vendors' keys would go.
"""
from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np

from posebake_core.errors import PoseBakeError
from posebake_core.jobs import check_focal, validate_options

DEFAULT_FOV_DEG = 55.0
FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)  # 35 mm equivalents are defined on the diagonal
_FOCAL_KEYS = (b"com.apple.quicktime.camera.focal_length.35mm_equivalent",)


def focal_from_fov(width: int, height: int, fov_deg: float) -> float:
    """Focal length in pixels giving a field of view of `fov_deg` across the longer image side."""
    if not 0.0 < fov_deg < 180.0:
        raise PoseBakeError(f"--fov must be between 0 and 180 degrees, got {fov_deg}")
    return 0.5 * max(width, height) / math.tan(math.radians(fov_deg) / 2.0)


def make_K(focal_px: float, width: int, height: int) -> np.ndarray:
    """Pinhole K with square pixels, no skew and the principal point at the image centre.

    The centre is the right guess for phone and action-camera video (resampled and stabilised footage
    has no meaningful calibrated offset anyway), and it is what the root solve is least sensitive to.
    """
    return np.array([[focal_px, 0.0, width / 2.0],
                     [0.0, focal_px, height / 2.0],
                     [0.0, 0.0, 1.0]], dtype=np.float64)


def intrinsics(width: int, height: int, focal: float | None = None, fov: float | None = None,
               video_path: str | Path | None = None) -> tuple[np.ndarray, str]:
    """Return `(K, K_source)` with K_source in {"given", "metadata", "default"}.

    The estimator then replaces a "default" K by one "estimated" from the scene when it can (focal.py).

    Precedence: `--focal PX` or `--fov DEG` from the user ("given"; both at once is an error), then
    focal-length metadata in `video_path` ("metadata"), then a `DEFAULT_FOV_DEG` field of view ("default").
    """
    if width <= 0 or height <= 0:
        raise PoseBakeError(f"image size must be positive, got {width}x{height}")
    given = validate_options({k: v for k, v in (("focal", focal), ("fov", fov)) if v is not None})  # the job rules
    if "focal" in given:
        check_focal(given["focal"], width, height)  # a focal no camera has would give all-NaN joints
        return make_K(given["focal"], width, height), "given"
    if "fov" in given:
        return make_K(focal_from_fov(width, height, given["fov"]), width, height), "given"
    if video_path is not None:
        f = metadata_focal_px(video_path, width, height)
        if f is not None:
            return make_K(f, width, height), "metadata"
    return make_K(focal_from_fov(width, height, DEFAULT_FOV_DEG), width, height), "default"


def metadata_focal_px(path: str | Path, width: int, height: int) -> float | None:
    """Focal length in pixels from the container's metadata, or None when the file carries none."""
    try:
        f35 = _mp4_focal_35mm(Path(path))
    except (OSError, struct.error, ValueError):
        return None  # metadata is optional: a malformed box must not stop the pipeline
    if f35 is None or not (math.isfinite(f35) and 1.0 < f35 < 2000.0):
        return None
    return f35 * math.hypot(width, height) / FULL_FRAME_DIAGONAL_MM


def _boxes(data: bytes, start: int = 0, end: int | None = None):
    """Yield (type, payload_start, box_end) for the ISO-BMFF boxes in data[start:end]."""
    end = len(data) if end is None else end
    off = start
    while off + 8 <= end:
        size, typ = struct.unpack(">I4s", data[off:off + 8])
        hdr = 8
        if size == 1:
            size = struct.unpack(">Q", data[off + 8:off + 16])[0]
            hdr = 16
        elif size == 0:
            size = end - off
        if size < hdr or off + size > end:
            return
        yield typ, off + hdr, off + size
        off += size


def _read_moov(path: Path) -> bytes | None:
    """Read only the `moov` box: it holds the metadata and is small, while `mdat` can be gigabytes."""
    with path.open("rb") as fh:
        while True:
            head = fh.read(8)
            if len(head) < 8:
                return None
            size, typ = struct.unpack(">I4s", head)
            hdr = 8
            if size == 1:
                size = struct.unpack(">Q", fh.read(8))[0]
                hdr = 16
            if typ == b"moov":
                if size == 0:
                    return fh.read()
                return fh.read(size - hdr) if size - hdr < 64 << 20 else None
            if size == 0 or size < hdr:
                return None
            fh.seek(size - hdr, 1)


def _mp4_focal_35mm(path: Path) -> float | None:
    moov = _read_moov(path)
    if moov is None:
        return None
    for meta_start, meta_end in _find_meta(moov, 0, len(moov)):
        value = _mdta_lookup(moov, meta_start, meta_end)
        if value is not None:
            return value
    return None


def _find_meta(data: bytes, start: int, end: int):
    for typ, a, b in _boxes(data, start, end):
        if typ == b"meta":
            # QuickTime `meta` is a plain box, ISO `meta` a full box with 4 bytes of version/flags
            yield (a, b) if data[a + 4:a + 8] == b"hdlr" else (a + 4, b)
        elif typ in (b"trak", b"udta"):
            yield from _find_meta(data, a, b)


def _mdta_lookup(data: bytes, start: int, end: int) -> float | None:
    keys: list[bytes] = []
    items: dict[int, tuple[int, int]] = {}
    for typ, a, b in _boxes(data, start, end):
        if typ == b"keys":
            count = struct.unpack(">I", data[a + 4:a + 8])[0]
            off = a + 8
            for _ in range(count):
                size = struct.unpack(">I", data[off:off + 4])[0]
                keys.append(data[off + 8:off + size])
                off += size
        elif typ == b"ilst":
            for ityp, ia, ib in _boxes(data, a, b):
                items[struct.unpack(">I", ityp)[0]] = (ia, ib)
    for i, key in enumerate(keys, start=1):
        if key in _FOCAL_KEYS and i in items:
            return _data_value(data, *items[i])
    return None


def _data_value(data: bytes, start: int, end: int) -> float | None:
    for typ, a, b in _boxes(data, start, end):
        if typ != b"data":
            continue
        kind = struct.unpack(">I", data[a:a + 4])[0] & 0xFFFFFF
        raw = data[a + 8:b]
        if kind == 23 and len(raw) == 4:
            return struct.unpack(">f", raw)[0]
        if kind == 24 and len(raw) == 8:
            return struct.unpack(">d", raw)[0]
        if kind in (21, 22) and 1 <= len(raw) <= 8:
            return float(int.from_bytes(raw, "big", signed=kind == 21))
        if kind == 1:
            return float(raw.decode("utf-8").strip())
    return None
