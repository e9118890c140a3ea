"""`posebake serve` end to end: a real server on loopback, real videos, the add-on client.

The server runs as a subprocess (as users run it), so these tests see exactly what the add-on sees:
auth, streamed uploads, the job queue, persistence across a SIGKILL. Jobs use short frame ranges to
keep the CPU time small on a shared two-core machine.
"""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from posebake_core.motion import Motion
from posebake.paths import repo_root

SHORT = "mmhuman3d_two_people_handshake.mp4"  # 40 frames
LONG = "phalp_running_woman.mp4"  # 180 frames
RANGE = {"start": "0", "end": "8"}
BOOT_TIMEOUT = 180.0  # model load on a busy machine
JOB_TIMEOUT = 300.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `posebake serve` subprocess with its own config file and state directory under `root`."""

    def __init__(self, root: Path, allowed: list[Path], max_upload: str = "8M", extra: tuple[str, ...] = ()) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root, self.allowed, self.max_upload, self.extra = root, allowed, max_upload, list(extra)
        self.state, self.config, self.port = root / "state", root / "service.json", free_port()
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        cmd = [sys.executable, "-m", "posebake.cli", "serve", "--port", str(self.port), "--state-dir",
               str(self.state), "--max-upload", self.max_upload, "--log-level", "warning"]
        for a in self.allowed:
            cmd += ["--allowed-root", str(a)]
        cmd += self.extra
        env = {**os.environ, "POSEBAKE_CONFIG": str(self.config)}
        log = open(self.root / "server.log", "ab")
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=repo_root())
        log.close()
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        pytest.fail(f"server did not answer /health within {BOOT_TIMEOUT} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return (self.root / "server.log").read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def token(self) -> str:
        return json.loads(self.config.read_text())["token"]

    def http(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60,
                            headers={"Authorization": f"Bearer {token or self.token}"})


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory, videos: Path) -> dict[str, Path]:
    """An allowed root holding a symlink that escapes it, and a copy of the short clip outside it."""
    base = tmp_path_factory.mktemp("service")
    root, outside = base / "allowed", base / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / SHORT).write_bytes((videos / SHORT).read_bytes())
    (root / "escape.mp4").symlink_to(outside / SHORT)
    return {"base": base, "root": root, "outside": outside}


@pytest.fixture(scope="module")
def server(layout: dict[str, Path], videos: Path, model_files: Path):
    srv = Server(layout["base"] / "srv", [videos, layout["root"]]).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def http(server: Server):
    with server.http() as client:
        yield client


def load_client() -> ModuleType:
    """The add-on client loaded by file path, so the add-on package's __init__ (bpy) is not imported."""
    path = repo_root() / "addon" / "posebake_blender" / "client.py"
    spec = importlib.util.spec_from_file_location("posebake_addon_client", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upload(http: httpx.Client, video: Path, **fields: str) -> httpx.Response:
    with open(video, "rb") as fh:
        return http.post("/jobs", files={"file": (video.name, fh, "video/mp4")}, data=fields)


def wait_for(http: httpx.Client, job_id: str, until, timeout: float = JOB_TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = http.get(f"/jobs/{job_id}").json()
        if until(job):
            return job
        assert time.monotonic() < deadline, f"job {job_id} stuck: {job}"
        time.sleep(0.2)


def finished(job: dict[str, Any]) -> bool:
    return job["state"] in ("done", "failed", "cancelled")


def download(http: httpx.Client, job_id: str, dest: Path) -> Path:
    r = http.get(f"/jobs/{job_id}/result")
    assert r.status_code == 200, r.text
    dest.write_bytes(r.content)
    return dest


def npz_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def assert_same_motion(a: Path, b: Path, skip: tuple[str, ...] = ()) -> None:
    x, y = npz_arrays(a), npz_arrays(b)
    assert x.keys() == y.keys()
    for k in x:
        if k not in skip:
            assert np.array_equal(x[k], y[k], equal_nan=x[k].dtype.kind == "f"), k


def uploads_left(server: Server) -> list[str]:
    return sorted(p.name for p in (server.state / "uploads").iterdir())


# -- auth and input checks -------------------------------------------------------------------------------
def test_health_is_open_everything_else_needs_the_token(server: Server) -> None:
    h = httpx.get(server.url + "/health", timeout=30)
    assert h.status_code == 200
    assert h.json()["version"] and h.json()["device"].startswith(("cpu", "cuda"))
    assert stat.S_IMODE(server.config.stat().st_mode) == 0o600
    routes = [("GET", "/jobs"), ("POST", "/jobs"), ("GET", "/jobs/x"), ("GET", "/jobs/x/result"),
              ("DELETE", "/jobs/x"), ("GET", "/openapi.json")]
    for method, path in routes:
        assert httpx.request(method, server.url + path, timeout=30).status_code == 401, path
        r = httpx.request(method, server.url + path, headers={"Authorization": "Basic abc"}, timeout=30)
        assert r.status_code == 401, path
        r = httpx.request(method, server.url + path, headers={"Authorization": "Bearer " + "x" * 43}, timeout=30)
        assert r.status_code == 403 and "token rejected" in r.json()["detail"], path
    with server.http() as http:
        schema = http.get("/openapi.json").json()
        assert {"/health", "/jobs", "/jobs/{job_id}", "/jobs/{job_id}/result"} <= set(schema["paths"])
        assert "access-control-allow-origin" not in http.get("/jobs", headers={"Origin": "http://evil"}).headers


def test_text_file_named_mp4_is_refused(server: Server, http: httpx.Client, tmp_path: Path) -> None:
    fake = tmp_path / "holiday.mp4"
    fake.write_text("this is not a video\n" * 100)
    before = len(http.get("/jobs").json())
    r = upload(http, fake)
    assert r.status_code == 415
    assert "holiday.mp4" in r.json()["detail"] and "not a readable video" in r.json()["detail"]
    assert len(http.get("/jobs").json()) == before and uploads_left(server) == []


#: option sets the service must refuse, and the stable code it answers with
BAD_OPTIONS = [({"max_people": "0"}, "max_people", "option_out_of_range"), ({"fov": "wide"}, "fov", "invalid_option"),
               ({"start": "9", "end": "3"}, "end", "conflicting_options"),
               ({"fov": "50", "focal": "900"}, "either fov or focal", "conflicting_options"),
               ({"subject_height": "170"}, "in metres", "option_out_of_range"),
               ({"max_poeple": "2"}, "unknown field", "unknown_option")]


def test_job_schema_is_generated_and_the_client_checks_by_it(server: Server, http: httpx.Client,
                                                             videos: Path) -> None:
    """One job-options schema: the OpenAPI request body is generated from it, the service refuses by it with
    stable codes, and the add-on's client refuses the same option sets with the same codes, before sending."""
    from posebake_core.jobs import JOB_OPTIONS, ErrorCode

    doc = http.get("/openapi.json").json()
    body = doc["paths"]["/jobs"]["post"]["requestBody"]["content"]
    for kind in ("multipart/form-data", "application/json", "application/x-www-form-urlencoded"):
        props = body[kind]["schema"]["properties"]
        assert {o.name: o.schema() for o in JOB_OPTIONS}.items() <= props.items(), kind
    assert body["application/json"]["schema"]["required"] == ["path"]
    client = load_client().BackendClient(server.url, server.token)
    for fields, word, code in BAD_OPTIONS:
        r = upload(http, videos / SHORT, **fields)
        assert r.status_code == 422 and word in r.json()["detail"] and r.json()["code"] == code, (fields, r.text)
        with pytest.raises(ValueError, match=word) as err:
            client.submit_video(str(videos / SHORT), **fields)
        assert err.value.code == code, fields
    r = upload(http, videos / SHORT, start="500")  # needs the video: only the service can tell
    assert r.status_code == 422 and "beyond the end" in r.json()["detail"]
    assert r.json()["code"] == ErrorCode.OPTION_OUT_OF_RANGE
    r = http.get("/jobs/nope")
    assert r.status_code == 404 and r.json()["code"] == ErrorCode.JOB_NOT_FOUND
    assert httpx.get(server.url + "/jobs", timeout=30).json()["code"] == ErrorCode.TOKEN_MISSING


def test_bad_options_and_oversize_uploads_are_refused(server: Server, http: httpx.Client, videos: Path,
                                                      tmp_path: Path) -> None:
    for fields, word, _code in BAD_OPTIONS:
        r = upload(http, videos / SHORT, **fields)
        assert r.status_code == 422 and word in r.json()["detail"], (fields, r.text)
    big = tmp_path / "big.mp4"
    big.write_bytes(os.urandom(9 * 1024 * 1024))  # the test server's limit is 8 MiB
    r = upload(http, big)
    assert r.status_code == 413 and "upload too large" in r.json()["detail"]
    # Without a Content-Length the limit must still hold, counted while streaming to disk.
    def chunks():
        with open(big, "rb") as fh:
            yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n\r\n"
            while chunk := fh.read(1 << 20):
                yield chunk
            yield b"\r\n--b--\r\n"
    r = http.post("/jobs", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413
    assert uploads_left(server) == []


def test_paths_outside_the_allowed_roots_are_refused(http: httpx.Client, layout: dict[str, Path],
                                                     videos: Path) -> None:
    cases = [
        (str(layout["outside"] / SHORT), 403),
        (f"{videos}/../../../../../../etc/passwd", 403),
        (f"{layout['root']}/../outside/{SHORT}", 403),
        (str(layout["root"] / "escape.mp4"), 403),  # a symlink inside the root pointing out of it
        ("videos/" + SHORT, 422),  # relative
        (str(videos / "no_such_clip.mp4"), 404),
    ]
    for path, status in cases:
        r = http.post("/jobs", json={"path": path, **RANGE})
        assert r.status_code == status, (path, r.text)
        assert r.json()["detail"]
    r = http.post("/jobs", data={"path": str(layout["outside"] / SHORT)})  # form-encoded too
    assert r.status_code == 403 and "outside the allowed roots" in r.json()["detail"]


# -- real jobs -------------------------------------------------------------------------------------------
def test_result_is_identical_to_the_cli(server: Server, http: httpx.Client, videos: Path, tmp_path: Path) -> None:
    video = (videos / SHORT).resolve()
    opts = {**RANGE, "fov": "55"}
    by_upload = upload(http, video, **opts)
    by_path = http.post("/jobs", json={"path": str(video), "start": 0, "end": 8, "fov": 55})
    assert by_upload.status_code == 201 and by_path.status_code == 201, (by_upload.text, by_path.text)
    results = {}
    for name, r in (("upload", by_upload), ("path", by_path)):
        job = wait_for(http, r.json()["id"], finished)
        assert job["state"] == "done", job
        assert job["frames_done"] == job["frames_total"] == 8
        results[name] = download(http, job["id"], tmp_path / f"{name}.npz")
    ref = tmp_path / "cli.npz"
    subprocess.run([sys.executable, "-m", "posebake.cli", "estimate", str(video), "-o", str(ref), "--start", "0",
                    "--end", "8", "--fov", "55", "--quiet"], check=True, timeout=JOB_TIMEOUT, cwd=repo_root())
    assert_same_motion(results["path"], ref)
    assert_same_motion(results["upload"], ref, skip=("source_video",))
    assert str(npz_arrays(results["upload"])["source_video"]) == SHORT  # the name sent, not the temp file
    assert Motion.load(results["upload"]).num_frames == 8
    assert uploads_left(server) == []


def test_cancel_stops_a_running_job_and_keeps_no_result(server: Server, http: httpx.Client, videos: Path) -> None:
    r = http.post("/jobs", json={"path": str(videos / LONG)})
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]
    running = wait_for(http, job_id, lambda j: j["state"] == "running" and j["frames_done"] >= 8 or finished(j))
    assert running["frames_total"] == 180
    if running["state"] == "running":
        assert running["fps"] > 0 and running["eta_s"] > 0
    r = http.delete(f"/jobs/{job_id}")
    assert r.status_code == 200
    if r.json()["state"] == "done":  # a fast GPU finished all 180 frames before the cancel arrived
        pytest.skip("the job finished before it could be cancelled")
    job = wait_for(http, job_id, finished, timeout=120)
    assert job["state"] == "cancelled" and job["frames_done"] < 180
    assert http.get(f"/jobs/{job_id}/result").status_code in (404, 409)
    assert not (server.state / "results" / f"{job_id}.npz").exists()
    assert json.loads((server.state / "jobs" / f"{job_id}.json").read_text())["state"] == "cancelled"


def test_twenty_jobs_at_once_all_finish(server: Server, http: httpx.Client, videos: Path, tmp_path: Path) -> None:
    def submit(i: int) -> httpx.Response:
        with server.http() as own:  # one connection each: really concurrent requests
            if i % 2:
                return own.post("/jobs", json={"path": str(videos / SHORT), "start": 0, "end": 6, "max_people": 1})
            return upload(own, videos / SHORT, start="0", end="6", max_people="1")

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(submit, range(20)))
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses if r.status_code != 201]
    ids = [r.json()["id"] for r in responses]
    assert len(set(ids)) == 20
    listed = {j["id"] for j in http.get("/jobs").json()}
    assert set(ids) <= listed
    for job_id in ids:
        job = wait_for(http, job_id, finished)
        assert job["state"] == "done", job
    first = download(http, ids[0], tmp_path / "0.npz")
    for i, job_id in enumerate(ids[1:], 1):  # same input, same warm models: the same motion every time
        assert_same_motion(first, download(http, job_id, tmp_path / f"{i}.npz"), skip=("source_video",))
    assert uploads_left(server) == []


# -- the add-on client -----------------------------------------------------------------------------------
def test_addon_client_round_trip(server: Server, videos: Path, tmp_path: Path, monkeypatch) -> None:
    client_mod = load_client()
    monkeypatch.setenv("POSEBAKE_CONFIG", str(server.config))
    assert client_mod.read_token() == server.token
    c = client_mod.BackendClient(server.url)  # token read from the config file
    assert c.health()["status"] == "ok"
    job = c.submit_video(str(videos / SHORT), start=0, end=8)
    seen: list[dict] = []
    done = c.wait(job["id"], poll=0.2, timeout=JOB_TIMEOUT, on_progress=seen.append)
    assert done["state"] == "done" and seen
    out = c.result(job["id"], str(tmp_path / "motion.npz"))
    assert Motion.load(out).num_frames == 8
    assert [p.name for p in tmp_path.iterdir()] == ["motion.npz"]  # no temp file left beside it
    assert c.status(job["id"])["state"] == "done"
    job2 = c.submit_path(str(videos / SHORT), start=0, end=8)
    assert c.wait(job2["id"], poll=0.2, timeout=JOB_TIMEOUT)["state"] == "done"
    with pytest.raises(client_mod.RequestRejected, match="outside the allowed roots"):
        c.submit_path("/etc/passwd")
    with pytest.raises(client_mod.JobNotFound):
        c.status("nope")

    # A video with nobody in it: the job runs and fails, and the server's reason reaches the user.
    blank = tmp_path / "empty_room.mp4"
    writer = cv2.VideoWriter(str(blank), cv2.VideoWriter_fourcc(*"mp4v"), 25, (160, 128))
    for _ in range(10):
        writer.write(np.full((128, 160, 3), 90, np.uint8))
    writer.release()
    bad = c.submit_video(str(blank))
    with pytest.raises(client_mod.JobFailed, match="no person found"):
        c.wait(bad["id"], poll=0.2, timeout=JOB_TIMEOUT)
    with pytest.raises(client_mod.JobFailed, match="no person found"):
        c.result(bad["id"], str(tmp_path / "never.npz"))
    assert not (tmp_path / "never.npz").exists()


def test_addon_client_errors_say_what_to_do(server: Server) -> None:
    client_mod = load_client()
    with pytest.raises(client_mod.BackendUnavailable, match="posebake serve"):
        client_mod.BackendClient(f"http://127.0.0.1:{free_port()}", token="x").health()
    wrong = client_mod.BackendClient(server.url, token="not-the-token")
    assert wrong.health()["status"] == "ok"  # /health needs no token
    with pytest.raises(client_mod.TokenRejected, match="token rejected"):
        wrong.jobs()
    assert issubclass(client_mod.TokenRejected, client_mod.BackendError)


def test_addon_client_imports_only_the_standard_library() -> None:
    path = repo_root() / "addon" / "posebake_blender" / "client.py"
    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('c', {str(path)!r})\n"
            "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
            "bad = [m for m in ('bpy', 'torch', 'numpy', 'posebake', 'httpx', 'requests') if m in sys.modules]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd="/")


# -- persistence -----------------------------------------------------------------------------------------
def test_sigkill_mid_job_then_restart(tmp_path: Path, videos: Path, model_files: Path) -> None:
    srv = Server(tmp_path / "srv", [videos]).start()
    try:
        token = srv.token
        with srv.http() as http:
            short = upload(http, videos / SHORT, **RANGE).json()["id"]
            assert wait_for(http, short, finished)["state"] == "done"
            before = download(http, short, tmp_path / "before.npz")
            long = upload(http, videos / LONG).json()["id"]
            if wait_for(http, long, lambda j: j["state"] == "running" and j["frames_done"] > 0 or finished(j))[
                    "state"] != "running":
                pytest.skip("the long job finished before the server could be killed (fast device)")
        srv.kill()
        srv.start()
        assert srv.token == token  # the add-on's token survives restarts
        with srv.http() as http:
            jobs = {j["id"]: j for j in http.get("/jobs").json()}
            assert jobs[long]["state"] == "failed" and "interrupted" in jobs[long]["error"]
            assert jobs[long]["error_code"] == "interrupted"
            assert http.get(f"/jobs/{long}/result").status_code == 409
            assert jobs[short]["state"] == "done"
            assert_same_motion(download(http, short, tmp_path / "after.npz"), before)
        assert uploads_left(srv) == []
        assert not (srv.state / "results" / f"{long}.npz").exists()
    finally:
        srv.stop()
