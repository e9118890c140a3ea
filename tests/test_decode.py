"""Video decoding on the real shared clips (H.264 and VP9), every bad-input case, and camera intrinsics."""
from __future__ import annotations

import math
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from posebake.camera import DEFAULT_FOV_DEG, intrinsics, metadata_focal_px
from posebake.decode import VideoDecoder, count_frames, iter_batches, probe
from posebake_core.errors import PoseBakeError

EXPECTED = {  # name: (width, height, fps, frames, fourcc) as listed in SOURCES.md
    "phalp_running_woman.mp4": (1920, 1088, 30.0, 180, "h264"),
    "mmhuman3d_single_person_basketball.mp4": (1080, 1920, 12.0, 40, "h264"),
    "mmhuman3d_two_people_handshake.mp4": (1080, 1920, 12.0, 40, "h264"),
    "sports2d_two_people_exit_frame.mp4": (1768, 994, 30.0, 230, "VP90"),
    "pose2sim_single_person_4cams/cam01.mp4": (1080, 1920, 60.0, 100, "h264"),
    "pose2sim_single_person_4cams/cam02.mp4": (1080, 1920, 60.0, 100, "VP90"),
    "pose2sim_single_person_4cams/cam03.mp4": (1088, 1920, 60.0, 100, "h264"),
    "pose2sim_single_person_4cams/cam04.mp4": (1088, 1920, 60.0, 100, "h264"),
}
SMALL = "mmhuman3d_single_person_basketball.mp4"
VP9 = "pose2sim_single_person_4cams/cam02.mp4"


def reference_frames(path: Path, start: int = 0, stop: int | None = None) -> list[np.ndarray]:
    """Plain sequential OpenCV read, RGB: the ground truth the batched decoder must match."""
    cap = cv2.VideoCapture(str(path))
    out, i = [], 0
    while stop is None or i < stop:
        ok, bgr = cap.read()
        if not ok:
            break
        if i >= start:
            out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        i += 1
    cap.release()
    return out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_videos_probe_and_count(videos: Path, name: str) -> None:
    w, h, fps, frames, fourcc = EXPECTED[name]
    info = probe(videos / name)
    assert (info.width, info.height, info.fps, info.frame_count, info.fourcc, info.rotation) == \
        (w, h, fps, frames, fourcc, 0)
    assert count_frames(videos / name) == frames


@pytest.mark.parametrize("name,batch", [(SMALL, 7), (VP9, 16)])
def test_batches_cover_every_frame_once(videos: Path, name: str, batch: int) -> None:
    ref = reference_frames(videos / name)
    dec = VideoDecoder(videos / name)
    seen = []
    for start, frames in dec.batches(batch_size=batch):
        assert frames.dtype == np.uint8 and frames.ndim == 4 and frames.shape[1:] == ref[0].shape
        assert 1 <= len(frames) <= batch
        for k, frame in enumerate(frames):
            assert np.array_equal(frame, ref[start + k]), f"frame {start + k} differs"
        seen.extend(range(start, start + len(frames)))
    assert seen == list(range(len(ref))) == list(range(EXPECTED[name][3]))
    assert dec.decoded_count == len(ref)


def test_start_end(videos: Path) -> None:
    path = videos / SMALL
    ref = reference_frames(path, 10, 25)
    got = list(iter_batches(path, batch_size=4, start=10, end=25))
    assert [s for s, _ in got] == [10, 14, 18, 22]
    frames = np.concatenate([f for _, f in got])
    assert len(frames) == 15 and all(np.array_equal(a, b) for a, b in zip(frames, ref))
    # `end` past the last frame just stops at the end
    tail = list(iter_batches(path, batch_size=8, start=35, end=1000))
    assert sum(len(f) for _, f in tail) == 5


@pytest.mark.parametrize("start,end", [(40, None), (400, None), (-1, None), (5, 5), (6, 2)])
def test_bad_start_end(videos: Path, start: int, end: int | None) -> None:
    with pytest.raises(PoseBakeError, match="--start|--end"):
        list(iter_batches(videos / SMALL, start=start, end=end))


def _bad_file(tmp_path: Path, videos: Path, kind: str) -> Path:
    p = tmp_path / "clip.mp4"
    if kind == "missing":
        return tmp_path / "nope.mp4"
    if kind == "directory":
        d = tmp_path / "folder.mp4"
        d.mkdir()
        return d
    if kind == "empty":
        p.write_bytes(b"")
    elif kind == "text":
        p.write_text("this is not a video\n" * 50)
    elif kind == "truncated_20k":  # moov at the end: the index is gone
        p.write_bytes((videos / "phalp_running_woman.mp4").read_bytes()[:20_000])
    elif kind == "truncated_header_only":  # moov first (cam02): index present, no frame data
        p.write_bytes((videos / VP9).read_bytes()[:2_000])
    elif kind == "bad_codec":  # the H.264 sample entry renamed to a codec nobody decodes
        data = bytearray((videos / SMALL).read_bytes())
        i = data.rfind(b"avc1")
        data[i:i + 4] = b"zzzz"
        p.write_bytes(bytes(data))
    return p


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "text", "truncated_20k",
                                  "truncated_header_only", "bad_codec"])
def test_bad_input_is_a_clear_error(tmp_path: Path, videos: Path, kind: str) -> None:
    path = _bad_file(tmp_path, videos, kind)
    with pytest.raises(PoseBakeError) as exc:
        VideoDecoder(path)
    assert path.name in str(exc.value)


def test_container_count_lies(tmp_path: Path, videos: Path) -> None:
    path = tmp_path / "cut.mp4"
    path.write_bytes((videos / VP9).read_bytes()[:300_000])  # index says 100 frames, data holds fewer
    dec = VideoDecoder(path)
    assert dec.info.frame_count == 100
    true_count = count_frames(path)
    assert 0 < true_count < 100
    with pytest.warns(RuntimeWarning, match=f"claims 100 frames but only {true_count} decode"):
        n = sum(len(f) for _, f in dec.batches(batch_size=32))
    assert n == true_count == dec.decoded_count
    with pytest.raises(PoseBakeError, match=f"only {true_count} frames decode"):
        list(dec.batches(start=true_count + 5))


def _rotated_copy(src: Path, dst: Path, degrees: int) -> None:
    """Copy `src` with the video track's display matrix set to a clockwise rotation, as phones write."""
    data = bytearray(src.read_bytes())
    m = data.rfind(b"tkhd") + 4 + 4 + 36  # type, version/flags, times/ids/layer/volume: matrix follows
    one = 1 << 16
    a, b = {90: (0, one), 180: (-one, 0), 270: (0, -one)}[degrees]
    data[m:m + 36] = struct.pack(">9i", a, b, 0, -b, a, 0, 0, 0, 1 << 30)
    dst.write_bytes(bytes(data))


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotation_metadata_makes_frames_upright(tmp_path: Path, videos: Path, degrees: int) -> None:
    src = videos / SMALL
    dst = tmp_path / f"rot{degrees}.mp4"
    _rotated_copy(src, dst, degrees)
    dec = VideoDecoder(dst)
    assert dec.info.rotation == degrees
    stored = reference_frames(src, 0, 3)
    _, frames = next(iter(dec.batches(batch_size=3)))
    expected = [np.rot90(f, k=-degrees // 90) for f in stored]  # k<0: clockwise
    assert (dec.info.height, dec.info.width) == expected[0].shape[:2] == frames.shape[1:3]
    assert all(np.array_equal(a, b) for a, b in zip(frames, expected))


# ---- camera intrinsics -------------------------------------------------------------------------------

def test_intrinsics_sources(videos: Path) -> None:
    K, src = intrinsics(1920, 1080, focal=1500.0)
    assert src == "given" and K[0, 0] == K[1, 1] == 1500.0 and (K[0, 2], K[1, 2]) == (960.0, 540.0)
    K, src = intrinsics(1080, 1920, fov=90.0)
    assert src == "given" and math.isclose(K[0, 0], 960.0)  # 90 degrees across the longer side
    K, src = intrinsics(1920, 1088, video_path=videos / "phalp_running_woman.mp4")
    assert src == "default"  # no focal metadata in these clips
    assert math.isclose(2 * math.degrees(math.atan(960.0 / K[0, 0])), DEFAULT_FOV_DEG)
    for bad in ({"focal": -3.0}, {"fov": 180.0}, {"focal": 1000.0, "fov": 50.0}):
        with pytest.raises(PoseBakeError):
            intrinsics(1920, 1080, **bad)


def _box(typ: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), typ) + payload


def test_focal_from_quicktime_metadata(tmp_path: Path) -> None:
    key = b"com.apple.quicktime.camera.focal_length.35mm_equivalent"
    keys = _box(b"keys", struct.pack(">II", 0, 2) + struct.pack(">I4s", 8 + 4, b"mdta") + b"make"
                + struct.pack(">I4s", 8 + len(key), b"mdta") + key)
    value = _box(b"data", struct.pack(">II", 23, 0) + struct.pack(">f", 26.0))
    ilst = _box(b"ilst", _box(struct.pack(">I", 1), _box(b"data", struct.pack(">II", 1, 0) + b"Apple"))
                + _box(struct.pack(">I", 2), value))
    hdlr = _box(b"hdlr", b"\0" * 8 + b"mdta" + b"\0" * 13)
    moov = _box(b"moov", _box(b"mvhd", b"\0" * 100) + _box(b"meta", hdlr + keys + ilst))
    p = tmp_path / "iphone.mov"
    p.write_bytes(_box(b"ftyp", b"qt  \0\0\0\0qt  ") + _box(b"mdat", b"\0" * 64) + moov)
    f = metadata_focal_px(p, 1920, 1080)
    assert f is not None and math.isclose(f, 26.0 * math.hypot(1920, 1080) / math.hypot(36, 24))
    K, src = intrinsics(1920, 1080, video_path=p)
    assert src == "metadata" and math.isclose(K[0, 0], f)
    # the user's value still wins over metadata
    assert intrinsics(1920, 1080, focal=999.0, video_path=p)[1] == "given"
