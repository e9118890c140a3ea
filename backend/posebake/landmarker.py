"""BlazePose landmark model: batched rotated crops -> 39 landmarks in image pixels and metric world space.

For each region of interest (ROI) the model sees a 256×256 crop (values in [0,1], edge-replicated) and
returns, for 33 body + 6 auxiliary points: crop pixels (x, y, z), visibility and presence logits, metric
root-relative "world" coordinates (in the crop's rotated frame), a 64×64 heatmap per point, a pose flag and a
segmentation mask. This module maps everything back to the image and to un-rotated camera axes, refines 2-D
points on the heatmap, and derives the next frame's ROI from auxiliary points 33 (hip centre) and 34 (body
axis end), as the BlazePose tracking graph does.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .crop import FrameBatch, roi_to_image
from .detector import alignment_roi
from .models.runtime import Runner

INPUT_SIZE = 256
NUM_POINTS = 39
NUM_BODY = 33
HEATMAP_KERNEL = 7
HEATMAP_MIN_CONFIDENCE = 0.5


@dataclass
class LandmarkResult:
    """Per-ROI results (R = number of ROIs in the batch)."""

    image: torch.Tensor  # (R,39,2) image pixels
    depth: torch.Tensor  # (R,39) relative depth in pixels of the crop scale (model's z)
    world: torch.Tensor  # (R,39,3) metres, root-relative, camera-aligned axes (x right, y down, z forward)
    visibility: torch.Tensor  # (R,39) in [0,1]
    presence: torch.Tensor  # (R,39) in [0,1]
    pose_flag: torch.Tensor  # (R,) probability that the crop holds a person

    def next_rois(self) -> torch.Tensor:
        """Tracking ROIs for the following frame, from auxiliary points 33 and 34."""
        return alignment_roi(self.image[:, 33], self.image[:, 34])


def refine_with_heatmap(xy: torch.Tensor, heatmap: torch.Tensor, kernel: int = HEATMAP_KERNEL,
                        min_confidence: float = HEATMAP_MIN_CONFIDENCE) -> torch.Tensor:
    """Replace each point (normalized crop coords, (R,K,2)) by the confidence-weighted centroid of the
    sigmoid heatmap in a kernel×kernel window around it, when the window's peak is confident enough.
    The regression head is accurate to a pixel or two; the heatmap sharpens it where the model is sure.

    Only the windows are read (a heatmap cell outside the map weighs nothing): the sigmoid of whole 64×64
    maps and their padding cost 0.5 ms a frame, ten times the windows (bench/results/estimate.md)."""
    r, k, hh, hw = heatmap.shape
    half = kernel // 2
    cx = (xy[..., 0] * hw).floor().long().clamp(0, hw - 1)
    cy = (xy[..., 1] * hh).floor().long().clamp(0, hh - 1)
    off = torch.arange(-half, half + 1, device=xy.device)
    ys = (cy[..., None, None] + off[:, None]).expand(-1, -1, kernel, kernel)  # (R,K,kernel,kernel) map rows
    xs = (cx[..., None, None] + off[None, :]).expand(-1, -1, kernel, kernel)
    inside = ((ys >= 0) & (ys < hh) & (xs >= 0) & (xs < hw)).reshape(r, k, -1)
    idx = (ys.clamp(0, hh - 1) * hw + xs.clamp(0, hw - 1)).reshape(r, k, -1)
    win = torch.sigmoid(torch.gather(heatmap.reshape(r, k, -1), 2, idx)) * inside  # (R,K,kernel²)
    gx, gy = xs.reshape(r, k, -1).float(), ys.reshape(r, k, -1).float()
    total = win.sum(-1).clamp(min=1e-9)
    refined = torch.stack(((win * (gx + 0.5)).sum(-1) / total / hw, (win * (gy + 0.5)).sum(-1) / total / hh), -1)
    confident = (win.amax(-1) >= min_confidence)[..., None]
    return torch.where(confident, refined.to(xy.dtype), xy)


class PoseLandmarker:
    """Runs the landmark model on many ROIs at once (all persons of a batch of frames)."""

    def __init__(self, model: Runner, device: torch.device, refine: bool = True) -> None:
        # `models.runtime.load_runner("pose_landmark_full", ...)`: outputs 0 landmarks, 1 pose flag, 3 heatmap,
        # 4 world (2, the segmentation mask, is never used and pruned).
        self.model = model
        self.device = device
        self.refine = refine

    @torch.no_grad()
    def raw(self, images: FrameBatch, rois: torch.Tensor, frame_index: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Crop and run the model; returns (landmarks, pose flag, heatmap NCHW, world)."""
        x = images.crop(rois, frame_index, INPUT_SIZE, padding_mode="border")
        return self.model(x)

    @torch.no_grad()
    def __call__(self, images: FrameBatch, rois: torch.Tensor, frame_index: torch.Tensor) -> LandmarkResult:
        """images: the batch's frames; rois: (R,5) pixels; frame_index: (R,) which image each ROI is from."""
        landmarks, flag, heatmap, world = self.raw(images, rois, frame_index)
        r = rois.shape[0]
        lm = landmarks.float().reshape(r, NUM_POINTS, 5)
        xy = lm[..., :2] / INPUT_SIZE
        if self.refine:
            xy = refine_with_heatmap(xy, heatmap.float())
        image = roi_to_image(xy, rois)
        # The model's z is in crop pixels; express it in image pixels like x and y.
        depth = lm[..., 2] / INPUT_SIZE * rois[:, 2:3]
        w = world.float().reshape(r, NUM_POINTS, 3)
        c, s = torch.cos(rois[:, 4])[:, None], torch.sin(rois[:, 4])[:, None]
        world_cam = torch.stack((w[..., 0] * c - w[..., 1] * s, w[..., 0] * s + w[..., 1] * c, w[..., 2]), -1)
        return LandmarkResult(image, depth, world_cam, torch.sigmoid(lm[..., 3]), torch.sigmoid(lm[..., 4]),
                              flag.float().reshape(r))
