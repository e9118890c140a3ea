"""Left/right swaps undone along a track (posebake.sides): on a schematic gait whose legs, or whole body, are
mislabelled for a stretch, and on the rendered running clip, where BlazePose hands one leg's landmarks to the
other."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posebake.sides import GROUPS, overlapping, side_swaps, untangle_sides

LEFT_LEG, RIGHT_LEG = GROUPS["legs"].swap
LEFT_BODY, RIGHT_BODY = GROUPS["body"].swap

CLIPS = Path(__file__).resolve().parents[1] / "bench" / "groundtruth" / "clips"


def gait_2d(T: int = 80, seed: int = 0, jitter_px: float = 1.5) -> np.ndarray:
    """(T,33,2) image landmarks of a schematic walk to the right, 10 frames of stance and 10 of swing per foot
    (the swing foot passes the planted one), 2D leg about 100 px, seen from the front-left (hips 20 px apart,
    shoulders 50 px, arms swinging opposite the legs, face points between the shoulders); BlazePose-like
    jitter."""
    rng = np.random.default_rng(seed)
    image = np.zeros((T, 33, 2))
    t = np.arange(T)
    pelvis = np.stack([200 + 4.0 * t, np.full(T, 200.0)], axis=1)
    image[:, 24] = pelvis + [-10, 0]  # facing the camera: the right hip on the image's left
    image[:, 23] = pelvis + [10, 0]
    for k, (shoulder, elbow, wrist) in enumerate(((11, 13, 15), (12, 14, 16))):
        swing = 20 * np.sin(2 * np.pi * t / 40 + np.pi * (1 - k))
        image[:, shoulder] = pelvis + [25 - 50 * k, -110]
        image[:, elbow] = image[:, shoulder] + np.stack([swing / 2, np.full(T, 45.0)], axis=1)
        image[:, wrist] = image[:, elbow] + np.stack([swing, np.full(T, 40.0)], axis=1)
        image[:, [17 + k, 19 + k, 21 + k]] = image[:, wrist][:, None] + [[0, 8], [2, 10], [-2, 6]]
    for k, (eye_in, eye, eye_out, ear, mouth) in enumerate(((1, 2, 3, 7, 9), (4, 5, 6, 8, 10))):
        x = 1 - 2 * k  # left points on the image's right
        image[:, [eye_in, eye, eye_out, ear, mouth]] = pelvis[:, None] + [[3 * x, -150], [6 * x, -150],
                                                                          [9 * x, -150], [14 * x, -145], [5 * x, -135]]
    image[:, 0] = pelvis + [0, -142]
    for k, (knee, ankle, heel, toe) in enumerate((LEFT_LEG, RIGHT_LEG)):
        phase = (t + 10 * k) % 20
        cycle = (t + 10 * k) // 20
        # stance: still at the step's spot; swing: 80 px forward with a 15 px lift
        x = 160 + 80.0 * cycle + 10 * k + np.where(phase < 10, 0.0, 80.0 * (phase - 10) / 10)
        y = 300 - np.where(phase < 10, 0.0, 15 * np.sin(np.pi * (phase - 10) / 10))
        a = np.stack([x, y], axis=1)
        image[:, ankle] = a
        image[:, heel] = a + [-8, 6]
        image[:, toe] = a + [15, 8]
        image[:, knee] = 0.5 * (a + image[:, 23 + k]) + [12, 0]
    return image + rng.normal(0.0, jitter_px, image.shape)


def swapped(image: np.ndarray, frames: np.ndarray, body: bool = False) -> np.ndarray:
    """`image` with the legs (`body`: every left/right pair) mislabelled on `frames`."""
    left, right = (LEFT_BODY, RIGHT_BODY) if body else (LEFT_LEG, RIGHT_LEG)
    out = image.copy()
    out[np.ix_(frames, np.r_[left, right])] = image[np.ix_(frames, np.r_[right, left])]
    return out


@pytest.mark.parametrize("seed", range(5))
def test_a_swapped_stretch_is_found_and_nothing_else(seed: int) -> None:
    truth = gait_2d(seed=seed)
    assert not side_swaps(truth, "legs").any() and not side_swaps(truth, "body").any()  # nothing to undo
    stretch = np.arange(31, 38)  # handed to the other leg after the feet crossed at frame 30
    found = side_swaps(swapped(truth, stretch), "legs")
    assert not side_swaps(swapped(truth, stretch), "body").any()
    ambiguous = overlapping(truth, "legs")  # where the feet lie on one spot either labelling is right
    want = np.zeros(len(truth), dtype=bool)
    want[stretch] = True
    assert np.array_equal(found[~ambiguous], want[~ambiguous])


@pytest.mark.parametrize("seed", range(3))
def test_a_whole_body_flip_is_undone_and_crossing_arms_are_not_one(seed: int) -> None:
    """BlazePose takes a person facing the camera for one facing away for a few frames (the real rooftop
    clip): every pair mirrored at once. The body group swaps them all back, and leaves the legs nothing to
    do. Arms that cross in front of the body (tai chi) leave the shoulders and hips where they are: no flip."""
    truth = gait_2d(seed=seed)
    stretch = np.arange(44, 50)
    given = swapped(truth, stretch, body=True)
    found = side_swaps(given, "body")
    ok = ~overlapping(truth, "body")
    assert np.array_equal(np.flatnonzero(found & ok), stretch[ok[stretch]])
    u, _, _, sw = untangle_sides(np.arange(len(given)), given, np.zeros(given.shape[:2] + (3,)),
                                 np.ones(given.shape[:2]))
    assert np.array_equal(sw["body"], found) and not sw["legs"].any()
    assert np.allclose(u, truth)
    crossed = truth.copy()
    crossed[20:40, [13, 15]], crossed[20:40, [14, 16]] = truth[20:40, [14, 16]], truth[20:40, [13, 15]]
    assert not side_swaps(crossed, "body").any()


def test_untangle_swaps_image_world_and_visibility_per_run_of_frames() -> None:
    image = gait_2d(T=60, seed=7)
    frames = np.r_[np.arange(30), np.arange(40, 70)]  # the track lost the person for 10 frames
    stretch = np.arange(45, 52)
    given = swapped(image, stretch)
    world = np.random.default_rng(1).normal(size=(60, 33, 3))
    vis = np.random.default_rng(2).uniform(size=(60, 33))
    u, X, w, sw = untangle_sides(frames, given, swapped(world, stretch), swapped(vis[..., None], stretch)[..., 0])
    assert np.array_equal(np.flatnonzero(sw["legs"]), stretch) and not sw["body"].any()
    assert np.allclose(u, image) and np.allclose(X, world) and np.allclose(w, vis)
    assert np.allclose(given[stretch][:, LEFT_LEG], image[stretch][:, RIGHT_LEG])  # the input is not touched


def _legs_swapped_against_truth(image: np.ndarray, gt: dict) -> np.ndarray:
    """(T,) bool: knees and ankles nearer the other side's ground-truth joints than their own (by 2x)."""
    names = [str(n) for n in gt["joint_names"]]
    uv = gt["joints_cam"].astype(np.float64) @ gt["K"].T
    uv = uv[..., :2] / uv[..., 2:]
    same = cross = 0.0
    for bone, (left, right) in (("Leg", (25, 26)), ("Foot", (27, 28))):
        gl, gr = uv[:, names.index(f"Left{bone}")], uv[:, names.index(f"Right{bone}")]
        el, er = image[:, left], image[:, right]
        same = same + np.linalg.norm(el - gl, axis=-1) + np.linalg.norm(er - gr, axis=-1)
        cross = cross + np.linalg.norm(el - gr, axis=-1) + np.linalg.norm(er - gl, axis=-1)
    return cross < 0.5 * same


def test_rendered_run_keeps_its_legs_apart(model_files, monkeypatch) -> None:
    """The rendered three-quarter run (CMU 02_03): BlazePose's raw landmarks have the legs swapped in 8 of
    42 frames; after the estimate none is."""
    import posebake.assemble
    from posebake.estimate import EstimateOptions, Estimator

    with np.load(CLIPS / "run_three_quarter_gt.npz") as d:
        gt = {k: d[k] for k in d.files}
    est = Estimator("cpu")
    opts = EstimateOptions(max_people=1, smooth="none", focal=float(gt["K"][0, 0]))
    fixed = est.run(CLIPS / "run_three_quarter.mp4", opts)
    monkeypatch.setattr(posebake.assemble, "untangle_sides",
                        lambda f, u, X, w: (u, X, w, {g: np.zeros(len(f), dtype=bool) for g in GROUPS}))
    raw = est.run(CLIPS / "run_three_quarter.mp4", opts)
    assert _legs_swapped_against_truth(raw.joints_2d[0], gt).sum() >= 5
    assert not _legs_swapped_against_truth(fixed.joints_2d[0], gt).any()


def test_hand_slots_follow_a_mirrored_body() -> None:
    """Where the body was mirrored back, the hand read around each wrist belongs to the other side: the two
    slots (with their handedness scores) are exchanged on those frames only."""
    from posebake.assemble import swap_hand_sides
    from posebake.track import Track

    t = Track(track_id=0, roi=np.zeros(5), frames=[10, 11, 12])
    for f in t.frames:
        t.hands[f] = (np.stack([np.full((21, 2), f), np.full((21, 2), -f)]), np.zeros((2, 21, 3)),
                      np.array([0.9, 0.8]), np.array([0.1, 0.95]))
    swap_hand_sides(t, np.array([11]))
    assert t.hands[11][0][0, 0, 0] == -11 and t.hands[11][3].tolist() == [0.95, 0.1]
    assert t.hands[10][0][0, 0, 0] == 10 and t.hands[12][3].tolist() == [0.1, 0.95]
