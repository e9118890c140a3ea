"""BVH (Biovision Hierarchy) reader, written from the format description.

A BVH file has a HIERARCHY section (nested ROOT/JOINT blocks with an OFFSET, a CHANNELS list and
optionally an ``End Site`` block) and a MOTION section (``Frames: N``, ``Frame Time: dt`` and N lines of
channel values in hierarchy order).

Conventions (as used by the CMU conversions in the shared data):

* Y is up, right-handed, the subject faces +Z in the rest pose; lengths are in the file's unit, which we
  multiply by `scale` (default: the CMU unit, 0.0564 m) to get metres;
* each joint's rotation is the product of its rotation channels in the order listed, e.g. channels
  ``Zrotation Yrotation Xrotation`` give ``Rz @ Ry @ Rx``; angles are degrees. Any order is accepted;
* position channels on the root give the root translation; position channels on other joints (rare)
  replace that joint's offset for the frame, which a fixed-offset `Motion` cannot hold, so we reject them.

End Sites become extra joints named ``<parent>_End`` with `end_site` set, so the tips of the head, hands
and toes are available after forward kinematics. Line endings may be LF, CRLF or mixed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from posebake_core.errors import PoseBakeError
from .motion import CMU_UNIT_M, Motion, euler_to_matrix

_ROT = {"xrotation": "x", "yrotation": "y", "zrotation": "z"}
_POS = {"xposition": 0, "yposition": 1, "zposition": 2}


class _Lines:
    """Whitespace-split lines with their 1-based line numbers, for errors that point at the file."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.items = [(n + 1, line.split()) for n, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))]
        self.items = [(n, toks) for n, toks in self.items if toks]
        self.i = 0

    def fail(self, msg: str, line: int | None = None) -> PoseBakeError:
        if line is None:
            line = self.items[min(self.i, len(self.items) - 1)][0] if self.items else 1
        return PoseBakeError(f"{self.path}: line {line}: {msg}")

    def next(self, what: str) -> tuple[int, list[str]]:
        if self.i >= len(self.items):
            raise self.fail(f"unexpected end of file, expected {what}")
        item = self.items[self.i]
        self.i += 1
        return item

    def floats(self, toks: list[str], line: int, n: int | None = None) -> list[float]:
        try:
            vals = [float(t) for t in toks]
        except ValueError:
            raise self.fail(f"expected numbers, got {' '.join(toks)!r}", line) from None
        if n is not None and len(vals) != n:
            raise self.fail(f"expected {n} numbers, got {len(vals)}", line)
        return vals


def read_bvh(path: str | Path, scale: float = CMU_UNIT_M) -> Motion:
    """Parse a BVH file into a `Motion` (metres via `scale`); raise PoseBakeError naming file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise PoseBakeError(f"cannot read BVH file {path}: {e.strerror}") from None
    lines = _Lines(path, text)
    n, toks = lines.next("HIERARCHY")
    if toks[0].upper() != "HIERARCHY":
        raise lines.fail("not a BVH file: it must start with HIERARCHY", n)

    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    end_site: list[bool] = []
    channels: list[tuple[int, str]] = []  # (joint index, channel kind) in file order

    def parse_joint(parent: int, is_end: bool, name: str) -> None:
        j = len(names)
        names.append(name)
        parents.append(parent)
        end_site.append(is_end)
        offsets.append([0.0, 0.0, 0.0])
        n, toks = lines.next("{")
        if toks != ["{"]:
            raise lines.fail(f"expected '{{' after joint {name}", n)
        while True:
            n, toks = lines.next("}")
            key = toks[0].upper()
            if key == "}":
                return
            if key == "OFFSET":
                offsets[j] = lines.floats(toks[1:], n, 3)
            elif key == "CHANNELS" and not is_end:
                try:
                    count = int(toks[1])
                except (IndexError, ValueError):
                    raise lines.fail("CHANNELS needs a count", n) from None
                kinds = [t.lower() for t in toks[2:]]
                if len(kinds) != count:
                    raise lines.fail(f"CHANNELS says {count} channels but lists {len(kinds)}", n)
                for k in kinds:
                    if k not in _ROT and k not in _POS:
                        raise lines.fail(f"unknown channel {k!r}", n)
                    if k in _POS and parent >= 0:
                        raise lines.fail(f"position channel on non-root joint {name} is not supported", n)
                    channels.append((j, k))
            elif key == "JOINT" and not is_end:
                if len(toks) < 2:
                    raise lines.fail("JOINT needs a name", n)
                parse_joint(j, False, " ".join(toks[1:]))
            elif key == "END" and not is_end:
                parse_joint(j, True, f"{name}_End")
            else:
                raise lines.fail(f"unexpected {' '.join(toks)!r} in joint {name}", n)

    n, toks = lines.next("ROOT")
    if toks[0].upper() != "ROOT" or len(toks) < 2:
        raise lines.fail("expected 'ROOT <name>'", n)
    parse_joint(-1, False, " ".join(toks[1:]))

    n, toks = lines.next("MOTION")
    if toks[0].upper() != "MOTION":
        raise lines.fail(f"expected MOTION, got {' '.join(toks)!r} (a second ROOT is not supported)", n)
    n, toks = lines.next("Frames:")
    if toks[0].lower() != "frames:" or len(toks) != 2 or not toks[1].isdigit():
        raise lines.fail("expected 'Frames: <count>'", n)
    n_frames = int(toks[1])
    n, toks = lines.next("Frame Time:")
    if [t.lower() for t in toks[:2]] != ["frame", "time:"] or len(toks) != 3:
        raise lines.fail("expected 'Frame Time: <seconds>'", n)
    dt = lines.floats(toks[2:], n, 1)[0]
    if dt <= 0:
        raise lines.fail("Frame Time must be positive", n)

    data = np.zeros((n_frames, len(channels)))
    for f in range(n_frames):
        n, toks = lines.next(f"frame {f + 1} of {n_frames}")
        data[f] = lines.floats(toks, n, len(channels))
    if lines.i < len(lines.items):
        raise lines.fail(f"extra data after the {n_frames} frames the header announces")
    if n_frames == 0:
        raise lines.fail("the file has no frames")

    J = len(names)
    rotations = np.broadcast_to(np.eye(3), (n_frames, J, 3, 3)).copy()
    root_trans = np.zeros((n_frames, 3))
    per_joint: dict[int, list[tuple[int, str]]] = {}
    for col, (j, k) in enumerate(channels):
        per_joint.setdefault(j, []).append((col, k))
    for j, chans in per_joint.items():
        rot = [(c, _ROT[k]) for c, k in chans if k in _ROT]
        if rot:
            cols, order = [c for c, _ in rot], "".join(a for _, a in rot)
            rotations[:, j] = euler_to_matrix(data[:, cols], order)
        for c, k in chans:
            if k in _POS:
                root_trans[:, _POS[k]] = data[:, c] * scale
    return Motion(names, np.array(parents), np.array(offsets) * scale, rotations, root_trans,
                  fps=1.0 / dt, source=path.name, end_site=np.array(end_site))
