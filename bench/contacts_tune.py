"""Choose the foot-contact thresholds on motions that are not reserved for evaluation, then score them on
the committed ground-truth clips, whose motions are (the lifter issue reserves CMU 01_01, 02_01, 02_05 and
every committed clip's motion: never train or tune on them).

The tuning clips (`contacts_tune_specs.json`: CMU 131_01, 131_02, 03_02 and 01_02, none reserved) are
rendered like the committed set into bench/.work/tune_clips (`make_set.py --extra`, not committed: they are
regenerated from the specs). Each is estimated with its true focal; `detect_foot_contacts` runs over a grid
of its four thresholds; the one with the best pooled F1 on the tuning clips is reported with its F1 there
and on the evaluation clips. Writes bench/results/contacts_tune.md. Run: `.venv/bin/python
bench/contacts_tune.py` (renders first if the clips are missing, ~10 min on 2 cores).
"""
from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contacts as C  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "bench" / "contacts_tune_specs.json"
TUNE = REPO / "bench" / ".work" / "tune_clips"
GRID = {"height": (0.06, 0.08, 0.10, 0.12, 0.15), "speed": (0.5, 0.7, 0.9, 1.2),
        "low_pct": (5.0, 10.0, 20.0), "min_frames": (2, 3, 4)}


def clips(folder: Path) -> list[tuple[str, dict]]:
    out = []
    for gt_path in sorted(folder.glob("*_gt.npz")):
        with np.load(gt_path) as d:
            out.append((gt_path.name[: -len("_gt.npz")], {k: d[k] for k in d.files}))
    return out


def counts(motion: Path, truth: dict[str, np.ndarray], **th: float) -> np.ndarray:
    pred = C.detected(motion, **th)
    n = min(len(truth["L"]), len(pred["L"]))
    return np.sum([C.scores(pred[S][:n], truth[S][:n]) for S in "LR"], axis=0)


def main() -> None:
    if len(list(TUNE.glob("*_gt.npz"))) < len(json.loads(SPECS.read_text())):
        subprocess.run([sys.executable, str(REPO / "bench" / "groundtruth" / "make_set.py"), "--extra", str(SPECS),
                        "--out", str(TUNE)] + [a for s in json.loads(SPECS.read_text()) for a in ("--only", s["name"])],
                       check=True)
    tune = [(n, C.gt_contacts(g), C.estimated(n, float(g["K"][0, 0]), TUNE)) for n, g in clips(TUNE)]
    evals = [(n, C.gt_contacts(g), C.estimated(n, float(g["K"][0, 0]))) for n, g in clips(C.CLIPS)]
    best, best_f1 = None, -1.0
    for values in itertools.product(*GRID.values()):
        th = dict(zip(GRID, values))
        f1 = C.f1(*np.sum([counts(m, t, **th) for _, t, m in tune], axis=0))[2]
        if f1 > best_f1 + 1e-9:
            best, best_f1 = th, f1
    print("chosen", best, best_f1, flush=True)
    rows = []
    for label, group in (("tuning", tune), ("evaluation (reserved)", evals)):
        for name, truth, motion in group:
            p, r, f = C.f1(*counts(motion, truth, **best))
            share = np.mean([truth[S].mean() for S in "LR"])
            rows.append((label, name, share, p, r, f))
        p, r, f = C.f1(*np.sum([counts(m, t, **best) for _, t, m in group], axis=0))
        rows.append((label, "all (pooled)", float("nan"), p, r, f))
    lines = ["# Foot-contact thresholds chosen on unreserved motions\n",
             f"Measured {time.strftime('%Y-%m-%d')} with `bench/contacts_tune.py` on the 2-core AMD EPYC box. Grid: "
             + ", ".join(f"{k} {list(v)}" for k, v in GRID.items())
             + ". Chosen by pooled F1 on the tuning clips (CMU 131_01, 131_02, 03_02, 01_02; none reserved): "
             + ", ".join(f"{k} = {v:g}" for k, v in best.items())
             + ". Ground-truth contact as in bench/contacts.py (a heel or toe site within 3 cm of its lowest height "
               "and under 1 cm/frame).\n",
             "| set | clip | GT contact share | precision | recall | F1 |", "|---|---|---:|---:|---:|---:|"]
    lines += [f"| {lab} | {n} | {'' if np.isnan(s) else f'{s:.0%}'} | {p:.2f} | {r:.2f} | {f:.2f} |"
              for lab, n, s, p, r, f in rows]
    (REPO / "bench" / "results" / "contacts_tune.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
