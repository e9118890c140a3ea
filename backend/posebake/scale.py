"""Metric scale from a known subject height.

The landmark model's metric skeleton is sized by a learned average-adult prior, and in the
root solve size and distance are tied: a person 10 % smaller than the prior is placed 10 % too far. When
the user knows the actor's height we rescale the root-relative skeleton before the solve. The skeleton's
standing height comes from segment lengths (medians over the track, so a crouch does not matter) and
anthropometric proportions (Drillis & Contini, as tabulated in Winter's *Biomechanics and Motor Control of
Human Movement*): eye height is 0.936 H and ankle height 0.039 H, so the chain
ankle-knee-hip-shoulder-eye spans 0.897 H.

Why up to the eyes and not to the shoulders (acromion, 0.818 H): BlazePose's shoulder landmark is not the
acromion. On a real person triangulated from four calibrated cameras (bench/multiview_root.py) the
ankle-to-eye chain is 1.186x the ankle-to-shoulder chain, where the acromion would give 0.897 / 0.779 =
1.151x (the rendered character: 1.19-1.21x). A chain ending at the shoulders therefore made every given
height about 3 % too large in the skeleton, and put the root as much too far. Eyes and ankles are points
the table and the network agree on; the shoulder is only a waypoint of the chain.
"""
from __future__ import annotations

import numpy as np

from posebake_core.errors import PoseBakeError
from posebake_core.jobs import OptionError, validate_options
from posebake_core.skeleton import JOINT_INDEX as J

EYE_CHAIN_FRACTION = 0.936 - 0.039  # (shin + thigh + hip-to-shoulder + shoulder-to-eye) / standing height


def check_height(height: float | None, name: str = "--subject-height") -> None:
    """Raise a PoseBakeError naming `name` unless `height` is None or a plausible height in metres: the job
    schema's own rule (`posebake_core.jobs`), so the CLI, the service and the add-on refuse alike."""
    if height is None:
        return
    try:
        validate_options({"subject_height": height})
    except OptionError as exc:
        raise OptionError(str(exc).replace("subject_height", name, 1), exc.code, exc.field) from None


def _median_length(X: np.ndarray, a: str | tuple[str, str], b: str | tuple[str, str]) -> float:
    def point(p: str | tuple[str, str]) -> np.ndarray:
        return X[:, J[p]] if isinstance(p, str) else 0.5 * (X[:, J[p[0]]] + X[:, J[p[1]]])
    return float(np.nanmedian(np.linalg.norm(point(a) - point(b), axis=-1)))


def standing_height(X: np.ndarray) -> float:
    """Standing height (m) of a track's skeleton (T,33,3), from median segment lengths (legs: both sides
    averaged) along the chain ankle-knee-hip-shoulder-eye."""
    legs = [_median_length(X, f"{s}_hip", f"{s}_knee") + _median_length(X, f"{s}_knee", f"{s}_ankle")
            for s in ("left", "right")]
    torso = _median_length(X, ("left_hip", "right_hip"), ("left_shoulder", "right_shoulder"))
    head = _median_length(X, ("left_shoulder", "right_shoulder"), ("left_eye", "right_eye"))
    return (float(np.nanmean(legs)) + torso + head) / EYE_CHAIN_FRACTION


def height_scale(X: np.ndarray, subject_height: float) -> float:
    """Factor that makes the root-relative skeleton X (T,33,3) `subject_height` metres tall standing."""
    model = standing_height(X)
    if not np.isfinite(model) or model <= 0:
        raise PoseBakeError("--subject-height: a track has too few measurable bones (hips, knees, ankles, "
                            "shoulders, eyes) to estimate its height")
    return float(subject_height) / model
