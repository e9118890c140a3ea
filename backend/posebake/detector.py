"""BlazePose person detector: letterboxed input, SSD anchor decoding and weighted NMS, on the device.

The detector (MediaPipe's pose_detection model) sees the whole frame at 224×224 and returns, per anchor,
a box and four alignment keypoints (0: mid-hip, 1: a point above the head on the body axis, 2: mid-shoulder,
3: a point above the head on the upper-body axis). Keypoints 0 and 1 give the landmark model's region of
interest: centred on the hips, rotated so the body axis points up, and big enough for the whole body.
Anchor layout follows the published BlazeFace/BlazePose SSD configuration.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .crop import FrameBatch, letterbox_rois, roi_to_image

INPUT_SIZE = 224
STRIDES = (8, 16, 32, 32, 32)
SCORE_CLIP = 100.0
ROI_SCALE = 1.25


def ssd_anchors(size: int = INPUT_SIZE, strides: tuple[int, ...] = STRIDES) -> np.ndarray:
    """Anchor centres (A,2) in [0,1]. Consecutive layers of equal stride share one grid; each layer adds
    two anchors per cell (aspect ratio 1 plus the interpolated scale), and with fixed anchor size only the
    centres matter."""
    centres = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        per_cell = 2 * (j - i)
        n = math.ceil(size / strides[i])
        ys, xs = np.meshgrid((np.arange(n) + 0.5) / n, (np.arange(n) + 0.5) / n, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, per_cell, axis=0))
        i = j
    return np.concatenate(centres).astype(np.float32)


@dataclass
class Detections:
    """Detections of one frame, in image pixels."""

    boxes: torch.Tensor  # (D,4) x0,y0,x1,y1
    keypoints: torch.Tensor  # (D,4,2)
    scores: torch.Tensor  # (D,)

    def rois(self) -> torch.Tensor:
        """Landmark-model ROIs (D,5) from alignment keypoints 0 (centre) and 1 (body axis end)."""
        return alignment_roi(self.keypoints[:, 0], self.keypoints[:, 1])


def alignment_roi(centre: torch.Tensor, axis_end: torch.Tensor, scale: float = ROI_SCALE) -> torch.Tensor:
    """Square ROI centred on `centre`, side 2·|axis_end-centre|·scale, rotated so axis_end is "up"."""
    d = axis_end - centre
    side = 2.0 * torch.linalg.norm(d, dim=-1) * scale
    angle = math.pi / 2 - torch.atan2(-d[..., 1], d[..., 0])
    angle = torch.remainder(angle + math.pi, 2 * math.pi) - math.pi
    return torch.stack((centre[..., 0], centre[..., 1], side, side, angle), dim=-1)


def _iou(box: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    lt = torch.maximum(box[:2], boxes[:, :2])
    rb = torch.minimum(box[2:], boxes[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area = lambda b: (b[..., 2] - b[..., 0]).clamp(min=0) * (b[..., 3] - b[..., 1]).clamp(min=0)  # noqa: E731
    return inter / (area(box) + area(boxes) - inter + 1e-9)


def weighted_nms(boxes: torch.Tensor, keypoints: torch.Tensor, scores: torch.Tensor,
                 iou_threshold: float = 0.3) -> Detections:
    """Blend overlapping candidates (score-weighted mean of boxes and keypoints) instead of dropping them;
    the blended box is steadier from frame to frame than the single best anchor."""
    order = torch.argsort(scores, descending=True)
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    keep_b, keep_k, keep_s = [], [], []
    remaining = torch.ones(len(scores), dtype=torch.bool, device=scores.device)
    for i in range(len(scores)):  # candidates above threshold: a handful per person
        if not remaining[i]:
            continue
        overlap = (_iou(boxes[i], boxes) > iou_threshold) & remaining
        w = scores[overlap][:, None]
        keep_b.append((boxes[overlap] * w).sum(0) / w.sum())
        keep_k.append((keypoints[overlap] * w[:, :, None]).sum(0) / w.sum())
        keep_s.append(scores[i])
        remaining &= ~overlap
    if not keep_s:
        return Detections(boxes[:0], keypoints[:0], scores[:0])
    return Detections(torch.stack(keep_b), torch.stack(keep_k), torch.stack(keep_s))


class PoseDetector:
    """Runs the detector on batches of frames and returns per-frame `Detections` in pixels."""

    def __init__(self, model: torch.nn.Module, device: torch.device, score_threshold: float = 0.5,
                 iou_threshold: float = 0.3) -> None:
        self.model = model
        self.device = device
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold
        self.anchors = torch.from_numpy(ssd_anchors()).to(device)

    @torch.no_grad()
    def raw(self, images: FrameBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Letterbox the frames and run the model. Returns (regressors, logits, rois)."""
        rois = letterbox_rois(images.width, images.height, images.n, self.device)
        x = images.crop(rois, torch.arange(images.n, device=self.device), INPUT_SIZE, padding_mode="zeros")
        reg, logits = self.model(x * 2.0 - 1.0)
        return reg, logits[..., 0], rois

    @torch.no_grad()
    def __call__(self, images: FrameBatch) -> list[Detections]:
        reg, logits, rois = self.raw(images)
        scores = torch.sigmoid(logits.clamp(-SCORE_CLIP, SCORE_CLIP))
        a = self.anchors
        centre = reg[..., 0:2] / INPUT_SIZE + a
        half = reg[..., 2:4] / INPUT_SIZE / 2
        kps = reg[..., 4:12].reshape(*reg.shape[:2], 4, 2) / INPUT_SIZE + a[:, None, :]
        corners = torch.stack((centre - half, centre + half), dim=2)  # (N,A,2,2)
        out = []
        for i in range(reg.shape[0]):
            keep = scores[i] > self.score_threshold
            if not keep.any():
                out.append(Detections(torch.zeros(0, 4, device=self.device),
                                      torch.zeros(0, 4, 2, device=self.device), scores[i, :0]))
                continue
            pts = torch.cat((corners[i, keep], kps[i, keep]), dim=1)  # (D,6,2) in [0,1] letterbox coords
            pix = roi_to_image(pts, rois[i].expand(pts.shape[0], 5))
            out.append(weighted_nms(pix[:, :2].reshape(-1, 4), pix[:, 2:], scores[i, keep], self.iou_threshold))
        return out
