"""Benchmark and look: the hand stage (issue #19) on real clips, and fingers baked onto a character.

1. Cost: `Estimator.run` with and without `hands` on the shared clips with people whose hands show
   (tai chi, basketball, handshake); the hand stage's seconds per frame (both hands of every person), and
   how often each hand was seen.
2. Look: the tai chi clip baked onto the Quaternius superhero (UE5 finger names) with the video camera; three
   frames where both hands were seen rendered at the video's own height through that camera and laid over
   the video, each hand cropped and enlarged beside the same crop of the video. Also read from the baked
   Action: finger bones keyed, NaN, and how far they turn.
Writes bench/results/fingers.md and bench/results/fingers/*.jpg. Run: `.venv/bin/python bench/fingers.py`.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from benchutil import machine_header  # noqa: E402

DATA = Path(os.environ.get("POSEBAKE_DATA", REPO.parent / "shared" / "data"))
WORK = REPO / "bench" / ".work" / "fingers"
OUT = REPO / "bench" / "results"
CLIPS = {"hybrik_taiji": (DATA / "videos" / "hybrik_taiji.mp4", 240),
         "basketball": (DATA / "videos" / "mmhuman3d_single_person_basketball.mp4", None),
         "handshake": (DATA / "videos" / "mmhuman3d_two_people_handshake.mp4", None)}
CHARACTER = DATA / "characters" / "quaternius_ubc_superhero_male" / "Superhero_Male_FullBody.gltf"
ZOOM = 3
#: What the frames showed when they were looked at (2026-12-02, hands tracked, palm detector, refined over
#: time); re-read them after a change.
LOOKED = [
    "Looked at: his left hand (seen in 48 % of the frames) is followed: in frames 0 and 40 the relaxed,",
    "half-curled fingers hanging down come out as half-curled fingers pointing the same way, the thumb apart",
    "from them as in the video; in frame 235 the video's loose fist comes out as a fist whose index hangs",
    "lower than the others. His right hand is worse: in frames 0 and 40 it is behind his thigh and blurred",
    "(seen in 44 % of the frames), the baked hand is curled there and in frame 40 its fingers point",
    "sideways where the video's (barely visible) hang down; in frame 235 the body's right arm is off (the",
    "body retarget's error, not the fingers'), so the character's hand is outside the crop but for the",
    "fingertips. At 1280x720 his hands are ~40 px: enough for curled vs open, not for single finger detail.",
    "No joint is past its limit (the limits act on the joints before the solve, and the solve matches them",
    "exactly: tests/test_fingers*.py) and no value is NaN.",
]


def cost() -> tuple[list[str], Path]:
    from posebake.estimate import EstimateOptions, Estimator

    est = Estimator("cpu")
    rows, taiji = [], None
    for name, (video, end) in CLIPS.items():
        base = est.run(video, EstimateOptions(end=end, smooth="none"))
        n = int(est.timings["frames"])
        runs = {}
        for palm in (False, True):
            motion = est.run(video, EstimateOptions(end=end, smooth="none", hands=True, palm_detector=palm))
            t = dict(est.timings)
            assert base.num_frames == motion.num_frames and t["frames"] == n
            reads = {k[len("hand_reads_"):]: int(v) for k, v in t.items() if k.startswith("hand_reads_")}
            runs[palm] = (motion, t, reads)
        seen = lambda m: ", ".join(f"{100 * l:.0f} / {100 * r:.0f}" for l, r in (m.hands_conf > 0).mean(axis=1))  # noqa: E731
        (m0, t0, _), (m1, t1, r1) = runs[False], runs[True]
        hands = 2 * m1.num_tracks * n
        rows.append(f"| {name} | {n} | {m1.num_tracks} | {1000 * t1['landmarks'] / n:.1f} | "
                    f"{1000 * t0['hands'] / n:.1f} | {1000 * t1['hands'] / n:.1f} | {seen(m0)} | {seen(m1)} | "
                    f"{100 * r1['tracked'] / hands:.0f} / {100 * r1['refine'] / hands:.0f} / "
                    f"{100 * r1['palm'] / hands:.0f} ({r1['palm_found']} found) |")
        if name == "hybrik_taiji":
            taiji = WORK / "taiji_hands.npz"
            WORK.mkdir(parents=True, exist_ok=True)
            from posebake.smoothing import smooth_motion
            smooth_motion(m1, "smoothnet").save(taiji)
    return rows, taiji


def look(motion_path: Path) -> list[str]:
    from posebake.overlay import composite
    from posebake_core.motion import Motion

    m = Motion.load(motion_path)
    blend = WORK / "taiji_superhero.blend"
    proc = subprocess.run([sys.executable, "-m", "posebake.cli", "bake", str(motion_path), "--rig", str(CHARACTER),
                           "-o", str(blend), "--camera"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    both = np.flatnonzero((m.hands_conf[0] > 0).all(axis=1))
    picks = [int(both[k]) for k in np.linspace(0, len(both) - 1, 3).round().astype(int)]
    W, H = m.image_size
    renders = WORK / "renders"
    # the .blend's scene frames start at 1 for motion frame 0 (bake's default start)
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "fingers_render.py"), str(blend), str(renders),
                           str(H), *[str(p + 1) for p in picks]], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cap = cv2.VideoCapture(m.source_video)
    lines = []
    OUT.joinpath("fingers").mkdir(parents=True, exist_ok=True)
    for p in picks:
        cap.set(cv2.CAP_PROP_POS_FRAMES, m.frame_start + p)
        ok, frame = cap.read()
        assert ok
        rgba = cv2.imread(str(renders / f"frame_{p + 1:05d}.png"), cv2.IMREAD_UNCHANGED)
        over = composite(frame, rgba)
        tiles = []
        for s in range(2):
            uv = m.hands_2d[0, p, s]
            c = uv.mean(0)
            half = int(max(np.ptp(uv, 0).max() * 0.9, 24))
            x0, y0 = int(c[0]) - half, int(c[1]) - half
            pad = lambda im: cv2.copyMakeBorder(im, 2 * half, 2 * half, 2 * half, 2 * half, cv2.BORDER_CONSTANT)  # noqa: E731
            for im in (frame, over):
                crop = pad(im)[y0 + 2 * half:y0 + 4 * half, x0 + 2 * half:x0 + 4 * half]
                tiles.append(cv2.resize(crop, (2 * half * ZOOM, 2 * half * ZOOM), interpolation=cv2.INTER_CUBIC))
        size = max(t.shape[0] for t in tiles)
        row = np.hstack([cv2.resize(t, (size, size)) for t in tiles])
        name = f"fingers/taiji_superhero_{p:04d}.jpg"
        cv2.imwrite(str(OUT / name), row, [cv2.IMWRITE_JPEG_QUALITY, 90])
        lines.append(f"- `results/{name}`: motion frame {p}; left to right: his left hand (video, baked), "
                     f"his right hand (video, baked)")
    return lines


def main() -> None:
    t0 = time.time()
    rows, taiji = cost()
    frames = look(taiji)
    text = ["# Hands and fingers (issue #19): `bench/fingers.py`", "", machine_header("cpu"), "",
            "## Cost of the hand stage (CPU, 2 threads, decode excluded)", "",
            "Same clip run three times: without hands, with hands but no palm detector, with both (the "
            "default); ms per video frame. Per hand and frame the hand stage reads the landmark model in the "
            "region tracked from the hand's previous landmarks (confirmed there: one read), or in the region "
            "the body's hand points give and again in the region those landmarks imply; where no hand of "
            "the right side was found, the palm detector searches around the body's region and one more "
            "read follows (hand_track.py).", "",
            "| clip | frames | people | body landmarks ms/frame | hand stage ms/frame, no palm | "
            "hand stage ms/frame | hands seen, no palm (left / right, % of frames, per person) | "
            "hands seen | reads per hand-frame: tracked / second read / palm search (%) |",
            "|---|---|---|---|---|---|---|---|---|", *rows, "",
            "## Fingers baked onto the superhero (tai chi, first 240 frames)", "",
            "Crops enlarged 3x from renders at the video's height through the baked video camera: each pair is "
            "the video and the baked character over it.", "", *frames, "", *LOOKED, "",
            f"Total time {time.time() - t0:.0f} s."]
    (OUT / "fingers.md").write_text("\n".join(text) + "\n")
    print("\n".join(text))


if __name__ == "__main__":
    main()
