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


def axis_rotation(axis: str, angle_rad: np.ndarray) -> np.ndarray:
    """Right-handed rotation matrices about 'x', 'y' or 'z' for an array of angles: (..., 3, 3)."""
    a = np.asarray(angle_rad, dtype=np.float64)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    rows = {"x": [[o, z, z], [z, c, -s], [z, s, c]],
            "y": [[c, z, s], [z, o, z], [-s, z, c]],
            "z": [[c, -s, z], [s, c, z], [z, z, o]]}[axis.lower()]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def euler_to_matrix(angles_deg: np.ndarray, order: str) -> np.ndarray:
    """Compose per-axis rotations in the listed order: order 'zyx' gives Rz @ Ry @ Rx.

    This is the BVH channel convention (and the ASF/AMC one): the first listed axis is the outermost
    factor, so a column vector is rotated about the last listed axis first.
    """
    angles = np.radians(np.asarray(angles_deg, dtype=np.float64))
    out = np.broadcast_to(np.eye(3), angles.shape[:-1] + (3, 3)).copy()
    for k, ax in enumerate(order):
        out = out @ axis_rotation(ax, angles[..., k])
    return out


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
    """Rotation matrices (..., 3, 3) to unit quaternions (..., 4) as (w, x, y, z), w >= 0.

    Uses the largest-diagonal branch per element so it stays accurate near 180 degrees.
    """
    m = np.asarray(m, dtype=np.float64)
    flat = m.reshape(-1, 3, 3)
    q = np.empty((flat.shape[0], 4))
    tr = np.trace(flat, axis1=1, axis2=2)
    cand = np.stack([tr, flat[:, 0, 0], flat[:, 1, 1], flat[:, 2, 2]], axis=1)
    best = np.argmax(cand, axis=1)
    for k in range(4):
        sel = best == k
        r = flat[sel]
        if not sel.any():
            continue
        if k == 0:
            s = np.sqrt(1.0 + tr[sel]) * 2
            q[sel] = np.stack([0.25 * s, (r[:, 2, 1] - r[:, 1, 2]) / s, (r[:, 0, 2] - r[:, 2, 0]) / s,
                               (r[:, 1, 0] - r[:, 0, 1]) / s], axis=1)
        elif k == 1:
            s = np.sqrt(1.0 + r[:, 0, 0] - r[:, 1, 1] - r[:, 2, 2]) * 2
            q[sel] = np.stack([(r[:, 2, 1] - r[:, 1, 2]) / s, 0.25 * s, (r[:, 0, 1] + r[:, 1, 0]) / s,
                               (r[:, 0, 2] + r[:, 2, 0]) / s], axis=1)
        elif k == 2:
            s = np.sqrt(1.0 + r[:, 1, 1] - r[:, 0, 0] - r[:, 2, 2]) * 2
            q[sel] = np.stack([(r[:, 0, 2] - r[:, 2, 0]) / s, (r[:, 0, 1] + r[:, 1, 0]) / s, 0.25 * s,
                               (r[:, 1, 2] + r[:, 2, 1]) / s], axis=1)
        else:
            s = np.sqrt(1.0 + r[:, 2, 2] - r[:, 0, 0] - r[:, 1, 1]) * 2
            q[sel] = np.stack([(r[:, 1, 0] - r[:, 0, 1]) / s, (r[:, 0, 2] + r[:, 2, 0]) / s,
                               (r[:, 1, 2] + r[:, 2, 1]) / s, 0.25 * s], axis=1)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    q[q[:, 0] < 0] *= -1
    return q.reshape(m.shape[:-2] + (4,))


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) as (w, x, y, z) to rotation matrices (..., 3, 3)."""
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def slerp(q0: np.ndarray, q1: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Spherical interpolation between unit quaternions along the shorter arc; u broadcasts on (..., 1)."""
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot)
    u = np.asarray(u, dtype=np.float64)[..., None]
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_t = np.sin(theta)
    small = sin_t < 1e-6  # nearly equal: linear interpolation is exact enough and avoids 0/0
    w0 = np.where(small, 1 - u, np.sin((1 - u) * theta) / np.where(small, 1, sin_t))
    w1 = np.where(small, u, np.sin(u * theta) / np.where(small, 1, sin_t))
    out = w0 * q0 + w1 * q1
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


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
