"""Hand regions from frame to frame, like the body's: each hand's last landmarks frame its next crop.

Per tracked person and side the region for a frame is, in order of preference:
1. tracked: the region the hand's own landmarks implied on the frame before (sized on the palm, as the hand
   landmark model was trained), carried across a batch at constant velocity like the body's ROIs. It is
   kept without a second read when the landmarks found in it imply the same region again; a tracked
   region that strays from where the body says the hand is (the hand cannot leave the wrist) is dropped;
2. from the body: BlazePose's wrist, knuckle and thumb points (hands.rois_from_body), read once, then once
   more in the region those landmarks imply (the body's hand points are coarse);
3. the palm detector (palm.py) over a wider square around the body's region, where 1 and 2 found no hand
   of the right side: the body's hand points are what failed there.
A read counts as the hand only when the model says a hand is there and that it is the side the body says
(a region that slid onto the other hand, or someone else's, is not kept and does not seed tracking).
All hands of a batch of frames go through each pass at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from .crop import FrameBatch
from .hands import (BODY_HAND, NUM_HAND, SIDES, HandLandmarker, HandResult, is_side, rois_from_body,
                    rois_from_hand)
from .palm import PalmDetector, search_regions

#: A tracked region is confirmed when the region its own landmarks imply is within this fraction of its side
#: (centre) and size ratio of it. The body's tracking redoes at 8 % / 15 % (estimate.redo_threshold); a hand
#: crop is framed on a palm that moves more within it, and re-reading costs a full hand pass, so a little
#: looser.
CONFIRM_OFFSET = 0.1
CONFIRM_SIZE = 0.2
#: A tracked region whose centre is further than this many body-region sides from the body's hand region is
#: dropped: the body region is ~2.9 palm lengths wide around the hand, so this is a hand that left the wrist.
MAX_FROM_BODY = 0.75


@dataclass
class HandState:
    """One hand of one tracked person, carried from batch to batch."""

    roi: np.ndarray | None = None  # region for frame `frame` + 1, from the landmarks of frame `frame`
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(5))
    frame: int = -10


def matches_side(res: HandResult, right: np.ndarray) -> np.ndarray:
    """(R,) each read is a hand of the side wanted (`hands.is_side`)."""
    return is_side(res.presence, res.right_score, right)


def _empty(n: int) -> HandResult:
    return HandResult(np.full((n, NUM_HAND, 2), np.nan), np.full((n, NUM_HAND, 3), np.nan), np.zeros(n),
                      np.full(n, np.nan), np.full((n, 5), np.nan))


def _take(dst: HandResult, rows: np.ndarray, src: HandResult, sel: np.ndarray | None = None) -> None:
    """dst[rows[sel]] = src[sel] (every field)."""
    sel = np.ones(len(rows), bool) if sel is None else sel
    for f in fields(HandResult):
        getattr(dst, f.name)[rows[sel]] = getattr(src, f.name)[sel]


def _score(res: HandResult, right: np.ndarray) -> np.ndarray:
    """Which of two reads to keep: one of the right side first, then the higher presence."""
    return 2.0 * matches_side(res, right) + res.presence


def _agree(a: np.ndarray, b: np.ndarray, offset: float, size: float) -> np.ndarray:
    side = np.maximum(a[:, 2], 1.0)
    return (np.linalg.norm(a[:, :2] - b[:, :2], axis=1) <= offset * side) & (np.abs(b[:, 2] / side - 1.0) <= size)


def predict(states: list[HandState], frames: np.ndarray, body_rois: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per hand (H,): the tracked region for its frame where its state reaches it, else the body's.
    Returns (regions (H,5), tracked (H,))."""
    out, tracked = body_rois.copy(), np.zeros(len(states), bool)
    for h, (s, f) in enumerate(zip(states, frames)):
        if s.roi is None or f <= s.frame:
            continue
        roi = s.roi + (f - s.frame - 1) * s.velocity
        if np.linalg.norm(roi[:2] - body_rois[h, :2]) <= MAX_FROM_BODY * body_rois[h, 2]:
            out[h], tracked[h] = roi, True
    return out, tracked


def track_hands(landmarker: HandLandmarker, palm: PalmDetector | None, images: FrameBatch, body: np.ndarray,
                frame_index: np.ndarray, owners: list[list[HandState]], frames: np.ndarray,
                min_px: float) -> tuple[HandResult, dict[str, int]]:
    """Both hands of each body (N,33+,2) on its batch frame `frame_index` (N,), absolute frame `frames` (N,),
    with `owners[n]` the [left, right] states of its track (rows of one track in frame order; the states
    are updated for the next batch). Returns the (2N) results, [left, right] per body (NaN where no hand
    of that side was found), and how many hand reads each pass took."""
    n = len(body)
    body_rois = rois_from_body(body).reshape(-1, 5)
    fidx, fabs = np.repeat(frame_index, 2), np.repeat(frames, 2)
    right = np.tile(np.array([s == "right" for s in SIDES]), n)
    states = [s for pair in owners for s in pair]
    out = _empty(2 * n)
    run = np.isfinite(body_rois).all(axis=1) & (body_rois[:, 2] >= min_px)
    rows = np.flatnonzero(run)
    counts = {"tracked": 0, "body": 0, "refine": 0, "refine_found": 0, "palm": 0, "palm_found": 0}
    if len(rows):
        regions, tracked = predict([states[h] for h in rows], fabs[rows], body_rois[rows])
        first = landmarker(images, regions, fidx[rows])
        counts["tracked"], counts["body"] = int(tracked.sum()), int((~tracked).sum())
        _take(out, rows, first)
        ok = matches_side(first, right[rows])
        own = rois_from_hand(first.image)
        settled = ok & tracked & _agree(regions, own, CONFIRM_OFFSET, CONFIRM_SIZE)
        # a second read: in the region the first read's landmarks imply, or from the body where a tracked
        # region held no hand
        again = ~settled
        second_roi = np.where((tracked & ~ok)[:, None], body_rois[rows], own)
        if again.any():
            second = landmarker(images, second_roi[again], fidx[rows][again])
            counts["refine"] = int(again.sum())
            better = _score(second, right[rows][again]) >= _score(first, right[rows])[again]
            _take(out, rows[again], second, better)
        found = matches_side(out, right)
        counts["refine_found"] = int((found[rows] & ~ok).sum())  # hands the first read missed
        lost = run & ~found
        if palm is not None and lost.any():
            _palm_pass(landmarker, palm, images, body, body_rois, fidx, right, lost, out, counts)
    _update_states(states, out, right, fabs)
    return out, counts


def _palm_pass(landmarker: HandLandmarker, palm: PalmDetector, images: FrameBatch, body: np.ndarray,
               body_rois: np.ndarray, fidx: np.ndarray, right: np.ndarray, lost: np.ndarray, out: HandResult,
               counts: dict[str, int]) -> None:
    """Pass 3: the palm nearest the body's wrist in a wide square around the body's region, then a read."""
    rows = np.flatnonzero(lost)
    wrists = np.stack([body[h // 2, BODY_HAND[SIDES[h % 2]][0]] for h in rows])
    palms = palm(images, search_regions(body_rois[rows]), fidx[rows], wrists)
    counts["palm"] = len(rows)
    has = np.array([np.isfinite(p.roi).all() for p in palms])
    if not has.any():
        return
    rois = np.stack([p.roi for p in palms])[has]
    res = landmarker(images, rois, fidx[rows][has])
    ok = matches_side(res, right[rows][has])
    counts["palm_found"] = int(ok.sum())
    _take(out, rows[has], res, ok)


def _update_states(states: list[HandState], out: HandResult, right: np.ndarray, fabs: np.ndarray) -> None:
    """Each hand's state from its last frame in the batch: the region its landmarks imply (and the change
    from the frame before) where the right hand was found, else nothing to track."""
    found = matches_side(out, right)
    own = np.full((len(states), 5), np.nan)
    if found.any():
        own[found] = rois_from_hand(out.image[found])
    by_state: dict[int, list[int]] = {}
    for h, s in enumerate(states):
        by_state.setdefault(id(s), []).append(h)
    for hs in by_state.values():
        hs = sorted(hs, key=lambda h: fabs[h])
        s, last = states[hs[0]], hs[-1]
        if not found[last]:
            s.roi, s.velocity, s.frame = None, np.zeros(5), int(fabs[last])
            continue
        roi, before = own[last], None
        if len(hs) > 1 and found[hs[-2]] and fabs[hs[-2]] == fabs[last] - 1:
            before = own[hs[-2]]
        elif len(hs) == 1 and s.roi is not None and s.frame == fabs[last] - 1:
            before = s.roi  # the region the frame before implied, kept from the last batch
        if before is None:
            s.velocity = np.zeros(5)
        else:
            delta = roi - before
            delta[4] = (delta[4] + np.pi) % (2 * np.pi) - np.pi
            s.velocity = 0.5 * s.velocity + 0.5 * delta  # smoothed, as the body's (track.Track.update_roi)
        s.roi, s.frame = roi, int(fabs[last])
