"""Acclaim ASF (skeleton) and AMC (motion) readers, written from the Acclaim format description.

ASF: ``:units`` (``length 0.45`` means one file unit is 1/0.45 inch, ``angle deg|rad``), ``:root``
(``order`` of the AMC root values, ``axis`` order and ``orientation``), ``:bonedata`` (one
``begin ... end`` block per bone: ``name``, unit ``direction``, ``length``, ``axis a b c ORDER``, ``dof``,
``limits``) and ``:hierarchy`` (``parent child child ...`` lines).

AMC: header lines (``#`` comments, ``:FULLY-SPECIFIED``, ``:DEGREES``), then for each frame its number on
a line of its own followed by ``bone v1 v2 ...`` lines with one value per dof of that bone.

How a bone moves: ``axis`` gives the bone's local frame C (in world axes, rest pose); the AMC angles
give a rotation M in that local frame. In world-aligned terms the bone's local rotation is
``C @ M @ C^-1``, and its global rotation is the parent's global rotation times that. The bone spans
from its parent's tip to ``tip = start + G_bone @ (direction * length)``. Axis orders such as ``XYZ``
(and dof lists ``rx ry rz``) list rotations in the order they are applied to a vector, so the matrix is
``Rz @ Ry @ Rx`` -- the same as BVH channels ``Zrotation Yrotation Xrotation`` of the CMU conversions.

In a `Motion` each bone becomes a joint at its start (its offset is the parent bone's vector), and each
leaf bone gets an extra ``<bone>_End`` joint at its tip. The root joint is named ``root``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posebake_core.errors import PoseBakeError
from .motion import Motion, euler_to_matrix

INCH_M = 0.0254


@dataclass
class Bone:
    name: str
    direction: np.ndarray   # unit vector, world axes at rest
    length: float           # file units
    axis: np.ndarray        # (3, 3) local frame C
    dof: list[str]          # e.g. ["rx", "ry", "rz"]


@dataclass
class Skeleton:
    """An ASF skeleton: bones by name, the tree, and the unit conversion to metres."""

    path: Path
    bones: dict[str, Bone]
    children: dict[str, list[str]]
    root_order: list[str]   # AMC root value order, e.g. ["tx","ty","tz","rx","ry","rz"]
    root_axis: np.ndarray   # (3, 3)
    metres_per_unit: float
    degrees: bool


def _fail(path: Path, line: int, msg: str) -> PoseBakeError:
    return PoseBakeError(f"{path}: line {line}: {msg}")


def _lines(path: Path, kind: str) -> list[tuple[int, list[str]]]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise PoseBakeError(f"cannot read {kind} file {path}: {e.strerror}") from None
    rows = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [(n + 1, ln.split()) for n, ln in enumerate(rows) if ln.strip() and not ln.lstrip().startswith("#")]


def _nums(path: Path, line: int, toks: list[str], n: int) -> list[float]:
    try:
        vals = [float(t) for t in toks[:n]]
    except ValueError:
        raise _fail(path, line, f"expected numbers, got {' '.join(toks)!r}") from None
    if len(vals) != n:
        raise _fail(path, line, f"expected {n} numbers")
    return vals


def _axis_matrix(path: Path, line: int, angles: list[float], order: str, degrees: bool) -> np.ndarray:
    order = order.lower()
    if sorted(order) != ["x", "y", "z"]:
        raise _fail(path, line, f"bad axis order {order!r}")
    ang = dict(zip("xyz", angles))
    vals = [ang[a] if degrees else np.degrees(ang[a]) for a in order]
    # listed in application order -> matrix product in reverse order
    return euler_to_matrix(np.array(vals[::-1]), order[::-1])


def read_asf(path: str | Path) -> Skeleton:
    """Parse an ASF skeleton; raise PoseBakeError naming file and line for malformed input."""
    path = Path(path)
    rows = _lines(path, "ASF")
    section = ""
    length_unit, degrees = 1.0, True
    bones: dict[str, Bone] = {}
    children: dict[str, list[str]] = {}
    root_order = ["tx", "ty", "tz", "rx", "ry", "rz"]
    root_axis_order, root_orient = "xyz", [0.0, 0.0, 0.0]
    cur: dict | None = None
    for n, toks in rows:
        key = toks[0].lower()
        if key.startswith(":"):
            section = key
            continue
        if section == ":units":
            if key == "length":
                length_unit = _nums(path, n, toks[1:], 1)[0]
                if length_unit <= 0:
                    raise _fail(path, n, "length unit must be positive")
            elif key == "angle":
                degrees = toks[1].lower().startswith("deg") if len(toks) > 1 else True
        elif section == ":root":
            if key == "order":
                root_order = [t.lower() for t in toks[1:]]
            elif key == "axis":
                root_axis_order = toks[1].lower() if len(toks) > 1 else "xyz"
            elif key == "orientation":
                root_orient = _nums(path, n, toks[1:], 3)
        elif section == ":bonedata":
            if key == "begin":
                cur = {"line": n, "dof": [], "axis": np.eye(3)}
            elif cur is None:
                raise _fail(path, n, f"{toks[0]!r} outside a begin/end block")
            elif key == "end":
                for need in ("name", "direction", "length"):
                    if need not in cur:
                        raise _fail(path, cur["line"], f"bone block without {need}")
                d = np.array(cur["direction"])
                norm = np.linalg.norm(d)
                d = d / norm if norm > 0 else d
                bones[cur["name"]] = Bone(cur["name"], d, cur["length"], cur["axis"], cur["dof"])
                cur = None
            elif key == "name":
                cur["name"] = toks[1]
            elif key == "direction":
                cur["direction"] = _nums(path, n, toks[1:], 3)
            elif key == "length":
                cur["length"] = _nums(path, n, toks[1:], 1)[0]
            elif key == "axis":
                if len(toks) < 5:
                    raise _fail(path, n, "axis needs three angles and an order")
                cur["axis"] = _axis_matrix(path, n, _nums(path, n, toks[1:], 3), toks[4], degrees)
            elif key == "dof":
                cur["dof"] = [t.lower() for t in toks[1:]]
                bad = [d for d in cur["dof"] if d not in ("rx", "ry", "rz")]
                if bad:
                    raise _fail(path, n, f"unsupported dof {bad[0]!r} (only rotations are supported)")
        elif section == ":hierarchy":
            if key in ("begin", "end"):
                continue
            children.setdefault(toks[0], []).extend(toks[1:])
    if not bones:
        raise PoseBakeError(f"{path}: no :bonedata bones found (is this an ASF file?)")
    known = set(bones) | {"root"}
    for parent, kids in children.items():
        for name in [parent, *kids]:
            if name not in known:
                raise PoseBakeError(f"{path}: :hierarchy names unknown bone {name!r}")
    root_axis = _axis_matrix(path, 0, root_orient, root_axis_order, degrees)
    return Skeleton(path, bones, children, root_order, root_axis, INCH_M / length_unit, degrees)


def read_amc(path: str | Path, skeleton: Skeleton | str | Path, fps: float = 120.0) -> Motion:
    """Parse an AMC motion for `skeleton` (a Skeleton or ASF path) into a `Motion` in metres.

    AMC files do not store their frame rate; CMU captures are 120 fps, the default.
    """
    path = Path(path)
    skel = skeleton if isinstance(skeleton, Skeleton) else read_asf(skeleton)
    # joint layout: root, bones depth-first, and a tip joint after each leaf bone
    names, parents, offsets, bone_of = ["root"], [-1], [np.zeros(3)], [None]

    def add(bone_name: str, parent_joint: int, offset: np.ndarray) -> None:
        j = len(names)
        names.append(bone_name)
        parents.append(parent_joint)
        offsets.append(offset)
        bone_of.append(bone_name)
        b = skel.bones[bone_name]
        vec = b.direction * b.length * skel.metres_per_unit
        kids = skel.children.get(bone_name, [])
        for kid in kids:
            add(kid, j, vec)
        if not kids:
            names.append(f"{bone_name}_End")
            parents.append(j)
            offsets.append(vec)
            bone_of.append(None)

    for kid in skel.children.get("root", []):
        add(kid, 0, np.zeros(3))
    index = {n: j for j, n in enumerate(names)}

    frames: list[dict[str, tuple[int, list[float]]]] = []
    for n, toks in _lines(path, "AMC"):
        if toks[0].startswith(":"):
            continue
        if len(toks) == 1 and toks[0].isdigit():
            frames.append({})
            continue
        if not frames:
            raise _fail(path, n, f"bone values {toks[0]!r} before the first frame number")
        name = toks[0]
        if name != "root" and name not in skel.bones:
            raise _fail(path, n, f"bone {name!r} is not in the skeleton {skel.path.name}")
        want = len(skel.root_order) if name == "root" else len(skel.bones[name].dof)
        frames[-1][name] = (n, _nums(path, n, toks[1:], want) if len(toks) - 1 == want else
                            _raise_count(path, n, name, want, len(toks) - 1))
    if not frames:
        raise PoseBakeError(f"{path}: no frames found (is this an AMC file?)")

    T, J = len(frames), len(names)
    rot = np.broadcast_to(np.eye(3), (T, J, 3, 3)).copy()
    trans = np.zeros((T, 3))
    to_deg = 1.0 if skel.degrees else np.degrees(1.0)
    for name in ["root", *skel.bones]:
        if name not in index:
            continue
        order = skel.root_order if name == "root" else skel.bones[name].dof
        vals = np.zeros((T, len(order)))
        for t, fr in enumerate(frames):
            if name in fr:
                vals[t] = fr[name][1]
        rot_cols = [k for k, d in enumerate(order) if d.startswith("r")]
        if name == "root":
            for k, d in enumerate(order):
                if d in ("tx", "ty", "tz"):
                    trans[:, "xyz".index(d[1])] = vals[:, k] * skel.metres_per_unit
        if not rot_cols:
            continue
        axes = "".join(order[k][1] for k in rot_cols)
        M = euler_to_matrix(vals[:, rot_cols][:, ::-1] * to_deg, axes[::-1])
        C = skel.root_axis if name == "root" else skel.bones[name].axis
        rot[:, index[name]] = C @ M @ C.T
    end_site = np.array([b is None and j > 0 for j, b in enumerate(bone_of)])
    return Motion(names, np.array(parents), np.array(offsets), rot, trans, fps=fps,
                  source=path.name, end_site=end_site)


def _raise_count(path: Path, line: int, name: str, want: int, got: int) -> list[float]:
    raise _fail(path, line, f"bone {name!r} needs {want} values (its dof), got {got}")
