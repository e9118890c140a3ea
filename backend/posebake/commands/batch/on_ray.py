"""`posebake batch DIR --ray [ADDRESS]`: the folder's videos as Ray tasks, for a render farm or a cluster.

Each video is two chained tasks: `estimate_video` (asks for a GPU when the cluster has one, else a CPU) and
`bake_video` (a CPU worker: it runs the add-on's headless driver in pip bpy, like the local batch). Ray
re-runs a task whose worker died (`MAX_RETRIES`), and both steps write through temporary names (Motion
`save`, the bake's staged outputs), so a retried task overwrites nothing half-written. A video that fails on
its own (unreadable, nobody in it) is not retried: it is reported, and the batch goes on, with the same
summary table and exit code as the local batch. Every node must see DIR, OUTDIR and the rig at the same
paths (shared storage), and have PoseBake installed (`pip install 'posebake[ray,blender]'`).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from posebake_core.errors import PoseBakeError
from . import Row, bake_job, done_row, failed_row, motion_path
from ..bake import describe, estimate_to, run_headless

#: Re-runs of a task whose worker process died (Ray's own default for tasks is 3 too; stated here because
#: the batch's promise, every video done after a lost worker, rests on it).
MAX_RETRIES = 3
#: One estimator per worker process, kept warm across the tasks Ray sends it (Ray reuses workers).
_ESTIMATOR: dict[str, Any] = {}


def estimate_video(video: str, dest: str, args: argparse.Namespace) -> str:
    """Ray task: estimate one video into its Motion file; returns the file's path."""
    est = estimate_to(Path(video), Path(dest), args, _ESTIMATOR.get(args.device))
    _ESTIMATOR[args.device] = est
    return dest


def bake_video(motion: str, job: dict, timeout: float) -> dict:
    """Ray task: bake one Motion (the estimate task's result, resolved by Ray) onto the rig."""
    return run_headless({**job, "motion": motion}, timeout)


def connect(address: str) -> dict[str, float]:
    """Join the cluster at `address` ('' starts a local Ray instance); returns its resources."""
    try:
        import ray
    except ImportError:
        raise PoseBakeError("--ray needs Ray: pip install 'posebake[ray]'") from None
    if not ray.is_initialized():
        kw: dict[str, Any] = {"address": address} if address else {}
        if not address and os.environ.get("POSEBAKE_RAY_CPUS"):
            kw["num_cpus"] = int(os.environ["POSEBAKE_RAY_CPUS"])
        try:
            ray.init(log_to_driver=False, **kw)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise PoseBakeError(f"cannot reach the Ray cluster at {address or 'a new local instance'}: {exc}") \
                from None
    return ray.cluster_resources()


def _cause(exc: BaseException) -> BaseException:
    """The user's error inside Ray's wrapper (RayTaskError carries the original as `cause`)."""
    return getattr(exc, "cause", None) or exc


def run_on_ray(files: list[Path], args: argparse.Namespace) -> list[Row]:
    """Submit every file, print each as it finishes, and return the rows in the folder's order."""
    import ray

    resources = connect(args.ray)
    gpus = 1 if resources.get("GPU", 0) >= 1 else 0
    print(f"ray: {resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs; estimating on "
          f"{'GPU' if gpus else 'CPU'} workers", flush=True)
    estimate = ray.remote(max_retries=MAX_RETRIES, num_cpus=1, num_gpus=gpus)(estimate_video)
    bake = ray.remote(max_retries=MAX_RETRIES, num_cpus=1)(bake_video)
    args.output = args.output.resolve()
    pending: dict[Any, tuple[int, Path, float]] = {}
    for k, f in enumerate(files):
        motion = motion_path(f, args)
        source = str(motion.resolve()) if motion == f else estimate.remote(str(f.resolve()), str(motion), args)
        pending[bake.remote(source, bake_job(f, motion, args), args.timeout)] = (k, f, time.monotonic())
    rows: list[Row | None] = [None] * len(files)
    done = 0
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        k, f, t0 = pending.pop(ready[0])
        done += 1
        label = f"[{done}/{len(files)}] {f.name}: "
        try:
            result = ray.get(ready[0])
        except Exception as exc:  # the video's own failure, or a task that ran out of retries
            rows[k] = failed_row(f, _cause(exc), time.monotonic() - t0)
            print(f"{label}FAILED: {rows[k].detail.splitlines()[0]}", flush=True)
            continue
        rows[k] = done_row(f, result, time.monotonic() - t0)
        print(label + describe(result), flush=True)
    sys.stdout.flush()
    return [r for r in rows if r is not None]
