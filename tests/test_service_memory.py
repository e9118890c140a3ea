"""The server's memory and state directory stay flat however many jobs it runs (issue: reliability).

One hundred short real jobs, one after another, through a loopback `posebake serve` kept to its newest
ten finished jobs (`--keep-jobs 10`): the resident memory after 100 is within 10 % of that after 20, and
the finished jobs, records and results beyond ten are gone (they used to be kept forever, ~10 MiB per 20).
"""
from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from tests.test_service import Server, finished, wait_for

CLIP = "mmhuman3d_two_people_handshake.mp4"
KEEP = 10


@pytest.mark.slow
def test_memory_is_flat_over_a_hundred_jobs(tmp_path: Path, videos: Path, model_files: Path) -> None:
    srv = Server(tmp_path / "srv", [videos], extra=("--keep-jobs", str(KEEP))).start()
    try:
        proc = psutil.Process(srv.proc.pid)
        rss: dict[int, float] = {}
        with srv.http() as http:
            for n in range(1, 101):
                r = http.post("/jobs", json={"path": str(videos / CLIP), "end": 8, "fov": 55})
                assert r.status_code == 201, r.text
                job = wait_for(http, r.json()["id"], finished)
                assert job["state"] == "done", job
                if n in (20, 100):
                    time.sleep(0.5)  # let the worker settle after the last result
                    rss[n] = proc.memory_info().rss / 2 ** 20
            listed = http.get("/jobs").json()
        assert abs(rss[100] - rss[20]) <= 0.10 * rss[20], rss
        assert len(listed) == KEEP, len(listed)
        assert len(list((srv.state / "results").glob("*.npz"))) == KEEP
        assert len(list((srv.state / "jobs").glob("*.json"))) == KEEP
        assert not any((srv.state / "uploads").iterdir())
    finally:
        srv.stop()
