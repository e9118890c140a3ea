"""`posebake batch --ray` (issue #20, item 6) on a local Ray instance over the shared videos: the same
summary and outputs as the local batch, and a Ray worker killed mid-run still ends with every video done."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

pytestmark = [pytest.mark.bpy, pytest.mark.slow]
FRAMES = ["--end", "10"]  # ten frames a video: the point is the scheduling, not the estimate


def batch(videos: Path, rig: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "posebake.cli", "batch", str(videos), "--rig", str(rig),
                             "-o", str(out), *FRAMES, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "OMP_NUM_THREADS": "1", "POSEBAKE_RAY_CPUS": "2"})


def rows(stdout: str) -> list[tuple[str, ...]]:
    """(file, status, frames, detail) of each row of the summary table (seconds differ run to run)."""
    lines = stdout.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("file ") and "status" in ln) + 2
    out = []
    for ln in lines[start:]:
        if not ln.strip():
            break
        m = re.match(r"^(\S+)\s+(ok|FAILED)\s+(\S+)\s+[\d.]+\s*(.*)$", ln)
        assert m, ln
        out.append(m.groups())
    return out


def kill_one_estimate_worker(proc: subprocess.Popen, seen: list[int]) -> None:
    """SIGKILL the first Ray worker found running `estimate_video` (Ray titles it `ray::estimate_video`)."""
    while proc.poll() is None and not seen:
        for p in psutil.process_iter(["pid", "cmdline"]):
            cmd = " ".join(p.info["cmdline"] or [])
            if cmd.startswith("ray::estimate_video"):
                try:
                    os.kill(p.info["pid"], signal.SIGKILL)
                    seen.append(p.info["pid"])
                except ProcessLookupError:
                    continue
                return
        time.sleep(0.05)


def test_ray_batch_matches_local_batch_and_survives_a_killed_worker(tmp_path: Path, videos: Path, data_dir: Path,
                                                                    model_files: Path) -> None:
    rig = data_dir / "characters" / "cmu_skeleton_basemesh_female.glb"
    local = batch(videos, rig, tmp_path / "local")
    local_out, local_err = local.communicate(timeout=1500)
    assert local.returncode == 0, local_out[-3000:] + local_err[-3000:]

    ray_run = batch(videos, rig, tmp_path / "ray", "--ray")
    killed: list[int] = []
    watcher = threading.Thread(target=kill_one_estimate_worker, args=(ray_run, killed), daemon=True)
    watcher.start()
    ray_out, ray_err = ray_run.communicate(timeout=1500)
    watcher.join(timeout=5)
    assert ray_run.returncode == 0, ray_out[-3000:] + ray_err[-3000:]
    assert killed, "no estimate worker was seen to kill: the run did not exercise a retry"
    assert "ray: 2 CPUs" in ray_out

    want = rows(local_out)
    assert len(want) == 5 and all(r[1] == "ok" for r in want), local_out  # every shared video
    assert rows(ray_out) == want
    assert "5 baked, 0 failed" in ray_out
    names = sorted(p.name for p in (tmp_path / "local").iterdir())
    assert sorted(p.name for p in (tmp_path / "ray").iterdir()) == names
    assert {Path(n).suffix for n in names} == {".npz", ".blend"}, names
    assert not [n for n in names if ".tmp" in n or n.startswith(".")], names  # nothing half-written
