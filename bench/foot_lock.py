"""Benchmark: foot slide of a bake, with the foot lock on and off, in the ground truth's contact frames.

For each committed ground-truth clip: the estimate with the true focal (bench/contacts.py's cache) baked
onto the CMU-skeleton character (the one the clips were rendered with) by `posebake bake`, once with the
lock and once with `--no-foot-lock`; then in pip bpy the baked ankles (LeftFoot/RightFoot heads) and balls
(LeftToeBase/RightToeBase heads) in the scene, per frame. Slide: the median distance a point moves between
two consecutive frames that are both ground-truth contact frames of its foot (cm per frame). Writes
bench/results/foot_lock.md. Run: `.venv/bin/python bench/foot_lock.py`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contacts as C  # noqa: E402
from benchutil import box  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent / "groundtruth"))
from gtio import read_frames  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CHAR = Path(os.environ.get("POSEBAKE_DATA", REPO.parent / "shared" / "data")) / "characters" / \
    "cmu_skeleton_basemesh_female.glb"
WORK = REPO / "bench" / ".work" / "foot_lock"
POINTS = {"L": ("LeftFoot", "LeftToeBase"), "R": ("RightFoot", "RightToeBase")}

def baked_points(blend: Path, names: list[str]) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray]:
    """(heads (T,N,3), rig leg length, rest heights (N,), soles (T,4,3): left heel, left toe tip, right heel,
    right toe tip on the deformed mesh, and the soles' rest heights (4,)), read back in pip bpy by
    bench/foot_measure.py."""
    out = WORK / "points.json"
    subprocess.run(["timeout", "600", sys.executable, str(REPO / "bench" / "foot_measure.py"), str(blend),
                    json.dumps(names), str(out)], check=True, capture_output=True)
    got = json.loads(out.read_text())
    return (np.array(got["points"]), float(got["leg"]), np.array(got["rest_z"]), np.array(got["soles"]),
            np.array(got["soles_rest_z"]))


def slide_cm(points: np.ndarray, contact: np.ndarray) -> float:
    both = contact[1:] & contact[:-1]
    step = np.linalg.norm(np.diff(points, axis=0), axis=-1)[both[: len(points) - 1]]
    return float(np.median(step) * 100) if len(step) else float("nan")


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    names = [n for pair in POINTS.values() for n in pair]
    rows = []
    for gt_path in sorted(C.CLIPS.glob("*_gt.npz")):
        clip = gt_path.name[: -len("_gt.npz")]
        with np.load(gt_path) as d:
            gt = {k: d[k] for k in d.files}
        truth = C.gt_contacts(gt)
        motion = C.estimated(clip, float(gt["K"][0, 0]))
        jn = [str(n) for n in gt["joint_names"]]
        gj = gt["joints_world"][0]
        gt_leg = sum(float(np.linalg.norm(gj[jn.index(a)] - gj[jn.index(b)]))
                     for a, b in (("LeftUpLeg", "LeftLeg"), ("LeftLeg", "LeftFoot")))
        row = {"clip": clip}
        names_gt = [str(n) for n in gt["site_names"]]
        for S, side in (("L", "left"), ("R", "right")):  # the ground truth's own sole, for reference
            for part, site in (("heel", "heel"), ("toe", "toe_tip")):
                row[f"gt_{S}_{part}"] = slide_cm(gt["sites_world"][:, names_gt.index(f"{side}_{site}")], truth[S])
        for mode, extra in (("off", ["--no-foot-lock"]), ("on", [])):
            blend = WORK / f"{clip}_{mode}.blend"
            subprocess.run([sys.executable, "-m", "posebake.cli", "bake", str(motion), "--rig", str(CHAR),
                            "-o", str(blend), *extra], check=True, capture_output=True)
            pts, rig_leg, rest_z, soles, soles_rest = baked_points(blend, names)
            k_m = gt_leg / rig_leg  # scene units -> the character's metres
            pts, rest_z, soles, soles_rest = pts * k_m, rest_z * k_m, soles * k_m, soles_rest * k_m
            for k, (S, pair) in enumerate(POINTS.items()):
                n = min(len(pts), len(truth[S]))
                for j, part in enumerate(("ankle", "ball")):
                    row[f"{mode}_{S}_{part}"] = slide_cm(pts[:n, 2 * k + j], truth[S][:n])
                for j, part in enumerate(("heel", "toe")):  # mesh heel and toe tip, as the ground truth's sites
                    row[f"{mode}_{S}_{part}"] = slide_cm(soles[:n, 2 * k + j], truth[S][:n])
                # the ball of the foot's height over its rest height (on the floor) in contact frames
                ball = pts[:n, 2 * k + 1, 2] - rest_z[2 * k + 1]
                row[f"{mode}_{S}_floor"] = float(np.median(np.abs(ball[truth[S][:n]])) * 100) \
                    if truth[S][:n].any() else float("nan")
                # the sole's lowest point (mesh heel or toe tip) over the floor (the rest sole's level)
                sole = soles[:n, 2 * k:2 * k + 2, 2].min(axis=1) - soles_rest[2 * k:2 * k + 2].min()
                row[f"{mode}_{S}_sole"] = float(np.median(np.abs(sole[truth[S][:n]])) * 100) \
                    if truth[S][:n].any() else float("nan")
        rows.append(row)
        print(json.dumps(row), flush=True)
    lines = ["# Foot slide of a bake in the ground truth's contact frames, lock off and on\n",
             f"Measured {time.strftime('%Y-%m-%d')} with `bench/foot_lock.py` on the {box()}: each "
             "rendered clip's estimate (true focal) baked onto the CMU-skeleton character; median movement "
             "(cm/frame, scene units scaled by the ground truth's leg length over the rig's) of the baked ankle, "
             "ball of the foot, and the deformed mesh's heel and toe tip (picked as the ground truth's sites) "
             "between consecutive ground-truth contact frames of that foot (contacts: "
             "bench/contacts.py), with the ground truth's own heel and toe tip in the same frames (GT: a contact "
             "frame needs only one of them still, so the other may be rolling); how far the ball of the foot is "
             "from its rest height in those frames, and how far the sole's lowest point (mesh heel or toe tip) is "
             "from the floor (its rest level), medians. The lock holds the whole foot: the lowest of heel, ball "
             "and toe tip is planted on the ground while the foot rolls over it, a flat stance is held level "
             "(`posebake_core.retarget.contacts`).\n",
             "| clip | ankle L off / on | ankle R off / on | ball L off / on | ball R off / on | heel L off / on / GT | "
             "heel R off / on / GT | toe tip L off / on / GT | toe tip R off / on / GT | ball above the floor L / R, "
             "lock on (cm) | sole above the floor L off / on | sole R off / on (cm) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        cells = [f"{r[f'off_{S}_{p}']:.1f} / {r[f'on_{S}_{p}']:.1f}" + (f" / {r[f'gt_{S}_{p}']:.1f}" if p in ("heel", "toe")
                                                                           else "")
                 for p in ("ankle", "ball", "heel", "toe") for S in "LR"]
        cells.append(f"{r['on_L_floor']:.1f} / {r['on_R_floor']:.1f}")
        cells += [f"{r[f'off_{S}_sole']:.1f} / {r[f'on_{S}_sole']:.1f}" for S in "LR"]
        lines.append(f"| {r['clip']} | " + " | ".join(cells) + " |")
    r = runner()
    print(json.dumps(r), flush=True)
    lines += ["", "## The runner (real footage), lock on", "",
              "Baked onto the CMU character with `--preview`; the stance foot's movement in the scene during the "
              "contacts the bake detected (scaled to the runner's estimated metres), median cm/frame: "
              f"ankle L {r['L_ankle_cm']:.2f}, R {r['R_ankle_cm']:.2f}; ball of the foot L {r['L_ball_cm']:.2f}, "
              f"R {r['R_ball_cm']:.2f}. Contacts in {r['contact_share']['L']:.0%} (L) and "
              f"{r['contact_share']['R']:.0%} (R) of the frames. Preview frames with a foot held (ankle ringed "
              f"in red): `foot_lock/runner_1..3.png` (video frames {', '.join(map(str, r['frames']))})."]
    (REPO / "bench" / "results" / "foot_lock.md").write_text("\n".join(lines) + "\n")



def runner(frames: int = 3) -> dict:
    """The runner baked onto the CMU character with the lock and the preview: how far the stance foot moves
    in the scene during the contacts the bake detected, and three preview frames with a foot held."""
    import cv2

    from posebake_core.retarget.canonical import leg_length

    motion = C.runner_motion()
    blend, preview = WORK / "runner_on.blend", WORK / "runner_on.mp4"
    subprocess.run([sys.executable, "-m", "posebake.cli", "bake", str(motion), "--rig", str(CHAR), "--preview",
                    str(preview), "-o", str(blend)], check=True, capture_output=True)
    held = C.detected(motion)  # the contacts the bake locks (the estimate wrote the same into the Motion)
    leg = float(np.nanmedian(leg_length(C._canonical(motion).joints)))
    names = [n for pair in POINTS.values() for n in pair]
    pts, rig_leg, _, _, _ = baked_points(blend, names)
    pts = pts * (leg / rig_leg)  # scene units -> the runner's estimated metres
    out = {"contact_share": {S: float(held[S].mean()) for S in "LR"}}
    for k, S in enumerate("LR"):
        for j, part in enumerate(("ankle", "ball")):
            out[f"{S}_{part}_cm"] = slide_cm(pts[:, 2 * k + j], held[S])
    video = read_frames(preview)
    planted = np.flatnonzero(held["L"] | held["R"])
    picks = planted[np.linspace(0, len(planted) - 1, frames).round().astype(int)] if len(planted) else []
    folder = REPO / "bench" / "results" / "foot_lock"
    folder.mkdir(parents=True, exist_ok=True)
    for i, t in enumerate(picks):
        small = cv2.resize(video[t], (480, round(video[t].shape[0] * 480 / video[t].shape[1])),
                           interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"runner_{i + 1}.png"), small, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    out["frames"] = [int(t) for t in picks]
    return out


if __name__ == "__main__":
    main()
