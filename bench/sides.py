"""Benchmark: BlazePose's left/right swaps, and what undoing them (`posebake.sides`) changes.

Every clip is estimated twice in one process (`--smooth none`): with the side stage switched off and on.
- Rendered ground-truth clips (the committed set, and the unreserved tuning clips of contacts_tune.py when
  they have been rendered into bench/.work/tune_clips; true focal): the frames whose knees and ankles sit
  nearer the other side's ground-truth joints than their own (by 2x), the frames the stage swapped, and
  MPJPE / PA-MPJPE (posebake_dev.eval) both ways.
- The real 4-camera lab clip (calibrated focal): per view, the frames whose knees and ankles disagree with a
  reference triangulated from the three other views' raw 2D (their labels made consistent with each other
  first: the labelling of the three with the least reprojection error, most views as given).
- The real single-camera videos: the frames the stage swapped per track and group (no ground truth; the
  frames were looked at, see bench/RESULTS.md).
Writes bench/results/sides.md. Run: `.venv/bin/python bench/sides.py`.
"""
from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import box, write_table  # noqa: E402
from multiview_root import CLIP, read_qualisys, reprojection_px, triangulate, undistort  # noqa: E402

import posebake.assemble  # noqa: E402
from posebake.estimate import EstimateOptions, Estimator  # noqa: E402
from posebake.paths import shared_data  # noqa: E402
from posebake.sides import GROUPS, untangle_sides  # noqa: E402
from posebake_dev.eval.report import evaluate, load_groundtruth  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SETS = {"evaluation (reserved)": REPO / "bench" / "groundtruth" / "clips",
        "tuning (unreserved)": REPO / "bench" / ".work" / "tune_clips"}
VIDEOS = ("phalp_running_woman.mp4", "hybrik_taiji.mp4", "mmhuman3d_single_person_basketball.mp4",
          "mmhuman3d_two_people_handshake.mp4", "sports2d_two_people_exit_frame.mp4")
#: knee and ankle, left then right: the joints whose sides are checked
KNEE_ANKLE = ((25, 27), (26, 28))


def disagree(est: np.ndarray, ref_l: np.ndarray, ref_r: np.ndarray) -> np.ndarray:
    """(T,) bool: `est` (T,33,2)'s left knee and ankle nearer `ref_r` (T,2,2) and its right ones nearer
    `ref_l` than their own, by 2x."""
    (lk, la), (rk, ra) = KNEE_ANKLE
    el, er = est[:, [lk, la]], est[:, [rk, ra]]
    same = np.linalg.norm(el - ref_l, axis=-1).sum(-1) + np.linalg.norm(er - ref_r, axis=-1).sum(-1)
    cross = np.linalg.norm(el - ref_r, axis=-1).sum(-1) + np.linalg.norm(er - ref_l, axis=-1).sum(-1)
    return cross < 0.5 * same


class Switchable:
    """The estimate with the side stage on or off, counting the frames it swaps per group."""

    def __init__(self) -> None:
        self.est = Estimator("cpu")
        self.found: list[dict[str, np.ndarray]] = []

    def run(self, video: Path, opts: EstimateOptions, on: bool):
        def counting(frames, image, world, visibility):
            out = untangle_sides(frames, image, world, visibility)
            self.found.append(out[3])
            return out

        def unchanged(frames, image, world, visibility):
            return image, world, visibility, {g: np.zeros(len(frames), dtype=bool) for g in GROUPS}

        self.found = []
        posebake.assemble.untangle_sides = counting if on else unchanged
        try:
            return self.est.run(video, opts)
        finally:
            posebake.assemble.untangle_sides = untangle_sides


def rendered(S: Switchable) -> list[str]:
    rows = []
    for label, folder in SETS.items():
        for gt_path in sorted(folder.glob("*_gt.npz")):
            name = gt_path.name[: -len("_gt.npz")]
            gt = load_groundtruth(gt_path)
            opts = EstimateOptions(max_people=1, smooth="none", focal=float(gt["K"][0, 0]))
            names = [str(n) for n in gt["joint_names"]]
            uv = gt["joints_cam"].astype(np.float64) @ gt["K"].T
            uv = uv[..., :2] / uv[..., 2:]
            ref = [uv[:, [names.index(f"{s}Leg"), names.index(f"{s}Foot")]] for s in ("Left", "Right")]
            off = S.run(folder / f"{name}.mp4", opts, on=False)
            on = S.run(folder / f"{name}.mp4", opts, on=True)
            n = min(len(uv), off.num_frames)
            legs = int(sum(f["legs"].sum() for f in S.found))
            body = int(sum(f["body"].sum() for f in S.found))
            e0, e1 = evaluate(off, gt), evaluate(on, gt)
            rows.append(f"| {label} | {name} | {n} | {disagree(off.joints_2d[0, :n], ref[0][:n], ref[1][:n]).sum()} | "
                        f"{legs} / {body} | {disagree(on.joints_2d[0, :n], ref[0][:n], ref[1][:n]).sum()} | "
                        f"{e0['mpjpe_mm']:.1f} | {e1['mpjpe_mm']:.1f} | {e0['pa_mpjpe_mm']:.1f} | "
                        f"{e1['pa_mpjpe_mm']:.1f} |")
            print(rows[-1], flush=True)
    return rows


def consistent_reference(u: np.ndarray, P: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Left and right knee + ankle (T,2,3) triangulated from views u (V,T,33,2) after making their labels
    agree per frame: the swap pattern over the views with the least reprojection error (most as given)."""
    V, T = u.shape[:2]
    out_l, out_r = np.full((T, 2, 3), np.nan), np.full((T, 2, 3), np.nan)
    patterns = sorted(itertools.product((0, 1), repeat=V), key=sum)[: 2 ** (V - 1)]  # one of each mirror pair
    (lk, la), (rk, ra) = KNEE_ANKLE
    for t in range(T):
        if not np.isfinite(u[:, t]).all():
            continue
        best = None
        for pat in patterns:
            L = np.stack([u[v, t, [rk, ra] if s else [lk, la]] for v, s in enumerate(pat)])  # (V,2,2)
            R = np.stack([u[v, t, [lk, la] if s else [rk, ra]] for v, s in enumerate(pat)])
            XL = [triangulate(P, L[:, k]) for k in range(2)]
            XR = [triangulate(P, R[:, k]) for k in range(2)]
            err = sum(reprojection_px(P, X, pts).sum() for X, pts in zip(XL + XR, [L[:, 0], L[:, 1], R[:, 0], R[:, 1]]))
            if best is None or err < best[0]:
                best = (err, XL, XR)
        out_l[t], out_r[t] = best[1], best[2]
    return out_l, out_r


def lab(S: Switchable) -> list[str]:
    folder = shared_data() / CLIP
    cams = read_qualisys(folder / "Calib.qca.txt")
    runs = {}
    for on in (False, True):
        runs[on] = [S.run(folder / f"{c.name}.mp4", EstimateOptions(focal=float(c.K[0, 0]), smooth="none",
                                                                    max_people=1), on=on) for c in cams]
    n = min(m.num_frames for m in runs[False])
    raw = np.stack([undistort(m.joints_2d[0, :n].astype(np.float64), c) for m, c in zip(runs[False], cams)])
    rows = []
    for k, cam in enumerate(cams):
        others = [v for v in range(len(cams)) if v != k]
        P = [cams[v].projection() for v in others]
        XL, XR = consistent_reference(raw[others], P)
        Pk = cam.projection()

        def project(X: np.ndarray) -> np.ndarray:
            h = np.concatenate([X, np.ones(X.shape[:-1] + (1,))], axis=-1) @ Pk.T
            return h[..., :2] / h[..., 2:]

        counts = []
        for on in (False, True):
            est = undistort(runs[on][k].joints_2d[0, :n].astype(np.float64), cam)
            counts.append(int(disagree(est, project(XL), project(XR)).sum()))
        rows.append(f"| {cam.name} | {n} | {counts[0]} | {counts[1]} |")
        print(rows[-1], flush=True)
    return rows


def videos(S: Switchable) -> list[str]:
    rows = []
    for name in VIDEOS:
        S.run(shared_data() / "videos" / name, EstimateOptions(smooth="none"), on=True)
        for p, f in enumerate(S.found):
            rows.append(f"| {name} | {p} | {len(f['legs'])} | {f['legs'].sum()} | {f['body'].sum()} |")
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    S = Switchable()
    t0 = time.time()
    a, b, c = rendered(S), lab(S), videos(S)
    lines = ["# Left/right swaps: BlazePose's side labels against references\n",
             f"Measured {time.strftime('%Y-%m-%d')} with `bench/sides.py` on the {box()} ({time.time() - t0:.0f} s). "
             "Each clip estimated twice in one process (`--smooth none`): without and with `posebake.sides` (per "
             "group, legs and body, a Viterbi over \"as given\" / \"swapped\" per frame on the 2D trajectories). "
             "Swapped against a reference: frames whose knees and ankles lie nearer the other side's reference "
             "joints than their own, by 2x.\n",
             "## Rendered clips (true focal; reference: the projected ground-truth joints)\n",
             "| set | clip | frames | swapped, stage off | frames the stage swapped (legs / body) | swapped, stage on "
             "| MPJPE off (mm) | MPJPE on | PA-MPJPE off | PA-MPJPE on |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|", *a, "",
             f"## Real lab clip ({CLIP}, per view; reference: the other three views' raw 2D, labels made consistent, "
             "triangulated and projected)\n",
             "| view | frames | swapped, stage off | swapped, stage on |", "|---|---:|---:|---:|", *b, "",
             "## Real videos (no ground truth): frames the stage swapped\n",
             "| video | track | frames | legs swapped | body swapped |", "|---|---:|---:|---:|---:|", *c]
    write_table(REPO / "bench" / "results" / "sides.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
