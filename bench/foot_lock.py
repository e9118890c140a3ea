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

REPO = Path(__file__).resolve().parents[1]
CHAR = Path(os.environ.get("POSEBAKE_DATA", REPO.parent / "shared" / "data")) / "characters" / \
    "cmu_skeleton_basemesh_female.glb"
WORK = REPO / "bench" / ".work" / "foot_lock"
POINTS = {"L": ("LeftFoot", "LeftToeBase"), "R": ("RightFoot", "RightToeBase")}

_READ = r'''
import json, os, sys
import bpy
bpy.ops.wm.open_mainfile(filepath=sys.argv[1])
sc = bpy.context.scene
arm = next(o for o in sc.objects if o.type == "ARMATURE")
names = json.loads(sys.argv[2])
out = []
for f in range(sc.frame_start, sc.frame_end + 1):
    sc.frame_set(f)
    out.append([list(arm.matrix_world @ arm.pose.bones[n].head) for n in names])
b = arm.data.bones
leg = sum((arm.matrix_world @ b[x].head_local - arm.matrix_world @ b[y].head_local).length
          for x, y in (("LeftUpLeg", "LeftLeg"), ("LeftLeg", "LeftFoot")))
with open(sys.argv[3], "w") as fh:
    json.dump({"points": out, "leg": leg}, fh)
os._exit(0)
'''


def baked_points(blend: Path, names: list[str]) -> tuple[np.ndarray, float]:
    script, out = WORK / "read.py", WORK / "points.json"
    script.write_text(_READ)
    subprocess.run(["timeout", "300", sys.executable, str(script), str(blend), json.dumps(names), str(out)],
                   check=True, capture_output=True)
    got = json.loads(out.read_text())
    return np.array(got["points"]), float(got["leg"])


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
        for mode, extra in (("off", ["--no-foot-lock"]), ("on", [])):
            blend = WORK / f"{clip}_{mode}.blend"
            subprocess.run([sys.executable, "-m", "posebake.cli", "bake", str(motion), "--rig", str(CHAR),
                            "-o", str(blend), *extra], check=True, capture_output=True)
            pts, rig_leg = baked_points(blend, names)
            pts = pts * (gt_leg / rig_leg)  # scene units -> the rendered character's metres
            for k, (S, pair) in enumerate(POINTS.items()):
                for j, part in enumerate(("ankle", "ball")):
                    n = min(len(pts), len(truth[S]))
                    row[f"{mode}_{S}_{part}"] = slide_cm(pts[:n, 2 * k + j], truth[S][:n])
        rows.append(row)
        print(json.dumps(row), flush=True)
    lines = ["# Foot slide of a bake in the ground truth's contact frames, lock off and on\n",
             f"Measured {time.strftime('%Y-%m-%d')} with `bench/foot_lock.py` on the 2-core AMD EPYC box: each "
             "rendered clip's estimate (true focal) baked onto the CMU-skeleton character; median movement "
             "(cm/frame, scene units scaled by the ground truth's leg length over the rig's) of the baked ankle "
             "and ball of the foot between consecutive ground-truth contact frames of that foot (contacts: "
             "bench/contacts.py). The ground truth's own feet move under 1 "
             "cm/frame there by definition.\n",
             "| clip | ankle L off / on | ankle R off / on | ball L off / on | ball R off / on |",
             "|---|---:|---:|---:|---:|"]
    for r in rows:
        cells = [f"{r[f'off_{S}_{p}']:.1f} / {r[f'on_{S}_{p}']:.1f}" for p in ("ankle", "ball") for S in "LR"]
        lines.append(f"| {r['clip']} | " + " | ".join(cells) + " |")
    (REPO / "bench" / "results" / "foot_lock.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
