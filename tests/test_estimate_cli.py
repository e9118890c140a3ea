"""Bad input to `posebake estimate`: a clear message, a non-zero exit, and no output file."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest


def _estimate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "posebake.cli", "estimate", *args, "--quiet", "--device", "cpu"],
                          capture_output=True, text=True, timeout=600)


def _no_person_video(path: Path) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    rng = np.random.default_rng(0)
    for i in range(12):  # a drifting gradient with noise: a real video, nobody in it
        x = np.linspace(0, 255, 320)[None, :, None] + i * 5
        frame = np.clip(np.broadcast_to(x, (240, 320, 3)) * 0.7 + rng.normal(0, 8, (240, 320, 3)), 0, 255)
        writer.write(frame.astype(np.uint8))
    writer.release()
    return path


@pytest.mark.parametrize("case", ["missing", "directory", "text", "truncated", "empty", "no_person",
                                  "start_beyond_end", "readonly_output", "wrong_suffix"])
def test_bad_input(case, tmp_path, videos, model_files):
    out = tmp_path / "out" / "motion.npz"
    out.parent.mkdir()
    src = videos / "mmhuman3d_two_people_handshake.mp4"
    extra: list[str] = []
    expect = ""
    if case == "missing":
        video, expect = tmp_path / "nope.mp4", "video not found"
    elif case == "directory":
        video, expect = tmp_path, "directory"
    elif case == "text":
        video = tmp_path / "notes.mp4"
        video.write_text("this is not a video\n" * 100)
        expect = "notes.mp4"
    elif case == "truncated":
        video = tmp_path / "cut.mp4"
        video.write_bytes(src.read_bytes()[:20000])
        expect = "cut.mp4"
    elif case == "empty":
        video = tmp_path / "empty.mp4"
        video.write_bytes(b"")
        expect = "empty.mp4"
    elif case == "no_person":
        video, expect = _no_person_video(tmp_path / "nobody.mp4"), "no person found"
    elif case == "start_beyond_end":
        video, extra, expect = src, ["--start", "500"], "beyond the end"
    elif case == "readonly_output":
        video = src
        if os.geteuid() == 0:
            out = tmp_path / "a_file" / "motion.npz"  # root ignores permission bits: use an impossible dir
            (tmp_path / "a_file").write_text("x")
            expect = "output directory"
        else:
            out.parent.chmod(0o500)
            expect = "not writable"
    else:
        video, out, expect = src, tmp_path / "out" / "motion.json", "must end in .npz"
    res = _estimate(str(video), "-o", str(out), *extra)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "posebake: error:" in res.stderr and expect in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    if out.parent.is_dir():
        assert not any(out.parent.iterdir()), list(out.parent.iterdir())
