"""Benchmark: `posebake bake --preview` onto every shared character and the rigs real files arrive as.

For each rig and clip (the runner, and one committed ground-truth clip): bake with the matched camera and
the preview, then measure in pip bpy (bench/rig_measure.py): the rig's hips, knees, ankles, shoulders,
elbows and wrists projected through the created camera against the Motion's 2D landmarks (median, % of
the image height), the largest change of a mapped bone's length, and the IoU of the deformed mesh's 2D box
with the landmarks' box. Writes bench/results/rigs.md and three overlay frames per rig (runner) under
bench/results/rigs/. Run: `.venv/bin/python bench/rigs.py [NAME ...] [--reuse]`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent / "groundtruth"))
from gtio import read_frames  # noqa: E402
from benchutil import box  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("POSEBAKE_DATA", REPO.parent / "shared" / "data"))
WORK = REPO / "bench" / ".work" / "rigs"
OUT = REPO / "bench" / "results" / "rigs"
CHARS = DATA / "characters"
CLIPS = {"runner": DATA / "videos" / "phalp_running_woman.mp4",
         "run_three_quarter": REPO / "bench" / "groundtruth" / "clips" / "run_three_quarter.mp4"}
#: name -> (rig file or bench/rig_variants.py variant, preset or None, stylised proportions)
RIGS: dict[str, tuple[str, str | None, bool]] = {
    "cmu_character": (str(CHARS / "cmu_skeleton_basemesh_female.glb"), None, False),
    "cmu_mixamo_fbx": ("variant:cmu_mixamo_fbx", None, False),
    "cmu_scaled_empty": ("variant:cmu_scaled_empty", None, False),
    "superhero_ue5": (str(CHARS / "quaternius_ubc_superhero_male" / "Superhero_Male_FullBody.gltf"), None, False),
    "quaternius_female": (str(CHARS / "quaternius_Female_Casual.fbx"), None, False),
    "robot_expressive": (str(CHARS / "RobotExpressive.glb"), None, True),
    "godette_vrm": (str(CHARS / "godette_vrm_v4.vrm"), None, True),
    "cesium_man": (str(CHARS / "CesiumMan.glb"), None, False),
    "rigged_figure": (str(CHARS / "RiggedFigure.glb"), None, False),
    "rigify": ("variant:rigify", "rigify", False),
}
PY = sys.executable
#: the issue's bars: joint error (% of image height) and mesh IoU, plain and stylised proportions
BARS = {False: (4.0, 0.5), True: (7.0, 0.3)}


def motion_for(clip: str) -> Path:
    path = WORK / f"{clip}.npz"
    if not path.is_file():
        WORK.mkdir(parents=True, exist_ok=True)
        subprocess.run([PY, "-m", "posebake.cli", "estimate", str(CLIPS[clip]), "-o", str(path), "--quiet"],
                       check=True)
    return path


def rig_file(spec: str) -> Path:
    if not spec.startswith("variant:"):
        return Path(spec)
    name = spec.split(":", 1)[1]
    path = WORK / f"{name}.blend"
    if not path.is_file():
        subprocess.run(["timeout", "300", PY, str(REPO / "bench" / "rig_variants.py"), name, str(path)],
                       check=True, capture_output=True)
    return path


def run_one(name: str, clip: str, reuse: bool = False) -> dict:
    spec, preset, stylised = RIGS[name]
    motion = motion_for(clip)
    blend, preview, meas = (WORK / f"{name}_{clip}{ext}" for ext in (".blend", ".mp4", ".json"))
    cmd = [PY, "-m", "posebake.cli", "bake", str(motion), "--rig", str(rig_file(spec)), "--preview",
           str(preview), "-o", str(blend)] + (["--preset", preset] if preset else [])
    t0 = time.monotonic()
    if reuse and blend.is_file() and preview.is_file():  # measure an earlier bake again
        proc = subprocess.CompletedProcess(cmd, 0, "", "")
    else:
        proc = subprocess.run(["timeout", "900", *cmd], capture_output=True, text=True)
    row = {"rig": name, "clip": clip, "stylised": stylised, "bake_s": round(time.monotonic() - t0, 1)}
    if proc.returncode != 0:
        row["error"] = (proc.stderr.strip().splitlines() or ["?"])[-1][:200]
        return row
    subprocess.run(["timeout", "600", PY, str(REPO / "bench" / "rig_measure.py"), str(blend), str(motion), "0",
                    str(meas)] + ([preset] if preset else []), capture_output=True)
    row.update(json.loads(meas.read_text()))
    if clip == "runner":
        row["frames"] = save_frames(preview, name)
    return row


def save_frames(preview: Path, name: str, count: int = 3, width: int = 320) -> list[str]:
    """Three small overlay frames (start, middle, end) as PNGs under bench/results/rigs/."""
    OUT.mkdir(parents=True, exist_ok=True)
    frames = read_frames(preview)
    picks = [round(i * (len(frames) - 1) / (count - 1)) for i in range(count)]
    out = []
    for k, i in enumerate(picks):
        h, w = frames[i].shape[:2]
        small = cv2.resize(frames[i], (width, round(h * width / w)), interpolation=cv2.INTER_AREA)
        path = OUT / f"{name}_{k + 1}.png"
        cv2.imwrite(str(path), small, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        out.append(path.name)
    return out


def table(rows: list[dict]) -> str:
    lines = ["| rig | clip | preset | joints, % of height | max bone stretch | mesh IoU | bars (joints, IoU) | "
             "verdict |", "|---|---|---|---:|---:|---:|---|---|"]
    for r in rows:
        bar_err, bar_iou = BARS[r["stylised"]]
        if "error" in r:
            lines.append(f"| {r['rig']} | {r['clip']} | – | – | – | – | ≤ {bar_err} %, ≥ {bar_iou} | "
                         f"fails: {r['error']} |")
            continue
        err = 100 * r["median_err_frac"]
        iou = r.get("mesh_iou_median")
        ok = err <= bar_err and r["max_stretch"] < 1e-3 and (iou is None or iou >= bar_iou)
        lines.append(f"| {r['rig']} | {r['clip']} | {r['preset'] or 'auto'} | {err:.1f} | {r['max_stretch']:.1e} | "
                     f"{'no mesh' if iou is None else f'{iou:.2f}'} | ≤ {bar_err} %, ≥ {bar_iou} | "
                     f"{'holds' if ok else 'misses'} |")
    return "\n".join(lines)


def main(args: list[str]) -> None:
    reuse = "--reuse" in args  # measure the bakes under bench/.work/rigs again, without baking
    names = [a for a in args if not a.startswith("--")]
    rows = []
    for name in names or list(RIGS):
        for clip in CLIPS:
            rows.append(run_one(name, clip, reuse))
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "guessed"}), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (WORK / "rows.json").write_text(json.dumps(rows, indent=1))
    head = ("# Baking onto real rigs, checked against the video\n\n"
            f"Measured {time.strftime('%Y-%m-%d')} with `bench/rigs.py` on the {box()} (no GPU), "
            "bpy 5.0.1. Each row: `posebake bake MOTION --rig RIG --preview` (matched camera), then "
            "bench/rig_measure.py in pip bpy. Joints: the rig's hips, knees, ankles, shoulders, elbows and wrists "
            "projected through the created camera, against the Motion's 2D landmarks (median over frames and "
            "joints). Bone stretch: the largest |posed / rest length - 1| of a mapped bone. Mesh IoU: the "
            "deformed mesh's projected 2D box against the box of the person's landmarks (median, every 5th "
            "frame). Overlay frames (the runner): `rigs/<rig>_1..3.png`.\n\n")
    (REPO / "bench" / "results" / "rigs.md").write_text(head + table(rows) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
