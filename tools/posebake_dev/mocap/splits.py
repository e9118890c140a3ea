"""Which CMU trials in ../shared/data may be trained on, which validate, and which are reserved.

One place for every learned component (SmoothNet, the lifter): a trial is *reserved* when an evaluation
uses it (issue #18: CMU 01_01, 02_01 and 02_05, plus the motion of every committed ground-truth clip, read
from bench/groundtruth/clips/manifest.json); reserved trials are never trained or tuned on. Whole trials
are held out for validation, so validation measures generalisation to unseen movement.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from .asfamc import read_amc, read_asf
from .bvh import read_bvh
from .motion import forward_kinematics, resample
from posebake.paths import repo_root, shared_data

#: Reserved for evaluation by issue #18, whether or not a rendered clip uses them.
RESERVED = frozenset({"01_01", "02_01", "02_05"})
#: Held out for validation (whole motions): a playground climb, a swordplay, uneven-terrain walking, an
#: MJ-style walk. Everything else not reserved is training data.
VALIDATION = ("01_09", "02_07", "03_03", "131_02")
#: cmu_walk_delfem2.bvh is most likely CMU 02_01 (shared/data/SOURCES.md), so it counts as 02_01.
_ALIASES = {"walk_delfem2": "02_01"}


def motion_id(path: str | Path) -> str:
    """'mocap_bvh/cmu_01_01.bvh' and 'mocap_amc/01_01.amc' -> '01_01' (the CMU trial id)."""
    stem = re.sub(r"^cmu_", "", Path(path).stem)
    return _ALIASES.get(stem, stem)


def excluded_motions() -> set[str]:
    """CMU trials never trained on: the reserved ones and those of the rendered GT clips (manifest)."""
    manifest = repo_root() / "bench" / "groundtruth" / "clips" / "manifest.json"
    used = set(RESERVED) | {"02_02", "02_03", "02_04", "131_03"}  # the clips as of writing; the manifest adds
    if manifest.is_file():
        used |= {motion_id(v["motion"]) for v in json.loads(manifest.read_text()).values()}
    return used


def sources() -> dict[str, Path]:
    """CMU trial id -> one file (the AMC original where both exist: it needs no BVH unit guess)."""
    data = shared_data()
    out = {motion_id(p): p for p in sorted((data / "mocap_bvh").glob("*.bvh"))}
    out.update({motion_id(p): p for p in sorted((data / "mocap_amc").glob("*.amc"))})
    return out


def split() -> dict[str, list[str]]:
    """{'train': [...], 'val': [...], 'excluded': [...]} trial ids, sorted."""
    src, skip = sources(), excluded_motions()
    wanted = sorted(k for k in src if k not in skip)
    return {"train": [k for k in wanted if k not in VALIDATION], "val": [k for k in wanted if k in VALIDATION],
            "excluded": sorted(skip)}


def trial_positions(path: Path, fps: float) -> np.ndarray:
    """(T, 38, 3) joint positions (metres, the source's Y-up axes) of one CMU trial file resampled to `fps`;
    both CMU formats give the same 38-joint tree, in the same order (BVH and ASF/AMC)."""
    if path.suffix == ".amc":
        motion = read_amc(path, read_asf(path.with_name(path.stem.split("_")[0] + ".asf")))
    else:
        motion = read_bvh(path)
    if len(motion.names) != 38:
        raise ValueError(f"{path}: expected the 38-joint CMU tree, got {len(motion.names)} joints")
    return forward_kinematics(resample(motion, fps))[0]
