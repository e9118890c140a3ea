"""Benchmark: knee and elbow flexion per camera on real lab footage, against a 4-camera triangulation.

    python bench/lab_flexion.py [--out bench/results/lab_flexion.md]

The Pose2Sim clip (../shared/data/videos/pose2sim_single_person_4cams: one man, four calibrated, synchronised
60 fps cameras) is estimated per camera on its own (`--focal` from the calibration, `--smooth none`, lifter
on). The reference angles come from BlazePose's 2D landmarks of all four views, undistorted and triangulated
(bench/multiview_root.py's calibration reader and DLT): independent of any monocular depth. Flexion is the
angle between the two segments at the joint (180° = straight), so it compares a surface-landmark skeleton
and a joint-centre skeleton fairly. Per view and joint: the mean absolute error in degrees of BlazePose's
world landmarks and of the lifter's joint centres.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import machine_header, write_table  # noqa: E402
from multiview_root import CLIP, read_qualisys, triangulate_tracks  # noqa: E402

from posebake.paths import shared_data  # noqa: E402
from posebake_core.skeleton import CENTRE_JOINTS, JOINT_INDEX  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
#: joint -> (proximal, joint, distal) names, shared by the landmarks and the joint centres.
ANGLES = {f"{s} {j}": tuple(f"{s}_{n}" for n in names) for s in ("left", "right")
          for j, names in (("knee", ("hip", "knee", "ankle")), ("elbow", ("shoulder", "elbow", "wrist")))}


def flexion(points: np.ndarray, index: dict[str, int], names: tuple[str, str, str]) -> np.ndarray:
    """(T,) angle in degrees at the middle joint of `names` in (T, J, 3) `points`."""
    a, b, c = (points[:, index[n]] for n in names)
    u, v = a - b, c - b
    cos = np.sum(u * v, -1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "lab_flexion.md")
    args = ap.parse_args()
    from posebake.estimate import EstimateOptions, Estimator

    folder = shared_data() / CLIP
    cams = read_qualisys(folder / "Calib.qca.txt")
    est = Estimator(args.device)
    header = machine_header(str(est.device))
    t0 = time.time()
    motions = [est.run(folder / f"{c.name}.mp4", EstimateOptions(focal=float(c.K[0, 0]), smooth="none",
                                                                 max_people=1, lifter="motionbert")) for c in cams]
    X, _, n = triangulate_tracks(motions, cams)
    cidx = {name: i for i, name in enumerate(CENTRE_JOINTS)}
    rows, sums = [], {"BlazePose world landmarks": [], "lifter joint centres": []}
    for m, c in zip(motions, cams):
        bp = m.joints_cam[0, :n].astype(np.float64)
        sk = m.skeleton_cam[0, :n].astype(np.float64)
        for joint, names in ANGLES.items():
            ref = flexion(X, JOINT_INDEX, names)
            errs = {"BlazePose world landmarks": np.abs(flexion(bp, JOINT_INDEX, names) - ref),
                    "lifter joint centres": np.abs(flexion(sk, cidx, names) - ref)}
            good = np.isfinite(ref) & np.isfinite(errs["BlazePose world landmarks"]) & \
                np.isfinite(errs["lifter joint centres"])
            for k, e in errs.items():
                sums[k].append(float(e[good].mean()))
            rows.append(f"| {c.name} | {joint} | {good.sum()} | {np.nanmean(ref[good]):.0f} | "
                        f"{errs['BlazePose world landmarks'][good].mean():.1f} | "
                        f"{errs['lifter joint centres'][good].mean():.1f} |")
    rows.append(f"| **all views** | **mean** | | | {np.mean(sums['BlazePose world landmarks']):.1f} | "
                f"{np.mean(sums['lifter joint centres']):.1f} |")
    text = ("# Knee and elbow flexion on real lab footage, per view, against a 4-camera triangulation\n\n" + header +
            f"\n- Reproduce: `python bench/lab_flexion.py` ({time.time() - t0:.0f} s); clip: ../shared/data/{CLIP} "
            f"(real footage, 4 calibrated cameras, 60 fps, {n} frames); `--focal` from the calibration, "
            "`--smooth none`, lifter on\n- Reference: BlazePose's 2D landmarks of all four views, undistorted and "
            "triangulated (DLT)\n\n"
            "| camera | joint | frames | reference mean angle ° | BlazePose world landmarks error ° | "
            "lifter joint centres error ° |\n|---|---|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n")
    write_table(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
