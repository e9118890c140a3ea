"""Video -> Motion: the estimation pipeline, stage by stage.

decode (decode.py) -> detect (detector.py, periodically) -> track (track.py) -> landmarks (landmarker.py,
all people of a batch of frames in one call) -> metric root solve (rootsolve.py) -> Motion (motion.py).

Batching and tracking pull in opposite directions: BlazePose tracking takes each frame's region of
interest (ROI) from the previous frame's landmarks, which is sequential. We predict the ROIs of a whole
batch by constant velocity, run the landmark model once for all of them, and re-run only the (person,
frame) pairs whose predicted ROI strayed from the ROI that sequential tracking would have used.
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .assemble import assemble_motion
from .camera import intrinsics, make_K
from .camera_motion import CameraRotationTracker
from .crop import FrameBatch
from .decode import VideoDecoder
from .detector import PoseDetector
from .device import configure_cpu_threads, pick_device, torch_threads
from posebake_core.errors import PoseBakeError
from .focal import FocalEstimate, FocalSampler, sample_frames
from .hand_track import HandState, track_hands
from .hands import MIN_HAND_PX, HandLandmarker, load_hand_landmarker
from .landmarker import LandmarkResult, PoseLandmarker
from .lifting import DEFAULT_LIFTER, LIFTERS
from .models.runtime import load_runner
from .palm import PalmDetector, load_palm_detector
from posebake_core.motion import Motion
from posebake_core.skeleton import CENTRE_JOINTS
from posebake_core.retarget.contacts import contacts_for_motion
from .track import Track, match, roi_distance, suppress_duplicates

ProgressFn = Callable[[str, int, int], None]


class Cancelled(PoseBakeError):
    """The caller cancelled the job; nothing was written."""


@dataclass
class EstimateOptions:
    device: str = "auto"
    fov: float | None = None
    focal: float | None = None
    max_people: int = 4
    start: int = 0
    end: int | None = None
    batch: int | None = None  # frames per batch; default 8 on CPU, 32 on CUDA
    detect_every: int = 30  # frames between detector passes while tracks are healthy
    min_track_frames: int = 5
    pose_flag_threshold: float = 0.5
    detection_threshold: float = 0.5
    reidentify_frames: int = 90  # a re-detected person within this many frames keeps their track id
    smooth: str = "smoothnet"  # temporal refinement: smoothnet | oneeuro | savgol | gaussian | none
    lifter: str = DEFAULT_LIFTER  # joint centres from the 2D landmarks (lifting/): motionbert | none
    subject_height: float | None = None  # metres, head top to sole; rescales every track before the root solve
    bone_depth: bool = True  # root depth from the long bones' lengths (bonedepth.py); False: the joint solve's
    camera_motion: bool = True  # estimate camera pan/tilt from the background (see camera_motion.py)
    estimate_focal: bool = True  # no --focal/--fov/metadata: try the scene's vanishing points (focal.py)
    redo_threshold: float = 0.08  # predicted-vs-sequential ROI offset (fraction of ROI size) that triggers a re-run
    hands: bool = False  # finger landmarks per person and side (hands.py)
    hand_min_px: float = MIN_HAND_PX  # hands whose crop would be smaller than this (pixels) are skipped
    palm_detector: bool = True  # where the body's region holds no hand, look for the palm (hand_track.py)


class Estimator:
    """Holds the models (loaded once, kept warm) and turns videos into `Motion`s."""

    def __init__(self, device: str = "auto", runtime: str = "auto") -> None:
        """`runtime`: the engine for the models, auto|torch|onnx (models/runtime.py; auto is ONNX Runtime on
        the CPU)."""
        self.device = pick_device(device)
        if self.device.type == "cpu":
            configure_cpu_threads()
        self.runtime = runtime
        self.detector = PoseDetector(load_runner("pose_detection", self.device, runtime), self.device)
        self.landmarker = PoseLandmarker(load_runner("pose_landmark_full", self.device, runtime), self.device)
        self._hands: HandLandmarker | None = None  # loaded on the first run that asks for hands
        self._palm: PalmDetector | None = None
        self._hand_states: dict[int, list[HandState]] = {}  # track id -> [left, right], this run's
        self.timings: dict[str, float] = defaultdict(float)
        self.focal_note = ""  # why the last run did or did not estimate the focal (focal.py)
        self.warnings: list[str] = []  # what the last run's caller should tell the user (a truncated video)

    def _autocast(self) -> torch.autocast:
        # float16 on CUDA (world landmarks move < 1 cm, see tests); full precision on CPU, where float16
        # is slow and bfloat16 too coarse.
        return torch.autocast("cuda", dtype=torch.float16, enabled=self.device.type == "cuda")

    # -- stages -------------------------------------------------------------------------------------------
    def _detect(self, image: FrameBatch, opts: EstimateOptions, tiles: bool = False) -> tuple[np.ndarray, np.ndarray]:
        t0 = time.perf_counter()
        with self._autocast():
            det = self.detector(image, tiles=tiles)[0]
        # Keep more candidates than people: a weak detection may refine onto a person a stronger false one
        # missed; the cap on people applies after refinement (_start_tracks).
        order = torch.argsort(det.scores, descending=True)[: 2 * opts.max_people + 2]
        rois = det.rois()[order].float().cpu().numpy()
        self.timings["detect"] += time.perf_counter() - t0
        return rois, det.scores[order].float().cpu().numpy()

    def _landmarks(self, images: FrameBatch, rois: np.ndarray, fidx: np.ndarray,
                   stage: str = "landmarks") -> LandmarkResult:
        t0 = time.perf_counter()
        with self._autocast():
            res = self.landmarker(images, torch.from_numpy(rois).float().to(self.device),
                                  torch.from_numpy(fidx).long().to(self.device))
        self.timings[stage] += time.perf_counter() - t0
        return res

    def _refine_rois(self, image: FrameBatch, rois: np.ndarray, iterations: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """Re-centre detector ROIs on the landmarks' own ROI a few times (returns rois, pose flags).

        The detector's alignment keypoints can be far off on hard frames (backlight, small people): one
        crop may hold a person at a third of its size, and the landmark model's pose flag stays low. Its
        landmarks still point roughly at the body, and the ROI they imply converges onto the person in
        two or three steps, so a weak detection becomes a confident track instead of being dropped. All
        three passes run for every candidate: stopping a candidate once its ROI moved under 4 % of its size
        saved ~40 ms a detection but moved the contacts' F1 on the rendered clips (mean 0.78 -> 0.75;
        bench/RESULTS.md, "Foot contacts")."""
        flags = np.zeros(len(rois))
        for _ in range(iterations):
            res = self._landmarks(image, rois, np.zeros(len(rois), dtype=np.int64), stage="detect")
            flags = res.pose_flag.float().cpu().numpy()
            rois = res.next_rois().float().cpu().numpy()
        return rois, flags

    def _start_tracks(self, tracks: list[Track], image: FrameBatch, frame: int, opts: EstimateOptions,
                      next_id: int) -> int:
        """Detect on `image`, refine, and start tracks for confident people not tracked yet."""
        rois, _scores = self._detect(image, opts)
        if len(rois) == 0 and not any(t.alive for t in tracks):
            rois, _scores = self._detect(image, opts, tiles=True)  # nobody at full-frame scale: look closer
        live_rois = np.array([t.roi for t in tracks if t.alive]).reshape(-1, 5)
        if len(rois) and len(live_rois):  # people already tracked need no refinement (3 landmark passes each)
            rois = rois[roi_distance(rois, live_rois).min(axis=1) >= 0.3]
        if len(rois) == 0:
            return next_id
        rois, flags = self._refine_rois(image, rois)
        confident = np.flatnonzero(flags >= opts.pose_flag_threshold)
        confident = confident[np.argsort(-flags[confident])]
        # Someone lost recently and seen again near where they were keeps their id (Hungarian assignment).
        recent = [t for t in tracks if not t.alive and t.frames and frame - t.frames[-1] <= opts.reidentify_frames]
        pairs, _, _ = match(np.array([t.roi for t in recent]).reshape(-1, 5), rois[confident], max_distance=0.5)
        revived = {int(confident[d]): recent[r] for r, d in pairs}
        for j in confident:
            live = np.array([t.roi for t in tracks if t.alive]).reshape(-1, 5)
            if len(live) >= opts.max_people:
                break
            if len(live) and roi_distance(rois[j:j + 1], live).min() < 0.3:
                continue  # already tracked (or a duplicate detection of someone just added): pose NMS
            if j in revived:
                revived[j].alive, revived[j].roi, revived[j].velocity = True, rois[j].astype(np.float64), np.zeros(5)
            else:
                tracks.append(Track(track_id=next_id, roi=rois[j].astype(np.float64)))
                next_id += 1
        return next_id

    def _track_batch(self, tracks: list[Track], images: FrameBatch, first: int, opts: EstimateOptions) -> bool:
        """Landmarks for every live track on every frame of the batch. Returns True if a track was lost."""
        live = [t for t in tracks if t.alive]
        if not live:
            return False
        n = images.n
        pred = np.stack([t.predict(n) for t in live])  # (L,n,5)
        fidx = np.tile(np.arange(n), len(live))
        res = self._landmarks(images, pred.reshape(-1, 5), fidx)
        nxt = res.next_rois().float().cpu().numpy().reshape(len(live), n, 5)
        # The ROI sequential tracking would have used for frame i: the landmarks' ROI of frame i-1.
        seq = np.concatenate([np.stack([t.roi for t in live])[:, None], nxt[:, :-1]], axis=1)
        offset = np.linalg.norm(pred[..., :2] - seq[..., :2], axis=-1) / np.maximum(seq[..., 2], 1.0)
        size_off = np.abs(pred[..., 2] / np.maximum(seq[..., 2], 1.0) - 1.0)
        redo = ((offset > opts.redo_threshold) | (size_off > 0.15)).reshape(-1)
        image, world, vis, flag = (res.image.float().cpu().numpy(), res.world.float().cpu().numpy(),
                                   res.visibility.float().cpu().numpy(), res.pose_flag.float().cpu().numpy())
        if redo.any():
            self.timings["redo_fraction_num"] += float(redo.sum())
            again = self._landmarks(images, seq.reshape(-1, 5)[redo], fidx[redo])
            image[redo], world[redo] = again.image.float().cpu().numpy(), again.world.float().cpu().numpy()
            vis[redo], flag[redo] = again.visibility.float().cpu().numpy(), again.pose_flag.float().cpu().numpy()
            nxt.reshape(-1, 5)[redo] = again.next_rois().float().cpu().numpy()
        self.timings["redo_fraction_den"] += float(redo.size)
        lost = False
        kept: list[tuple[Track, int]] = []  # (track, row) of every body appended this batch
        for k, t in enumerate(live):
            for i in range(n):
                r = k * n + i
                if flag[r] < opts.pose_flag_threshold:
                    t.alive = False
                    lost = True
                    break
                t.append(first + i, image[r], world[r], vis[r])
                t.update_roi(nxt[k, i].astype(np.float64))
                kept.append((t, r))
        if opts.hands and kept:
            self._hand_batch(images, kept, image, fidx, first, opts)
        return lost

    def _hand_batch(self, images: FrameBatch, kept: list[tuple[Track, int]], image: np.ndarray, fidx: np.ndarray,
                    first: int, opts: EstimateOptions) -> None:
        """Both hands of every body kept in this batch, tracked frame to frame (hand_track.py)."""
        t0 = time.perf_counter()
        if self._hands is None:
            self._hands = load_hand_landmarker(self.device, self.runtime)
        if opts.palm_detector and self._palm is None:
            self._palm = load_palm_detector(self.device, self.runtime)
        rows = np.array([r for _, r in kept])
        owners = [self._hand_states.setdefault(t.track_id, [HandState(), HandState()]) for t, _ in kept]
        with self._autocast():
            res, reads = track_hands(self._hands, self._palm if opts.palm_detector else None, images,
                                     image[rows, :33].astype(np.float64), fidx[rows], owners,
                                     first + fidx[rows], min_px=opts.hand_min_px)
        for n, (t, r) in enumerate(kept):
            sl = slice(2 * n, 2 * n + 2)
            t.hands[first + int(fidx[r])] = (res.image[sl], res.world[sl], res.presence[sl], res.right_score[sl])
        for k, v in reads.items():
            self.timings[f"hand_reads_{k}"] += v
        self.timings["hands"] += time.perf_counter() - t0

    # -- whole video ------------------------------------------------------------------------------------
    def run(self, video: str | Path, opts: EstimateOptions | None = None, progress: ProgressFn | None = None,
            cancel: threading.Event | None = None) -> Motion:
        """Estimate `video` into a Motion.

        With the models on ONNX Runtime, torch's own work (crops to tensors, heatmap refinement, SmoothNet)
        runs on one thread: with two, SmoothNet's first call after the landmark loop took 70-110 ms instead
        of 9 on 40-frame clips (two thread pools taking turns on two cores), and one thread costs nothing
        on the runner (80.0 vs 79.2 fps)."""
        with torch_threads(1 if self.landmarker.model.engine == "onnx" else None):
            return self._run(video, opts or EstimateOptions(), progress, cancel)

    def _run(self, video: str | Path, opts: EstimateOptions, progress: ProgressFn | None,
             cancel: threading.Event | None) -> Motion:
        self.timings.clear()
        self.warnings = []
        self._hand_states = {}
        t_wait = time.perf_counter()
        decoder = VideoDecoder(video)  # opening and probing the container: reading the video, timed as decode
        self.timings["decode"] += time.perf_counter() - t_wait
        info = decoder.info
        K, K_source = intrinsics(info.width, info.height, focal=opts.focal, fov=opts.fov, video_path=info.path)
        self.focal_note = ""
        # No focal given or in the metadata: sample frames for the scene's vanishing points from this decode.
        # Its line search runs beside the landmarks, a frame at a time as they come in: only the root solve and
        # the camera's rotations need K, and the camera tracker holds its point tracks until then.
        focal_pool = (ThreadPoolExecutor(max_workers=1, thread_name_prefix="posebake-focal")
                      if K_source == "default" and opts.estimate_focal else None)
        sampler = FocalSampler(sample_frames(opts.start, opts.end, info.frame_count), focal_pool) if focal_pool else None
        batch = opts.batch or (32 if self.device.type == "cuda" else 8)
        end = min(opts.end, info.frame_count) if opts.end is not None and info.frame_count else opts.end
        total = (end or info.frame_count) - opts.start
        tracks: list[Track] = []
        camera = (CameraRotationTracker(None if sampler else K, info.width, info.height)
                  if opts.camera_motion else None)
        next_id, since_detect, lost, done = 0, opts.detect_every, False, 0
        t_wait = time.perf_counter()
        focal_job: Future[FocalEstimate] | None = None
        try:
            for first, frames in decoder.batches(batch, opts.start, end):
                self.timings["decode"] += time.perf_counter() - t_wait
                if cancel is not None and cancel.is_set():
                    raise Cancelled("cancelled")
                if sampler is not None and sampler.offer(first, frames):
                    focal_job, sampler = focal_pool.submit(sampler.estimate), None
                if focal_job is not None and focal_job.done():
                    K, K_source = self._focal(focal_job.result, K, K_source, info, camera)
                    focal_job = None
                images = FrameBatch(frames, self.device)
                live = sum(t.alive for t in tracks)
                # The periodic pass looks for people not tracked yet: with max_people tracked and none lost it
                # could add no one (and cost a detector run plus three landmark passes per candidate).
                if lost or not live or (since_detect >= opts.detect_every and live < opts.max_people):
                    next_id = self._start_tracks(tracks, images.head(1), first - opts.start, opts, next_id)
                    since_detect = 0
                lost = self._track_batch(tracks, images, first - opts.start, opts)
                suppress_duplicates(tracks)
                if camera is not None:
                    t0 = time.perf_counter()
                    boxes = _boxes_by_frame(tracks, first - opts.start, len(frames))
                    for k, frame in enumerate(frames):
                        camera.update(frame, boxes[k])
                    self.timings["camera"] += time.perf_counter() - t0
                since_detect += len(frames)
                done += len(frames)
                if progress is not None:
                    progress("landmarks", done, max(total, done))
                t_wait = time.perf_counter()
            if sampler is not None:  # the clip ended before the last sampled frame
                K, K_source = self._focal(sampler.estimate, K, K_source, info, camera)
            elif focal_job is not None:
                K, K_source = self._focal(focal_job.result, K, K_source, info, camera)
        finally:  # a failed or cancelled run leaves no thread behind (a running search ends within a second)
            if focal_pool is not None:
                focal_pool.shutdown(wait=False, cancel_futures=True)
        if total > 0 and done < total:
            self.warnings.append(f"the video ended after {done} of the {total} frames its header announces (a "
                                 f"truncated or damaged file?); the motion covers those {done} frames only")
        t0 = time.perf_counter()
        motion = assemble_motion(tracks, done, info, K, K_source, start=opts.start,
                                 min_track_frames=opts.min_track_frames, subject_height=opts.subject_height,
                                 bone_depth=opts.bone_depth, hands=opts.hands)
        if camera is not None:
            motion.camera_rotation = np.stack(camera.rotations)
        self.timings["solve"] += time.perf_counter() - t0
        if opts.smooth != "none":
            from .smoothing import smooth_motion

            t0 = time.perf_counter()
            motion = smooth_motion(motion, opts.smooth, device=str(self.device))
            self.timings["smooth"] += time.perf_counter() - t0
        lifter = LIFTERS[opts.lifter]
        if lifter is not None:  # after smoothing: the centres are placed on the (smoothed) root
            t0 = time.perf_counter()
            motion.skeleton_cam = lifter(motion, str(self.device))
            motion.skeleton_names = CENTRE_JOINTS
            self.timings["lift"] += time.perf_counter() - t0
        motion.contacts = contacts_for_motion(motion)  # the feet planted, as every consumer will read them
        self.timings["frames"] = done
        return motion

    def _focal(self, estimate: Callable[[], FocalEstimate], K: np.ndarray, K_source: str, info,
               camera: CameraRotationTracker | None) -> tuple[np.ndarray, str]:
        """The scene's focal from the sampled frames (`estimate`: a search's result, usually one that ran
        beside the landmarks) when it is well conditioned, else the default K; the camera tracker, which has
        been holding its point tracks, gets the K chosen. `timings["focal"]`: the time spent waiting."""
        t0 = time.perf_counter()
        found = estimate()
        self.timings["focal"] += time.perf_counter() - t0
        self.focal_note = found.reason
        if found.focal_px is not None:
            K, K_source = make_K(found.focal_px, info.width, info.height), "estimated"
        if camera is not None:
            t0 = time.perf_counter()
            camera.set_K(K)  # the rotations of the point tracks held until now: camera work
            self.timings["camera"] += time.perf_counter() - t0
        return K, K_source


def _boxes_by_frame(tracks: list[Track], first: int, n: int) -> list[list[np.ndarray]]:
    """Per frame of a batch, the 2D bounding boxes (x0,y0,x1,y1) of every tracked person."""
    boxes: list[list[np.ndarray]] = [[] for _ in range(n)]
    for t in tracks:
        for f, pts in zip(reversed(t.frames), reversed(t.image)):
            if f < first:
                break
            if f < first + n:
                body = pts[:33]
                boxes[f - first].append(np.concatenate([body.min(0), body.max(0)]))
    return boxes
