"""Run the MediaPipe CPU baseline over every shared clip and write a markdown table.

Runs with any python (no numpy, torch or posebake needed): each clip is handed to
``bench/mediapipe_baseline.py`` under the isolated MediaPipe venv as a
subprocess, one at a time, so clips never compete with each other for the CPU.
The header records the machine and the 1-minute load average before and after,
because on a shared box the fps is only meaningful next to the load it was
measured under.

Usage::

    python bench/baseline_all.py [--data ../shared/data] [--python .venv-mediapipe/bin/python]

Writes the table to stdout and to ``bench/results/mediapipe_baseline.md``; the
per-clip npz files go to ``bench/.work/mediapipe_baseline/`` (git-ignored).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BASELINE = REPO / "bench" / "mediapipe_baseline.py"
ENV_SCRIPT = REPO / "bench" / "mediapipe_env.sh"
DEFAULT_OUT_MD = REPO / "bench" / "results" / "mediapipe_baseline.md"
WORK = REPO / "bench" / ".work" / "mediapipe_baseline"


def shared_clips(data: Path) -> list[Path]:
    """The benchmark clip set: every videos/*.mp4 plus one view of the 4-camera Pose2Sim take.

    Only cam01 of Pose2Sim is used because the four views are the same 1.67 s of
    motion; timing all four would weight that take four times.
    """
    vids = data / "videos"
    clips = sorted(vids.glob("*.mp4"))
    cam01 = vids / "pose2sim_single_person_4cams" / "cam01.mp4"
    if cam01.exists():
        clips.append(cam01)
    return clips


def load_avg_1min() -> float | None:
    """1-minute load average, or None where the OS has none."""
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return None


def machine_info() -> dict[str, Any]:
    """nproc, CPU model and RAM, read from the OS so the table says what it ran on."""
    cpu = platform.processor() or "unknown"
    ram_gib: float | None = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = int(line.split()[1]) / 1024 / 1024
                break
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"nproc": nproc, "cpu": cpu, "ram_gib": ram_gib}


def venv_versions(py: str) -> dict[str, str]:
    """Versions inside the MediaPipe venv (not this interpreter's), since those are what ran."""
    code = (
        "import json,sys,importlib.metadata as m;"
        "print(json.dumps({'python':sys.version.split()[0],"
        "**{k:m.version(k) for k in ('mediapipe','numpy','opencv-python-headless','protobuf')}}))"
    )
    out = subprocess.run([py, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_clip(py: str, clip: Path, out_npz: Path) -> dict[str, Any]:
    """Run the baseline on one clip; return its JSON summary or {'error': ...}."""
    proc = subprocess.run([py, str(BASELINE), str(clip), "-o", str(out_npz)],
                          capture_output=True, text=True)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"rc={proc.returncode}: {tail}"}
    return json.loads(lines[-1])


def _fmt(x: Any, spec: str) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "n/a"
    return format(x, spec)


def render(rows: list[tuple[str, dict[str, Any]]], machine: dict[str, Any],
           versions: dict[str, str], load_start: float | None, load_end: float | None,
           started: str, wall_s: float) -> str:
    """Markdown report: header with the conditions, then one row per clip."""
    ram = _fmt(machine["ram_gib"], ".1f")
    lines = [
        "# MediaPipe CPU Pose baseline",
        "",
        "Legacy `mediapipe.solutions.pose.Pose(static_image_mode=False, model_complexity=1, "
        "smooth_landmarks=True)` (full model), every frame, single process, clips run one after "
        "another. **fps = frames / sum of `pose.process` time**: decode and BGR->RGB are excluded; "
        "the first frame (graph warm-up) is included. Jitter = mean norm of the second temporal "
        "difference of `pose_world_landmarks` over consecutive detected frames, all 33 joints, "
        "mm/frame^2 (frame-rate dependent: compare clips at the same fps only).",
        "",
        f"- Date: {started} (run took {wall_s:.0f} s wall)",
        f"- Machine: nproc={machine['nproc']}, CPU: {machine['cpu']}, RAM: {ram} GiB",
        f"- 1-min load average: start {_fmt(load_start, '.2f')}, end {_fmt(load_end, '.2f')} "
        "(the machine is shared with other jobs; with 2 cores a load above ~1 means MediaPipe "
        "competed for CPU and these fps are a lower bound for an idle machine)",
        "- Versions (MediaPipe venv): " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        "- Reproduce: `bench/mediapipe_env.sh && python bench/baseline_all.py`",
        "",
        "| clip | frames | resolution | video fps | detected % | MediaPipe fps (decode excluded) "
        "| median ms/frame | jitter mm/frame² |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows:
        if "error" in r:
            lines.append(f"| {name} | FAILED | | | | | | {r['error']} |")
            continue
        w, h = r["image_size"]
        lines.append(
            f"| {name} | {r['frames']} | {w}x{h} | {_fmt(r['fps_video'], 'g')} "
            f"| {_fmt(100.0 * r['detected_fraction'], '.1f')} | {_fmt(r['process_fps'], '.1f')} "
            f"| {_fmt(r['process_ms_median'], '.1f')} | {_fmt(r['jitter_mm_per_frame2'], '.1f')} |"
        )
    ok = [r for _, r in rows if "error" not in r]
    if ok:
        frames = sum(r["frames"] for r in ok)
        secs = sum(r["frames"] / r["process_fps"] for r in ok)
        lines += ["", f"All clips pooled: {frames} frames, {frames / secs:.1f} fps (decode excluded)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Set up (or reuse) the venv, run every clip sequentially, write the report."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--python", default=None, help="MediaPipe venv python (default: from mediapipe_env.sh)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT_MD)
    args = p.parse_args(argv)

    py = args.python
    if py is None:
        env = subprocess.run([str(ENV_SCRIPT)], stdout=subprocess.PIPE, text=True)
        if env.returncode != 0:
            print("error: bench/mediapipe_env.sh failed", file=sys.stderr)
            return env.returncode
        py = env.stdout.strip().splitlines()[-1]
    clips = shared_clips(args.data)
    if not clips:
        print(f"error: no videos under {args.data / 'videos'}", file=sys.stderr)
        return 2

    versions = venv_versions(py)
    machine = machine_info()
    started = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load_start = load_avg_1min()
    t0 = dt.datetime.now()
    WORK.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, dict[str, Any]]] = []
    for clip in clips:
        name = str(clip.relative_to(args.data / "videos"))
        res = run_clip(py, clip, WORK / (name.replace("/", "__").removesuffix(".mp4") + ".npz"))
        print(f"# {name}: {json.dumps(res)}", file=sys.stderr, flush=True)
        rows.append((name, res))
    load_end = load_avg_1min()
    wall = (dt.datetime.now() - t0).total_seconds()

    md = render(rows, machine, versions, load_start, load_end, started, wall)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(md)
    sys.stdout.write(md)
    return 1 if any("error" in r for _, r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
