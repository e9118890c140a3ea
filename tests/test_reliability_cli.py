"""The CLI under bad input and a full disk (issue: reliability): every case ends in one `posebake: error:`
line with a specific message, exit code 2, no traceback, and no file left behind.

A full disk is simulated with RLIMIT_FSIZE on the child process (writes past the limit fail with EFBIG,
as they would with ENOSPC on a full disk); SIGXFSZ is ignored so the write fails instead of killing it.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from posebake.paths import repo_root

CLIP = "mmhuman3d_two_people_handshake.mp4"  # 40 frames, two people
CHAR = "cmu_skeleton_basemesh_female.glb"


def run(*args: object, fsize: int | None = None, env: dict[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess:
    def limit() -> None:
        if fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    return subprocess.run([sys.executable, "-m", "posebake.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=repo_root(), preexec_fn=limit, env={**os.environ, **(env or {})})


def assert_refused(proc: subprocess.CompletedProcess, *phrases: str) -> None:
    """Exit 2, one `posebake: error:` line naming the problem, no traceback."""
    err = proc.stderr
    assert proc.returncode == 2, (proc.returncode, proc.stdout, err)
    assert "Traceback" not in err and "Exception ignored" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("posebake: error:") or ": error: argument" in ln]
    assert len(lines) == 1, err
    for phrase in phrases:
        assert phrase in lines[0], (phrase, lines[0])


def files_in(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


@pytest.fixture(scope="module")
def motion(tmp_path_factory: pytest.TempPathFactory, videos: Path, model_files: Path) -> Path:
    d = tmp_path_factory.mktemp("reliability_motion")
    proc = run("estimate", videos / CLIP, "-o", d / "m.npz", "--end", "12", "--fov", "55", "--quiet")
    assert proc.returncode == 0, proc.stderr
    return d / "m.npz"


@pytest.mark.parametrize("flags, phrase", [
    (("--fov", "1e-9"), "--fov must be >= 2"),
    (("--fov", "179.9999"), "got 179.9999"),
    (("--focal", "1e-300"), "field of view"),
    (("--focal", "1e308"), "field of view"),
])
def test_absurd_intrinsics_are_refused_before_any_work(flags: tuple[str, str], phrase: str, videos: Path,
                                                       tmp_path: Path, model_files: Path) -> None:
    proc = run("estimate", videos / CLIP, "-o", tmp_path / "o.npz", "--end", "12", "--quiet", *flags)
    assert_refused(proc, phrase)
    assert files_in(tmp_path) == []


def test_output_targets_are_checked_before_the_run(videos: Path, tmp_path: Path, model_files: Path) -> None:
    proc = run("estimate", videos / CLIP, "-o", tmp_path / "o.npz", "--preview", "/missing/p.mp4", "--quiet")
    assert_refused(proc, "/missing")
    assert files_in(tmp_path) == []  # the .npz is not written first and then left behind
    (tmp_path / "X.npz").mkdir()
    proc = run("estimate", videos / CLIP, "-o", tmp_path / "X.npz", "--quiet")
    assert_refused(proc, "is a directory")
    assert files_in(tmp_path) == ["X.npz"] and not any((tmp_path / "X.npz").iterdir())


def test_disk_full_during_estimate_is_a_clear_error(videos: Path, tmp_path: Path, model_files: Path) -> None:
    for limit, name in ((4_000, "o.npz"), (60_000, "p.mp4")):  # the Motion fails; then only the preview
        proc = run("estimate", videos / CLIP, "-o", tmp_path / "o.npz", "--preview", tmp_path / "p.mp4",
                   "--end", "12", "--fov", "55", "--quiet", fsize=limit)
        assert_refused(proc, f"cannot write {tmp_path / name}", "no space left" if name.endswith("npz") else "disk full")
        assert files_in(tmp_path) == [], limit  # neither the Motion nor the preview, no temporaries


@pytest.mark.bpy
def test_disk_full_during_bake_exports_leaves_no_file(motion: Path, data_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("bpy")
    char = data_dir / "characters" / CHAR
    outs = ("-o", tmp_path / "o.blend", "--fbx", tmp_path / "o.fbx", "--glb", tmp_path / "o.glb")
    ok = run("bake", motion, "--rig", char, *outs)
    assert ok.returncode == 0, ok.stderr
    sizes = {p.suffix: p.stat().st_size for p in tmp_path.iterdir()}
    assert set(sizes) == {".blend", ".fbx", ".glb"} and min(sizes.values()) > 10_000
    for p in list(tmp_path.iterdir()):
        p.unlink()
    # a limit the first file passes and the largest does not: files already written must go too
    for limit in (10_000, max(sizes.values()) - 1):
        proc = run("bake", motion, "--rig", char, *outs, fsize=limit)
        assert_refused(proc, "no space left", str(tmp_path / "o."))
        assert files_in(tmp_path) == [], (limit, files_in(tmp_path))


def test_usage_mistakes_are_refused(videos: Path, tmp_path: Path, motion: Path, data_dir: Path) -> None:
    assert_refused(run("estimate", videos / CLIP, "-o", tmp_path / "o.npz", "--batch", "0"), "--batch", "at least 1")
    char = data_dir / "characters" / CHAR
    assert_refused(run("bake", motion, "--rig", char, "-o", tmp_path / "o.blend", "--timeout", "0"),
                   "--timeout", "positive")
    assert_refused(run("bake", tmp_path, "--rig", char, "-o", tmp_path / "o.blend"), "is a folder", "batch")
    assert_refused(run("estimate", tmp_path, "-o", tmp_path / "o.npz"), "is a folder")
    assert files_in(tmp_path) == []


def _serve(port: int, state: Path, config: Path, host: str = "127.0.0.1") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "posebake.cli", "serve", "--host", host, "--port", str(port),
                             "--state-dir", str(state), "--log-level", "warning"], cwd=repo_root(),
                            env={**os.environ, "POSEBAKE_CONFIG": str(config)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_url(config: Path, proc: subprocess.Popen, timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if config.is_file() and "url" in json.loads(config.read_text()):
            return json.loads(config.read_text())["url"]
        time.sleep(0.2)
    raise AssertionError("the server wrote no url")


def test_serve_records_the_bound_url_only_after_binding(tmp_path: Path, model_files: Path) -> None:
    import httpx

    config = tmp_path / "service.json"
    first = _serve(0, tmp_path / "s1", config, host="0.0.0.0")
    try:
        url = _wait_url(config, first)
        host, port = url.removeprefix("http://").rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0, url  # neither 0.0.0.0 nor port 0
        assert httpx.get(url + "/health", timeout=10).status_code == 200
        # a second server on the same port (own state dir) fails at once and leaves the url alone
        second = _serve(int(port), tmp_path / "s2", config)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 2, err
        assert "posebake: error: cannot listen on" in err and "Traceback" not in err, err
        assert json.loads(config.read_text())["url"] == url
        with socket.create_connection(("127.0.0.1", int(port)), timeout=5):
            pass  # the first still serves
    finally:
        first.terminate()
        first.wait(30)


def test_a_truncated_video_is_estimated_with_a_warning(videos: Path, tmp_path: Path, model_files: Path) -> None:
    """The frames that decode are used, and the user is told the file ended early (as an event for the
    add-on's subprocess runner, which shows it in the panel's message)."""
    from posebake_core.jobs import parse_event

    cut = tmp_path / "cut.mp4"
    cut.write_bytes((videos / "sports2d_two_people_exit_frame.mp4").read_bytes()[:400_000])  # 12 of 230 frames
    proc = run("estimate", cut, "-o", tmp_path / "o.npz", "--end", "30", "--fov", "55", "--events")
    assert proc.returncode == 0, proc.stderr
    warnings = [e["message"] for e in map(parse_event, proc.stdout.splitlines()) if e and e["event"] == "warning"]
    assert any("ended after 12 of the 30 frames" in w for w in warnings), proc.stdout
