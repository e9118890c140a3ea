"""The service takes `subject_height` like the CLI's `--subject-height`: checked on submit (a clear 422 for
centimetres, negatives, words) and handed to `EstimateOptions`. The app runs in-process (FastAPI's test
client, the real routes, store and job manager) with a stand-in estimator that records the options it is
given, so the check needs no models and no minute of CPU; `test_service.py` covers the real estimator.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from posebake_core.motion import Motion
from posebake.service.app import create_app
from posebake.service.config import ServiceConfig
from posebake.service.jobs import JobManager
from posebake.service.options import OptionError, parse_options
from posebake.service.store import JobStore
from posebake_core.skeleton import standing_pose

TOKEN = "t" * 32
SHORT = "mmhuman3d_two_people_handshake.mp4"


class RecordingEstimator:
    """Returns a one-frame standing person and keeps the `EstimateOptions` of every run."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.done = threading.Event()

    def run(self, video: Any, opts: Any = None, progress: Any = None, cancel: Any = None) -> Motion:
        self.seen.append(opts)
        self.done.set()
        j = (standing_pose() + [0, 0, 3.0])[None, None].astype(np.float32)
        K = np.array([[1000.0, 0, 640], [0, 1000, 360], [0, 0, 1]])
        return Motion(j, np.zeros((1, 1, 33, 2)), np.ones((1, 1, 33)), 30.0, K, (1280, 720))


@pytest.fixture()
def service(tmp_path: Path, videos: Path):
    cfg = ServiceConfig(state_dir=tmp_path / "state", config_file=tmp_path / "service.json",
                        allowed_roots=(videos,))
    cfg.make_dirs()
    est = RecordingEstimator()
    manager = JobManager(JobStore(cfg.jobs_dir, cfg.uploads_dir, cfg.results_dir), [est], device="cpu")
    manager.start()
    app = create_app(cfg, manager, TOKEN, {"device": "stand-in"})
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client, est


@pytest.mark.parametrize("value,word", [("170", "metres"), ("-1.7", "0.5-2.6"), ("0", "0.5-2.6"),
                                        ("tall", "must be a number"), ("nan", "finite")])
def test_bad_subject_height_is_a_clear_422(service, videos: Path, value: str, word: str) -> None:
    client, est = service
    r = client.post("/jobs", data={"path": str(videos / SHORT), "subject_height": value})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "subject_height" in detail and word in detail, detail
    assert client.get("/jobs").json() == [] and est.seen == []  # nothing queued


def test_subject_height_reaches_the_estimator(service, videos: Path) -> None:
    client, est = service
    r = client.post("/jobs", json={"path": str(videos / SHORT), "subject_height": 1.68, "focal": 1500})
    assert r.status_code == 201, r.text
    assert r.json()["options"]["subject_height"] == 1.68
    assert est.done.wait(30)
    opts = est.seen[0]
    assert opts.subject_height == pytest.approx(1.68) and opts.focal == pytest.approx(1500.0)
    deadline = time.monotonic() + 30
    while client.get(f"/jobs/{r.json()['id']}").json()["state"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_parse_options_subject_height() -> None:
    assert parse_options({"subject_height": "1.8"}) == {"subject_height": 1.8}
    assert parse_options({"subject_height": ""}) == {}  # an empty form field means not given
    with pytest.raises(OptionError, match="in metres .the standing height."):
        parse_options({"subject_height": 3.0})
    with pytest.raises(OptionError, match="accepted: .*subject_height"):
        parse_options({"subject_heigth": 1.8})
