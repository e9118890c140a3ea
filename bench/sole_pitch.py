"""Benchmark: how far BlazePose's planted feet are from flat, before and after `sole.level_soles`.

For each committed ground-truth clip (motions reserved for evaluation) and each contact-tuning clip
(unreserved; bench/.work/tune_clips, skipped when absent): the estimate with the true focal (bench/contacts.py's
cache) mapped to the world as the bake does, without and with `level_feet`. Per foot, the median heel-to-toe-tip pitch over the ground truth's contact frames of that foot, against
the ground truth's own heel and toe-tip sites in the same frames (degrees; negative: toes down). Writes
bench/results/sole_pitch.md. Run: `.venv/bin/python bench/sole_pitch.py`.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contacts as C  # noqa: E402
from benchutil import box  # noqa: E402
from posebake_core.motion import Motion  # noqa: E402
from posebake_core.retarget.prepare import BakeOptions, prepared_joints  # noqa: E402
from posebake_core.retarget.sole import sole_pitch  # noqa: E402
from posebake_core.retarget.world import to_world  # noqa: E402
from posebake_core.skeleton import JOINT_INDEX  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TUNE = REPO / "bench" / ".work" / "tune_clips"
UP = np.array([0.0, 0.0, 1.0])


def pitch_deg(points: np.ndarray, side: str, frames: np.ndarray) -> float:
    heel, tip = points[:, JOINT_INDEX[f"{side}_heel"]], points[:, JOINT_INDEX[f"{side}_foot_index"]]
    return float(np.degrees(np.median(sole_pitch(heel[frames], tip[frames], UP)))) if frames.any() else float("nan")


def main() -> None:
    rows = []
    paths = [(p, C.CLIPS) for p in sorted(C.CLIPS.glob("*_gt.npz"))] + [(p, TUNE) for p in sorted(TUNE.glob("*_gt.npz"))]
    for gt_path, folder in paths:
        clip = gt_path.name[: -len("_gt.npz")]
        with np.load(gt_path) as d:
            gt = {k: d[k] for k in d.files}
        truth = C.gt_contacts(gt)
        motion = Motion.load(C.estimated(clip, float(gt["K"][0, 0]), folder))
        joints = prepared_joints(motion, BakeOptions(track=0))
        raw, levelled = to_world(joints).joints, to_world(joints, level_feet=True).joints
        names = [str(n) for n in gt["site_names"]]
        for side, S in (("left", "L"), ("right", "R")):
            t = truth[S][: len(raw)]
            g = sole_pitch(gt["sites_world"][:, names.index(f"{side}_heel")].astype(float),
                           gt["sites_world"][:, names.index(f"{side}_toe_tip")].astype(float), UP)[: len(raw)]
            rows.append((clip, S, "evaluation" if folder == C.CLIPS else "tuning (unreserved)", int(t.sum()),
                         float(np.degrees(np.median(g[t]))) if t.any() else float("nan"),
                         pitch_deg(raw, side, t), pitch_deg(levelled, side, t)))
            print(rows[-1], flush=True)
    lines = ["# Planted feet: sole pitch against the ground truth\n",
             f"Measured {time.strftime('%Y-%m-%d')} with `bench/sole_pitch.py` on the {box()}: each "
             "rendered clip's estimate (true focal) in the bake's world frame; per foot, the median heel-to-toe-tip "
             "pitch (degrees, negative: toes down) over the ground truth's contact frames of that foot: the ground "
             "truth's own sole, BlazePose's heel and toe-tip landmarks as estimated, and the same after "
             "`sole.level_soles` (each foot turned about its ankle by minus its median pitch over the quarter of "
             "frames it stands lowest in). Error: |estimate - ground truth| per foot.\n",
             "| clip | foot | set | GT contact frames | GT pitch | BlazePose | levelled |",
             "|---|---|---|---:|---:|---:|---:|"]
    lines += [f"| {c} | {s} | {k} | {n} | {g:.1f} | {r:.1f} | {v:.1f} |" for c, s, k, n, g, r, v in rows]
    for kind in dict.fromkeys(r[2] for r in rows):
        sel = [r for r in rows if r[2] == kind and np.isfinite(r[4])]
        lines.append(f"| median abs. error | | {kind} | | | {np.median([abs(r[5] - r[4]) for r in sel]):.1f} | "
                     f"{np.median([abs(r[6] - r[4]) for r in sel]):.1f} |")
    (REPO / "bench" / "results" / "sole_pitch.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
