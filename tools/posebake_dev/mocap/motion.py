"""The common skeleton/motion container, rotation helpers, forward kinematics and resampling.

Both mocap readers (BVH, ASF/AMC) produce a `Motion`, so everything downstream (retargeting, rendering,
evaluation) sees one representation:

* joints form a tree given by `parents` (parent index < child index, root has -1);
* `offsets[j]` is joint j's rest position relative to its parent, in metres, in the source's own axes
  (both CMU formats are Y-up, right-handed, subject facing +Z at rest);
* `rotations[t, j]` is joint j's local rotation (3x3) relative to its parent, defined so that with the
  global rotation ``G_j = G_parent @ R_j`` a child sits at ``p_child = p_j + G_j @ offsets[child]``.
  All rotations equal to identity reproduce the rest pose described by the offsets;
* `root_translation[t]` is the root joint's position in metres.

Rotations are kept as matrices because they compose without convention traps; quaternions are used only
inside `resample`, where slerp needs them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

#: CMU mocap length unit in metres. The CMU skeletons store lengths in inches scaled by 1/0.45
#: (ASF ``:units length 0.45``), so one unit is 2.54 cm / 0.45 ≈ 5.64 cm (CMU FAQ).
CMU_UNIT_M: float = (1.0 / 0.45) * 2.54 / 100.0


@dataclass
class Motion:
    """A skeleton plus its animation; see the module docstring for the conventions."""

    names: list[str]
    parents: np.ndarray          # (J,) int, -1 for the root
    offsets: np.ndarray          # (J, 3) metres, rest offset from the parent
    rotations: np.ndarray        # (T, J, 3, 3) local rotations
    root_translation: np.ndarray  # (T, 3) metres
    fps: float
    source: str = ""
    end_site: np.ndarray = field(default=None)  # (J,) bool: joint is a BVH End Site / bone tip (no motion)

    def __post_init__(self) -> None:
        self.parents = np.asarray(self.parents, dtype=np.int64)
        if self.end_site is None:
            self.end_site = np.zeros(len(self.names), dtype=bool)
        J = len(self.names)
        if self.offsets.shape != (J, 3) or self.rotations.shape[1:] != (J, 3, 3):
            raise ValueError("Motion arrays do not agree on the joint count")
        if self.rotations.shape[0] != self.root_translation.shape[0]:
            raise ValueError("Motion arrays do not agree on the frame count")
        if any(p >= j for j, p in enumerate(self.parents)):
            raise ValueError("parents must precede their children")

    @property
    def num_frames(self) -> int:
        return int(self.rotations.shape[0])

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame (so N frames at f fps last (N-1)/f)."""
        return (self.num_frames - 1) / self.fps

    def index(self, name: str) -> int:
        return self.names.index(name)

    def slice(self, start: int, stop: int) -> "Motion":
        """Frames [start, stop) as a new Motion (arrays copied)."""
        return Motion(list(self.names), self.parents.copy(), self.offsets.copy(),
                      self.rotations[start:stop].copy(), self.root_translation[start:stop].copy(),
                      self.fps, self.source, self.end_site.copy())


def euler_to_matrix(angles_deg: np.ndarray, order: str) -> np.ndarray:
    """Compose per-axis rotations in the listed order: order 'zyx' gives Rz @ Ry @ Rx.

    This is the BVH channel convention (and the ASF/AMC one): the first listed axis is the outermost
    factor, so a column vector is rotated about the last listed axis first, which is scipy's *intrinsic*
    (upper-case) sequence.
    """
    angles = np.asarray(angles_deg, dtype=np.float64)
    flat = Rotation.from_euler(order.upper(), angles.reshape(-1, len(order)), degrees=True).as_matrix()
    return flat.reshape(angles.shape[:-1] + (3, 3))


def forward_kinematics(motion: Motion) -> tuple[np.ndarray, np.ndarray]:
    """World joint positions (T, J, 3) in metres and global rotations (T, J, 3, 3), in source axes."""
    T, J = motion.num_frames, len(motion.names)
    pos = np.zeros((T, J, 3))
    glob = np.zeros((T, J, 3, 3))
    for j, p in enumerate(motion.parents):
        if p < 0:
            glob[:, j] = motion.rotations[:, j]
            pos[:, j] = motion.root_translation + motion.offsets[j]
        else:
            glob[:, j] = glob[:, p] @ motion.rotations[:, j]
            pos[:, j] = pos[:, p] + glob[:, p] @ motion.offsets[j]
    return pos, glob


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) to unit quaternions (..., 4) as (w, x, y, z), w >= 0."""
    m = np.asarray(m, dtype=np.float64)
    q = Rotation.from_matrix(m.reshape(-1, 3, 3)).as_quat(canonical=True, scalar_first=True)
    return q.reshape(m.shape[:-2] + (4,))


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) as (w, x, y, z) to rotation matrices (..., 3, 3)."""
    q = np.asarray(q, dtype=np.float64)
    return Rotation.from_quat(q.reshape(-1, 4), scalar_first=True).as_matrix().reshape(q.shape[:-1] + (3, 3))


def slerp(q0: np.ndarray, q1: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Spherical interpolation between unit quaternions (w, x, y, z) along the shorter arc; u broadcasts
    on (...): q0 composed with the fraction u of the relative rotation's rotation vector (angle <= 180°)."""
    q0, q1 = np.broadcast_arrays(np.asarray(q0, dtype=np.float64), np.asarray(q1, dtype=np.float64))
    u = np.broadcast_to(np.asarray(u, dtype=np.float64), q0.shape[:-1]).reshape(-1)
    r0 = Rotation.from_quat(q0.reshape(-1, 4), scalar_first=True)
    r1 = Rotation.from_quat(q1.reshape(-1, 4), scalar_first=True)
    step = Rotation.from_rotvec((r0.inv() * r1).as_rotvec() * u[:, None])
    return (r0 * step).as_quat(canonical=True, scalar_first=True).reshape(q0.shape)


def resample(motion: Motion, fps: float) -> Motion:
    """The same motion sampled at `fps`: slerp for rotations, linear for root translation.

    New frames sit at t = k/fps for k = 0.. while t <= the source duration, so the duration is kept to
    within one new frame (exactly when it is a multiple of 1/fps, as 120 -> 30 fps always is). A
    hundredth of a frame of slack absorbs rounded frame times such as BVH's ``Frame Time: .0083333``.
    """
    if fps <= 0:
        raise ValueError("fps must be positive")
    n_new = int(np.floor(motion.duration * fps + 1e-2)) + 1
    src_pos = np.arange(n_new) * (motion.fps / fps)
    i0 = np.clip(np.floor(src_pos).astype(int), 0, motion.num_frames - 1)
    i1 = np.clip(i0 + 1, 0, motion.num_frames - 1)
    u = src_pos - i0
    q = matrix_to_quat(motion.rotations)
    q_new = slerp(q[i0], q[i1], np.broadcast_to(u[:, None], (n_new, q.shape[1])))
    trans = motion.root_translation[i0] * (1 - u[:, None]) + motion.root_translation[i1] * u[:, None]
    return Motion(list(motion.names), motion.parents.copy(), motion.offsets.copy(), quat_to_matrix(q_new),
                  trans, float(fps), motion.source, motion.end_site.copy())


#: Y-up source axes (x, y, z) -> Blender Z-up axes (x, -z, y). Subjects face +Z at rest in CMU data,
#: which becomes -Y in Blender (Blender's own "front" view direction), as the glTF importer does too.
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
