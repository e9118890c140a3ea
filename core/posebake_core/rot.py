"""Small rotation helpers on stacked arrays (..., 3) / (..., 3, 3) / (..., 4) with quaternions (w,x,y,z).

Blender stores pose rotations as (w,x,y,z) quaternions, so that is the only quaternion layout used here.
"""
from __future__ import annotations

import numpy as np

EPS = 1e-9


def normalize(v: np.ndarray) -> np.ndarray:
    """Unit vectors along the last axis; zero vectors stay zero instead of becoming NaN."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, EPS)


def frame(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Orthonormal frames (..., 3, 3) with columns (x, y, z): y along `primary`, x along `secondary`
    made perpendicular to it. Two frames built the same way give the rotation between them as
    ``F_b @ F_a.T``, which is how every bone rotation in `solve` is formed."""
    y = normalize(primary)
    x = normalize(secondary - np.sum(secondary * y, axis=-1, keepdims=True) * y)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-1)


def axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rodrigues rotation matrices (..., 3, 3) about unit `axis` by `angle` radians."""
    a = normalize(axis)
    c, s = np.cos(angle)[..., None, None], np.sin(angle)[..., None, None]
    x, y, z = a[..., 0], a[..., 1], a[..., 2]
    o = np.zeros_like(x)
    k = np.stack([np.stack([o, -z, y], -1), np.stack([z, o, -x], -1), np.stack([-y, x, o], -1)], -2)
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest rotations (..., 3, 3) taking directions a onto b (identity where either is ~zero)."""
    a, b = normalize(a), normalize(b)
    axis = np.cross(a, b)
    s = np.linalg.norm(axis, axis=-1)
    c = np.sum(a * b, axis=-1)
    ang = np.arctan2(s, c)
    # antiparallel: any axis perpendicular to a
    alt = np.cross(a, np.where(np.abs(a[..., :1]) < 0.9, [1.0, 0, 0], [0, 1.0, 0]))
    axis = np.where((s < 1e-9)[..., None], alt, axis)
    return axis_angle(axis, np.where(s < 1e-9, np.where(c < 0, np.pi, 0.0), ang))


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) to unit quaternions (..., 4) (w,x,y,z), w >= 0 (stable near 180°)."""
    m = np.asarray(m, dtype=np.float64)
    f = m.reshape(-1, 3, 3)
    tr = f[:, 0, 0] + f[:, 1, 1] + f[:, 2, 2]
    cand = np.stack([tr, f[:, 0, 0], f[:, 1, 1], f[:, 2, 2]], 1)
    k = np.argmax(cand, 1)
    q = np.empty((len(f), 4))
    r = 1.0 + 2.0 * cand[np.arange(len(f)), k] - tr  # 4*q_k^2 for the largest component
    s = np.sqrt(np.maximum(r, EPS)) * 2.0
    d = {  # (w, x, y, z) numerators per branch
        0: (0.25 * s, (f[:, 2, 1] - f[:, 1, 2]) / s, (f[:, 0, 2] - f[:, 2, 0]) / s, (f[:, 1, 0] - f[:, 0, 1]) / s),
        1: ((f[:, 2, 1] - f[:, 1, 2]) / s, 0.25 * s, (f[:, 0, 1] + f[:, 1, 0]) / s, (f[:, 0, 2] + f[:, 2, 0]) / s),
        2: ((f[:, 0, 2] - f[:, 2, 0]) / s, (f[:, 0, 1] + f[:, 1, 0]) / s, 0.25 * s, (f[:, 1, 2] + f[:, 2, 1]) / s),
        3: ((f[:, 1, 0] - f[:, 0, 1]) / s, (f[:, 0, 2] + f[:, 2, 0]) / s, (f[:, 1, 2] + f[:, 2, 1]) / s, 0.25 * s),
    }
    for b in range(4):
        sel = k == b
        q[sel] = np.stack([c[sel] for c in d[b]], 1)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    q[q[:, 0] < 0] *= -1
    return q.reshape(m.shape[:-2] + (4,))


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) (w,x,y,z) to rotation matrices (..., 3, 3)."""
    q = normalize(np.asarray(q, dtype=np.float64))
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1)], -2)


def continuous(q: np.ndarray) -> np.ndarray:
    """Flip signs along axis 0 (time) so consecutive quaternions stay on one hemisphere: q and -q are the
    same rotation, but F-curves interpolate channels independently and would swing through the long way."""
    q = q.copy()
    for t in range(1, len(q)):
        flip = np.sum(q[t] * q[t - 1], axis=-1) < 0
        q[t][flip] *= -1
    return q
