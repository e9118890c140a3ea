"""Issue 7's round trip, headless: a real `posebake serve` on loopback, the add-on's Bake operator in pip
bpy submitting through `client.py`, the timer callback called by hand until the job ends, then the bake.
Connection refused, a missing or rejected token, a failed job and a cancel each give a clear message and
leave the scene as it was.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.bpychild import run_blender
from tests.test_service import Server, free_port

REPO = Path(__file__).resolve().parents[1]
CLIP = "mmhuman3d_single_person_basketball.mp4"

pytest.importorskip("bpy")
pytestmark = pytest.mark.bpy



@pytest.fixture(scope="module")
def res(tmp_path_factory: pytest.TempPathFactory, videos: Path, model_files: Path) -> dict:
    d = tmp_path_factory.mktemp("addon_service")
    blank = d / "empty_room.mp4"  # nobody in it: the job runs and fails
    writer = cv2.VideoWriter(str(blank), cv2.VideoWriter_fourcc(*"mp4v"), 25, (160, 128))
    for _ in range(10):
        writer.write(np.full((128, 160, 3), 90, np.uint8))
    writer.release()
    srv = Server(d / "srv", [videos]).start()
    try:
        r = run_blender(d, "addon_service", "main", "service", str(REPO), srv.url, str(videos / CLIP), str(blank),
                        f"http://127.0.0.1:{free_port()}", str(d), timeout=400,
                        env={**os.environ, "POSEBAKE_CONFIG": str(srv.config)}, cwd=d,
                        detail=lambda: "\n" + srv.log_tail())
    finally:
        srv.stop()
    print(json.dumps(r, indent=1))
    return r


def test_round_trip_through_the_service_bakes_the_action(res: dict) -> None:
    ok = res["ok"]
    assert ok["result"] == ["FINISHED"] and ok["status"] == "DONE", ok["message"]
    assert ok["action"] == "rig_mixamo_posebake" and ok["keys"] == 8 and ok["motion_exists"]
    stages = {st for st, _, _ in ok["seen"]}
    assert "downloading" in stages or "done" in stages
    assert max(p for _, p, _ in ok["seen"]) == 1.0


@pytest.mark.parametrize("key,want", [
    ("refused", "connection refused"), ("token_rejected", "token rejected"), ("token_missing", "no backend token")])
def test_connection_problems_reported_at_once(res: dict, key: str, want: str) -> None:
    r = res[key]
    assert r["result"] == ["CANCELLED"] and want in r["error"] and want in r["message"]
    assert r["status"] == "ERROR" and r["unchanged"]


def test_failed_job_reaches_the_panel(res: dict) -> None:
    r = res["job_failed"]
    assert r["result"] == ["FINISHED"]  # accepted by the server, then failed while running
    assert r["status"] == "ERROR" and "no person found" in r["message"], r["message"]
    assert r["unchanged"]


def test_cancel_through_the_service(res: dict) -> None:
    r = res["cancelled"]
    assert r["cancel"]["result"] == ["FINISHED"]
    assert r["status"] == "CANCELLED" and r["unchanged"]


def test_start_local_backend(res: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The preferences' "Start local backend" button: a bad Python is reported; the real one serves."""
    bad = res["start_backend_bad_python"]
    assert bad["result"] == ["CANCELLED"] and "does not exist" in bad["error"]
    sys.path.insert(0, str(REPO / "addon"))
    from posebake_blender.client import BackendClient, BackendUnavailable
    from posebake_blender.jobs import start_backend

    monkeypatch.setenv("POSEBAKE_CONFIG", str(tmp_path / "service.json"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # not the user's real state directory
    url = f"http://127.0.0.1:{free_port()}"
    proc = start_backend(sys.executable, url, str(tmp_path / "serve.log"))
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                health = BackendClient(url, timeout=2).health()
                break
            except BackendUnavailable:
                assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "backend did not come up"
                time.sleep(0.5)
        assert health["status"] == "ok"
        assert BackendClient(url).jobs() == []  # the token it wrote is the one the add-on reads
    finally:
        proc.terminate()
        proc.wait(30)
