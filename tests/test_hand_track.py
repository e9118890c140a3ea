"""Hand regions frame to frame and the palm detector fallback (hand_track.py, palm.py; issue #19 item 1), on
the real photo of two spread hands (../shared/data/hands/hamer_test5.jpg) and the real models.

A photo repeated is a video whose hands do not move: the second frame must be read in the tracked region
alone, and a body whose hand points are off by half a hand region must still get its hand, from the palm.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from posebake.crop import FrameBatch
from posebake.estimate import EstimateOptions, Estimator
from posebake.hand_track import HandState, predict, track_hands
from posebake.hands import BODY_HAND, load_hand_landmarker, rois_from_body
from posebake.palm import load_palm_detector

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def scene(data_dir: Path, model_files: Path) -> dict:
    photo = data_dir / "hands" / "hamer_test5.jpg"
    m = Estimator("cpu").run(photo, EstimateOptions(smooth="none"))
    image = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
    return {"body": m.joints_2d[0, :1, :33].astype(np.float64), "image": image,
            "hands": load_hand_landmarker(CPU), "palm": load_palm_detector(CPU)}


def run(scene: dict, body: np.ndarray, states: list[list[HandState]], frames: list[int], palm: bool = True):
    n = len(frames)
    batch = FrameBatch(np.stack([scene["image"]] * n), CPU)
    return track_hands(scene["hands"], scene["palm"] if palm else None, batch, np.concatenate([body] * n),
                       np.arange(n), states, np.array(frames), min_px=24)


def test_second_frame_is_read_in_the_tracked_region_only(scene: dict) -> None:
    states = [[HandState(), HandState()]]
    first, c1 = run(scene, scene["body"], states, [0])
    assert c1["body"] == 2 and c1["refine"] == 2 and first.presence.min() > 0.9
    assert states[0][0].frame == 0 and states[0][0].roi is not None
    second, c2 = run(scene, scene["body"], states, [1])
    # both hands from their own previous landmarks, confirmed there: one read each, no second pass
    assert c2["tracked"] == 2 and c2["body"] == 0 and c2["refine"] == 0, c2
    assert second.presence.min() > 0.9
    palm_len = np.linalg.norm(first.image[:, 9] - first.image[:, 0], axis=-1)
    # the same hand (the model moves its wrist by 10-20 % of a palm between crops that differ this little:
    # the noise smoothing/hands.py filters)
    assert (np.linalg.norm(second.image[:, 0] - first.image[:, 0], axis=-1) < 0.25 * palm_len).all()


def test_a_tracked_region_that_left_the_wrist_is_dropped(scene: dict) -> None:
    body_rois = rois_from_body(scene["body"]).reshape(-1, 5)
    near, far = HandState(), HandState()
    near.roi, near.frame = body_rois[0] + [0.2 * body_rois[0, 2], 0, 0, 0, 0], 4
    far.roi, far.frame = body_rois[1] + [1.5 * body_rois[1, 2], 0, 0, 0, 0], 4
    regions, tracked = predict([near, far], np.array([5, 5]), body_rois)
    assert tracked.tolist() == [True, False]
    assert np.allclose(regions[0], near.roi) and np.allclose(regions[1], body_rois[1])
    # a state from the same or a later frame is not a prediction
    assert not predict([near], np.array([4]), body_rois[:1])[1].any()


def test_palm_detector_finds_the_hand_the_body_points_missed(scene: dict) -> None:
    """Her left hand's body points moved 0.7 of a hand region sideways: both reads in the regions they give
    find no left hand; the palm search around them does, where the hand really is."""
    truth, _ = run(scene, scene["body"], [[HandState(), HandState()]], [0])
    body = scene["body"].copy()
    side = rois_from_body(body).reshape(-1, 5)[0, 2]
    body[0, list(BODY_HAND["left"]), 0] += 0.7 * side
    without, c0 = run(scene, body, [[HandState(), HandState()]], [0], palm=False)
    assert without.presence[0] < 0.5 and c0["palm"] == 0
    found, c1 = run(scene, body, [[HandState(), HandState()]], [0])
    assert c1["palm"] == 1 and c1["palm_found"] == 1, c1
    assert found.presence[0] > 0.9 and found.right_score[0] < 0.5  # the left hand (model's mirrored label)
    palm_len = np.linalg.norm(truth.image[0, 9] - truth.image[0, 0])
    assert np.linalg.norm(found.image[0] - truth.image[0], axis=-1).mean() < 0.25 * palm_len
    assert np.allclose(found.image[1], without.image[1])  # the right hand was not touched
