"""Small helpers shared by the benchmark scripts: machine description and timing."""
from __future__ import annotations

import datetime as dt
import os
import platform
import time
from typing import Callable


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_header(device: str) -> str:
    """One markdown paragraph saying what the numbers were measured on, and under what load."""
    import torch

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    return (f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC\n"
            f"- Machine: nproc={os.cpu_count()}, CPU {cpu_model()}{gpu}; torch {torch.__version__} "
            f"({torch.get_num_threads()} threads); device for torch rows: {device}\n"
            f"- 1-min load average at start: {load:.2f}")


def time_ms(fn: Callable[[], object], repeats: int, warmup: int = 2, sync: Callable[[], None] = lambda: None) -> float:
    """Median wall time of `fn` in milliseconds (after warm-up); median, not mean, to shrug off the odd
    scheduler hiccup on a shared 2-core machine."""
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]


def mediapipe_python(enabled: bool = True) -> str | None:
    """The MediaPipe venv's python (created on first use by bench/mediapipe_env.sh), or None."""
    import subprocess
    from pathlib import Path

    if not enabled:
        return None
    env = subprocess.run([str(Path(__file__).resolve().parent / "mediapipe_env.sh")], stdout=subprocess.PIPE,
                         text=True)
    return env.stdout.strip().splitlines()[-1] if env.returncode == 0 and env.stdout.strip() else None


def write_table(path, text: str) -> None:
    """Write a results file (creating bench/results/) and say where it went."""
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}")


def box() -> str:
    """'2-core <CPU model> box': the machine, for a result's first sentence."""
    return f"{os.cpu_count()}-core {cpu_model()} box"
