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
from .models.runtime import Runner

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

    def __init__(self, model: Runner, device: torch.device, score_threshold: float = 0.5,
                 iou_threshold: float = 0.3) -> None:
        self.model = model  # `models.runtime.load_runner("pose_detection", ...)`
        self.device = device
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold
        self.anchors = torch.from_numpy(ssd_anchors()).to(device)

    @torch.no_grad()
    def raw(self, images: FrameBatch, rois: torch.Tensor, frame_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the model on square `rois` of the frames (letterboxed where they leave the frame).
        Returns (regressors (R,A,12), logits (R,A))."""
        x = images.crop(rois, frame_index, INPUT_SIZE, padding_mode="zeros")
        reg, logits = self.model(x * 2.0 - 1.0)
        return reg, logits[..., 0]

    @torch.no_grad()
    def __call__(self, images: FrameBatch, tiles: bool = False) -> list[Detections]:
        """Detections per frame. With `tiles`, square tiles along the long side are searched too: the
        detector sees the frame at 224 px, where a person 300 px tall in a 1280 px frame is ~50 px and
        often missed; in a tile of the short side's size they are nearly twice as big."""
        rois, fidx = [], []
        for i in range(images.n):
            frame_rois = [letterbox_rois(images.width, images.height, 1, self.device)[0]]
            if tiles:
                frame_rois += list(tile_rois(images.width, images.height, self.device))
            rois += frame_rois
            fidx += [i] * len(frame_rois)
        rois_t = torch.stack(rois)
        fidx_t = torch.tensor(fidx, device=self.device)
        reg, logits = self.raw(images, rois_t, fidx_t)
        scores = torch.sigmoid(logits.float().clamp(-SCORE_CLIP, SCORE_CLIP))
        reg = reg.float()
        a = self.anchors
        centre = reg[..., 0:2] / INPUT_SIZE + a
        half = reg[..., 2:4] / INPUT_SIZE / 2
        kps = reg[..., 4:12].reshape(*reg.shape[:2], 4, 2) / INPUT_SIZE + a[:, None, :]
        corners = torch.stack((centre - half, centre + half), dim=2)  # (R,A,2,2)
        keep = scores > self.score_threshold
        pts = torch.cat((corners, kps), dim=2)  # (R,A,6,2) in [0,1] crop coords
        out = []
        for i in range(images.n):
            sel = (fidx_t == i)[:, None] & keep
            if not sel.any():
                out.append(Detections(torch.zeros(0, 4, device=self.device),
                                      torch.zeros(0, 4, 2, device=self.device), scores.new_zeros(0)))
                continue
            r_idx, a_idx = torch.nonzero(sel, as_tuple=True)
            pix = roi_to_image(pts[r_idx, a_idx], rois_t[r_idx])  # (D,6,2) image pixels
            out.append(weighted_nms(pix[:, :2].reshape(-1, 4), pix[:, 2:], scores[r_idx, a_idx], self.iou_threshold))
        return out


def tile_rois(width: int, height: int, device: torch.device) -> torch.Tensor:
    """Overlapping square tiles (side = the short side) spanning the long side: (n,5) ROIs."""
    short, long_ = min(width, height), max(width, height)
    n = math.ceil(long_ / short) + 1
    centres = np.linspace(short / 2, long_ - short / 2, n)
    rois = [(c, height / 2, short, short, 0.0) if width >= height else (width / 2, c, short, short, 0.0)
            for c in centres]
    return torch.tensor(rois, dtype=torch.float32, device=device)
