"""Palm detector: finds a hand where the body's hand points framed none (the hand stage's last resort).

MediaPipe's palm detection model (the wheel's `palm_detection_full`) is an SSD like the body detector: a
192×192 square in, per anchor a palm box and seven keypoints (0: wrist centre, 1: index knuckle, 2: middle
knuckle, 3: ring knuckle, 4: pinky knuckle, 5-6: thumb). Palms, not hands, because a palm is rigid and
nearly square whatever the fingers do. We run it on a square search region around where the body says the
hand is (wider than the landmark crop: the body's hand points are what failed), keep the palm nearest the
body's wrist, and turn it into the hand landmark model's region the way MediaPipe's hand tracking does.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .crop import FrameBatch, roi_to_image
from .detector import SCORE_CLIP, ssd_anchors, weighted_nms
from .models.runtime import Runner, load_runner

INPUT_SIZE = 192
#: SSD layout of palm_detection_full (MediaPipe's palm_detection_full graph: 4 layers, strides 8, 16, 16,
#: 16, fixed anchor size): 2016 anchors.
STRIDES = (8, 16, 16, 16)
NUM_KEYPOINTS = 7
WRIST_KP, MIDDLE_KP = 0, 2
#: Palm box -> hand region (MediaPipe's palm-detection-to-hand-ROI transform: rotate so wrist -> middle
#: knuckle points up, shift half the box towards the fingers, scale the long side by 2.6).
ROI_SCALE = 2.6
ROI_SHIFT = 0.5
SCORE_THRESHOLD = 0.5
#: Search region side over the body's hand-region side: the body's hand points can be off by about a
#: hand's length when they fail, and the detector finds palms down to ~1/12 of its input.
SEARCH_SCALE = 2.0


@dataclass
class Palm:
    """The palm chosen for one search region, in image pixels (NaN where none was found)."""

    roi: np.ndarray  # (5,) hand landmark region
    score: float


def palm_to_roi(box: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """(4,) x0,y0,x1,y1 box and (7,2) keypoints in pixels -> (5,) hand region cx, cy, w, h, angle."""
    d = keypoints[MIDDLE_KP] - keypoints[WRIST_KP]
    angle = float(np.arctan2(d[0], -d[1]))  # crop.py's convention: positive when "up" leans right
    w, h = box[2] - box[0], box[3] - box[1]
    up = np.array([np.sin(angle), -np.cos(angle)])
    centre = 0.5 * (box[:2] + box[2:]) + ROI_SHIFT * h * up
    side = ROI_SCALE * max(w, h)
    return np.array([centre[0], centre[1], side, side, angle])


class PalmDetector:
    """The palm detection model over square search regions of many frames at once."""

    def __init__(self, model: Runner, device: torch.device) -> None:
        self.model = model
        self.device = device
        self.anchors = torch.from_numpy(ssd_anchors(INPUT_SIZE, STRIDES)).to(device)

    @torch.no_grad()
    def __call__(self, images: FrameBatch, regions: np.ndarray, frame_index: np.ndarray,
                 wrists: np.ndarray) -> list[Palm]:
        """For each search region (R,5) on its frame, the palm whose wrist keypoint is nearest the body's
        wrist (R,2), among those the model scores above `SCORE_THRESHOLD`."""
        if len(regions) == 0:
            return []
        rt = torch.from_numpy(regions).float().to(self.device)
        x = images.crop(rt, torch.from_numpy(frame_index).long().to(self.device), INPUT_SIZE, padding_mode="zeros")
        reg, logits = self.model(x)  # input in [0, 1]
        scores = torch.sigmoid(logits.float()[..., 0].clamp(-SCORE_CLIP, SCORE_CLIP))
        reg = reg.float()
        a = self.anchors
        centre = reg[..., 0:2] / INPUT_SIZE + a
        half = reg[..., 2:4] / INPUT_SIZE / 2
        kps = reg[..., 4:4 + 2 * NUM_KEYPOINTS].reshape(*reg.shape[:2], NUM_KEYPOINTS, 2) / INPUT_SIZE + a[:, None]
        pts = torch.cat((torch.stack((centre - half, centre + half), dim=2), kps), dim=2)  # (R,A,9,2)
        out = []
        for r in range(len(regions)):
            keep = scores[r] > SCORE_THRESHOLD
            if not keep.any():
                out.append(Palm(np.full(5, np.nan), 0.0))
                continue
            pix = roi_to_image(pts[r, keep], rt[r:r + 1].expand(int(keep.sum()), 5))
            det = weighted_nms(pix[:, :2].reshape(-1, 4), pix[:, 2:], scores[r, keep])
            boxes, kp, sc = (det.boxes.cpu().numpy(), det.keypoints.cpu().numpy(), det.scores.cpu().numpy())
            best = int(np.argmin(np.linalg.norm(kp[:, WRIST_KP] - wrists[r], axis=-1)))
            out.append(Palm(palm_to_roi(boxes[best], kp[best]), float(sc[best])))
        return out


def search_regions(hand_rois: np.ndarray) -> np.ndarray:
    """(R,5) hand regions from the body -> (R,5) upright square search regions around them."""
    out = hand_rois.copy()
    out[:, 2:4] = SEARCH_SCALE * hand_rois[:, 2:3]
    out[:, 4] = 0.0
    return out


def load_palm_detector(device: torch.device, runtime: str = "auto") -> PalmDetector:
    return PalmDetector(load_runner("palm_detection_full", device, runtime), device)
