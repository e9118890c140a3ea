"""Raw (unsmoothed) estimator output for benchmark clips, computed once and cached.

Both the noise model (noise.py measures PoseBake's real error statistics against rendered ground truth)
and bench/smoothing.py need the raw pipeline's output on the same clips. Running the estimator costs
seconds per frame on a loaded CPU, so each clip is estimated once and the Motion is kept under
``bench/.work/smoothing/`` (git-ignored). The key includes the video's size and mtime, so a re-rendered
clip is estimated again, and a fingerprint of the estimator's source, so a changed pipeline is too: a
cache keyed on the video alone once served raw estimates several pipeline changes old, and the smoothing
table built on it was off by 1.8 mm/f² of raw acceleration error.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from posebake_core.motion import Motion
from posebake.paths import repo_root


def cache_dir() -> Path:
    return repo_root() / "bench" / ".work" / "smoothing"


def pipeline_fingerprint() -> str:
    """sha256 (16 hex) of the source of every module that shapes a raw estimate: the runtime package's
    top-level modules, its tflite importer and model code (not smoothing, commands or service), and the
    core's top-level modules (the Motion contract)."""
    import posebake
    import posebake_core

    h = hashlib.sha256()
    for pkg in (Path(posebake.__file__).resolve().parent, Path(posebake_core.__file__).resolve().parent):
        for f in sorted([*pkg.glob("*.py"), *pkg.glob("tflite/*.py"), *pkg.glob("models/*.py")]):
            h.update(f"{pkg.name}/{f.relative_to(pkg).as_posix()}".encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def gt_clips(clips_dir: Path | None = None) -> list[tuple[str, Path, Path]]:
    """(name, video, gt) for every complete ``NAME.mp4`` + ``NAME_gt.npz`` pair, sorted by name."""
    clips_dir = clips_dir or repo_root() / "bench" / "groundtruth" / "clips"
    out = []
    for gt in sorted(clips_dir.glob("*_gt.npz")):
        name = gt.name[: -len("_gt.npz")]
        video = gt.with_name(f"{name}.mp4")
        if video.is_file():
            out.append((name, video, gt))
    return out


def raw_motion(video: Path, focal: float | None, device: str = "cpu", cache: Path | None = None) -> Motion:
    """The estimator's raw Motion for `video` (single person, the given focal), from cache when fresh."""
    cache = cache or cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    st = video.stat()
    key = {"video": str(video.resolve()), "size": st.st_size, "mtime": int(st.st_mtime),
           "focal": None if focal is None else round(float(focal), 3),
           "pipeline": pipeline_fingerprint()}
    npz, meta = cache / f"{video.stem}.npz", cache / f"{video.stem}.json"
    if npz.is_file() and meta.is_file() and json.loads(meta.read_text()) == key:
        cached = Motion.load(npz)
        if cached.smoothing == "none":
            return cached
    from posebake.estimate import EstimateOptions, Estimator  # torch + models only when really needed

    # smooth="none": estimate now smooths by default, and these must be the raw pipeline's output
    motion = Estimator(device).run(video, EstimateOptions(focal=focal, max_people=1, smooth="none"))
    motion.save(npz)
    meta.write_text(json.dumps(key))
    return motion


def raw_for_gt_clips(device: str = "cpu") -> list[tuple[str, Motion, dict[str, np.ndarray]]]:
    """(name, raw Motion, GT dict) for every rendered GT clip, estimated with the GT focal length."""
    from ..eval.report import load_groundtruth

    out = []
    for name, video, gt_path in gt_clips():
        gt = load_groundtruth(gt_path)
        out.append((name, raw_motion(video, float(gt["K"][0, 0]), device), gt))
    return out


if __name__ == "__main__":  # python -m posebake_dev.smoothnet.rawcache: fill the cache
    import time

    from posebake.paths import shared_data

    t0 = time.time()
    for name, m, _ in raw_for_gt_clips():
        print(f"{name}: {m.num_frames} frames ({time.time() - t0:.0f} s)", flush=True)
    raw_motion(shared_data() / "videos" / "phalp_running_woman.mp4", None)
    print(f"runner done ({time.time() - t0:.0f} s)", flush=True)
