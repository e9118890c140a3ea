"""Hand stage: 21 finger landmarks per tracked person and side, from the wheel's hand landmark model.

Where the hand is: BlazePose's body model predicts, besides the wrist, the index and pinky knuckles and the
thumb of each hand, for exactly this purpose; from them `rois_from_body` takes an upright, square region
around the hand, wrist at the bottom, the middle knuckle up. A hand's own landmarks give a better one,
sized on the palm as the hand landmark model was trained (`rois_from_hand`). Which region each frame uses,
and when the palm detector steps in, is hand_track.py's business.

Outputs per region: image pixels, the model's metric hand-centred world landmarks turned back into camera
axes, the hand-presence score, and the model's handedness (checked against the body's side: the model
assumes a mirrored selfie image, so on a normal camera its "right" is the person's left).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .crop import FrameBatch, roi_to_image
from .detector import alignment_roi
from .models.runtime import Runner, load_runner

INPUT_SIZE = 224
NUM_HAND = 21
SIDES = ("left", "right")
#: BlazePose body indices per side: wrist, pinky knuckle, index knuckle, thumb.
BODY_HAND = {"left": (15, 17, 19, 21), "right": (16, 18, 20, 22)}
#: Hand landmark indices: wrist, then per finger 4 points (thumb CMC..tip, index MCP..tip, ...).
WRIST, THUMB, INDEX, MIDDLE, RING, PINKY = 0, (1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), \
    (17, 18, 19, 20)
FINGERS = {"thumb": THUMB, "index": INDEX, "middle": MIDDLE, "ring": RING, "pinky": PINKY}
#: The palm points MediaPipe's hand tracking sizes its region on (finger pose does not change them).
PALM = (0, 1, 2, 5, 9, 13, 17)
#: Crop side over the palm's extent, and the shift of the centre towards the fingers (fraction of the side):
#: MediaPipe's hand landmarks-to-ROI parameters (scale 2.0, shift -0.1), which frame a hand as the model
#: was trained.
PALM_SCALE = 2.0
PALM_SHIFT = 0.1
#: From the body: crop side over the wrist-to-knuckles distance. A hand's length is ~2.2 times its palm
#: length (wrist to the middle knuckle; adult anthropometry), so 2.9 frames the whole hand with margin for
#: the body model's knuckle error; the centre sits just past the knuckles.
BODY_SCALE = 2.9
BODY_CENTRE = 0.9
#: Below this crop side in image pixels the fingers are not resolved (the model sees an upscaled blur):
#: hands smaller than this are skipped. ~1/5 of the model's 224 input.
MIN_HAND_PX = 40.0
PRESENCE_THRESHOLD = 0.5


@dataclass
class HandResult:
    """Per region (R hands)."""

    image: np.ndarray  # (R,21,2) image pixels
    world: np.ndarray  # (R,21,3) metres, wrist-relative, camera axes (x right, y down, z forward)
    presence: np.ndarray  # (R,) hand-presence score in [0,1]
    right_score: np.ndarray  # (R,) the model's "right hand" score, for a mirrored (selfie) image
    rois: np.ndarray  # (R,5) the regions they were read from


def is_side(presence: np.ndarray, right_score: np.ndarray, want_right: np.ndarray | bool) -> np.ndarray:
    """Whether a read is the hand wanted: the model says a hand is there and that it is the side the body
    says (its handedness is for a mirrored image: its "right" is the person's left on a normal camera)."""
    return (np.asarray(presence) >= PRESENCE_THRESHOLD) & ((np.asarray(right_score) > 0.5) == want_right)


def rois_from_body(body: np.ndarray) -> np.ndarray:
    """(N,33+,2) body landmarks in pixels -> (N,2,5) hand regions, [left, right]."""
    out = []
    for side in SIDES:
        w, pinky, index, _ = (body[:, i] for i in BODY_HAND[side])
        axis = 0.5 * (pinky + index) - w  # wrist -> knuckles: the hand's "up" in the crop
        centre = w + BODY_CENTRE * axis
        roi = alignment_roi(torch.from_numpy(centre), torch.from_numpy(centre + axis), scale=BODY_SCALE / 2.0)
        out.append(roi.numpy())
    return np.stack(out, axis=1)


def rois_from_hand(points: np.ndarray) -> np.ndarray:
    """(R,21,2) hand landmarks in pixels -> (R,5) the region tracking would use on the next frame: upright
    on wrist -> middle knuckle, sized on the palm, shifted towards the fingers."""
    wrist, mid = points[:, WRIST], points[:, MIDDLE[0]]
    d = mid - wrist
    angle = np.arctan2(d[:, 0], -d[:, 1])  # crop.py: positive when "up" leans right
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    palm = points[:, PALM]
    centre0 = palm.mean(axis=1)
    rel = palm - centre0[:, None]
    u = rel[..., 0] * c + rel[..., 1] * s  # into the upright frame
    v = -rel[..., 0] * s + rel[..., 1] * c
    cu, cv = 0.5 * (u.max(1) + u.min(1)), 0.5 * (v.max(1) + v.min(1))
    side = PALM_SCALE * np.maximum(u.max(1) - u.min(1), v.max(1) - v.min(1))
    cv = cv - PALM_SHIFT * side  # towards the fingers (crop "up" is -v)
    cx = centre0[:, 0] + cu * c[:, 0] - cv * s[:, 0]
    cy = centre0[:, 1] + cu * s[:, 0] + cv * c[:, 0]
    return np.stack([cx, cy, side, side, angle], axis=1)


class HandLandmarker:
    """The hand landmark model on many regions at once."""

    def __init__(self, model: Runner, device: torch.device) -> None:
        # Outputs: 0 landmarks (21 x (x, y, z) in crop pixels), 1 hand flag, 2 handedness, 3 world landmarks.
        self.model = model
        self.device = device

    @torch.no_grad()
    def __call__(self, images: FrameBatch, rois: np.ndarray, frame_index: np.ndarray) -> HandResult:
        r = len(rois)
        if r == 0:
            return HandResult(np.zeros((0, NUM_HAND, 2)), np.zeros((0, NUM_HAND, 3)), np.zeros(0), np.zeros(0),
                              np.zeros((0, 5)))
        rt = torch.from_numpy(rois).float().to(self.device)
        x = images.crop(rt, torch.from_numpy(frame_index).long(), INPUT_SIZE, padding_mode="border")
        landmarks, flag, handed, world = self.model(x)
        lm = landmarks.float().reshape(r, NUM_HAND, 3)
        image = roi_to_image(lm[..., :2] / INPUT_SIZE, rt)
        w = world.float().reshape(r, NUM_HAND, 3)
        c, s = torch.cos(rt[:, 4])[:, None], torch.sin(rt[:, 4])[:, None]
        cam = torch.stack((w[..., 0] * c - w[..., 1] * s, w[..., 0] * s + w[..., 1] * c, w[..., 2]), -1)
        cam = cam - cam[:, :1]
        return HandResult(image.cpu().numpy(), cam.cpu().numpy(), flag.float().reshape(r).cpu().numpy(),
                          handed.float().reshape(r).cpu().numpy(), rois.copy())


def load_hand_landmarker(device: torch.device, runtime: str = "auto") -> HandLandmarker:
    return HandLandmarker(load_runner("hand_landmark_full", device, runtime), device)


#: A finger is extended when its tip is at least this fraction of its chain's length away from its base
#: (1.0: straight; a curled finger folds to ~0.5). Read off the shared photos' straight fingers (0.84-1.0)
#: and the OK sign's curled index (0.65) in tests/test_hands.py.
EXTENDED_STRAIGHTNESS = 0.8
#: Two fingertips touch when their image distance is under this fraction of the palm's width (index to pinky
#: knuckle): the landmark sits mid-fingertip, so touching pads read ~0.4, a spread hand 1.3+.
TOUCH_FRACTION = 0.6


def finger_states(world: np.ndarray) -> dict[str, str]:
    """Per finger, "extended" or "curled", from one hand's (21,3) landmarks: how straight the chain from
    its base (the wrist for the four fingers, the thumb's own CMC joint) to its tip is."""
    out = {}
    for name, chain in FINGERS.items():
        pts = world[list(chain) if name == "thumb" else [WRIST, *chain]]
        length = np.linalg.norm(np.diff(pts, axis=0), axis=1).sum()
        straight = np.linalg.norm(pts[-1] - pts[0]) / max(length, 1e-9)
        out[name] = "extended" if straight >= EXTENDED_STRAIGHTNESS else "curled"
    return out


def tips_touch(image: np.ndarray, a: str = "thumb", b: str = "index") -> bool:
    """Whether two fingertips touch, from one hand's (21,2) image landmarks (depth is the model's weakest
    output, so this is judged in the image, against the palm's width there)."""
    palm = np.linalg.norm(image[INDEX[0]] - image[PINKY[0]])
    return bool(np.linalg.norm(image[FINGERS[a][-1]] - image[FINGERS[b][-1]]) < TOUCH_FRACTION * palm)


def assemble_hands(tracks: list, n_frames: int, joints_cam: np.ndarray) -> tuple[np.ndarray, ...]:
    """The Motion's hands arrays for `tracks` (their `hands` dicts) placed on their metric bodies.

    A hand counts where the model saw one (presence) of the side the body says (handedness): a region that
    slid onto the other hand, or onto someone else's, is dropped rather than baked onto the wrong fingers.
    Metric placement: the model's world landmarks are wrist-centred metres at an average hand's size, on the
    same footing as BlazePose's own world landmarks, so each track's hands get the factor by which its body
    was rescaled from those (consistent bone lengths, a given height): the forearms' length ratio, median over
    the clip, one number per track so the hand keeps its size. The wrist goes on the body's wrist."""
    P = len(tracks)
    cam = np.full((P, n_frames, 2, NUM_HAND, 3), np.nan, np.float32)
    uv = np.full((P, n_frames, 2, NUM_HAND, 2), np.nan, np.float32)
    conf = np.zeros((P, n_frames, 2), np.float32)
    for p, t in enumerate(tracks):
        frames = np.array(sorted(f for f in t.hands if f < n_frames), dtype=np.int64)
        if not len(frames):
            continue
        img, wld, pres, right = (np.stack([t.hands[f][i] for f in frames]).astype(np.float64) for i in range(4))
        raw = np.stack(t.world)[np.searchsorted(t.frames, frames), :33].astype(np.float64)
        body = joints_cam[p, frames].astype(np.float64)
        ratios = []
        for elbow, wrist in ((13, 15), (14, 16)):
            ratios.append(np.linalg.norm(body[:, wrist] - body[:, elbow], axis=-1)
                          / np.linalg.norm(raw[:, wrist] - raw[:, elbow], axis=-1))
        ratio = np.concatenate(ratios)
        ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
        if not len(ratio):
            continue
        scale = float(np.median(ratio))
        for s, side in enumerate(SIDES):
            wants_right = side == "right"
            ok = is_side(pres[:, s], right[:, s], wants_right)
            ok &= np.isfinite(img[:, s]).all(axis=(-1, -2)) & np.isfinite(body[:, BODY_HAND[side][0]]).all(-1)
            placed = body[:, BODY_HAND[side][0], None] + scale * wld[:, s]
            cam[p, frames, s] = np.where(ok[:, None, None], placed, np.nan)
            uv[p, frames, s] = np.where(ok[:, None, None], img[:, s], np.nan)
            conf[p, frames, s] = np.where(ok, np.clip(pres[:, s], 0.0, 1.0), 0.0)
    return cam, uv, conf
