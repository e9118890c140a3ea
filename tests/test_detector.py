"""The ported detector and landmark model, with their decoding, on real footage."""
from __future__ import annotations

import numpy as np
import torch

from posebake.crop import FrameBatch, crop
from posebake.detector import PoseDetector, ssd_anchors, weighted_nms
from posebake.landmarker import PoseLandmarker
from posebake.models.runtime import load_runner

from .conftest import read_frame

# Hand-annotated on frame 60 of phalp_running_woman.mp4 (1920x1088): the runner's bounding box from
# hair to shoes, and the middle of her hips.
RUNNER_BOX = (540, 215, 865, 810)
RUNNER_HIP = (749, 521)


def _image(frame: np.ndarray) -> FrameBatch:
    return FrameBatch(frame[None], torch.device("cpu"))


def test_anchor_layout_matches_the_model_output():
    anchors = ssd_anchors()
    assert anchors.shape == (2254, 2)
    assert np.allclose(anchors[0], [0.5 / 28, 0.5 / 28]) and np.allclose(anchors[-1], [6.5 / 7, 6.5 / 7])


def test_weighted_nms_blends_overlaps_and_keeps_separate_people():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], dtype=torch.float32)
    kps = torch.zeros(3, 4, 2)
    scores = torch.tensor([0.9, 0.6, 0.8])
    d = weighted_nms(boxes, kps, scores, 0.3)
    assert len(d.scores) == 2
    assert torch.allclose(d.boxes[0], torch.tensor([0.4, 0, 10.4, 10]))  # (0*0.9 + 1*0.6)/1.5
    assert torch.allclose(d.scores, torch.tensor([0.9, 0.8]))


def test_detector_finds_the_runner(model_files, videos):
    frame = read_frame(videos / "phalp_running_woman.mp4", 60)
    det = PoseDetector(load_runner("pose_detection"), torch.device("cpu"))(_image(frame))[0]
    assert len(det.scores) == 1 and det.scores[0] > 0.5
    x0, y0, x1, y1 = RUNNER_BOX
    cx, cy = ((det.boxes[0, :2] + det.boxes[0, 2:]) / 2).tolist()
    assert x0 < cx < x1 and y0 < cy < y1  # the box sits on the person (it frames her head/upper body)
    hip = det.keypoints[0, 0]
    assert np.hypot(hip[0] - RUNNER_HIP[0], hip[1] - RUNNER_HIP[1]) < 60  # alignment keypoint 0: mid-hip


def test_landmarks_on_both_people(model_files, videos):
    frame = read_frame(videos / "mmhuman3d_two_people_handshake.mp4", 30)
    img = _image(frame)
    det = PoseDetector(load_runner("pose_detection"), torch.device("cpu"))(img)[0]
    assert len(det.scores) == 2
    rois = det.rois()
    res = PoseLandmarker(load_runner("pose_landmark_full"), torch.device("cpu"))(
        img, rois, torch.zeros(2, dtype=torch.long))
    assert (res.pose_flag > 0.9).all()
    # Metric world skeleton: adult shoulder and hip widths.
    shoulder = (res.world[:, 11] - res.world[:, 12]).norm(dim=-1)
    hip = (res.world[:, 23] - res.world[:, 24]).norm(dim=-1)
    assert ((shoulder > 0.25) & (shoulder < 0.45)).all() and ((hip > 0.15) & (hip < 0.35)).all()
    # Each person's landmarks stay inside their own ROI and the two people do not coincide.
    centres = res.image[:, :33].mean(1)
    assert (centres[0] - centres[1]).norm() > 200
    # Ankles below hips below shoulders (image y grows downwards) for both standing people.
    y = res.image[..., 1]
    assert ((y[:, 27] > y[:, 23]) & (y[:, 23] > y[:, 11])).all()
    # The tracking ROI from landmarks 33/34 stays close to the detector's ROI for a standing person.
    nxt = res.next_rois()
    assert ((nxt[:, :2] - rois[:, :2]).norm(dim=-1) < 0.25 * rois[:, 2]).all()


def test_cpu_warp_and_grid_sample_crops_agree(videos):
    """The CPU path (cv2.warpAffine on uint8) samples the same points as the device path (grid_sample)."""
    frame = read_frame(videos / "phalp_running_woman.mp4", 60)
    rois = torch.tensor([[745.0, 508.0, 826.0, 826.0, 0.3], [100.0, 1000.0, 600.0, 600.0, -2.0]])
    fidx = torch.zeros(2, dtype=torch.long)
    for mode in ("border", "zeros"):
        ours = FrameBatch(frame[None], torch.device("cpu")).crop(rois, fidx, 256, mode)
        ref = crop(torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255, rois, fidx, 256, mode)
        diff = (ours - ref).abs()
        assert diff.mean() < 2e-3 and diff.max() < 0.02  # uint8 rounding and OpenCV's fixed-point weights


def test_framebatch_head_shares_the_frames(videos):
    frame = read_frame(videos / "phalp_running_woman.mp4", 60)
    batch = FrameBatch(np.stack([frame, frame[::-1].copy()]), torch.device("cpu"))
    head = batch.head(1)
    assert head.n == 1 and head.frames.base is not None and np.shares_memory(head.frames, batch.frames)
    roi = torch.tensor([[745.0, 508.0, 826.0, 826.0, 0.0]])
    assert torch.equal(head.crop(roi, torch.zeros(1, dtype=torch.long), 64, "border"),
                       batch.crop(roi, torch.zeros(1, dtype=torch.long), 64, "border"))
